import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LatencyHistogram } from './histogram.js';

/**
 * `dagger bench api`: one node's HTTP intake, in-process. A NestJS app (createNodeApp) with the
 * event-store outbox on SQLite in a temporary directory (WAL, synchronous=FULL) and a publisher
 * that only counts, so the figure is the API's: parse, judge (shape, schema, strict signature),
 * group commit to the store, 202. Envelopes are signed and encoded as HTTP/1.1 requests before
 * the clock starts; C keep-alive connections (node:net) run in a child process and each sends its
 * next request when the previous is answered.
 */

/** sqlite: a file, synchronous=FULL (durable); sqlite-memory: the same adapter in memory, no fsync (a ceiling). */
export type ApiBenchStore = 'sqlite' | 'sqlite-memory';

/** intake: the API with a counting publisher; one-node: a one-node network behind the API. */
export type ApiBenchTarget = 'intake' | 'one-node';

export interface ApiBenchOptions {
  readonly target?: ApiBenchTarget;
  /** intake only (one-node runs a node on a SQLite file). */
  readonly store?: ApiBenchStore;
  /** intake only: the outbox appends in its SQLite writer thread (default) or on the event loop. */
  readonly outboxWriter?: 'thread' | 'inline';
  /** The app's judge worker threads. Default 1. */
  readonly judgeThreads?: number;
  readonly payloads: number;
  readonly concurrency: number;
  /** Distinct signing keys (the verifier caches parsed keys). Default 64. */
  readonly signers?: number;
  /** 'process' (default): clients in a child process; 'inline': in this thread (tests under ts-jest). */
  readonly clients?: 'process' | 'inline';
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ApiBenchReport {
  readonly target: ApiBenchTarget;
  readonly accepted: number;
  readonly refused: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly payloads: number;
  readonly concurrency: number;
  readonly judgeThreads: number;
  /** Events in the outbox stream after the run: every accepted payload, once. */
  readonly durable: number;
  /** Outbox appends (group commits) and the mean envelopes per append (intake only; 0 for one-node). */
  readonly appends: number;
  readonly meanBatch: number;
  /** Envelopes handed to the publisher by the time the app closed (one-node: the 202s). */
  readonly published: number;
  /** CPU time of this process (server threads; clients excluded unless inline) per envelope. */
  readonly serverCpuUsPerPayload: number;
  /** CPU time of the clients' process per envelope (the server's too when inline). */
  readonly clientCpuUsPerPayload: number;
  /** Share of the run the server's event loop was busy (1: the main thread is the bottleneck). */
  readonly eventLoopUtilization: number;
  readonly envelopeBytes: number;
  readonly cores: number;
  readonly store: ApiBenchStore;
  /** intake only: where the outbox's appends ran (inline when the store has no writer thread). */
  readonly outboxWriter?: 'thread' | 'inline';
  /** one-node only: the ledger and read models behind the API during and after the run. */
  readonly node?: OneNodeReport;
}

interface ClientJob {
  readonly port: number;
  readonly bodies: readonly string[];
  readonly concurrency: number;
}

interface ClientResult {
  readonly latenciesMs: Float64Array;
  readonly statuses: Record<number, number>;
  readonly errors: number;
  readonly seconds: number;
  /** CPU time of the clients' process over the run (the server's too when inline). */
  readonly cpuUs: number;
}

/** One parsed answer, and the bytes after it. */
interface Answer {
  readonly status: number;
  readonly close: boolean;
  readonly rest: Buffer | null;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * Reads one HTTP/1.1 answer off the front of `data`: null until it is complete. The server always
 * sends a content-length; an answer without one is an error (thrown), as is any other protocol surprise.
 */
function parseAnswer(data: Buffer): Answer | null {
  const end = data.indexOf(HEAD_END);
  if (end < 0) return null;
  const head = data.toString('latin1', 0, end);
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
  if (!head.startsWith('HTTP/1.1 ') || !Number.isInteger(status) || length === undefined)
    throw new Error(`not an answer the bench understands: ${JSON.stringify(head.slice(0, 80))}`);
  const total = end + HEAD_END.length + Number(length);
  if (data.length < total) return null;
  return {
    status,
    close: /\r\nconnection: *close/i.test(head),
    rest: data.length > total ? data.subarray(total) : null,
  };
}

/**
 * One keep-alive connection that sends a request and waits for its answer, one at a time. The
 * requests are pre-encoded HTTP/1.1 bytes: node:http's client cost 70-130 µs a request on the
 * bench machine, as much as half of the server's CPU, on the same 2 cores.
 */
class Connection {
  private readonly socket: Socket;
  private buffered: Buffer | null = null;
  private waiting: { resolve(a: Answer): void; reject(e: Error): void } | null = null;
  private failure: Error | null = null;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
      if (!this.waiting) return;
      let answer: Answer | null;
      try {
        answer = parseAnswer(this.buffered);
      } catch (error) {
        return this.fail(error as Error);
      }
      if (!answer) return;
      this.buffered = answer.rest;
      const w = this.waiting;
      this.waiting = null;
      w.resolve(answer);
    });
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  exchange(request: Buffer): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(error);
  }
}

/** C closed-loop keep-alive clients; each sends its next envelope when the previous is answered. */
async function runClients(job: ClientJob, onDone?: (n: number) => void): Promise<ClientResult> {
  const latencies = new Float64Array(job.bodies.length);
  const statuses: Record<number, number> = {};
  let errors = 0;
  let next = 0;
  let done = 0;
  // Encoded before the clock starts: the clients share the machine with the server.
  const requests = job.bodies.map((b) => {
    const body = Buffer.from(b);
    const head =
      `POST /v1/payloads HTTP/1.1\r\nhost: 127.0.0.1:${job.port}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), body]);
  });
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const loop = async (): Promise<void> => {
    // A connection that fails or is closed by the server is replaced; each request is tried once.
    while (next < requests.length) {
      const conn = new Connection(job.port);
      try {
        await conn.ready;
        while (next < requests.length) {
          const i = next++;
          const t0 = performance.now();
          try {
            const answer = await conn.exchange(requests[i]!);
            statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
            if (answer.close) break;
          } catch {
            errors++;
            break;
          } finally {
            latencies[i] = performance.now() - t0;
            if (++done % 1000 === 0) onDone?.(done);
          }
        }
      } catch {
        // Could not connect: the next request counts as an error, so the loop ends.
        if (next < requests.length) {
          latencies[next++] = 0;
          errors++;
          done++;
        }
      } finally {
        conn.close();
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { latenciesMs: latencies, statuses, errors, seconds, cpuUs: cpu.user + cpu.system };
}

const CLIENT_ENV = 'DAGGER_API_BENCH_CLIENTS';

/** The clients in a child process, so that the server's process.cpuUsage() is the server's alone. */
function runClientsInChild(job: ClientJob, onDone?: (n: number) => void): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [CLIENT_ENV]: '1' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.on('message', (m: { done?: number; result?: ClientResult & { latenciesMs: number[] } }) => {
      if (m.done !== undefined) onDone?.(m.done);
      if (m.result) {
        resolve({ ...m.result, latenciesMs: Float64Array.from(m.result.latenciesMs) });
        child.disconnect();
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`bench client process exited with ${code}`));
    });
    child.send(job);
  });
}

if (process.env[CLIENT_ENV] === '1' && process.send) {
  delete process.env[CLIENT_ENV];
  process.once('message', (job: ClientJob) => {
    void runClients(job, (done) => process.send!({ done })).then((r) =>
      process.send!({ result: { ...r, latenciesMs: Array.from(r.latenciesMs) } }),
    );
  });
}

/** What a target gives back once the clients are done and it is closed. */
interface TargetReport {
  readonly durable: number;
  readonly appends: number;
  readonly published: number;
  readonly serverCpuUs: number;
  readonly eventLoopUtilization: number;
  readonly outboxWriter?: 'thread' | 'inline';
  readonly node?: OneNodeReport;
}

export interface OneNodeReport {
  /** Ledger records written while the clients ran, and by the time everything was projected. */
  readonly ledgerRecords: number;
  /** Accepted payloads the ledger decided (accepted or rejected) by the end of the wait. */
  readonly decided: number;
  /** For the ledger commits made while the clients ran: time until the read models reflected them. */
  readonly projectionLagP50Ms: number | null;
  readonly projectionLagP99Ms: number | null;
  readonly projectionLagMaxMs: number | null;
  /** dagger_projection_lag_records, sampled every `sampleMs` while the clients ran. */
  readonly projectionLagRecordsP99: number | null;
  readonly projectionLagRecordsMax: number;
  readonly sampleMs: number;
  /** After the last answer: until every accepted payload was decided and projected (null: not within the wait). */
  readonly settledSeconds: number | null;
}

const SAMPLE_MS = 5;

/** To 0.1 (ms), keeping null. */
const round1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

/** The clients' run against `port`, with the server's CPU time and event-loop utilization over it. */
async function measureRun(
  run: RunClients,
  port: number,
): Promise<{ result: ClientResult; cpuUs: number; elu: number }> {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const result = await run(port);
  const cpu = process.cpuUsage(cpu0);
  return { result, cpuUs: cpu.user + cpu.system, elu: performance.eventLoopUtilization(elu0).utilization };
}

/** Nearest-rank percentile; null when there is no sample. */
function percentileOf(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
const SETTLE_WAIT_MS = 120_000;

function signedBodies(
  options: ApiBenchOptions,
  crypto: typeof import('../../domain/crypto/index.js'),
  payloads: typeof import('../../domain/payloads/envelope.js'),
): string[] {
  const { sha256, signerFromSecretKey } = crypto;
  const signers = Array.from({ length: options.signers ?? 64 }, (_, i) =>
    signerFromSecretKey(sha256(new TextEncoder().encode(`bench-api:${i}`))),
  );
  const expiresAt = Date.now() + 3_600_000;
  return Array.from({ length: options.payloads }, (_, i) =>
    JSON.stringify(
      payloads.signPayload(
        {
          type: 'vm.create',
          nonce: `bench-${i.toString(36).padStart(8, '0')}`,
          expiresAt,
          name: `bench-${i}`,
          vcpus: 1 + (i % 4),
          memoryMiB: 512,
          diskGiB: 10,
          sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBench bench'],
        },
        signers[i % signers.length]!,
        sha256,
      ).envelope,
    ),
  );
}

type RunClients = (port: number) => Promise<ClientResult>;

/** The API alone: the event-store outbox on SQLite and a publisher that only counts. */
async function intakeTarget(
  options: ApiBenchOptions,
  kind: ApiBenchStore,
  run: RunClients,
): Promise<{ result: ClientResult; target: TargetReport }> {
  const { createNodeApp } = await import('../api/app.js');
  const { detachedRuntime } = await import('../api/tokens.js');
  const { openEventStore } = await import('../eventstore/open.js');
  const { EventStoreIntakeOutbox, INTAKE_STREAM } = await import('../node/intake-outbox.js');
  const dir = mkdtempSync(join(tmpdir(), 'dagger-bench-api-'));
  const store = await openEventStore(
    kind === 'sqlite' ? `sqlite:${join(dir, 'events.sqlite')}` : 'sqlite::memory:',
  );
  const outbox = await EventStoreIntakeOutbox.open(store, Date.now, {
    writerThread: options.outboxWriter !== 'inline',
  });
  let appends = 0;
  const counted = {
    append: (items: Parameters<typeof outbox.append>[0]) => {
      appends++;
      return outbox.append(items);
    },
    status: (id: string) => outbox.status(id),
  };
  let published = 0;
  const app = await createNodeApp(detachedRuntime('00'.repeat(32)), {
    intake: {
      outbox: counted,
      publisher: {
        publish: async (items) => {
          published += items.length;
        },
      },
    },
    openApi: false,
    judgeThreads: options.judgeThreads ?? 1,
    log: () => undefined,
  });
  let measured: Awaited<ReturnType<typeof measureRun>> | undefined;
  let durable = 0;
  try {
    await app.listen(0, '127.0.0.1');
    measured = await measureRun(run, (app.getHttpServer().address() as { port: number }).port);
  } finally {
    await app.close();
    await outbox.close();
    durable = Number(await store.streamRevision(INTAKE_STREAM)) + 1;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    result: measured.result,
    target: {
      durable,
      appends,
      published,
      serverCpuUs: measured.cpuUs,
      eventLoopUtilization: measured.elu,
      outboxWriter: outbox.writesInThread ? 'thread' : 'inline',
    },
  };
}

/**
 * A one-node network (`dagger node` in this process: SQLite store, in-process bus, ledger, read
 * models, projection runner; no provisioning saga) behind the same API. While the clients run,
 * the time from each ledger commit to its projection is taken by sampling the runner every
 * SAMPLE_MS (so each figure is rounded up to a sample).
 */
async function oneNodeTarget(
  run: RunClients,
  judgeThreads: number,
): Promise<{ result: ClientResult; target: TargetReport }> {
  const { writeNetwork } = await import('../node/network-files.js');
  const { startNode } = await import('../node/launcher.js');
  const { INTAKE_STREAM } = await import('../node/intake-outbox.js');
  const dir = mkdtempSync(join(tmpdir(), 'dagger-bench-api-node-'));
  const layout = writeNetwork(dir, {
    nodes: 1,
    network: 'dagger-bench-api',
    host: '127.0.0.1',
    port: 0,
    store: 'sqlite',
    bus: 'memory',
  });
  const config = layout.configs[0]!;
  const node = await startNode({ ...config, api: { ...config.api, judgeThreads } }, { applierFor: null });
  try {
    let ledgerEnd = node.runtime.ledgerSize;
    let sampling = true;
    const commits: { end: number; at: number; underLoad: boolean }[] = [];
    node.runtime.onLedger((records) => {
      const last = records.at(-1);
      if (!last) return;
      ledgerEnd = Math.max(ledgerEnd, last.ledgerIndex + 1);
      commits.push({ end: last.ledgerIndex + 1, at: performance.now(), underLoad: sampling });
    });
    let decided = 0;
    node.ledger.onDecided((ids) => (decided += ids.length));
    const lagMs = new LatencyHistogram();
    const lagRecords: number[] = [];
    const sample = () => {
      const now = performance.now();
      const lag = node.projections.lag;
      if (sampling) lagRecords.push(lag);
      const projected = ledgerEnd - lag;
      while (commits.length > 0 && commits[0]!.end <= projected) {
        const c = commits.shift()!;
        if (c.underLoad) lagMs.record(now - c.at);
      }
    };
    const sampler = setInterval(sample, SAMPLE_MS);
    const port = (node.app.getHttpServer().address() as { port: number }).port;
    const { result, cpuUs, elu } = await measureRun(run, port);
    sampling = false;
    const accepted = result.statuses[202] ?? 0;
    const settleStart = performance.now();
    let settledSeconds: number | null = null;
    while (performance.now() - settleStart < SETTLE_WAIT_MS) {
      if (decided >= accepted && node.projections.lag === 0) {
        settledSeconds = Math.round(performance.now() - settleStart) / 1000;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    clearInterval(sampler);
    sample();
    const durable = Number(await node.store.streamRevision(INTAKE_STREAM)) + 1;
    return {
      result,
      target: {
        durable,
        appends: 0,
        published: accepted,
        serverCpuUs: cpuUs,
        eventLoopUtilization: elu,
        node: {
          ledgerRecords: ledgerEnd,
          decided,
          projectionLagP50Ms: round1(lagMs.percentile(0.5)),
          projectionLagP99Ms: round1(lagMs.percentile(0.99)),
          projectionLagMaxMs: round1(lagMs.percentile(1)),
          projectionLagRecordsP99: percentileOf(lagRecords, 0.99),
          projectionLagRecordsMax: lagRecords.reduce((a, b) => Math.max(a, b), 0),
          sampleMs: SAMPLE_MS,
          settledSeconds,
        },
      },
    };
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runApiBench(options: ApiBenchOptions): Promise<ApiBenchReport> {
  const crypto = await import('../../domain/crypto/index.js');
  const payloads = await import('../../domain/payloads/envelope.js');
  const bodies = signedBodies(options, crypto, payloads);
  const kind = options.store ?? 'sqlite';
  const progress = options.onProgress ? (n: number) => options.onProgress!(n, bodies.length) : undefined;
  const run: RunClients = (port) => {
    const job: ClientJob = { port, bodies, concurrency: options.concurrency };
    return options.clients === 'inline' ? runClients(job, progress) : runClientsInChild(job, progress);
  };
  const { result, target } =
    options.target === 'one-node'
      ? await oneNodeTarget(run, options.judgeThreads ?? 1)
      : await intakeTarget(options, kind, run);
  const histogram = new LatencyHistogram();
  for (const ms of result.latenciesMs) histogram.record(ms);
  const accepted = result.statuses[202] ?? 0;
  return {
    target: options.target ?? 'intake',
    accepted,
    refused: bodies.length - accepted,
    seconds: Math.round(result.seconds * 1000) / 1000,
    perSecond: Math.round(accepted / result.seconds),
    p50Ms: round1(histogram.percentile(0.5)),
    p99Ms: round1(histogram.percentile(0.99)),
    maxMs: round1(histogram.percentile(1)),
    payloads: bodies.length,
    concurrency: options.concurrency,
    judgeThreads: options.judgeThreads ?? 1,
    durable: target.durable,
    appends: target.appends,
    meanBatch: target.appends === 0 ? 0 : Math.round((target.durable / target.appends) * 10) / 10,
    published: target.published,
    serverCpuUsPerPayload: Math.round(target.serverCpuUs / bodies.length),
    clientCpuUsPerPayload: Math.round(result.cpuUs / bodies.length),
    eventLoopUtilization: Math.round(target.eventLoopUtilization * 100) / 100,
    envelopeBytes: Buffer.byteLength(bodies[0] ?? ''),
    cores: availableParallelism(),
    store: options.target === 'one-node' ? 'sqlite' : kind,
    ...(target.outboxWriter ? { outboxWriter: target.outboxWriter } : {}),
    ...(target.node ? { node: target.node } : {}),
  };
}
