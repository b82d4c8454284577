import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import canonicalize from 'canonicalize';
import { sha256, strictVerifier } from '../../domain/crypto/index.js';
import type { LedgerRecord } from '../../domain/processor/events.js';
import { jcs as stateJcs } from '../../domain/processor/table.js';
import { PayloadProcessor } from '../../domain/processor/index.js';
import { decodeEvent, type SignedEvent, toHex } from '../../domain/shadowgraph/event.js';
import { Hashgraph, type OrderedEvent } from '../../domain/shadowgraph/hashgraph.js';
import type { MembershipChange } from '../../domain/shadowgraph/membership.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import { type Genesis, genesisHash, parseGenesis } from '../node/genesis.js';
import { processorConfigOf } from '../node/ledger-driver.js';
import {
  EVENT_TYPES,
  type OrderedRecord,
  orderedRecord,
  STREAMS,
  storedLedgerRecord,
} from '../node/node-runtime.js';
import { VerifyPool } from '../bench/verify-pool.js';
import { OrderHashChain } from '../shared/order-hash.js';
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
import {
  type AuditAnswer,
  JobItems,
  judgeItems,
  judgeJob,
  OpenedMemo,
  packItems,
  payloadSignature,
} from './verdicts.js';

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

/** Counts a difference found at a stream revision (and keeps it, up to maxMismatches). */
type ReportMismatch = (kind: MismatchKind, stream: string, position: number, detail: string) => void;

const utf8 = new TextDecoder();

interface StoredEvent {
  readonly stream: string;
  readonly revision: number;
  readonly event: SignedEvent;
}

interface StoredRecord {
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly data: Uint8Array;
}

/** Answers audit jobs (judge-items.ts): in a VerifyPool of audit workers, or inline. */
interface Judge {
  readonly threads: number;
  judge(items: JobItems): Promise<Omit<AuditAnswer, 'op' | 'id'>>;
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
    judge: (items) => Promise.resolve(judgeJob(items.pack())),
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
      const job = items.pack();
      return pool.job<AuditAnswer>(job, [job.data.buffer as ArrayBuffer]).catch((err: unknown) => {
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
  /** graphEvents[start, end) */
  readonly start: number;
  readonly end: number;
  /** The events' payloads, in job order: the arrays the processor will ask to open. */
  readonly payloads: readonly Uint8Array[];
  readonly answer: Promise<Omit<AuditAnswer, 'op' | 'id'>>;
}

/** Re-derives consensus, ledger and state roots from a store's raw signed events and compares. */
export async function auditStore(store: EventStore, options: AuditOptions = {}): Promise<AuditReport> {
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const maxMismatches = options.maxMismatches ?? DEFAULT_MAX_MISMATCHES;
  const progress = options.onProgress ?? (() => undefined);
  const mismatches: Mismatch[] = [];
  let mismatchCount = 0;
  const mismatch = (kind: MismatchKind, stream: string, position: number | string, detail: string): void => {
    mismatchCount++;
    if (mismatches.length < maxMismatches) mismatches.push({ kind, stream, position, detail });
  };
  const notices: Notice[] = [];
  const ordered: OrderedEvent[] = [];
  /** Records the processor derived; compared with the stored ledger as they come. */
  let derivedLedger = 0;
  /** The derived records within the stored ledger, kept only for the read models. */
  const keptLedger: LedgerRecord[] = [];
  let eventsVerified = 0;
  let stateRootsChecked = 0;
  let forks: ForkReport[] = [];
  let lastDecidedRound = -1;
  let orderHashAt = { index: 0, hash: toHex(new Uint8Array(32)) };
  let seconds: number | null = null;
  let bench: AuditBench | undefined;
  let readModels: ReadModelsComparison | undefined;

  // ---- read every record once, in commit order
  const genesisRecords: StoredRecord[] = [];
  const graphEvents: StoredEvent[] = [];
  const consensus: StoredRecord[] = [];
  const ledger: StoredRecord[] = [];
  const nextRevision = new Map<string, number>();
  let shadowGraphEvents = 0;
  let read = 0;
  const judge = createJudge(Math.min(MAX_THREADS, options.threads ?? availableParallelism()));
  const jobEvents = Math.max(1, options.jobEvents ?? DEFAULT_JOB_EVENTS);
  const jobs: Job[] = [];
  let items = new JobItems();
  const submit = (): void => {
    const start = jobs.length > 0 ? jobs[jobs.length - 1]!.end : 0;
    if (graphEvents.length === start) return;
    const answer = judge.judge(items);
    answer.catch(() => undefined); // awaited below; an early return must not leave it unhandled
    jobs.push({ start, end: graphEvents.length, payloads: items.payloads, answer });
    items = new JobItems();
  };
  let genesisFound: Genesis | null = null;
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
        const stored: StoredRecord = { revision, eventId: r.eventId, type: r.type, data: r.data };
        if (r.streamId === STREAMS.genesis) genesisRecords.push(stored);
        else if (r.streamId === STREAMS.consensus) consensus.push(stored);
        else if (r.streamId === STREAMS.ledger) ledger.push(stored);
        else if (r.streamId.startsWith(SHADOWGRAPH_PREFIX)) {
          shadowGraphEvents++;
          const e = checkEncoding(r, revision, mismatch);
          if (e) {
            graphEvents.push({ stream: r.streamId, revision, event: e });
            items.event(e.signature, e.id, e.body.creator, e.body.payloads);
            if (graphEvents.length % jobEvents === 0) submit();
          }
        }
      }
      read += page.length;
      progress('read', read, read);
    }
    submit();

    // ---- genesis
    const genesis = readGenesis(genesisRecords, options.genesis, mismatch);
    genesisFound = genesis;
    if (!genesis) return finish();

    // ---- signatures and payloads, once each, ahead of consensus (the jobs run while the store is
    // read); the core asks the event verdicts back, the processor the opened payloads (its `open`)
    const verified = new Set<string>();
    const memo = new OpenedMemo();
    let judged = 0;
    const takeVerdicts = async (job: Job): Promise<void> => {
      const { verdicts, opened } = await job.answer;
      const events = job.end - job.start;
      for (let i = 0; i < events; i++) {
        const s = graphEvents[job.start + i]!;
        const e = s.event;
        const v = verdicts[i];
        const good = v === 0 || v === 1 ? v === 1 : strictVerifier.verify(e.signature, e.id, e.body.creator);
        if (good) {
          verified.add(e.idHex);
          eventsVerified++;
        } else mismatch('signature', s.stream, s.revision, `event ${e.idHex} signature does not verify`);
      }
      job.payloads.forEach((bytes, i) => {
        const answer = opened[i];
        if (answer) memo.remember(bytes, answer);
      });
      judged += events;
      progress('verify', judged, graphEvents.length);
    };

    // ---- consensus and the processor, re-run from the raw events
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
          const i = derivedLedger++;
          const stored = ledger[i];
          if (!stored) continue; // beyond the stored ledger: it is a prefix
          if (options.readModels) keptLedger.push(r);
          if (compareLedger(stored, i, r, mismatch) && r.event.type === 'StateRootComputed')
            stateRootsChecked++;
        }
        return outcome.membership;
      },
    });
    const where = new Map<string, StoredEvent>();
    const orphans = new Map<string, StoredEvent[]>();
    const batch = Math.max(1, options.consensusBatch ?? DEFAULT_CONSENSUS_BATCH);
    let sinceConsensus = 0;
    let inserted = 0;
    const runConsensus = (): void => {
      const result = graph.runConsensus();
      for (const o of result.ordered) ordered.push(o);
      for (const e of result.stale) {
        const s = where.get(e.idHex);
        notices.push({
          kind: 'stale',
          stream: s?.stream ?? '',
          position: s?.revision ?? -1,
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
            inserted++;
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
    for (const job of jobs) {
      await takeVerdicts(job);
      for (let i = job.start; i < job.end; i++) {
        const s = graphEvents[i]!;
        if (!verified.has(s.event.idHex)) continue;
        where.set(s.event.idHex, s);
        insert(s);
        if (sinceConsensus >= batch) runConsensus();
        if (inserted % 1024 === 0) progress('consensus', inserted, graphEvents.length);
      }
    }
    await judge.close();
    runConsensus();
    progress('consensus', inserted, verified.size);
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

    // ---- compare the order
    const chain = new OrderHashChain(1);
    for (let i = 0; i < Math.max(consensus.length, ordered.length); i++) {
      const o = ordered[i];
      if (o) chain.append(o.event.id);
      const stored = consensus[i];
      if (!stored) continue;
      if (i < ordered.length && i < consensus.length) orderHashAt = { index: i + 1, hash: chain.head };
      compareOrdered(stored, i, o ? orderedRecord(o, chain.head) : null, mismatch);
    }

    // ---- the ledger and its state roots were compared as the processor derived them; what is
    // stored beyond that derives from nothing
    for (let i = derivedLedger; i < ledger.length; i++) compareLedger(ledger[i]!, i, null, mismatch);
    progress('ledger', ledger.length, ledger.length);

    if (options.readModels) {
      progress('read-models', 0, 1);
      readModels = await options.readModels(genesis, keptLedger, (m) =>
        mismatch(m.kind, m.stream, m.position, m.detail),
      );
      progress('read-models', 1, 1);
    }

    seconds = (performance.now() - started) / 1000;
    const auditCpu = process.cpuUsage(cpuAtStart);
    if (options.bench && graphEvents.length > 0) {
      bench = await measureBounds(graphEvents, {
        eventsVerified,
        seconds,
        cpuSeconds: (auditCpu.user + auditCpu.system) / 1e6,
        threads: judge.threads,
        jobEvents,
      });
      progress('bench', 1, 1);
    }

    return finish();
  } finally {
    await judge.close();
  }

  function finish(): AuditReport {
    const auditSeconds = seconds ?? (performance.now() - started) / 1000;
    const consensusCmp = {
      stored: consensus.length,
      derived: ordered.length,
      storedIsPrefix: consensus.length < ordered.length,
    };
    const ledgerCmp = {
      stored: ledger.length,
      derived: derivedLedger,
      storedIsPrefix: ledger.length < derivedLedger,
    };
    return {
      ok: mismatchCount === 0,
      genesisHash: genesisFound ? genesisHash(genesisFound) : null,
      network: genesisFound ? genesisFound.network : null,
      eventsVerified,
      shadowGraphEvents,
      orderedEvents: Math.min(consensus.length, ordered.length),
      ledgerEvents: Math.min(ledger.length, derivedLedger),
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

/**
 * The signature-verification bound of the same run (docs/audit.md, "Benchmark"), measured after
 * the audit with its workers stopped: every signature the audit checks (each event's, and each
 * payload's as openPayloadBytes verifies it) strictly verified in the audit's jobs, by as many
 * workers as the audit had (`bound`) and on one thread (`oneThread`, with CPU time); and, as
 * reported before, the event signatures alone on one thread.
 */
async function measureBounds(
  graphEvents: readonly StoredEvent[],
  audit: {
    readonly eventsVerified: number;
    readonly seconds: number;
    readonly cpuSeconds: number;
    readonly threads: number;
    readonly jobEvents: number;
  },
): Promise<AuditBench> {
  const auditRate = audit.eventsVerified / audit.seconds;
  const figure = (seconds: number): BoundFigure => {
    const eventsPerSec = graphEvents.length / seconds;
    return { seconds, eventsPerSec, ratio: auditRate / eventsPerSec };
  };
  type Triple = { signature: Uint8Array; message: Uint8Array; publicKey: Uint8Array };
  const jobs: { data: Uint8Array; offsets: Uint32Array }[] = [];
  let payloadSignatures = 0;
  for (let start = 0; start < graphEvents.length; start += audit.jobEvents) {
    const triples: Triple[] = [];
    const payloads: Triple[] = [];
    for (const { event: e } of graphEvents.slice(start, start + audit.jobEvents)) {
      triples.push({ signature: e.signature, message: e.id, publicKey: e.body.creator });
      for (const p of e.body.payloads) {
        const signed = payloadSignature(p);
        if (signed) payloads.push(signed);
      }
    }
    payloadSignatures += payloads.length;
    jobs.push(packItems([...triples, ...payloads]));
  }

  let t0 = performance.now();
  for (const { event: e } of graphEvents) strictVerifier.verify(e.signature, e.id, e.body.creator);
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
    bound,
    oneThread,
    eventSignaturesOneThread,
  };
}

/** readAll in pages; a page that fails is re-read one record at a time, and a record that fails is stepped over. */
async function* readTolerantly(
  store: EventStore,
  unreadable: (after: bigint, error: unknown) => void,
): AsyncIterable<RecordedEvent[]> {
  let after = 0n;
  let single = false;
  let failures = 0;
  for (;;) {
    const page: RecordedEvent[] = [];
    const max = single ? 1 : READ_PAGE;
    try {
      for await (const r of store.readAll({ after, maxCount: max })) page.push(r);
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
  records: readonly StoredRecord[],
  pinned: Genesis | undefined,
  mismatch: ReportMismatch,
): Genesis | null {
  const first = records[0];
  if (!first) {
    mismatch('genesis', STREAMS.genesis, 0, 'the store holds no genesis');
    return null;
  }
  if (records.length > 1)
    mismatch('genesis', STREAMS.genesis, 1, `the genesis stream holds ${records.length} records, not one`);
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

const ORDERED_FIELDS: readonly (keyof OrderedRecord)[] = [
  'eventId',
  'consensusIndex',
  'roundReceived',
  'consensusTimestamp',
  'orderHash',
  'creator',
  'seq',
  'round',
  'payloads',
];

function compareOrdered(
  stored: StoredRecord,
  index: number,
  derived: OrderedRecord | null,
  mismatch: ReportMismatch,
): void {
  const stream = STREAMS.consensus;
  if (stored.revision !== index) return; // already reported as a gap; the rest are shifted
  let record: Partial<OrderedRecord>;
  try {
    record = JSON.parse(utf8.decode(stored.data)) as Partial<OrderedRecord>;
    if (typeof record !== 'object' || record === null) throw new Error('not an object');
  } catch (err) {
    mismatch('unreadable', stream, index, `record is not JSON: ${errorText(err)}`);
    return;
  }
  if (!derived) {
    mismatch(
      'consensus',
      stream,
      index,
      `stored ${String(record.eventId)}, but the events order nothing here`,
    );
    return;
  }
  const differs: string[] = [];
  if (stored.type !== EVENT_TYPES.eventOrdered) differs.push(`type ${stored.type}`);
  if (stored.eventId !== derived.eventId) differs.push(`stored id ${stored.eventId}`);
  for (const f of ORDERED_FIELDS)
    if (record[f] !== derived[f])
      differs.push(`${f} ${JSON.stringify(record[f])} != ${JSON.stringify(derived[f])}`);
  if (differs.length > 0)
    mismatch('consensus', stream, index, `re-derived ${derived.eventId}: ${differs.join('; ')}`);
}

/** True when the stored record equals the re-derived one byte for byte. */
function compareLedger(
  stored: StoredRecord,
  index: number,
  derived: LedgerRecord | null,
  mismatch: ReportMismatch,
): boolean {
  const stream = STREAMS.ledger;
  if (!derived) {
    mismatch(
      'ledger',
      stream,
      stored.revision,
      `stored ${stored.eventId}, but the processor derives nothing here`,
    );
    return false;
  }
  if (sameBytes(stored, derived)) return true;
  const expected = storedLedgerRecord(derived);
  if (
    stored.eventId === expected.eventId &&
    stored.type === expected.type &&
    Buffer.from(stored.data).equals(expected.data)
  )
    return true;
  let record: LedgerRecord | null = null;
  try {
    record = JSON.parse(utf8.decode(stored.data)) as LedgerRecord;
  } catch {
    record = null;
  }
  const isRoot = derived.event.type === 'StateRootComputed' || record?.event?.type === 'StateRootComputed';
  const what = record ? firstDifference(record, derived) : 'record is not JSON';
  const idNote =
    stored.eventId !== expected.eventId ? `; stored id ${stored.eventId}, expected ${expected.eventId}` : '';
  mismatch(
    isRoot ? 'state-root' : 'ledger',
    stream,
    stored.revision,
    `${derived.event.type}: ${what}${idNote}`,
  );
  return false;
}

/**
 * The fast path of compareLedger: the record's canonical text by the state's JCS (table.ts), which
 * equals `canonicalize` where it answers at all (integers, no undefined); the stored id must still
 * hash the stored bytes. Anything else goes to the reference path.
 */
function sameBytes(stored: StoredRecord, derived: LedgerRecord): boolean {
  if (stored.type !== EVENT_TYPES.ledgerRecord) return false;
  let text: string;
  try {
    text = stateJcs(derived);
  } catch {
    return false;
  }
  // JSON.stringify escapes a lone surrogate, which canonicalize refuses: the reference decides.
  if (text.includes('\\ud')) return false;
  const data = Buffer.from(stored.data.buffer, stored.data.byteOffset, stored.data.byteLength);
  return data.equals(Buffer.from(text, 'utf8')) && stored.eventId === toHex(sha256(stored.data));
}

function firstDifference(stored: unknown, derived: unknown, path = ''): string {
  if (typeof stored !== 'object' || typeof derived !== 'object' || stored === null || derived === null) {
    return stored === derived
      ? 'bytes differ (non-canonical encoding)'
      : `${path || '.'}: stored ${JSON.stringify(stored)}, re-derived ${JSON.stringify(derived)}`;
  }
  const keys = [...new Set([...Object.keys(stored), ...Object.keys(derived)])].sort();
  for (const k of keys) {
    const a = (stored as Record<string, unknown>)[k];
    const b = (derived as Record<string, unknown>)[k];
    if (canonicalize(a) !== canonicalize(b)) return firstDifference(a, b, `${path}.${k}`);
  }
  return 'bytes differ (non-canonical encoding)';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
