import Database from 'better-sqlite3';
import fc from 'fast-check';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerRecord } from '../../../domain/processor/events.js';
import { VM_STATUSES } from '../../../domain/payloads/schemas.js';
import {
  dropReadModels,
  openReadModels,
  rebuildReadModels,
  type ReadModelsTarget,
} from '../../../projections/open-read-models.js';
import type { ReadModels } from '../../../projections/read-models.js';
import { all, CONFIG, expectReadModelError, snapshot } from '../../contract/read-models.contract.js';
import { busyLedger, key, Ledger } from '../../contract/ledger-fixtures.js';

describe('SQLite read models specifics', () => {
  let dir: string;
  let target: ReadModelsTarget;
  const handles: ReadModels[] = [];
  const open = async (t: ReadModelsTarget = target): Promise<ReadModels> => {
    const rm = await openReadModels(t, CONFIG);
    handles.push(rm);
    return rm;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dagger-rm-'));
    target = { type: 'sqlite', path: join(dir, 'read-models.sqlite'), busyTimeoutMs: 50 };
  });
  afterEach(async () => {
    for (const rm of handles.splice(0)) await rm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the file is in WAL mode and holds the documented tables', async () => {
    await open();
    const raw = new Database(join(dir, 'read-models.sqlite'), { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = raw
        .prepare<[], { name: string }>(
          "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .all()
        .map((t) => t.name);
      expect(tables).toEqual([
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
      expect(raw.prepare('SELECT projection, ledger_index FROM checkpoints').all()).toEqual([
        { projection: 'read_models', ledger_index: -1 },
      ]);
    } finally {
      raw.close();
    }
  });

  test(':memory: works (one connection, no WAL)', async () => {
    const rm = await open({ type: 'sqlite', path: ':memory:' });
    const l = new Ledger();
    await rm.project([l.host('h'), l.vm('v', key('o'))]);
    expect(await rm.checkpoint()).toBe(1);
  });

  test('another process holding the write lock: STORE_UNAVAILABLE, nothing applied, retry works', async () => {
    const rm = await open();
    const blocker = new Database(join(dir, 'read-models.sqlite'));
    const l = new Ledger();
    const batch = [l.host('h'), l.vm('v', key('o'))];
    blocker.exec('BEGIN IMMEDIATE');
    try {
      await expectReadModelError(rm.project(batch), 'STORE_UNAVAILABLE');
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    expect(await rm.checkpoint()).toBe(-1);
    await rm.project(batch);
    expect(await rm.checkpoint()).toBe(1);
  });

  test('a query waits for a running batch instead of seeing half of it', async () => {
    const rm = await open();
    const records = busyLedger({ vms: 200, hosts: 3, owners: 4 });
    const projecting = rm.project(records);
    const seen = await rm.checkpoint();
    await projecting;
    expect([-1, records.length - 1]).toContain(seen);
    const vms = await all((after) => rm.vms({ after, limit: 1000 }));
    expect(vms).toHaveLength(200);
  });

  test('rebuildReadModels opens, rebuilds and closes; dropReadModels deletes the files', async () => {
    const records = busyLedger({ vms: 20 });
    const live = await open();
    await live.project(records.slice(0, 50));
    await live.close();
    const checkpoint = await rebuildReadModels(
      target,
      CONFIG,
      (async function* () {
        yield* records;
      })(),
      { batchSize: 33 },
    );
    expect(checkpoint).toBe(records.length - 1);
    const reopened = await open();
    expect(await reopened.checkpoint()).toBe(records.length - 1);
    await expectReadModelError(reopened.rebuild((async function* () {})(), { batchSize: 0 }), 'BAD_REQUEST');
    await reopened.close();
    await dropReadModels(target);
    expect(existsSync(join(dir, 'read-models.sqlite'))).toBe(false);
  });

  test('projects at least 5,000 ledger records per second in batches of 500', async () => {
    const records = busyLedger({ vms: 2000, hosts: 20, owners: 200 }).slice(0, 12_000);
    const rm = await open();
    const started = performance.now();
    for (let i = 0; i < records.length; i += 500) await rm.project(records.slice(i, i + 500));
    const perSecond = records.length / ((performance.now() - started) / 1000);
    expect(await rm.checkpoint()).toBe(records.length - 1);
    expect(perSecond).toBeGreaterThan(5000);
  });

  test('host use and account counts always equal a recount of the VMs, after every batch', async () => {
    const hosts = ['h0', 'h1', 'h2'];
    const owners = [key('o0'), key('o1')];
    const vm = fc.nat(3);
    const vcpus = fc.integer({ min: 1, max: 8 });
    const step = fc.oneof(
      fc.record({ kind: fc.constant('request' as const), vm, owner: fc.nat(1), vcpus }),
      fc.record({
        kind: fc.constant('status' as const),
        vm,
        status: fc.constantFrom(...VM_STATUSES),
        host: fc.option(fc.nat(2), { nil: null, freq: 5 }),
      }),
      fc.record({ kind: fc.constant('resize' as const), vm, vcpus }),
    );
    type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;
    const spec = (n: number) => ({ vcpus: n, memoryMiB: 256 * n, diskGiB: n });

    /** Only what a processor could emit: requests for absent or destroyed VMs, changes to live ones. */
    function ledgerOf(steps: Step[]): LedgerRecord[] {
      const l = new Ledger();
      for (const h of hosts) l.host(h);
      const live = new Map<string, string>();
      for (const s of steps) {
        const vmId = `vm-${s.vm}`;
        const status = live.get(vmId);
        const exists = status !== undefined && status !== 'destroyed';
        if (s.kind === 'request' && !exists) {
          l.vm(vmId, owners[s.owner]!, spec(s.vcpus));
          live.set(vmId, 'requested');
        } else if (s.kind === 'status' && exists) {
          l.status(vmId, s.status, s.host === null ? null : hosts[s.host]!);
          live.set(vmId, s.status);
        } else if (s.kind === 'resize' && exists) {
          l.operation(vmId, 'resize', 'h0', spec(s.vcpus));
        }
      }
      return l.records;
    }

    async function expectRecount(rm: ReadModels): Promise<void> {
      const vms = await all((after) => rm.vms({ after }));
      for (const host of await all((after) => rm.hosts({ after }))) {
        const on = vms.filter(
          (v) => v.hostId === host.hostId && !['destroyed', 'failed', 'blocked'].includes(v.status),
        );
        expect(host.used).toEqual(spec(on.reduce((n, v) => n + v.vcpus, 0)));
      }
      for (const owner of owners) {
        const mine = vms.filter((v) => v.owner === owner && v.status !== 'destroyed');
        const account = await rm.account(owner);
        expect({ vms: account?.vms ?? 0, vcpus: account?.vcpus ?? 0 }).toEqual({
          vms: mine.length,
          vcpus: mine.reduce((n, v) => n + v.vcpus, 0),
        });
      }
    }

    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 10, maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1 }),
        async (steps, sizes) => {
          const records = ledgerOf(steps);
          const rm = await openReadModels({ type: 'sqlite', path: ':memory:' }, CONFIG);
          try {
            for (let i = 0, b = 0; i < records.length; b++) {
              const size = sizes[b % sizes.length]!;
              await rm.project(records.slice(i, i + size));
              i += size;
              await expectRecount(rm);
            }
            const whole = await openReadModels({ type: 'sqlite', path: ':memory:' }, CONFIG);
            await whole.project(records);
            const expected = await snapshot(whole, records);
            await whole.close();
            expect(await snapshot(rm, records)).toEqual(expected);
          } finally {
            await rm.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);
});
