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
  /** With `bench`: single-thread strict verification of the same event signatures alone. */
  readonly verifyBoundPerSec?: number;
  readonly ratioToBound?: number;
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
