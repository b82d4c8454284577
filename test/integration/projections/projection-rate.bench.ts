/**
 * Projection rate: `npx tsx test/integration/projections/projection-rate.bench.ts [records] [batch] [sqlite|postgres]`.
 * Prints one JSON line. Defaults: 60,000 records of VM lifecycles in batches of 500, on SQLite.
 * `cpuSeconds` is this process's CPU (user + system) while projecting: less noisy than the wall
 * clock on a shared machine, and it leaves out PostgreSQL's server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dropReadModels,
  openReadModels,
  type ReadModelsTarget,
} from '../../../projections/open-read-models.js';
import { CONFIG } from '../../contract/read-models.contract.js';
import { busyLedger } from '../../contract/ledger-fixtures.js';

const wanted = Number(process.argv[2] ?? 60_000);
const batchSize = Number(process.argv[3] ?? 500);
const store = process.argv[4] ?? 'sqlite';
const records = busyLedger({ vms: Math.ceil(wanted / 6), hosts: 50, owners: 500 }).slice(0, wanted);
const dir = mkdtempSync(join(tmpdir(), 'dagger-rm-bench-'));
const target: ReadModelsTarget =
  store === 'postgres'
    ? {
        type: 'postgres',
        url: process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger',
        schema: `dagger_bench_rm_${randomBytes(6).toString('hex')}`,
      }
    : { type: 'sqlite', path: join(dir, 'read-models.sqlite') };
const rm = await openReadModels(target, CONFIG);
try {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < records.length; i += batchSize) await rm.project(records.slice(i, i + batchSize));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const rebuildStarted = process.hrtime.bigint();
  await rm.rebuild(
    (async function* () {
      yield* records;
    })(),
  );
  const rebuildSeconds = Number(process.hrtime.bigint() - rebuildStarted) / 1e9;
  console.log(
    JSON.stringify({
      store,
      records: records.length,
      batchSize,
      seconds: Number(seconds.toFixed(3)),
      recordsPerSecond: Math.round(records.length / seconds),
      cpuSeconds: Number(cpuSeconds.toFixed(3)),
      cpuMicrosPerRecord: Number(((cpuSeconds * 1e6) / records.length).toFixed(1)),
      rebuildRecordsPerSecond: Math.round(records.length / rebuildSeconds),
      checkpoint: await rm.checkpoint(),
    }),
  );
} finally {
  await rm.close();
  await dropReadModels(target);
  rmSync(dir, { recursive: true, force: true });
}
