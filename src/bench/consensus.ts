import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { signerFromSecretKey, strictVerifier } from '../../domain/crypto/index.js';
import type { SignedEvent } from '../../domain/shadowgraph/event.js';
import type { HeartbeatConfig } from '../../domain/shadowgraph/node.js';
import { deriveSecretKey, InProcessNetwork } from '../devnet/inprocess-network.js';
import {
  BENCH_ENVELOPE_BYTES,
  encodeBenchEnvelope,
  ENVELOPE_BODY_OFFSET,
  readSeq,
  verifyBenchEnvelope,
  writeSeq,
} from './envelope.js';
import { LatencyHistogram } from './histogram.js';
import { VerifyPool } from './verify-pool.js';

/**
 * `dagger bench consensus`: N in-process nodes (src/devnet/inprocess-network.ts), 256-byte payloads,
 * events of at most 64 KiB of payloads, payloads submitted open-loop at `rate` per second, or as fast
 * as intake takes them. Finality of a payload runs from its submission to its consensus order on the
 * LAST of the N nodes.
 *
 * - consensus: payloads are opaque; the core verifies every event signature on insert.
 * - end-to-end: every payload is a signed bench envelope (envelope.ts) that every node verifies
 *   itself: the node that takes it at intake, and every node that receives an event holding it,
 *   before inserting that event. Verification runs on a worker pool shared as CPU.
 */

export type BenchMode = 'consensus' | 'end-to-end';
export const BENCH_MODES: readonly BenchMode[] = ['consensus', 'end-to-end'];
export const BENCH_PAYLOAD_BYTES = 256;
/** Payloads that fill one event: 64 KiB / 256 B. */
export const PAYLOADS_PER_EVENT = 256;

export interface ConsensusBenchOptions {
  readonly mode: BenchMode;
  readonly nodes: number;
  /** Payloads to order on every node (ignored when durationSec is set). */
  readonly payloads: number;
  /** Runs for this many seconds instead of a payload count. */
  readonly durationSec?: number;
  /** Open-loop arrival rate, payloads per second; undefined: as fast as intake takes them. */
  readonly rate?: number;
  readonly heartbeat?: HeartbeatConfig;
  /** Worker threads for end-to-end verification; default os.availableParallelism(). */
  readonly workers?: number;
  /** Payload-count mode: give up when not every payload is ordered everywhere after this long. */
  readonly timeoutSec?: number;
  readonly onProgress?: (p: BenchProgress) => void;
  readonly progressMs?: number;
  /** Closed loop: payloads a node may hold waiting in intake (pending + being verified). */
  readonly intakeWindow?: number;
  /** Closed loop, end-to-end: intake verification jobs (of up to 256 envelopes) per node at once. */
  readonly intakeJobs?: number;
}

export interface BenchProgress {
  readonly elapsedSec: number;
  readonly submitted: number;
  readonly finalized: number;
  /** Payload count to reach, or null in duration mode. */
  readonly target: number | null;
  readonly durationSec: number | null;
  /** Finalized per second over the last progress interval. */
  readonly recentPerSec: number;
  readonly rssMiB: number;
  /** end-to-end: verification jobs waiting for a worker (received events, new intake). */
  readonly verifyWaiting: { readonly events: number; readonly intake: number } | null;
}

export interface BenchReport {
  readonly mode: BenchMode;
  readonly nodes: number;
  /** Payloads ordered by every node within the measurement. */
  readonly payloads: number;
  readonly cores: number;
  readonly payloadsPerSec: number;
  readonly finalityMs: { readonly p50: number | null; readonly p99: number | null };
  readonly peakRssMiB: number;
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  /** end-to-end: envelope verifications per second on one thread; consensus: event-signature verifications. */
  readonly verifyPerSecPerCore: number;
  /** end-to-end: verifyPerSecPerCore x cores / nodes (every node verifies every payload); consensus: null. */
  readonly boundPayloadsPerSec: number | null;
  readonly ratioToBound: number | null;
}

/** Bench heartbeat: rounds advance quickly while the run lasts; full events go out at once anyway. */
export const BENCH_HEARTBEAT: HeartbeatConfig = {
  activeMicros: 10_000,
  idleMicros: 100_000,
  eagerMicros: 5_000,
};

const MiB = 1024 * 1024;
const rssMiB = (): number => Math.round((process.memoryUsage.rss() / MiB) * 10) / 10;
const round1 = (x: number): number => Math.round(x * 10) / 10;
/** Most end-to-end envelopes signed up front (64 MiB); longer runs cycle through them. */
const MAX_SIGNED_ENVELOPES = 1 << 18;
/** Tracking slots for payloads in flight in consensus mode. */
const CONSENSUS_RING = 1 << 20;
const VERIFY_MEASURE_MS = 1000;

/** Single-threaded verification rate of `items` with the strict verifier, measured for about a second. */
function measureVerifyRate(count: number, verifyOne: (i: number) => boolean): number {
  const start = performance.now();
  let done = 0;
  for (let pass = 0; pass < 1_000_000; pass++) {
    for (let i = 0; i < count; i++) {
      if (!verifyOne(i)) throw new Error('bench verification failed on a valid signature');
      done++;
    }
    if (performance.now() - start >= VERIFY_MEASURE_MS) break;
  }
  return Math.round((done * 1000) / (performance.now() - start));
}

interface EnvelopeStore {
  /** 64 KiB chunks of 256 envelopes (the last may be shorter); envelope k has seq k. */
  readonly chunks: Uint8Array[];
  readonly count: number;
}

async function signEnvelopes(pool: VerifyPool, count: number, first: Uint8Array): Promise<EnvelopeStore> {
  const clients = Array.from({ length: 8 }, () => new Uint8Array(randomBytes(32)));
  const chunks: Uint8Array[] = [first];
  const jobs: Promise<Uint8Array>[] = [];
  const firstCount = first.length / BENCH_ENVELOPE_BYTES;
  for (let seq = firstCount, j = 0; seq < count; seq += PAYLOADS_PER_EVENT, j++) {
    const n = Math.min(PAYLOADS_PER_EVENT, count - seq);
    jobs.push(pool.sign(clients[j % clients.length]!, seq, n));
  }
  chunks.push(...(await Promise.all(jobs)));
  return { chunks, count };
}

export async function runConsensusBench(opts: ConsensusBenchOptions): Promise<BenchReport> {
  const { mode, nodes } = opts;
  const durationSec = opts.durationSec;
  const target = durationSec === undefined ? opts.payloads : null;
  const cores = availableParallelism();
  const e2e = mode === 'end-to-end';
  const seed = `bench-${mode}`;

  // ---------------------------------------------------------------- set-up (not timed)
  let pool: VerifyPool | null = null;
  let store: EnvelopeStore | null = null;
  let verifyPerSecPerCore: number;
  if (e2e) {
    // Same verifier, same envelopes, one thread: the rate that bounds what N verifying nodes can order.
    const sampleCount = 1024;
    const client = signerFromSecretKey(new Uint8Array(randomBytes(32)));
    const sample = new Uint8Array(sampleCount * BENCH_ENVELOPE_BYTES);
    for (let i = 0; i < sampleCount; i++) encodeBenchEnvelope(client, i, sample, i * BENCH_ENVELOPE_BYTES);
    verifyPerSecPerCore = measureVerifyRate(sampleCount, (i) =>
      verifyBenchEnvelope(
        sample.subarray(i * BENCH_ENVELOPE_BYTES, (i + 1) * BENCH_ENVELOPE_BYTES),
        strictVerifier,
      ),
    );
    const bound = (verifyPerSecPerCore * cores) / nodes;
    const wanted =
      target ?? Math.ceil((opts.rate ?? bound * 1.5) * (durationSec ?? 0)) + PAYLOADS_PER_EVENT * nodes * 4;
    const count = Math.max(sampleCount, Math.min(wanted, MAX_SIGNED_ENVELOPES));
    pool = new VerifyPool(opts.workers ?? cores);
    // The sample is 4 chunks of 256: split so every chunk is one event's worth.
    const firstChunks: Uint8Array[] = [];
    for (let c = 0; c < sampleCount / PAYLOADS_PER_EVENT; c++)
      firstChunks.push(sample.subarray(c * 65536, (c + 1) * 65536));
    const rest = await signEnvelopes(pool, count, sample);
    store = { chunks: [...firstChunks, ...rest.chunks.slice(1)], count };
  } else {
    // Event signatures: ids signed by the bench members, verified as the core does on insert.
    const sampleCount = 512;
    const signers = Array.from({ length: nodes }, (_, i) => signerFromSecretKey(deriveSecretKey(seed, i)));
    const keys = signers.map((s) => s.publicKey);
    const ids = Array.from({ length: sampleCount }, () => new Uint8Array(randomBytes(32)));
    const sigs = ids.map((id, i) => signers[i % nodes]!.sign(id));
    verifyPerSecPerCore = measureVerifyRate(sampleCount, (i) =>
      strictVerifier.verify(sigs[i]!, ids[i]!, keys[i % nodes]!),
    );
  }

  // Payload tracking in fixed typed arrays: slot = seq % ring. No per-payload objects.
  const ring = e2e ? store!.count : CONSENSUS_RING;
  const submitAt = new Float64Array(ring);
  const orderedBy = new Uint16Array(ring);
  const inFlight = new Uint8Array(ring);
  const seqOffset = e2e ? ENVELOPE_BODY_OFFSET : 0;
  const histogram = new LatencyHistogram();

  const network = new InProcessNetwork({
    nodes,
    seed,
    heartbeat: opts.heartbeat ?? BENCH_HEARTBEAT,
    tickMs: 2,
    pullMs: 200,
    ...(e2e
      ? { admit: (node: number, events: readonly SignedEvent[]) => admitEvents(pool!, node, events) }
      : {}),
  });

  let submitted = 0;
  let finalized = 0;
  let finalizedInWindow = 0;
  let t0 = 0;
  let tEnd = Infinity;
  let lastFinalAt = 0;
  let failure: Error | null = null;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  for (let i = 0; i < nodes; i++) {
    network.onOrdered(i, (batch) => {
      const now = performance.now();
      for (const o of batch) {
        for (const p of o.event.body.payloads) {
          if (p.length < seqOffset + 8) continue;
          const slot = readSeq(p, seqOffset) % ring;
          if (++orderedBy[slot]! !== nodes) continue;
          orderedBy[slot] = 0;
          inFlight[slot] = 0;
          finalized++;
          lastFinalAt = now;
          if (now <= tEnd) {
            finalizedInWindow++;
            histogram.record(now - submitAt[slot]!);
          }
        }
      }
      if (target !== null && finalized >= target) finish();
    });
  }

  // ---------------------------------------------------------------- producer
  const intakeJobs = new Array<number>(nodes).fill(0);
  const chunks: (Uint8Array | null)[] = new Array<Uint8Array | null>(nodes).fill(null);
  const chunkOffset = new Array<number>(nodes).fill(0);
  const openLoop = opts.rate !== undefined;
  // Closed to intake: two events' worth waiting per node. Open loop: a backlog bound that keeps memory flat.
  const window = openLoop ? 64 * PAYLOADS_PER_EVENT : (opts.intakeWindow ?? 2 * PAYLOADS_PER_EVENT);
  const maxIntakeJobs = openLoop ? 64 : (opts.intakeJobs ?? 1);
  let nextNode = 0;
  let storeCursor = 0;

  const consensusPayloads = (node: number, n: number): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let k = 0; k < n; k++) {
      let chunk = chunks[node];
      if (!chunk || chunkOffset[node]! + BENCH_PAYLOAD_BYTES > chunk.length) {
        chunk = new Uint8Array(PAYLOADS_PER_EVENT * BENCH_PAYLOAD_BYTES);
        chunks[node] = chunk;
        chunkOffset[node] = 0;
      }
      const off = chunkOffset[node]!;
      const p = chunk.subarray(off, off + BENCH_PAYLOAD_BYTES);
      chunkOffset[node] = off + BENCH_PAYLOAD_BYTES;
      const seq = submitted + k;
      writeSeq(p, 0, seq);
      const slot = seq % ring;
      submitAt[slot] = performance.now();
      inFlight[slot] = 1;
      out.push(p);
    }
    return out;
  };

  const submitEnvelopes = (node: number, n: number): void => {
    // Envelopes k .. k+n-1 of the store, never across a chunk boundary.
    const chunkIndex = Math.floor(storeCursor / PAYLOADS_PER_EVENT);
    const within = storeCursor % PAYLOADS_PER_EVENT;
    const chunk = store!.chunks[chunkIndex]!;
    const take = Math.min(n, chunk.length / BENCH_ENVELOPE_BYTES - within);
    const bytes = chunk.subarray(within * BENCH_ENVELOPE_BYTES, (within + take) * BENCH_ENVELOPE_BYTES);
    const now = performance.now();
    for (let k = 0; k < take; k++) {
      const slot = storeCursor + k;
      submitAt[slot] = now;
      inFlight[slot] = 1;
    }
    storeCursor = (storeCursor + take) % store!.count;
    submitted += take;
    intakeJobs[node]!++;
    const offsets = new Uint32Array(take + 1);
    for (let k = 0; k <= take; k++) offsets[k] = k * BENCH_ENVELOPE_BYTES;
    pool!.verify(bytes.slice(), offsets, 'low').then(
      (ok) => {
        intakeJobs[node]!--;
        const accepted: Uint8Array[] = [];
        for (let k = 0; k < take; k++) {
          if (ok[k] === 1)
            accepted.push(bytes.subarray(k * BENCH_ENVELOPE_BYTES, (k + 1) * BENCH_ENVELOPE_BYTES));
        }
        if (accepted.length !== take) failure = new Error('intake refused a valid envelope');
        if (network.isRunning) network.submit(node, accepted);
      },
      (err: unknown) => {
        intakeJobs[node]!--;
        if (network.isRunning) failure = err instanceof Error ? err : new Error(String(err));
      },
    );
  };

  const produce = (): void => {
    if (!network.isRunning) return;
    const now = performance.now();
    if (now >= tEnd) return;
    let allowance = target !== null ? target - submitted : Infinity;
    if (openLoop) allowance = Math.min(allowance, Math.floor((opts.rate! * (now - t0)) / 1000) - submitted);
    for (let turns = 0; allowance > 0 && turns < 64; turns++) {
      const node = nextNode;
      nextNode = (nextNode + 1) % nodes;
      const room = window - network.pendingPayloads(node) - intakeJobs[node]! * PAYLOADS_PER_EVENT;
      if (room <= 0 || intakeJobs[node]! >= maxIntakeJobs) continue;
      // A node takes no new intake while checks of received events wait for a worker.
      if (e2e && !openLoop && pool!.waiting('high') > 0) break;
      let n = Math.min(PAYLOADS_PER_EVENT, allowance, room);
      // Never reuse a tracking slot whose payload is still in flight.
      const base = e2e ? storeCursor : submitted;
      for (let k = 0; k < n; k++) {
        if (inFlight[(base + k) % ring] === 1) {
          n = k;
          break;
        }
      }
      if (n <= 0) break;
      if (e2e) submitEnvelopes(node, n);
      else {
        const payloads = consensusPayloads(node, n);
        submitted += n;
        network.submit(node, payloads);
      }
      allowance -= n;
    }
  };

  // ---------------------------------------------------------------- run
  const rssStartMiB = rssMiB();
  let peakRss = rssStartMiB;
  const progressMs = opts.progressMs ?? 500;
  let lastProgressAt = 0;
  let lastProgressFinalized = 0;
  const timers: NodeJS.Timeout[] = [];
  t0 = performance.now();
  if (durationSec !== undefined) tEnd = t0 + durationSec * 1000;
  network.start();
  timers.push(setInterval(produce, 1));
  timers.push(
    setInterval(() => {
      peakRss = Math.max(peakRss, rssMiB());
      if (failure) finish();
    }, 100),
  );
  if (opts.onProgress) {
    const report = opts.onProgress;
    timers.push(
      setInterval(() => {
        const now = performance.now();
        const dt = (now - (lastProgressAt || t0)) / 1000;
        report({
          elapsedSec: (now - t0) / 1000,
          submitted,
          finalized,
          target,
          durationSec: durationSec ?? null,
          recentPerSec: dt > 0 ? (finalized - lastProgressFinalized) / dt : 0,
          rssMiB: rssMiB(),
          verifyWaiting: pool ? { events: pool.waiting('high'), intake: pool.waiting('low') } : null,
        });
        lastProgressAt = now;
        lastProgressFinalized = finalized;
      }, progressMs),
    );
  }
  const limitMs =
    durationSec !== undefined
      ? durationSec * 1000
      : (opts.timeoutSec ?? Math.max(60, (target ?? 0) / 500)) * 1000;
  let timedOut = false;
  timers.push(
    setTimeout(() => {
      timedOut = durationSec === undefined;
      finish();
    }, limitMs),
  );
  try {
    await finished;
  } finally {
    for (const t of timers) clearInterval(t);
    peakRss = Math.max(peakRss, rssMiB());
    await network.stop();
    if (pool) await pool.close();
  }
  const rssEndMiB = rssMiB();
  if (failure) throw failure;
  if (timedOut)
    throw new Error(
      `bench did not finish: ${finalized} of ${target} payloads ordered by all ${nodes} nodes within ${limitMs / 1000} s`,
    );

  const elapsedSec = durationSec !== undefined ? durationSec : Math.max(1e-9, (lastFinalAt - t0) / 1000);
  const measured = durationSec !== undefined ? finalizedInWindow : finalized;
  const payloadsPerSec = Math.round(measured / elapsedSec);
  const boundPayloadsPerSec = e2e ? Math.round((verifyPerSecPerCore * cores) / nodes) : null;
  return {
    mode,
    nodes,
    payloads: measured,
    cores,
    payloadsPerSec,
    finalityMs: { p50: histogram.percentile(0.5), p99: histogram.percentile(0.99) },
    peakRssMiB: round1(peakRss),
    rssStartMiB: round1(rssStartMiB),
    rssEndMiB: round1(rssEndMiB),
    verifyPerSecPerCore,
    boundPayloadsPerSec,
    ratioToBound: boundPayloadsPerSec
      ? Math.round((payloadsPerSec / boundPayloadsPerSec) * 1000) / 1000
      : null,
  };
}

/**
 * End-to-end admission: node `node` verifies every payload of every received event itself, one
 * worker job per event, before the event may be inserted. An event with one bad payload is refused.
 */
async function admitEvents(
  pool: VerifyPool,
  _node: number,
  events: readonly SignedEvent[],
): Promise<boolean[]> {
  return Promise.all(
    events.map(async (e) => {
      const payloads = e.body.payloads;
      if (payloads.length === 0) return true;
      let total = 0;
      for (const p of payloads) total += p.length;
      const data = new Uint8Array(total);
      const offsets = new Uint32Array(payloads.length + 1);
      let o = 0;
      for (let i = 0; i < payloads.length; i++) {
        data.set(payloads[i]!, o);
        o += payloads[i]!.length;
        offsets[i + 1] = o;
      }
      const ok = await pool.verify(data, offsets);
      for (let i = 0; i < ok.length; i++) if (ok[i] !== 1) return false;
      return true;
    }),
  );
}
