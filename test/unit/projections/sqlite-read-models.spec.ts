import Database from 'better-sqlite3';
import fc from 'fast-check';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerRecord } from '../../../domain/processor/events.js';
import { VM_STATUSES } from '../../../domain/payloads/schemas.js';
import {
  evolve,
  initialState,
  type ProcessorConfig,
  type ProcessorState,
} from '../../../domain/processor/index.js';
import {
  dropReadModels,
  openReadModels,
  rebuildReadModels,
  type ReadModelsTarget,
} from '../../../projections/open-read-models.js';
import type { ReadModels } from '../../../projections/read-models.js';
import { all, CONFIG, expectReadModelError } from '../../contract/read-models.contract.js';
import { busyLedger, CAPACITY, key, Ledger } from '../../contract/ledger-fixtures.js';

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

  // Its rate is a benchmark (docs/BENCHMARKS.md, "Read models"), not asserted here.
  test('projects 12,000 ledger records in batches of 500 up to the last checkpoint', async () => {
    const records = busyLedger({ vms: 2000, hosts: 20, owners: 200 }).slice(0, 12_000);
    const rm = await open();
    for (let i = 0; i < records.length; i += 500) await rm.project(records.slice(i, i + 500));
    expect(await rm.checkpoint()).toBe(records.length - 1);
  });

  test('host use, account usage and VMs equal what the processor derives (evolve) from the same ledger', async () => {
    const members = [0, 1].map((i) => ({ key: key(`op ${i}`), stake: 1, endpoint: `http://op${i}` }));
    const processorConfig: ProcessorConfig = {
      members,
      hosts: [{ hostId: 'g1', operator: members[0]!.key, libvirtUri: 'qemu:///system', capacity: CAPACITY }],
      accounts: [],
      defaultQuota: { maxVms: 100, maxVcpus: 1000 },
      maxProposalStake: 10,
      membershipDelay: 2,
    };
    const config = { ...CONFIG, genesisMembers: members, genesisHosts: processorConfig.hosts };
    const hosts = ['g1', 'h1', 'h2'];
    const owners = [key('o0'), key('o1')];
    const vm = fc.nat(4);
    const size = fc.record({
      vcpus: fc.integer({ min: 1, max: 8 }),
      memoryMiB: fc.integer({ min: 64, max: 4096 }),
      diskGiB: fc.integer({ min: 1, max: 50 }),
    });
    const step = fc.oneof(
      fc.record({ kind: fc.constant('request' as const), vm, owner: fc.nat(1), size }),
      fc.record({
        kind: fc.constant('operation' as const),
        vm,
        operation: fc.constantFrom('create', 'resize', 'stop', 'start', 'destroy' as const),
        host: fc.nat(2),
        size: fc.option(size, { nil: null }),
      }),
      fc.record({
        kind: fc.constant('status' as const),
        vm,
        status: fc.constantFrom(...VM_STATUSES),
        keepHost: fc.boolean(),
      }),
    );
    type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

    /** Turns steps into what a processor could emit, evolving its state alongside. */
    function ledgerOf(steps: Step[]): { records: LedgerRecord[]; state: ProcessorState } {
      const state = initialState(processorConfig);
      const l = new Ledger();
      const emit = (record: LedgerRecord) => evolve(state, record.event, record.at);
      for (const h of hosts.slice(1)) emit(l.host(h, members[1]!.key));
      for (const s of steps) {
        const vmId = `vm-${s.vm}`;
        const current = state.vms.get(vmId);
        if (s.kind === 'request') {
          if (current === undefined) emit(l.vm(vmId, owners[s.owner]!, s.size));
        } else if (current !== undefined && current.status !== 'destroyed') {
          if (s.kind === 'operation')
            emit(l.operation(vmId, s.operation, hosts[s.host]!, s.size ?? current.spec));
          else emit(l.status(vmId, s.status, s.keepHost ? current.hostId : null, ['10.0.0.1']));
        }
      }
      return { records: l.records, state };
    }

    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 10, maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1 }),
        async (steps, sizes) => {
          const { records, state } = ledgerOf(steps);
          const rm = await openReadModels({ type: 'sqlite', path: ':memory:' }, config);
          try {
            for (let i = 0, b = 0; i < records.length; b++) {
              const n = sizes[b % sizes.length]!;
              await rm.project(records.slice(i, i + n));
              i += n;
            }
            for (const host of await all((after) => rm.hosts({ after })))
              expect([host.hostId, host.used]).toEqual([host.hostId, state.hosts.get(host.hostId)!.used]);
            for (const owner of owners) {
              const account = await rm.account(owner);
              expect({ vms: account?.vms ?? 0, vcpus: account?.vcpus ?? 0 }).toEqual(
                state.accounts.get(owner) ?? { vms: 0, vcpus: 0 },
              );
            }
            for (const v of await all((after) => rm.vms({ after }))) {
              const p = state.vms.get(v.vmId)!;
              expect([v.vmId, v.hostId, v.status, v.vcpus, v.memoryMiB, v.diskGiB, v.requestId]).toEqual([
                v.vmId,
                p.hostId,
                p.status,
                p.spec.vcpus,
                p.spec.memoryMiB,
                p.spec.diskGiB,
                p.requestId,
              ]);
            }
          } finally {
            await rm.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
