/**
 * What every adapter shares: request validation (so all three refuse the same requests with
 * BAD_REQUEST before any I/O), the expected-revision rule, metadata encoding and typed errors.
 */
import {
  type AppendResult,
  EventStoreError,
  type EventStoreErrorCode,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StreamAppend,
  WrongExpectedRevisionError,
} from './event-store.js';

export type Metadata = Readonly<Record<string, unknown>>;

/** Longest stream id, event id or event type accepted, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 1024;
/** Deepest metadata nesting accepted (also keeps the validator's recursion bounded). */
export const MAX_METADATA_DEPTH = 32;

export function storeError(code: EventStoreErrorCode, message: string, cause?: unknown): EventStoreError {
  const error = new EventStoreError(code, message);
  if (cause !== undefined) error.cause = cause;
  return error;
}

/** Lone surrogates do not survive UTF-8 (PostgreSQL, gRPC) and NUL does not survive PostgreSQL TEXT. */
const NOT_PORTABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkName(what: string, value: unknown, allowDollar: boolean): void {
  if (typeof value !== 'string' || value.length === 0)
    throw storeError('BAD_REQUEST', `${what} must be a non-empty string`);
  if (value.length > MAX_NAME_LENGTH)
    throw storeError('BAD_REQUEST', `${what} is longer than ${MAX_NAME_LENGTH} characters`);
  if (!allowDollar && value.startsWith('$'))
    throw storeError(
      'BAD_REQUEST',
      `${what} ${JSON.stringify(value)} starts with '$' (reserved for system events)`,
    );
  if (NOT_PORTABLE.test(value))
    throw storeError('BAD_REQUEST', `${what} contains NUL or an unpaired surrogate`);
}

export function checkStreamId(streamId: unknown): asserts streamId is string {
  checkName('stream id', streamId, false);
}

export function checkExpectedRevision(expected: unknown): asserts expected is ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'bigint' && expected >= -1n) return;
  throw storeError(
    'BAD_REQUEST',
    `expected revision must be 'any', 'no_stream', 'stream_exists' or a bigint >= -1`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True when the value survives JSON (and JSONB) unchanged: no undefined, bigint, NaN, class instance. */
function isPortableJson(value: unknown, depth: number): boolean {
  if (depth > MAX_METADATA_DEPTH) return false;
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'string') return !NOT_PORTABLE.test(value);
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every((item) => isPortableJson(item, depth + 1));
  if (!isPlainObject(value)) return false;
  return Object.entries(value).every(([k, v]) => !NOT_PORTABLE.test(k) && isPortableJson(v, depth + 1));
}

/** `append` where one transaction serves any number of streams: appendMany of that one append. */
export async function appendOne(
  store: { appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> },
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): Promise<AppendResult> {
  return (await store.appendMany([{ streamId, events, expected }]))[0]!;
}

/** Validates an append request: names, expected revision, unique event ids, portable metadata. */
export function checkAppend(
  streamId: unknown,
  events: readonly NewEvent[],
  expected: unknown,
): asserts streamId is string {
  checkStreamId(streamId);
  checkExpectedRevision(expected);
  if (!Array.isArray(events)) throw storeError('BAD_REQUEST', 'events must be an array');
  const seen = new Set<string>();
  for (const event of events) {
    checkName('event id', event.eventId, true);
    checkName('event type', event.type, false);
    if (!(event.data instanceof Uint8Array))
      throw storeError('BAD_REQUEST', `event ${event.eventId}: data must be a Uint8Array`);
    if (
      event.metadata !== undefined &&
      (!isPlainObject(event.metadata) || !isPortableJson(event.metadata, 0))
    )
      throw storeError(
        'BAD_REQUEST',
        `event ${event.eventId}: metadata must be a plain JSON object (finite numbers, no undefined, bigint or NUL)`,
      );
    if (seen.has(event.eventId))
      throw storeError('BAD_REQUEST', `event id ${event.eventId} appears twice in one append`);
    seen.add(event.eventId);
  }
}

export function encodeMetadata(metadata: Metadata | undefined): string | null {
  return metadata === undefined ? null : JSON.stringify(metadata);
}

export function metadataFromJson(value: unknown, where: string): Metadata | null {
  if (value === null || value === undefined) return null;
  if (!isPlainObject(value)) throw storeError('CORRUPT_RECORD', `${where}: metadata is not a JSON object`);
  return value;
}

export function decodeMetadata(text: string | null, where: string): Metadata | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw storeError('CORRUPT_RECORD', `${where}: metadata is not valid JSON`, error);
  }
  return metadataFromJson(value, where);
}

/** The expected-revision rule, given the stream's current revision (-1n when empty). */
export function checkExpected(streamId: string, expected: ExpectedRevision, current: bigint): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === -1n) ||
    (expected === 'stream_exists' && current >= 0n) ||
    (typeof expected === 'bigint' && expected === current);
  if (!ok) throw new WrongExpectedRevisionError(streamId, expected, current);
}

export interface StreamRead {
  readonly forwards: boolean;
  /** Inclusive start; null: the first (forwards) or last (backwards) revision. */
  readonly fromRevision: bigint | null;
  /** null: no limit. */
  readonly maxCount: number | null;
}

function checkMaxCount(maxCount: unknown): number | null {
  if (maxCount === undefined) return null;
  if (typeof maxCount !== 'number' || !Number.isSafeInteger(maxCount) || maxCount < 0)
    throw storeError('BAD_REQUEST', 'maxCount must be a non-negative safe integer');
  return maxCount;
}

export function readStreamRequest(streamId: unknown, options: ReadStreamOptions | undefined): StreamRead {
  checkStreamId(streamId);
  const direction = options?.direction ?? 'forwards';
  if (direction !== 'forwards' && direction !== 'backwards')
    throw storeError('BAD_REQUEST', `direction must be 'forwards' or 'backwards'`);
  const from = options?.fromRevision;
  if (from !== undefined && (typeof from !== 'bigint' || from < 0n))
    throw storeError('BAD_REQUEST', 'fromRevision must be a bigint >= 0');
  return {
    forwards: direction === 'forwards',
    fromRevision: from ?? null,
    maxCount: checkMaxCount(options?.maxCount),
  };
}

export interface AllRead {
  /** Exclusive; null: from the beginning. */
  readonly after: bigint | null;
  readonly maxCount: number | null;
}

export function checkPosition(after: unknown): asserts after is bigint {
  if (typeof after !== 'bigint' || after < 0n)
    throw storeError('BAD_REQUEST', `a global position must be a bigint >= 0`);
}

export function readAllRequest(options: ReadAllOptions | undefined): AllRead {
  const after = options?.after;
  if (after !== undefined) checkPosition(after);
  return { after: after ?? null, maxCount: checkMaxCount(options?.maxCount) };
}

export function checkSubscribeFrom(after: unknown): bigint | null {
  if (after === 'start') return null;
  checkPosition(after);
  return after;
}

/** A zero-copy Uint8Array view of a Buffer, so reads return plain Uint8Arrays. */
export function bytesView(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
