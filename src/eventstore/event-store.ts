/**
 * The event-store port. Three adapters implement it (SQLite, PostgreSQL, EventStoreDB) and all of
 * them pass test/contract/event-store.contract.ts. Streams are append-only; revisions count from 0
 * within a stream; global positions are unique, increase with commit order, and may have gaps.
 */

export interface NewEvent {
  /** Unique within its stream. ShadowGraph events use their 64-hex-digit id. */
  readonly eventId: string;
  readonly type: string;
  readonly data: Uint8Array;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface RecordedEvent {
  readonly streamId: string;
  readonly revision: bigint;
  readonly globalPosition: bigint;
  readonly eventId: string;
  readonly type: string;
  readonly data: Uint8Array;
  readonly metadata: Readonly<Record<string, unknown>> | null;
}

/**
 * 'any': no check. 'no_stream': the stream must be empty. 'stream_exists': it must not be.
 * A bigint: the revision of the stream's last event must equal it (-1n is the same as 'no_stream').
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface AppendResult {
  /** Revision of the stream's last event after the append (-1n for a stream still empty). */
  readonly nextExpectedRevision: bigint;
  /** Global position of the last event written, or null when every event was a duplicate. */
  readonly position: bigint | null;
  /** Events actually written: duplicates of event ids already in the stream are skipped. */
  readonly appended: number;
}

export interface StreamAppend {
  readonly streamId: string;
  readonly events: readonly NewEvent[];
  readonly expected: ExpectedRevision;
}

export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Inclusive. Defaults to the first revision going forwards, the last going backwards. */
  readonly fromRevision?: bigint;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events after this global position. Defaults to the beginning. */
  readonly after?: bigint;
  readonly maxCount?: number;
}

export interface SubscriptionHandlers {
  /** Called in global-position order, each event once; the next waits for the returned promise. */
  readonly onEvent: (event: RecordedEvent) => void | Promise<void>;
  /** Called once, when the catch-up has reached the head and the subscription is live. */
  readonly onCaughtUp?: () => void;
  readonly onError?: (error: unknown) => void;
}

export interface Subscription {
  /** Resolves once the subscription is live (after onCaughtUp). */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

export interface EventStore {
  /**
   * Atomic: all the new events or none. Events whose eventId already exists in the stream are
   * skipped first (idempotent retries); when none remain, the append succeeds without a check.
   * Throws WrongExpectedRevisionError when the expectation fails.
   */
  append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /**
   * Appends to several streams in the given order, each as `append` would, and answers in that
   * order; a stream may appear more than once (its later entries see its earlier ones).
   * Atomic where `atomicAcrossStreams` (SQLite, PostgreSQL: one transaction, one durable commit,
   * all or nothing); elsewhere (EventStoreDB) one append after another, so a failure leaves the
   * entries before it written, as separate appends would.
   */
  appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  readonly atomicAcrossStreams: boolean;
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /** Revision of the stream's last event, or -1n when the stream is empty or absent. */
  streamRevision(streamId: string): Promise<bigint>;
  /** Catch-up then live, from after the given position, with no gap and no duplicate. */
  subscribeToAll(after: bigint | 'start', handlers: SubscriptionHandlers): Subscription;
  close(): Promise<void>;
}

/**
 * A store that also hands over a page of the log at once: exactly what readAll({ after, maxCount })
 * yields, as one array, for readers that take the whole log (the audit) without an async step per
 * event. SQLite and PostgreSQL offer it.
 */
export interface PagedEventLog {
  readAllPage(after: bigint, max: number): Promise<RecordedEvent[]>;
}

export function isPagedEventLog(store: EventStore): store is EventStore & PagedEventLog {
  return typeof (store as Partial<PagedEventLog>).readAllPage === 'function';
}

export type EventStoreErrorCode =
  'WRONG_EXPECTED_REVISION' | 'STORE_UNAVAILABLE' | 'CORRUPT_RECORD' | 'BAD_REQUEST';

export class EventStoreError extends Error {
  constructor(
    readonly code: EventStoreErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'EventStoreError';
  }
}

export class WrongExpectedRevisionError extends EventStoreError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint,
  ) {
    super('WRONG_EXPECTED_REVISION', `stream ${streamId}: expected ${String(expected)}, actual ${actual}`);
    this.name = 'WrongExpectedRevisionError';
  }
}
