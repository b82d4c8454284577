import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import {
  collect,
  describeEventStoreContract,
  ev,
  expectStoreError,
  sleep,
  waitFor,
} from '../../contract/event-store.contract.js';
import type { RecordedEvent } from '../../../src/eventstore/event-store.js';

const POLL_MS = 50;

function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dagger-es-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describeEventStoreContract(
  'SQLite file',
  async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, 'events.sqlite');
    return {
      store: new SqliteEventStore(path, { pollIntervalMs: POLL_MS }),
      openPeer: async () => new SqliteEventStore(path, { pollIntervalMs: POLL_MS }),
      dispose: async () => remove(),
    };
  },
  { peers: true, peerLatencyMs: 10 * POLL_MS },
);

describeEventStoreContract('SQLite :memory:', async () => ({ store: new SqliteEventStore(':memory:') }));

describe('SqliteEventStore specifics', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = tempDir()));
  afterEach(() => remove());

  test('creates the documented table in WAL mode', async () => {
    const path = join(dir, 'events.sqlite');
    const store = new SqliteEventStore(path);
    await store.append('s', [ev('a')], 'no_stream');
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const columns = raw.prepare('PRAGMA table_info(events)').all();
      expect(columns).toEqual([
        expect.objectContaining({ name: 'global_position', type: 'INTEGER', pk: 1 }),
        expect.objectContaining({ name: 'stream_id', type: 'TEXT', notnull: 1 }),
        expect.objectContaining({ name: 'revision', type: 'INTEGER', notnull: 1 }),
        expect.objectContaining({ name: 'event_id', type: 'TEXT', notnull: 1 }),
        expect.objectContaining({ name: 'type', type: 'TEXT', notnull: 1 }),
        expect.objectContaining({ name: 'data', type: 'BLOB', notnull: 1 }),
        expect.objectContaining({ name: 'metadata', type: 'TEXT', notnull: 0 }),
      ]);
      const unique = raw
        .prepare<[], { name: string }>("SELECT name FROM pragma_index_list('events') WHERE [unique] = 1")
        .all()
        .map((i) =>
          raw
            .prepare<[string], { name: string }>('SELECT name FROM pragma_index_info(?) ORDER BY seqno')
            .all(i.name)
            .map((c) => c.name)
            .join(','),
        )
        .sort();
      expect(unique).toEqual(['stream_id,event_id', 'stream_id,revision']);
      expect(raw.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events'").pluck().get()).toMatch(
        /AUTOINCREMENT/,
      );
    } finally {
      raw.close();
      await store.close();
    }
  });

  test('a read-only handle sees commits still in the WAL, follows them live, and refuses appends', async () => {
    const path = join(dir, 'events.sqlite');
    const writer = new SqliteEventStore(path);
    await writer.append('s', [ev('a0'), ev('a1')], 'no_stream');
    const reader = new SqliteEventStore(path, { readOnly: true, pollIntervalMs: POLL_MS });
    try {
      expect((await collect(reader.readStream('s'))).map((e) => e.eventId)).toEqual(['a0', 'a1']);
      const seen: RecordedEvent[] = [];
      const sub = reader.subscribeToAll('start', { onEvent: (e) => void seen.push(e) });
      await sub.caughtUp;
      await writer.append('s', [ev('a2')], 1n);
      await waitFor('a2 through polling', () => seen.length === 3, 20 * POLL_MS);
      await sub.stop();
      expect(seen.map((e) => e.eventId)).toEqual(['a0', 'a1', 'a2']);
      await expectStoreError(reader.append('s', [ev('a3')], 'any'), 'BAD_REQUEST');
      expect(await writer.streamRevision('s')).toBe(2n);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  test('opening a missing file read-only, or :memory: read-only, is a typed error', () => {
    expect(() => new SqliteEventStore(join(dir, 'absent.sqlite'), { readOnly: true })).toThrow(
      expect.objectContaining({ code: 'STORE_UNAVAILABLE' }),
    );
    expect(() => new SqliteEventStore(':memory:', { readOnly: true })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    );
  });

  test('a file that is not a DAGGER store is refused with CORRUPT_RECORD', () => {
    const path = join(dir, 'other.sqlite');
    const other = new Database(path);
    other.exec('CREATE TABLE unrelated (x INTEGER)');
    other.close();
    expect(() => new SqliteEventStore(path, { readOnly: true })).toThrow(
      expect.objectContaining({ code: 'CORRUPT_RECORD' }),
    );
  });

  test('positions survive reopening and keep increasing', async () => {
    const path = join(dir, 'events.sqlite');
    const first = new SqliteEventStore(path);
    const a = await first.append('s', [ev('a')], 'no_stream');
    await first.close();
    const second = new SqliteEventStore(path);
    const b = await second.append('s', [ev('b')], 0n);
    expect(b.position! > a.position!).toBe(true);
    expect((await collect(second.readAll())).map((e) => e.eventId)).toEqual(['a', 'b']);
    await second.close();
  });

  test('a writer holding the lock past the busy timeout makes append fail with STORE_UNAVAILABLE', async () => {
    const path = join(dir, 'events.sqlite');
    const store = new SqliteEventStore(path, { busyTimeoutMs: 50 });
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    try {
      await expectStoreError(store.append('s', [ev('a')], 'any'), 'STORE_UNAVAILABLE');
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    await sleep(1);
    expect((await store.append('s', [ev('a')], 'any')).appended).toBe(1);
    await store.close();
  });
});
