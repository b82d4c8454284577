/** What `dagger audit` reports: every difference between a store and what its raw events re-derive. */

export type MismatchKind =
  /** A record that cannot be read or parsed (a corrupt row, bad JSON, an unknown type). */
  | 'unreadable'
  | 'genesis'
  /** ShadowGraph bytes that do not decode. */
  | 'encoding'
  /** A stored event id that is not the hash of the stored body, or a stream that is not its creator's. */
  | 'event-id'
  | 'signature'
  /** A parent never found in the store, or a link the core refuses (seq, self-parent, timestamp). */
  | 'hash-link'
  /** A revision missing within a stream. */
  | 'stream-gap'
  | 'consensus'
  | 'ledger'
  | 'state-root'
  | 'read-model';

export interface Mismatch {
  readonly kind: MismatchKind;
  readonly stream: string;
  /** Revision within the stream (or the row key for read models); -1 when it has none. */
  readonly position: number | string;
  readonly detail: string;
}

export interface Notice {
  readonly kind: 'non-member' | 'stale' | 'undecided';
  readonly stream: string;
  readonly position: number;
  readonly detail: string;
}

export interface ForkReport {
  readonly creator: string;
  readonly seq: number;
  readonly eventIds: readonly [string, string];
}

export interface StreamComparison {
  readonly stored: number;
  readonly derived: number;
  /** The stored stream is a strict prefix of the re-derived one (a node stopped mid-way). */
  readonly storedIsPrefix: boolean;
}

export interface ReadModelsComparison {
  readonly checkpoint: number;
  readonly rowsCompared: number;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly genesisHash: string | null;
  readonly network: string | null;
  /** ShadowGraph events whose encoding, id and signature checked out. */
  readonly eventsVerified: number;
  readonly shadowGraphEvents: number;
  readonly orderedEvents: number;
  readonly ledgerEvents: number;
  readonly stateRootsChecked: number;
  readonly consensus: StreamComparison;
  readonly ledger: StreamComparison;
  readonly storedIsPrefix: boolean;
  /** Running order hash at the last stored consensus index (what another node's audit can be compared with). */
  readonly orderHash: string;
  readonly orderHashIndex: number;
  readonly lastDecidedRound: number;
  readonly forks: readonly ForkReport[];
  readonly notices: readonly Notice[];
  readonly mismatches: readonly Mismatch[];
  /** Mismatches found, including any left out of `mismatches` past the cap. */
  readonly mismatchCount: number;
  readonly readModels?: ReadModelsComparison;
  readonly seconds: number;
  readonly eventsPerSec: number;
  /** With `bench`: bench.bound's events/s and ratio (every signature the audit checks, as many workers). */
  readonly verifyBoundPerSec?: number;
  readonly ratioToBound?: number;
  readonly bench?: AuditBench;
}

/** A signature-verification bound: its time, in events/s, and the audit's events/s over it. */
export interface BoundFigure {
  readonly seconds: number;
  readonly eventsPerSec: number;
  readonly ratio: number;
}

/** The bounds of the same run (docs/audit.md, "Benchmark"). */
export interface AuditBench {
  /** Worker threads of the audit, and so of `bound` (0: all on the main thread). */
  readonly threads: number;
  readonly eventSignatures: number;
  /** Signatures of canonical envelopes among the events' payloads. */
  readonly payloadSignatures: number;
  /** Process CPU time of the audit: main thread, workers, GC and compiler threads. */
  readonly auditCpuSeconds: number;
  /**
   * The main thread's share of auditCpuSeconds (null where the OS does not tell: Linux only). Near
   * `seconds`, the main thread is the critical path; else the cores are (process CPU over cores).
   */
  readonly mainThreadCpuSeconds: number | null;
  /** Every event and payload signature, strictly verified in the audit's jobs by `threads` workers (wall clock). */
  readonly bound: BoundFigure;
  /** The same signatures on one thread; cpuRatio is its CPU time over the audit's. */
  readonly oneThread: BoundFigure & { readonly cpuSeconds: number; readonly cpuRatio: number };
  /** The bound as reported before: the event signatures alone, on one thread. */
  readonly eventSignaturesOneThread: BoundFigure;
}

export type AuditErrorCode = 'GENESIS_MISSING' | 'BAD_OPTIONS' | 'STORE_UNAVAILABLE';

/** Only for what stops an audit before it can compare anything; differences are mismatches. */
export class AuditError extends Error {
  constructor(
    readonly code: AuditErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'AuditError';
  }
}
