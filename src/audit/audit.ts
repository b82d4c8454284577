import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { sha256, strictVerifier } from '../../domain/crypto/index.js';
import type { LedgerRecord } from '../../domain/processor/events.js';
import { PayloadProcessor } from '../../domain/processor/index.js';
import { decodeEvent, type SignedEvent, toHex } from '../../domain/shadowgraph/event.js';
import { Hashgraph, type OrderedEvent } from '../../domain/shadowgraph/hashgraph.js';
import type { MembershipChange } from '../../domain/shadowgraph/membership.js';
import { type EventStore, isPagedEventLog, type RecordedEvent } from '../eventstore/event-store.js';
import { type Genesis, genesisHash, parseGenesis } from '../node/genesis.js';
import { processorConfigOf } from '../node/ledger-driver.js';
import { EVENT_TYPES, type OrderedRecord, orderedRecord, STREAMS } from '../node/node-runtime.js';
import { VerifyPool } from '../bench/verify-pool.js';
import { OrderHashChain } from '../shared/order-hash.js';
import {
  compareLedger,
  compareOrdered,
  errorText,
  Pairing,
  type ReportMismatch,
  type StoredRecord,
} from './compare.js';
import {
  type AuditBench,
  AuditError,
  type AuditReport,
  type BoundFigure,
  type ForkReport,
  type Mismatch,
  type MismatchKind,
  type Notice,
  type ReadModelsComparison,
} from './report.js';
import { JobItems, judgeItems, PayloadVerdicts, type SignatureItem } from './verdicts.js';

export type AuditPhase = 'read' | 'verify' | 'consensus' | 'ledger' | 'read-models' | 'bench';

export interface AuditOptions {
  /** The genesis the store must hold; a different one is a 'genesis' mismatch and stops the audit. */
  readonly genesis?: Genesis;
  /** Also times single-thread strict verification of the event signatures alone, for ratioToBound. */
  readonly bench?: boolean;
  /** Mismatches kept in the report; the rest are only counted. */
  readonly maxMismatches?: number;
  /**
   * Worker threads that verify event signatures and open payloads ahead of consensus (default:
   * the available parallelism, at most 4). 0, or no compiled worker (as under ts-jest): the same
   * function inline, on the main thread.
   */
  readonly threads?: number;
  /** Events per worker job. */
  readonly jobEvents?: number;
  /** Jobs read and submitted ahead of consensus before reading waits for the oldest (default: 4 per thread). */
  readonly readAheadJobs?: number;
  /** Events inserted between two consensus runs (bounds memory: decided rounds are pruned). */
  readonly consensusBatch?: number;
  readonly onProgress?: (phase: AuditPhase, done: number, total: number) => void;
  /**
   * Compares read models with the re-derived ledger (see diffReadModels); called with the records
   * the audit derived, up to what the stored ledger holds.
   */
  readonly readModels?: (
    genesis: Genesis,
    ledger: readonly LedgerRecord[],
    report: (m: Mismatch) => void,
  ) => Promise<ReadModelsComparison>;
}

const READ_PAGE = 2048;
const DEFAULT_MAX_MISMATCHES = 1000;
const DEFAULT_CONSENSUS_BATCH = 512;
const MAX_CONSECUTIVE_FAILURES = 1000;
const SHADOWGRAPH_PREFIX = STREAMS.shadowgraph('');
const DEFAULT_JOB_EVENTS = 128;
const MAX_THREADS = 4;
const READ_AHEAD_JOBS_PER_THREAD = 4;

const utf8 = new TextDecoder();

interface StoredEvent {
  readonly stream: string;
  readonly revision: number;
  readonly event: SignedEvent;
}

/** Answers audit jobs (judgeItems: one strict verdict per item): in a VerifyPool of audit workers, or inline. */
interface Judge {
  readonly threads: number;
  judge(items: JobItems): Promise<Uint8Array>;
  close(): Promise<void>;
}

const AUDIT_WORKER = new URL('./audit-worker.js', import.meta.url);

/** 0 when no compiled audit worker exists (as under ts-jest): jobs then run inline. */
function workerThreads(wanted: number): number {
  return wanted > 0 && existsSync(fileURLToPath(AUDIT_WORKER)) ? wanted : 0;
}

function createJudge(threads: number): Judge {
  const inline: Judge = {
    threads: 0,
    judge: (items) => {
      const { data, offsets } = items.pack();
      return Promise.resolve(judgeItems(data, offsets));
    },
    close: () => Promise.resolve(),
  };
  if (workerThreads(threads) === 0) return inline;
  const pool = new VerifyPool(threads, 2, AUDIT_WORKER);
  let closed = false;
  return {
    threads,
    // A job whose worker failed is packed and judged again inline: the answers are the same
    // function's. (Jobs still pending when the audit stops early are dropped.)
    judge: (items) => {
      const { data, offsets } = items.pack();
      return pool.verify(data, offsets).catch((err: unknown) => {
        if (closed) throw err;
        return inline.judge(items);
      });
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      return pool.close();
    },
  };
}

interface Job {
  /** The job's events, in store order. */
  readonly events: readonly StoredEvent[];
  /** The events' payloads, in job order: the arrays the processor will ask to open. */
  readonly payloads: readonly Uint8Array[];
  /** Their signature items (null: not laid out as a canonical envelope; verified when opened). */
  readonly payloadItems: readonly (SignatureItem | null)[];
  /** One verdict per event, then one per payload. */
  readonly answer: Promise<Uint8Array>;
  settled: boolean;
}

/**
 * Re-derives consensus, ledger and state roots from a store's raw signed events and compares.
 * One pass over the store: while it is read, answered jobs already go through consensus and the
 * processor, and stored records are compared as soon as their re-derived counterparts exist, so
 * little is kept and the main thread does not wait for the whole store before consensus.
 */
export async function auditStore(store: EventStore, options: AuditOptions = {}): Promise<AuditReport> {
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const mainCpuAtStart = threadCpuSeconds();
  const maxMismatches = options.maxMismatches ?? DEFAULT_MAX_MISMATCHES;
  const progress = options.onProgress ?? (() => undefined);
  const mismatches: Mismatch[] = [];
  let mismatchCount = 0;
  const mismatch = (kind: MismatchKind, stream: string, position: number | string, detail: string): void => {
    mismatchCount++;
    if (mismatches.length < maxMismatches) mismatches.push({ kind, stream, position, detail });
  };
  const notices: Notice[] = [];
  /** The derived records, kept only for the read models (cut to the stored ledger's length). */
  const keptLedger: LedgerRecord[] = [];
  let eventsVerified = 0;
  let stateRootsChecked = 0;
  let forks: ForkReport[] = [];
  let lastDecidedRound = -1;
  let orderHashAt = { index: 0, hash: toHex(new Uint8Array(32)) };
  let seconds: number | null = null;
  let bench: AuditBench | undefined;
  let readModels: ReadModelsComparison | undefined;

  // ---- the stored order and ledger, compared record by record as both sides come
  const consensus = new Pairing<OrderedRecord>((stored, derived, index) => {
    orderHashAt = { index: index + 1, hash: derived.orderHash };
    compareOrdered(stored, index, derived, mismatch);
  });
  const ledger = new Pairing<LedgerRecord>((stored, derived) => {
    if (compareLedger(stored, derived, mismatch) && derived.event.type === 'StateRootComputed')
      stateRootsChecked++;
  });

  const nextRevision = new Map<string, number>();
  let shadowGraphEvents = 0;
  let genesisRecords = 0;
  /** undefined: no genesis record read yet; null: the genesis failed (nothing is re-derived). */
  let genesisFound: Genesis | null | undefined;
  let replay: Replay | null = null;
  let read = 0;
  const judge = createJudge(Math.min(MAX_THREADS, options.threads ?? availableParallelism()));
  const jobEvents = Math.max(1, options.jobEvents ?? DEFAULT_JOB_EVENTS);
  const readAhead = Math.max(
    1,
    options.readAheadJobs ?? READ_AHEAD_JOBS_PER_THREAD * Math.max(1, judge.threads),
  );
  const jobs: Job[] = [];
  let items = new JobItems();
  let itemEvents: StoredEvent[] = [];
  const submit = (): void => {
    if (itemEvents.length === 0) return;
    const job: Job = {
      events: itemEvents,
      payloads: items.payloads,
      payloadItems: items.payloadItems,
      answer: judge.judge(items),
      settled: false,
    };
    // Awaited in order later; an early return must not leave a rejection unhandled.
    job.answer.then(
      () => void (job.settled = true),
      () => void (job.settled = true),
    );
    jobs.push(job);
    items = new JobItems();
    itemEvents = [];
  };
  try {
    for await (const page of readTolerantly(store, (after, err) =>
      mismatch('unreadable', '$all', `after ${after}`, `a record cannot be read: ${errorText(err)}`),
    )) {
      for (const r of page) {
        const revision = Number(r.revision);
        const expected = nextRevision.get(r.streamId) ?? 0;
        if (revision !== expected)
          mismatch(
            'stream-gap',
            r.streamId,
            revision,
            `revision ${revision} follows ${expected - 1}: ${revision - expected} record(s) missing`,
          );
        nextRevision.set(r.streamId, revision + 1);
        if (r.streamId === STREAMS.ledger)
          ledger.addStored({ revision, eventId: r.eventId, type: r.type, data: r.data });
        else if (r.streamId === STREAMS.consensus)
          consensus.addStored({ revision, eventId: r.eventId, type: r.type, data: r.data });
        else if (r.streamId.startsWith(SHADOWGRAPH_PREFIX)) {
          shadowGraphEvents++;
          const e = checkEncoding(r, revision, mismatch);
          if (e) {
            itemEvents.push({ stream: r.streamId, revision, event: e });
            items.event(e.signature, e.id, e.body.creator, e.body.payloads);
            if (itemEvents.length >= jobEvents) submit();
          }
        } else if (r.streamId === STREAMS.genesis) {
          if (genesisRecords++ === 0) {
            genesisFound = readGenesis(
              { revision, eventId: r.eventId, type: r.type, data: r.data },
              options.genesis,
              mismatch,
            );
            if (genesisFound) replay = newReplay(genesisFound);
          }
        }
      }
      read += page.length;
      progress('read', read, read);
      // Jobs already answered go through consensus now. Reading stops short of running far ahead:
      // records read long before consensus needs them outlive young-generation collections.
      while (replay && jobs.length > 0 && (jobs[0]!.settled || jobs.length > readAhead))
        await replay.take(jobs.shift()!, false);
    }
    submit();

    if (genesisRecords === 0) mismatch('genesis', STREAMS.genesis, 0, 'the store holds no genesis');
    if (genesisRecords > 1)
      mismatch('genesis', STREAMS.genesis, 1, `the genesis stream holds ${genesisRecords} records, not one`);
    if (!replay) return finish();
    const genesis = genesisFound!;

    for (const job of jobs.splice(0)) await replay.take(job, true);
    await judge.close();
    replay.end();

    // ---- stored beyond what the events derive
    for (const [stored, index] of consensus.unpaired()) compareOrdered(stored, index, null, mismatch);
    for (const [stored] of ledger.unpaired()) compareLedger(stored, null, mismatch);
    progress('ledger', ledger.storedCount, ledger.storedCount);

    if (options.readModels) {
      progress('read-models', 0, 1);
      keptLedger.length = Math.min(keptLedger.length, ledger.storedCount);
      readModels = await options.readModels(genesis, keptLedger, (m) =>
        mismatch(m.kind, m.stream, m.position, m.detail),
      );
      progress('read-models', 1, 1);
    }

    seconds = (performance.now() - started) / 1000;
    const auditCpu = process.cpuUsage(cpuAtStart);
    const mainCpu = threadCpuSeconds();
    const boundOver = options.bench ? await boundEvents(store) : [];
    if (boundOver.length > 0) {
      bench = await measureBounds(boundOver, {
        eventsVerified,
        seconds,
        cpuSeconds: (auditCpu.user + auditCpu.system) / 1e6,
        mainThreadCpuSeconds: mainCpu !== null && mainCpuAtStart !== null ? mainCpu - mainCpuAtStart : null,
        threads: judge.threads,
        jobEvents,
      });
      progress('bench', 1, 1);
    }

    return finish();
  } finally {
    await judge.close();
  }

  /** Consensus and the processor, re-run from the raw events of the jobs, in store order. */
  interface Replay {
    /** Takes a job's verdicts and inserts its verified events; `after` reading, reports progress. */
    take(job: Job, afterReading: boolean): Promise<void>;
    /** The last consensus run; orphans, forks and the last decided round. */
    end(): void;
  }

  function newReplay(genesis: Genesis): Replay {
    const verified = new Set<string>();
    const memo = new PayloadVerdicts();
    let judged = 0;
    const chain = new OrderHashChain(1);
    const processor = new PayloadProcessor(processorConfigOf(genesis), {
      verify: strictVerifier,
      hash: sha256,
      open: memo.open,
    });
    const graph = new Hashgraph({
      genesis: genesis.members.map((m) => ({ key: m.key, stake: m.stake })),
      verify: (_signature, message) => verified.has(toHex(message)),
      coinRoundFrequency: genesis.consensus.coinRoundFrequency,
      membershipDelay: genesis.consensus.membershipDelay,
      pruneHorizon: genesis.consensus.pruneHorizon,
      membershipChanges: (round: number, ordered: readonly OrderedEvent[]): MembershipChange[] => {
        const outcome = processor.processRound(
          round,
          ordered.map((o) => ({
            consensusIndex: o.consensusIndex,
            consensusTimestamp: o.consensusTimestamp,
            payloads: o.event.body.payloads,
          })),
        );
        for (const r of outcome.records) {
          if (options.readModels) keptLedger.push(r);
          ledger.addDerived(r);
        }
        return outcome.membership;
      },
    });
    /** Where each inserted event is stored (its revision; the stream is its creator's), for stale notices. */
    const revisionOf = new Map<string, number>();
    const orphans = new Map<string, StoredEvent[]>();
    const batch = Math.max(1, options.consensusBatch ?? DEFAULT_CONSENSUS_BATCH);
    let sinceConsensus = 0;
    const runConsensus = (): void => {
      const result = graph.runConsensus();
      for (const o of result.ordered) {
        chain.append(o.event.id);
        consensus.addDerived(orderedRecord(o, chain.head));
      }
      for (const e of result.stale) {
        const revision = revisionOf.get(e.idHex);
        notices.push({
          kind: 'stale',
          stream: revision === undefined ? '' : STREAMS.shadowgraph(toHex(e.body.creator)),
          position: revision ?? -1,
          detail: `event ${e.idHex} was received too late to be ordered`,
        });
      }
      sinceConsensus = 0;
    };
    const insert = (first: StoredEvent): void => {
      const queue = [first];
      for (let i = 0; i < queue.length; i++) {
        const s = queue[i]!;
        const result = graph.insert(s.event);
        switch (result.status) {
          case 'inserted': {
            sinceConsensus++;
            const creator = toHex(s.event.body.creator);
            if (graph.schedule.at(result.round).stakeOf(creator) === 0)
              notices.push({
                kind: 'non-member',
                stream: s.stream,
                position: s.revision,
                detail: `event ${s.event.idHex} by ${creator} in round ${result.round}, where it has no stake`,
              });
            const waiting = orphans.get(s.event.idHex);
            if (waiting) {
              orphans.delete(s.event.idHex);
              queue.push(...waiting);
            }
            break;
          }
          case 'missing-parents': {
            const key = result.missing[0]!;
            const list = orphans.get(key) ?? [];
            list.push(s);
            orphans.set(key, list);
            break;
          }
          case 'rejected':
            mismatch(
              result.code === 'BAD_SIGNATURE' ? 'signature' : 'hash-link',
              s.stream,
              s.revision,
              `event ${s.event.idHex} refused by the core: ${result.code}: ${result.reason}`,
            );
            break;
          case 'duplicate':
            break;
        }
      }
    };
    return {
      async take(job, afterReading) {
        const verdicts = await job.answer;
        const good: StoredEvent[] = [];
        job.events.forEach((s, i) => {
          const e = s.event;
          const v = verdicts[i];
          const ok = v === 0 || v === 1 ? v === 1 : strictVerifier.verify(e.signature, e.id, e.body.creator);
          if (ok) {
            verified.add(e.idHex);
            eventsVerified++;
            good.push(s);
          } else mismatch('signature', s.stream, s.revision, `event ${e.idHex} signature does not verify`);
        });
        const events = job.events.length;
        job.payloads.forEach((bytes, i) => {
          const item = job.payloadItems[i];
          const v = verdicts[events + i];
          if (item && (v === 0 || v === 1)) memo.remember(bytes, item, v === 1);
        });
        judged += job.events.length;
        // One phase while jobs are taken (each job's events are verified and inserted at once).
        if (afterReading) progress('verify', judged, shadowGraphEvents);
        for (const s of good) {
          revisionOf.set(s.event.idHex, s.revision);
          insert(s);
          if (sinceConsensus >= batch) runConsensus();
        }
      },
      end() {
        runConsensus();
        for (const [parent, waiting] of [...orphans].sort(([a], [b]) => (a < b ? -1 : 1)))
          for (const s of waiting)
            mismatch(
              'hash-link',
              s.stream,
              s.revision,
              `event ${s.event.idHex}: parent ${parent} is not in the store (or did not verify)`,
            );
        lastDecidedRound = graph.lastDecidedRound;
        forks = graph.forkEvidence.map((f) => ({
          creator: f.creator,
          seq: f.seq,
          eventIds: f.eventIds,
        }));
      },
    };
  }

  function finish(): AuditReport {
    const auditSeconds = seconds ?? (performance.now() - started) / 1000;
    const consensusCmp = {
      stored: consensus.storedCount,
      derived: consensus.derivedCount,
      storedIsPrefix: consensus.storedCount < consensus.derivedCount,
    };
    const ledgerCmp = {
      stored: ledger.storedCount,
      derived: ledger.derivedCount,
      storedIsPrefix: ledger.storedCount < ledger.derivedCount,
    };
    return {
      ok: mismatchCount === 0,
      genesisHash: genesisFound ? genesisHash(genesisFound) : null,
      network: genesisFound ? genesisFound.network : null,
      eventsVerified,
      shadowGraphEvents,
      orderedEvents: Math.min(consensusCmp.stored, consensusCmp.derived),
      ledgerEvents: Math.min(ledgerCmp.stored, ledgerCmp.derived),
      stateRootsChecked,
      consensus: consensusCmp,
      ledger: ledgerCmp,
      storedIsPrefix: consensusCmp.storedIsPrefix || ledgerCmp.storedIsPrefix,
      orderHash: orderHashAt.hash,
      orderHashIndex: orderHashAt.index,
      lastDecidedRound,
      forks,
      notices,
      mismatches,
      mismatchCount,
      ...(readModels ? { readModels } : {}),
      seconds: auditSeconds,
      eventsPerSec: auditSeconds > 0 ? eventsVerified / auditSeconds : 0,
      ...(bench
        ? { verifyBoundPerSec: bench.bound.eventsPerSec, ratioToBound: bench.bound.ratio, bench }
        : {}),
    };
  }
}

/** CPU time of the calling thread so far (Linux: /proc/thread-self/schedstat, in ns); null elsewhere. */
function threadCpuSeconds(): number | null {
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e9 : null;
  } catch {
    return null;
  }
}

/** The store's well-formed ShadowGraph events, read again for the bench (not part of the audit's time). */
async function boundEvents(store: EventStore): Promise<SignedEvent[]> {
  const events: SignedEvent[] = [];
  const ignore = (): void => undefined;
  for await (const page of readTolerantly(store, ignore))
    for (const r of page) {
      if (!r.streamId.startsWith(SHADOWGRAPH_PREFIX)) continue;
      const e = checkEncoding(r, Number(r.revision), ignore);
      if (e) events.push(e);
    }
  return events;
}

/**
 * The signature-verification bound of the same run (docs/audit.md, "Benchmark"), measured after
 * the audit with its workers stopped: every signature the audit checks (each event's, and each
 * payload's as openPayloadBytes verifies it) strictly verified in the audit's jobs, by as many
 * workers as the audit had (`bound`) and on one thread (`oneThread`, with CPU time); and, as
 * reported before, the event signatures alone on one thread.
 */
async function measureBounds(
  graphEvents: readonly SignedEvent[],
  audit: {
    readonly eventsVerified: number;
    readonly seconds: number;
    readonly cpuSeconds: number;
    readonly mainThreadCpuSeconds: number | null;
    readonly threads: number;
    readonly jobEvents: number;
  },
): Promise<AuditBench> {
  const auditRate = audit.eventsVerified / audit.seconds;
  const figure = (seconds: number): BoundFigure => {
    const eventsPerSec = graphEvents.length / seconds;
    return { seconds, eventsPerSec, ratio: auditRate / eventsPerSec };
  };
  const jobs: { data: Uint8Array; offsets: Uint32Array }[] = [];
  let payloadSignatures = 0;
  for (let start = 0; start < graphEvents.length; start += audit.jobEvents) {
    const items = new JobItems();
    for (const e of graphEvents.slice(start, start + audit.jobEvents))
      items.event(e.signature, e.id, e.body.creator, e.body.payloads);
    for (const item of items.payloadItems) if (item) payloadSignatures++;
    jobs.push(items.pack());
  }

  let t0 = performance.now();
  for (const e of graphEvents) strictVerifier.verify(e.signature, e.id, e.body.creator);
  const eventSignaturesOneThread = figure((performance.now() - t0) / 1000);

  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  for (const job of jobs) judgeItems(job.data, job.offsets);
  const oneSeconds = (performance.now() - t0) / 1000;
  const oneCpu = process.cpuUsage(cpu0);
  const cpuSeconds = (oneCpu.user + oneCpu.system) / 1e6;
  const oneThread = { ...figure(oneSeconds), cpuSeconds, cpuRatio: cpuSeconds / audit.cpuSeconds };

  let bound: BoundFigure = figure(oneSeconds);
  if (audit.threads > 0) {
    const pool = new VerifyPool(audit.threads, 2, AUDIT_WORKER);
    try {
      // Started and warm before the clock starts (the audit's time includes its workers' start).
      await Promise.all(
        Array.from({ length: audit.threads * 2 }, () => pool.verify(new Uint8Array(0), Uint32Array.of(0))),
      );
      t0 = performance.now();
      await Promise.all(jobs.map((job) => pool.verify(job.data, job.offsets)));
      bound = figure((performance.now() - t0) / 1000);
    } finally {
      await pool.close();
    }
  }
  return {
    threads: audit.threads,
    eventSignatures: graphEvents.length,
    payloadSignatures,
    auditCpuSeconds: audit.cpuSeconds,
    mainThreadCpuSeconds: audit.mainThreadCpuSeconds,
    bound,
    oneThread,
    eventSignaturesOneThread,
  };
}

/** readAll in pages; a page that fails is re-read one record at a time, and a record that fails is stepped over. */
async function* readTolerantly(
  store: EventStore,
  unreadable: (after: bigint, error: unknown) => void,
): AsyncIterable<readonly RecordedEvent[]> {
  let after = 0n;
  let single = false;
  let failures = 0;
  for (;;) {
    let page: readonly RecordedEvent[] = [];
    const max = single ? 1 : READ_PAGE;
    try {
      if (isPagedEventLog(store)) page = await store.readAllPage(after, max);
      else {
        const read: RecordedEvent[] = [];
        page = read;
        for await (const r of store.readAll({ after, maxCount: max })) read.push(r);
      }
    } catch (error) {
      if (page.length > 0) {
        yield page;
        after = page[page.length - 1]!.globalPosition;
      } else if (!single) single = true;
      else {
        // A store that fails on every position is down, not corrupt.
        if (++failures > MAX_CONSECUTIVE_FAILURES)
          throw new AuditError('STORE_UNAVAILABLE', `reading after ${after}: ${errorText(error)}`, {
            cause: error,
          });
        unreadable(after, error);
        after += 1n;
      }
      continue;
    }
    failures = 0;
    single = false;
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]!.globalPosition;
    if (page.length < max && max > 1) return;
  }
}

function checkEncoding(r: RecordedEvent, revision: number, mismatch: ReportMismatch): SignedEvent | null {
  if (r.type !== EVENT_TYPES.shadowgraphEvent) {
    mismatch('unreadable', r.streamId, revision, `type ${JSON.stringify(r.type)} in a ShadowGraph stream`);
    return null;
  }
  let e: SignedEvent;
  try {
    e = decodeEvent(r.data, sha256);
  } catch (err) {
    mismatch('encoding', r.streamId, revision, `event ${r.eventId} does not decode: ${errorText(err)}`);
    return null;
  }
  if (e.idHex !== r.eventId) {
    mismatch('event-id', r.streamId, revision, `stored id ${r.eventId}, but its body hashes to ${e.idHex}`);
    return null;
  }
  if (r.streamId !== STREAMS.shadowgraph(toHex(e.body.creator))) {
    mismatch('event-id', r.streamId, revision, `event ${e.idHex} is by ${toHex(e.body.creator)}`);
    return null;
  }
  return e;
}

function readGenesis(
  first: StoredRecord,
  pinned: Genesis | undefined,
  mismatch: ReportMismatch,
): Genesis | null {
  const hash = toHex(sha256(first.data));
  if (first.eventId !== hash)
    mismatch('genesis', STREAMS.genesis, 0, `stored id ${first.eventId}, but the document hashes to ${hash}`);
  let genesis: Genesis;
  try {
    genesis = parseGenesis(JSON.parse(utf8.decode(first.data)));
  } catch (err) {
    mismatch('genesis', STREAMS.genesis, 0, `the genesis does not parse: ${errorText(err)}`);
    return null;
  }
  if (genesisHash(genesis) !== hash)
    mismatch('genesis', STREAMS.genesis, 0, 'the stored genesis is not in canonical form');
  if (pinned && genesisHash(pinned) !== genesisHash(genesis)) {
    mismatch(
      'genesis',
      STREAMS.genesis,
      0,
      `the store holds genesis ${genesisHash(genesis)} (${genesis.network}), expected ${genesisHash(pinned)} (${pinned.network})`,
    );
    return null;
  }
  return genesis;
}
