import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Counter, Gauge, type Registry } from 'prom-client';
import { API_CONTEXT, type ApiContext, NODE_RUNTIME, type RuntimeHandle } from './tokens.js';

interface StatusResponse {
  status(code: number): StatusResponse;
  json(body: unknown): void;
}

@Controller()
export class HealthController {
  constructor(@Inject(NODE_RUNTIME) private readonly runtime: RuntimeHandle) {}

  @Get('health')
  health(@Res() res: StatusResponse): void {
    const failed = this.runtime.failed;
    const head = this.runtime.head();
    const body = {
      status: failed ? 'failed' : this.runtime.isRunning ? 'ok' : 'starting',
      node: this.runtime.self,
      lastDecidedRound: this.runtime.lastDecidedRound(),
      consensusIndex: head.consensusIndex,
      orderHash: head.orderHash,
      forks: this.runtime.forkCount(),
      stateRoot: head.stateRoot,
      stateRootMismatches: this.runtime.stats.stateRootMismatches,
      ...(this.runtime.lastRootMismatch ? { lastStateRootMismatch: this.runtime.lastRootMismatch } : {}),
      ...(failed ? { error: failed.message } : {}),
    };
    // A diverging state root is reported, not fatal: the node still serves, and says so.
    if (body.status === 'ok' && body.stateRootMismatches > 0) body.status = 'diverged';
    res.status(failed || !this.runtime.isRunning ? 503 : 200).json(body);
  }
}

/** Prometheus text exposition of the node's and the API's metrics. */
@ApiExcludeController()
@Controller()
export class MetricsController {
  private readonly registry: Registry;

  constructor(@Inject(NODE_RUNTIME) runtime: RuntimeHandle, @Inject(API_CONTEXT) ctx: ApiContext) {
    this.registry = ctx.metrics.registry;
    const s = runtime.stats;
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counter('dagger_payloads_in_total', 'Payloads taken from the intake topic', () => s.payloadsIn);
    counter('dagger_own_events_total', 'Events this node created', () => s.ownEvents);
    counter('dagger_received_events_total', 'Events received from peers', () => s.receivedEvents);
    counter(
      'dagger_rejected_events_total',
      'Events refused (bad signature, malformed, ...)',
      () => s.rejectedEvents,
    );
    counter('dagger_forks_total', 'Forks detected', () => s.forks);
    counter('dagger_ordered_events_total', 'Events in consensus order', () => s.orderedEvents);
    counter('dagger_ordered_payloads_total', 'Payloads in consensus order', () => s.orderedPayloads);
    counter(
      'dagger_ledger_records_total',
      'Records the processor appended to the ledger',
      () => s.ledgerRecords,
    );
    counter(
      'dagger_state_root_mismatches_total',
      "Peers' events carrying a different state root for a round this node decided",
      () => s.stateRootMismatches,
    );
    new Gauge({
      name: 'dagger_last_decided_round',
      help: 'Last round whose fame is decided',
      registers: [this.registry],
      collect() {
        this.set(runtime.lastDecidedRound());
      },
    });
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
