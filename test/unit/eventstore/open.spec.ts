import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDbEventStore } from '../../../src/eventstore/eventstoredb-event-store.js';
import { openEventStore, parseStoreUrl } from '../../../src/eventstore/open.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import { collect, ev, expectStoreError } from '../../contract/event-store.contract.js';

describe('parseStoreUrl', () => {
  test('recognizes every documented scheme', () => {
    expect(parseStoreUrl('sqlite:/data/node-0/events.sqlite')).toEqual({
      kind: 'sqlite',
      path: '/data/node-0/events.sqlite',
    });
    expect(parseStoreUrl('sqlite:relative/events.sqlite')).toEqual({
      kind: 'sqlite',
      path: 'relative/events.sqlite',
    });
    expect(parseStoreUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
    expect(parseStoreUrl('postgres://u:p@h:5432/d')).toEqual({
      kind: 'postgres',
      url: 'postgres://u:p@h:5432/d',
    });
    expect(parseStoreUrl('postgresql://h/d')).toEqual({ kind: 'postgres', url: 'postgresql://h/d' });
    expect(parseStoreUrl('esdb://localhost:2113?tls=false')).toEqual({
      kind: 'eventstoredb',
      url: 'esdb://localhost:2113?tls=false',
    });
    expect(parseStoreUrl('kurrentdb://localhost:2113?tls=false')).toEqual({
      kind: 'eventstoredb',
      url: 'esdb://localhost:2113?tls=false',
    });
    expect(parseStoreUrl('kurrentdb+discover://a:2113,b:2113')).toEqual({
      kind: 'eventstoredb',
      url: 'esdb+discover://a:2113,b:2113',
    });
  });

  test('anything else is BAD_REQUEST', () => {
    for (const bad of ['', 'sqlite:', 'mysql://h/d', '/plain/path.sqlite', 'http://x', 'esdb:/x'])
      expect(() => parseStoreUrl(bad)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});

describe('openEventStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dagger-open-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('opens SQLite files and :memory:, and a file read-only', async () => {
    const path = join(dir, 'events.sqlite');
    const store = await openEventStore(`sqlite:${path}`);
    expect(store).toBeInstanceOf(SqliteEventStore);
    await store.append('s', [ev('a')], 'no_stream');
    const reader = await openEventStore(`sqlite:${path}`, { readOnly: true });
    expect((await collect(reader.readAll())).map((e) => e.eventId)).toEqual(['a']);
    await expectStoreError(reader.append('s', [ev('b')], 'any'), 'BAD_REQUEST');
    await reader.close();
    await store.close();
    const memory = await openEventStore('sqlite::memory:');
    expect(await memory.streamRevision('s')).toBe(-1n);
    await memory.close();
  });

  test('opens EventStoreDB lazily (no server needed until the first call)', async () => {
    const store = await openEventStore('kurrentdb://127.0.0.1:1?tls=false');
    expect(store).toBeInstanceOf(EventStoreDbEventStore);
    await store.close();
  });

  test('refuses option combinations that do not apply', async () => {
    await expectStoreError(openEventStore('postgres://127.0.0.1:1/x'), 'BAD_REQUEST');
    await expectStoreError(openEventStore('sqlite::memory:', { schema: 'dagger_x' }), 'BAD_REQUEST');
    await expectStoreError(openEventStore('sqlite::memory:', { readOnly: true }), 'BAD_REQUEST');
    await expectStoreError(openEventStore('esdb://h:2113', { schema: 'dagger_x' }), 'BAD_REQUEST');
    await expectStoreError(openEventStore('ftp://x'), 'BAD_REQUEST');
    await expectStoreError(
      openEventStore(`sqlite:${join(dir, 'absent.sqlite')}`, { readOnly: true }),
      'STORE_UNAVAILABLE',
    );
  });
});
