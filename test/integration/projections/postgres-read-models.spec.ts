import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  dropReadModels,
  openReadModels,
  type ReadModelsTarget,
} from '../../../projections/open-read-models.js';
import type { ReadModels } from '../../../projections/read-models.js';
import { CONFIG, expectReadModelError } from '../../contract/read-models.contract.js';
import { key, Ledger } from '../../contract/ledger-fixtures.js';

/** Needs PostgreSQL (npm run services:up). */
const url = process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger';

async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL read models specifics', () => {
  let target: Extract<ReadModelsTarget, { type: 'postgres' }>;
  const handles: ReadModels[] = [];
  const open = async (t: ReadModelsTarget = target): Promise<ReadModels> => {
    const rm = await openReadModels(t, CONFIG);
    handles.push(rm);
    return rm;
  };

  beforeEach(() => {
    target = { type: 'postgres', url, schema: `dagger_test_rm_${randomBytes(6).toString('hex')}` };
  });
  afterEach(async () => {
    for (const rm of handles.splice(0)) await rm.close();
    await dropReadModels(target);
  });

  test('creates the schema and its tables; ids compare bytewise (COLLATE "C")', async () => {
    expect(await query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [target.schema])).toHaveLength(0);
    await open();
    const tables = await query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [target.schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'accounts',
      'checkpoints',
      'hosts',
      'operators',
      'payload_statuses',
      'proposals',
      'read_model_migrations',
      'rounds',
      'vms',
    ]);
    const ids = await query<{ table_name: string; column_name: string; collation_name: string | null }>(
      `SELECT c.table_name, c.column_name, c.collation_name
       FROM information_schema.table_constraints t
       JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
       JOIN information_schema.columns c
         ON c.table_schema = k.table_schema AND c.table_name = k.table_name AND c.column_name = k.column_name
       WHERE t.constraint_schema = $1 AND t.constraint_type = 'PRIMARY KEY' AND c.data_type = 'text'
       ORDER BY 1`,
      [target.schema],
    );
    expect(ids.map((c) => [c.table_name, c.collation_name])).toEqual(
      ['accounts', 'checkpoints', 'hosts', 'operators', 'payload_statuses', 'proposals', 'vms'].map((t) => [
        t,
        'C',
      ]),
    );
  });

  test('opening one new schema from several handles at once migrates it once', async () => {
    const handles = await Promise.all([open(), open(), open()]);
    const l = new Ledger();
    await handles[0]!.project([l.host('h'), l.vm('v', key('o'))]);
    expect(await handles[2]!.checkpoint()).toBe(1);
    const migrations = await query(`SELECT name FROM "${target.schema}".read_model_migrations`);
    expect(migrations).toHaveLength(1);
    expect((await handles[1]!.operators()).items).toHaveLength(CONFIG.genesisMembers.length);
  });

  test('dropReadModels removes the schema', async () => {
    await (await open()).close();
    handles.length = 0;
    await dropReadModels(target);
    expect(await query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [target.schema])).toHaveLength(0);
  });

  test('bad schema names and unreachable servers are typed errors', async () => {
    for (const schema of ['Upper', 'pg_catalog', 'with-dash', 'x'.repeat(64), '"quoted"'])
      await expectReadModelError(openReadModels({ type: 'postgres', url, schema }, CONFIG), 'BAD_REQUEST');
    await expectReadModelError(
      openReadModels({ ...target, url: 'postgres://dagger:dagger@127.0.0.1:1/dagger' }, CONFIG),
      'STORE_UNAVAILABLE',
    );
  });
});
