import {
  decodeEsdbMetadata,
  encodeEsdbMetadata,
  esdbEventUuid,
  fromEsdbRecorded,
  fromEsdbRevision,
  isSystemEvent,
  toEsdbExpected,
} from '../../../src/eventstore/eventstoredb-mapping.js';

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('EventStoreDB mapping', () => {
  test('a canonical lowercase UUID is kept; any other id maps to a deterministic version-8 UUID', () => {
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(esdbEventUuid(uuid)).toBe(uuid);
    const hexId = 'ab'.repeat(32);
    const mapped = esdbEventUuid(hexId);
    expect(mapped).toMatch(UUID_V8);
    expect(esdbEventUuid(hexId)).toBe(mapped);
    expect(esdbEventUuid('ab'.repeat(31) + 'ac')).not.toBe(mapped);
    // Upper case is not canonical: mapped, so the id read back is the one written.
    expect(esdbEventUuid(uuid.toUpperCase())).toMatch(UUID_V8);
    expect(esdbEventUuid(uuid.toUpperCase())).not.toBe(uuid);
    // Pinned: stored ESDB data depends on it. sha256("dagger-event-id:x")[0..16], version 8, variant 10.
    expect(esdbEventUuid('x')).toBe('f313ad20-f35f-8f55-af05-bb2ee702b5d6');
  });

  test('expected revisions map onto the client constants; no_stream reads back as -1n', () => {
    expect(toEsdbExpected('any')).toBe('any');
    expect(toEsdbExpected('no_stream')).toBe('no_stream');
    expect(toEsdbExpected(-1n)).toBe('no_stream');
    expect(toEsdbExpected('stream_exists')).toBe('stream_exists');
    expect(toEsdbExpected(7n)).toBe(7n);
    expect(fromEsdbRevision('no_stream')).toBe(-1n);
    expect(fromEsdbRevision(4n)).toBe(4n);
  });

  test('metadata envelope round-trips the original id and metadata', () => {
    const id = 'cd'.repeat(32);
    const raw: unknown = JSON.parse(new TextDecoder().decode(encodeEsdbMetadata(id, { a: [1, 'x'] })));
    expect(raw).toEqual({ eventId: id, metadata: { a: [1, 'x'] } });
    expect(decodeEsdbMetadata(raw, esdbEventUuid(id), 'here')).toEqual({
      eventId: id,
      metadata: { a: [1, 'x'] },
    });
    const none: unknown = JSON.parse(new TextDecoder().decode(encodeEsdbMetadata(id, undefined)));
    expect(decodeEsdbMetadata(none, esdbEventUuid(id), 'here')).toEqual({ eventId: id, metadata: null });
  });

  test('events other tools wrote keep their ESDB id; a forged envelope is CORRUPT_RECORD', () => {
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(decodeEsdbMetadata(undefined, uuid, 'w')).toEqual({ eventId: uuid, metadata: null });
    expect(decodeEsdbMetadata(new Uint8Array([1]), uuid, 'w')).toEqual({ eventId: uuid, metadata: null });
    expect(decodeEsdbMetadata({ $correlationId: 'c' }, uuid, 'w')).toEqual({
      eventId: uuid,
      metadata: { $correlationId: 'c' },
    });
    expect(() => decodeEsdbMetadata({ eventId: 'other', metadata: null }, uuid, 'w')).toThrow(
      expect.objectContaining({ code: 'CORRUPT_RECORD' }),
    );
    expect(() => decodeEsdbMetadata({ eventId: uuid, metadata: [1] }, uuid, 'w')).toThrow(
      expect.objectContaining({ code: 'CORRUPT_RECORD' }),
    );
  });

  test('system streams and types are recognized', () => {
    expect(isSystemEvent('$stats-127.0.0.1:2113', 'x')).toBe(true);
    expect(isSystemEvent('$$orders', '$metadata')).toBe(true);
    expect(isSystemEvent('ledger', '$>')).toBe(true);
    expect(isSystemEvent('ledger', 'VmRequested')).toBe(false);
  });

  test('a recorded event maps to the port with its commit position; without one it is refused', () => {
    const id = 'ef'.repeat(32);
    const base = {
      streamId: 'ledger',
      id: esdbEventUuid(id),
      revision: 3n,
      type: 'VmRequested',
      isJson: false,
      data: new Uint8Array([1, 2, 3]),
      metadata: { eventId: id, metadata: { k: 'v' } },
      position: { commit: 1234n, prepare: 1234n },
    };
    expect(fromEsdbRecorded(base)).toEqual({
      streamId: 'ledger',
      revision: 3n,
      globalPosition: 1234n,
      eventId: id,
      type: 'VmRequested',
      data: new Uint8Array([1, 2, 3]),
      metadata: { k: 'v' },
    });
    const json = fromEsdbRecorded({ ...base, isJson: true, data: { a: 1 } });
    expect(new TextDecoder().decode(json.data)).toBe('{"a":1}');
    expect(() => fromEsdbRecorded({ ...base, position: undefined })).toThrow(
      expect.objectContaining({ code: 'STORE_UNAVAILABLE' }),
    );
  });
});
