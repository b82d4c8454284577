import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LagProbes } from './ports.js';

/** The API's Prometheus metrics, one registry per app (several nodes may share a process). */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly accepted: Counter;
  readonly duplicates: Counter;
  readonly refused: Counter<'code'>;
  readonly intakeSeconds: Histogram;
  readonly batchSize: Histogram;
  readonly publishFailures: Counter;

  constructor(lag: LagProbes = {}) {
    const registers = [this.registry];
    this.accepted = new Counter({
      name: 'dagger_api_payloads_accepted_total',
      help: 'POST /v1/payloads answered 202 (duplicates included)',
      registers,
    });
    this.duplicates = new Counter({
      name: 'dagger_api_payloads_duplicate_total',
      help: 'POST /v1/payloads of an envelope this node already holds',
      registers,
    });
    this.refused = new Counter({
      name: 'dagger_api_payloads_refused_total',
      help: 'POST /v1/payloads answered with an error, by error code',
      labelNames: ['code'],
      registers,
    });
    this.intakeSeconds = new Histogram({
      name: 'dagger_api_intake_seconds',
      help: 'POST /v1/payloads: from the parsed body to the durable outbox (the 202)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'dagger_api_intake_batch_size',
      help: 'Envelopes per outbox append (group commit)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.publishFailures = new Counter({
      name: 'dagger_api_publish_failures_total',
      help: 'Batches made durable whose publish to the bus failed (the outbox keeps them pending)',
      registers,
    });
    // A gauge without its probe is left out rather than reported as 0.
    const gauge = (name: string, help: string, read?: () => number | Promise<number>) =>
      read &&
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(await read());
        },
      });
    gauge(
      'dagger_consensus_lag_seconds',
      'Age of the oldest payload accepted here and not yet ordered (0 when none)',
      lag.consensusSeconds,
    );
    gauge(
      'dagger_projection_lag_records',
      'Ledger records written and not yet in the read models',
      lag.projectionRecords,
    );
  }
}
