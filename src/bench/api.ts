import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LatencyHistogram } from './histogram.js';

/**
 * `dagger bench api`: one node's HTTP intake, in-process. A NestJS app (createNodeApp) with the
 * event-store outbox on SQLite in a temporary directory (WAL, synchronous=FULL) and a publisher
 * that only counts, so the figure is the API's: parse, judge (shape, schema, strict signature),
 * group commit to the store, 202. Envelopes are signed before the clock starts; C keep-alive
 * clients run in a child process and each sends its next envelope when the previous is answered.
 */

/** sqlite: a file, synchronous=FULL (durable); sqlite-memory: the same adapter in memory, no fsync (a ceiling). */
export type ApiBenchStore = 'sqlite' | 'sqlite-memory';

export interface ApiBenchOptions {
  readonly store?: ApiBenchStore;
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
  /** Outbox appends (group commits) and the mean envelopes per append. */
  readonly appends: number;
  readonly meanBatch: number;
  /** Envelopes handed to the (counting) publisher by the time the app closed. */
  readonly published: number;
  /** CPU time of this process (server threads; clients excluded unless inline) per envelope. */
  readonly serverCpuUsPerPayload: number;
  /** Share of the run the server's event loop was busy (1: the main thread is the bottleneck). */
  readonly eventLoopUtilization: number;
  readonly envelopeBytes: number;
  readonly cores: number;
  readonly store: ApiBenchStore;
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
}

/** C closed-loop keep-alive clients over node:http. */
async function runClients(job: ClientJob, onDone?: (n: number) => void): Promise<ClientResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const latencies = new Float64Array(job.bodies.length);
  const statuses: Record<number, number> = {};
  let errors = 0;
  let next = 0;
  let done = 0;
  const post = (body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: job.port,
          method: 'POST',
          path: '/v1/payloads',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  const loop = async (): Promise<void> => {
    while (next < job.bodies.length) {
      const i = next++;
      const t0 = performance.now();
      try {
        const status = await post(job.bodies[i]!);
        statuses[status] = (statuses[status] ?? 0) + 1;
      } catch {
        errors++;
      }
      latencies[i] = performance.now() - t0;
      if (++done % 1000 === 0) onDone?.(done);
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { latenciesMs: latencies, statuses, errors, seconds };
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

export async function runApiBench(options: ApiBenchOptions): Promise<ApiBenchReport> {
  const { createNodeApp } = await import('../api/app.js');
  const { detachedRuntime } = await import('../api/tokens.js');
  const { openEventStore } = await import('../eventstore/open.js');
  const { EventStoreIntakeOutbox, INTAKE_STREAM } = await import('../node/intake-outbox.js');
  const { sha256, signerFromSecretKey } = await import('../../domain/crypto/index.js');
  const { signPayload } = await import('../../domain/payloads/envelope.js');

  const signers = Array.from({ length: options.signers ?? 64 }, (_, i) =>
    signerFromSecretKey(sha256(new TextEncoder().encode(`bench-api:${i}`))),
  );
  const expiresAt = Date.now() + 3_600_000;
  const bodies = Array.from({ length: options.payloads }, (_, i) =>
    JSON.stringify(
      signPayload(
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

  const dir = mkdtempSync(join(tmpdir(), 'dagger-bench-api-'));
  const kind = options.store ?? 'sqlite';
  const store = await openEventStore(
    kind === 'sqlite' ? `sqlite:${join(dir, 'events.sqlite')}` : 'sqlite::memory:',
  );
  const outbox = await EventStoreIntakeOutbox.open(store);
  let appends = 0;
  const counted = {
    append: (items: Parameters<typeof outbox.append>[0]) => {
      appends++;
      return outbox.append(items);
    },
    status: (id: string) => outbox.status(id),
  };
  let published = 0;
  const runtime = detachedRuntime('00'.repeat(32));
  const app = await createNodeApp(runtime, {
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
  let result: ClientResult;
  let durable: number;
  let serverCpuUs = 0;
  let loopBusy = 0;
  try {
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as { port: number }).port;
    const job: ClientJob = {
      port,
      bodies,
      concurrency: options.concurrency,
    };
    const progress = options.onProgress ? (n: number) => options.onProgress!(n, bodies.length) : undefined;
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    result =
      options.clients === 'inline' ? await runClients(job, progress) : await runClientsInChild(job, progress);
    const cpu = process.cpuUsage(cpu0);
    serverCpuUs = cpu.user + cpu.system;
    loopBusy = performance.eventLoopUtilization(elu0).utilization;
  } finally {
    await app.close();
    await outbox.close();
    durable = Number(await store.streamRevision(INTAKE_STREAM)) + 1;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const histogram = new LatencyHistogram();
  for (const ms of result.latenciesMs) histogram.record(ms);
  const accepted = result.statuses[202] ?? 0;
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    accepted,
    refused: bodies.length - accepted,
    seconds: Math.round(result.seconds * 1000) / 1000,
    perSecond: Math.round(accepted / result.seconds),
    p50Ms: round(histogram.percentile(0.5)),
    p99Ms: round(histogram.percentile(0.99)),
    maxMs: round(histogram.percentile(1)),
    payloads: bodies.length,
    concurrency: options.concurrency,
    judgeThreads: options.judgeThreads ?? 1,
    durable,
    appends,
    meanBatch: appends === 0 ? 0 : Math.round((durable / appends) * 10) / 10,
    published,
    serverCpuUsPerPayload: Math.round(serverCpuUs / bodies.length),
    eventLoopUtilization: Math.round(loopBusy * 100) / 100,
    envelopeBytes: Buffer.byteLength(bodies[0] ?? ''),
    cores: availableParallelism(),
    store: kind,
  };
}
