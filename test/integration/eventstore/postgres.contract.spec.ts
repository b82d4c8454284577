import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { RecordedEvent } from '../../../src/eventstore/event-store.js';
import { PostgresEventStore } from '../../../src/eventstore/postgres-event-store.js';
import {
  collect,
  describeEventStoreContract,
  ev,
  expectStoreError,
  expectWrongRevision,
  sleep,
  waitFor,
} from '../../contract/event-store.contract.js';
import { describeReadAllPageContract } from '../../contract/read-all-page.contract.js';

/** Needs PostgreSQL (npm run services:up). Each store lives in a fresh random schema, dropped after. */
const url = process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger';
const created = new Set<string>();

function freshSchema(): string {
  const schema = `dagger_test_${randomBytes(6).toString('hex')}`;
  created.add(schema);
  return schema;
}

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  created.delete(schema);
}

afterAll(async () => {
  for (const schema of [...created]) await dropSchema(schema);
});

describeEventStoreContract(
  'PostgreSQL',
  async () => {
    const schema = freshSchema();
    const store = await PostgresEventStore.open({ url, schema });
    return {
      store,
      openPeer: () => PostgresEventStore.open({ url, schema }),
      dispose: () => dropSchema(schema),
    };
  },
  { peers: true, peerLatencyMs: 1000 },
);

describeReadAllPageContract('PostgreSQL', () => PostgresEventStore.open({ url, schema: freshSchema() }));

describe('PostgresEventStore specifics', () => {
  let schema: string;
  const open: PostgresEventStore[] = [];
  const clients: pg.Client[] = [];

  const openStore = async (options: { pollIntervalMs?: number; readOnly?: boolean } = {}) => {
    const store = await PostgresEventStore.open({ url, schema, ...options });
    open.push(store);
    return store;
  };
  const rawClient = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    clients.push(client);
    return client;
  };
  /** A raw INSERT, the way a tool other than the adapter would write (the table's trigger still applies). */
  const rawInsert = (client: pg.Client, table: string, stream: string, revision: number, id: string) =>
    client
      .query<{ global_position: string }>(
        `INSERT INTO ${table} (stream_id, revision, event_id, type, data) VALUES ($1, $2, $3, 'Raw', '\\x01') RETURNING global_position`,
        [stream, revision, id],
      )
      .then((r) => BigInt(r.rows[0]!.global_position));

  beforeEach(() => {
    schema = freshSchema();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    for (const s of open.splice(0)) await s.close();
    await dropSchema(schema);
  });

  test('creates the documented table, uniqueness and trigger', async () => {
    await openStore();
    const columns = await withClient((c) =>
      c.query<{ column_name: string; data_type: string; is_nullable: string }>(
        `SELECT column_name, data_type, is_nullable FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'events' ORDER BY ordinal_position`,
        [schema],
      ),
    );
    expect(columns.rows.map((r) => [r.column_name, r.data_type, r.is_nullable])).toEqual([
      ['global_position', 'bigint', 'NO'],
      ['stream_id', 'text', 'NO'],
      ['revision', 'bigint', 'NO'],
      ['event_id', 'text', 'NO'],
      ['type', 'text', 'NO'],
      ['data', 'bytea', 'NO'],
      ['metadata', 'jsonb', 'YES'],
    ]);
    const constraints = await withClient((c) =>
      c.query<{ def: string }>(
        `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
         WHERE conrelid = to_regclass($1) ORDER BY 1`,
        [`"${schema}".events`],
      ),
    );
    expect(constraints.rows.map((r) => r.def)).toEqual([
      'PRIMARY KEY (global_position)',
      'UNIQUE (stream_id, event_id)',
      'UNIQUE (stream_id, revision)',
    ]);
    const trigger = await withClient((c) =>
      c.query(
        `SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = 'events_before_insert'`,
        [`"${schema}".events`],
      ),
    );
    expect(trigger.rowCount).toBe(1);
  });

  test('opening the same schema concurrently creates it once and all handles work', async () => {
    const stores = await Promise.all([openStore(), openStore(), openStore()]);
    await stores[0]!.append('s', [ev('a')], 'no_stream');
    expect(await stores[2]!.streamRevision('s')).toBe(0n);
  });

  test('a transaction that took a position first always becomes visible first: a subscriber skips nothing', async () => {
    const store = await openStore({ pollIntervalMs: 100 });
    const { table, sequence } = store.internals;
    const seen: RecordedEvent[] = [];
    const sub = store.subscribeToAll('start', { onEvent: (e) => void seen.push(e) });
    await sub.caughtUp;
    const t1 = await rawClient();
    const t2 = await rawClient();
    await t1.query('BEGIN');
    const p1 = await rawInsert(t1, table, 'raw-a', 0, 'ra0');
    await t2.query('BEGIN');
    let p2: bigint | null = null;
    const t2insert = rawInsert(t2, table, 'raw-b', 0, 'rb0').then((p) => (p2 = p));
    // An adversary now tries to commit T2 (the later position) first.
    await sleep(300);
    const t2Blocked = p2 === null;
    const lastTaken = await withClient((c) =>
      c.query<{ last_value: string }>(`SELECT last_value FROM ${sequence}`),
    );
    if (!t2Blocked) {
      await t2.query('COMMIT');
      await sleep(300);
    }
    await t1.query('COMMIT');
    await t2insert;
    if (t2Blocked) await t2.query('COMMIT');
    // An adapter append queued behind a raw transaction is ordered after it too.
    await t1.query('BEGIN');
    const p3 = await rawInsert(t1, table, 'raw-a', 1, 'ra1');
    const appended = store.append('adapter', [ev('ad0')], 'no_stream');
    await sleep(200);
    await t1.query('COMMIT');
    const p4 = (await appended).position!;
    const all = await collect(store.readAll());
    await waitFor('the last event', () => seen.at(-1)?.globalPosition === p4, 3000);
    await sleep(150);
    await sub.stop();
    expect(seen.map((e) => e.globalPosition)).toEqual(all.map((e) => e.globalPosition));
    expect(all.map((e) => e.eventId)).toEqual(['ra0', 'rb0', 'ra1', 'ad0']);
    expect(t2Blocked).toBe(true);
    expect(BigInt(lastTaken.rows[0]!.last_value)).toBe(p1);
    expect(p2 !== null && p2 > p1).toBe(true);
    expect(p3 < p4).toBe(true);
  }, 20_000);

  test('a writer that bypasses the lock and wins the race: unique violation becomes the typed error', async () => {
    const store = await openStore();
    const { table } = store.internals;
    await withClient((c) => c.query(`DROP TRIGGER events_before_insert ON ${table}`));
    const raw = await rawClient();

    await raw.query('BEGIN');
    await rawInsert(raw, table, 'u', 0, 'raw0');
    const exact = store.append('u', [ev('mine0')], 'no_stream');
    await sleep(200);
    await raw.query('COMMIT');
    await expectWrongRevision(exact, 'u', 'no_stream', 0n);

    await raw.query('BEGIN');
    await rawInsert(raw, table, 'u', 1, 'raw1');
    const any = store.append('u', [ev('mine1')], 'any');
    await sleep(200);
    await raw.query('COMMIT');
    expect((await any).nextExpectedRevision).toBe(2n);
    expect((await collect(store.readStream('u'))).map((e) => e.eventId)).toEqual(['raw0', 'raw1', 'mine1']);
  });

  test('LISTEN/NOTIFY wakes a live subscriber long before its poll interval', async () => {
    const store = await openStore({ pollIntervalMs: 60_000 });
    const writer = await openStore();
    const seen: RecordedEvent[] = [];
    const sub = store.subscribeToAll('start', { onEvent: (e) => void seen.push(e) });
    await sub.caughtUp;
    await sleep(100); // the listener connects on the first read
    await writer.append('n', [ev('n0')], 'no_stream');
    await waitFor('n0 via NOTIFY', () => seen.length === 1, 2000);
    const raw = await rawClient();
    await rawInsert(raw, store.internals.table, 'n', 1, 'n1');
    await waitFor('n1 via the trigger NOTIFY', () => seen.length === 2, 2000);
    await sub.stop();
    expect(seen.map((e) => e.eventId)).toEqual(['n0', 'n1']);
  });

  test('when the listener connection dies, polling still delivers and the listener comes back', async () => {
    const store = await openStore({ pollIntervalMs: 200 });
    const writer = await openStore();
    const seen: RecordedEvent[] = [];
    const sub = store.subscribeToAll('start', { onEvent: (e) => void seen.push(e) });
    await sub.caughtUp;
    await sleep(100);
    const killed = await withClient((c) =>
      c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND query ILIKE 'LISTEN "${schema}"'`,
      ),
    );
    expect(killed.rowCount).toBe(1);
    await writer.append('k', [ev('k0')], 'no_stream');
    await waitFor('k0 by polling', () => seen.length === 1, 3000);
    await sleep(1500); // the listener retries at most once a second
    await writer.append('k', [ev('k1')], 0n);
    await waitFor('k1', () => seen.length === 2, 3000);
    await sub.stop();
    const listeners = await withClient((c) =>
      c.query(`SELECT 1 FROM pg_stat_activity WHERE query ILIKE 'LISTEN "${schema}"'`),
    );
    expect(listeners.rowCount).toBe(1);
  });

  test('read-only: reads and follows, refuses appends; a missing schema is BAD_REQUEST', async () => {
    const writer = await openStore();
    await writer.append('s', [ev('a')], 'no_stream');
    const reader = await openStore({ readOnly: true, pollIntervalMs: 100 });
    expect((await collect(reader.readStream('s'))).map((e) => e.eventId)).toEqual(['a']);
    await expectStoreError(reader.append('s', [ev('b')], 'any'), 'BAD_REQUEST');
    const seen: RecordedEvent[] = [];
    const sub = reader.subscribeToAll('start', { onEvent: (e) => void seen.push(e) });
    await writer.append('s', [ev('b')], 0n);
    await waitFor('b', () => seen.length === 2, 3000);
    await sub.stop();
    await expectStoreError(
      PostgresEventStore.open({ url, schema: `${schema}_absent`, readOnly: true }),
      'BAD_REQUEST',
    );
  });

  test('bad schema names and unreachable servers are typed errors', async () => {
    for (const bad of ['Upper', 'pg_catalog', 'with-dash', 'x'.repeat(64), '"quoted"'])
      await expectStoreError(PostgresEventStore.open({ url, schema: bad }), 'BAD_REQUEST');
    await expectStoreError(
      PostgresEventStore.open({ url: 'postgres://dagger:dagger@127.0.0.1:1/dagger', schema }),
      'STORE_UNAVAILABLE',
    );
  });
});
