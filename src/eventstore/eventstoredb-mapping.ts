import { createHash } from 'node:crypto';
import { bytesView, metadataFromJson, storeError, type Metadata } from './common.js';
import type { ExpectedRevision, RecordedEvent } from './event-store.js';

/**
 * Pure mapping between the port and EventStoreDB (kept apart from the gRPC client so it is tested
 * without a server).
 */

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * ESDB event ids are UUIDs. A canonical lowercase UUID is used as it is; any other id maps to the
 * first 16 bytes of sha256("dagger-event-id:" + id) with the RFC 9562 version 8 and variant bits
 * set. The same id always maps to the same UUID, which ESDB's own idempotency relies on.
 */
export function esdbEventUuid(eventId: string): string {
  if (CANONICAL_UUID.test(eventId)) return eventId;
  const b = createHash('sha256').update(`dagger-event-id:${eventId}`, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The client's expected-revision values ('any', 'no_stream', 'stream_exists' or a bigint). */
export type EsdbExpected = 'any' | 'no_stream' | 'stream_exists' | bigint;

export function toEsdbExpected(expected: ExpectedRevision): EsdbExpected {
  return expected === -1n ? 'no_stream' : expected;
}

/** The client reports an absent stream as 'no_stream'; the port says -1n. */
export function fromEsdbRevision(actual: 'no_stream' | bigint): bigint {
  return actual === 'no_stream' ? -1n : actual;
}

/**
 * ESDB metadata of a DAGGER event: `{"eventId": <the port's id>, "metadata": <the port's metadata or
 * null>}` as UTF-8 JSON. Wrapping keeps the original id (the UUID may be derived) without reserving
 * any key of the caller's metadata.
 */
export function encodeEsdbMetadata(eventId: string, metadata: Metadata | undefined): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ eventId, metadata: metadata ?? null }));
}

/**
 * Inverse of encodeEsdbMetadata. Events other tools wrote (no envelope) keep their ESDB id and get
 * their metadata when it is a JSON object; a malformed DAGGER envelope is CORRUPT_RECORD.
 */
export function decodeEsdbMetadata(
  raw: unknown,
  esdbId: string,
  where: string,
): { eventId: string; metadata: Metadata | null } {
  if (typeof raw !== 'object' || raw === null || raw instanceof Uint8Array || Array.isArray(raw))
    return { eventId: esdbId, metadata: null };
  if (!('eventId' in raw)) return { eventId: esdbId, metadata: metadataFromJson(raw, where) };
  const { eventId } = raw;
  const metadata = 'metadata' in raw ? raw.metadata : null;
  if (typeof eventId !== 'string' || eventId === '' || esdbEventUuid(eventId) !== esdbId)
    throw storeError(
      'CORRUPT_RECORD',
      `${where}: metadata eventId does not match the ESDB event id ${esdbId}`,
    );
  return { eventId, metadata: metadataFromJson(metadata, where) };
}

/** $-prefixed streams ($stats-…, $$meta, $ce-…) and types ($metadata, $>) belong to the server. */
export function isSystemEvent(streamId: string, type: string): boolean {
  return streamId.startsWith('$') || type.startsWith('$');
}

/** The fields of an ESDB recorded event that the port needs. */
export interface EsdbRecordedLike {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly isJson: boolean;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly position?: { readonly commit: bigint; readonly prepare: bigint } | undefined;
}

/**
 * Global position = the commit position in ESDB's transaction log. Events appended through gRPC
 * (no explicit transactions) each get their own commit position, equal to their prepare position,
 * so it is unique, increases along $all, and {commit: p, prepare: p} resumes right after it.
 */
export function fromEsdbRecorded(e: EsdbRecordedLike): RecordedEvent {
  const where = `ESDB event ${e.streamId}@${e.revision}`;
  if (e.position === undefined)
    throw storeError(
      'STORE_UNAVAILABLE',
      `${where}: the server sent no $all position (DAGGER needs EventStoreDB 22.6 or later)`,
    );
  let data: Uint8Array;
  if (e.data instanceof Uint8Array) data = bytesView(e.data);
  else if (e.isJson) data = new TextEncoder().encode(JSON.stringify(e.data));
  else throw storeError('CORRUPT_RECORD', `${where}: data is neither bytes nor JSON`);
  const { eventId, metadata } = decodeEsdbMetadata(e.metadata, e.id, where);
  return {
    streamId: e.streamId,
    revision: e.revision,
    globalPosition: e.position.commit,
    eventId,
    type: e.type,
    data,
    metadata,
  };
}
