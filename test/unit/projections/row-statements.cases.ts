/**
 * The projector's hand-built statements against TypeORM's own query builder and repository, on a
 * migrated read-model database. Shared by the SQLite (unit) and PostgreSQL (integration) suites.
 */
import { DataSource, type EntitySchema, type ObjectLiteral } from 'typeorm';
import { readModelEntities, type Dialect } from '../../../projections/entities.js';
import { columnUpdate, RowStatements, rowWrite } from '../../../projections/row-statements.js';
import type { HostRow, PayloadStatusRow, VmRow } from '../../../projections/rows.js';

export interface CasesTarget {
  readonly dialect: Dialect;
  /** Creates and migrates an empty read-model database; returns TypeORM options reaching it. */
  readonly create: () => Promise<Record<string, unknown>>;
  readonly drop: () => Promise<void>;
}

const vm = (vmId: string, overrides: Partial<VmRow> = {}): VmRow => ({
  vmId,
  owner: 'owner-a',
  name: `name of ${vmId}`,
  hostId: 'host-1',
  vcpus: 2,
  memoryMiB: 1024,
  diskGiB: 20,
  image: 'debian-12',
  status: 'running',
  statusReason: '',
  requestId: `req-${vmId}`,
  addresses: ['10.0.0.1', '10.0.0.2'],
  reservedVcpus: 2,
  reservedMemoryMiB: 1024,
  reservedDiskGiB: 20,
  updatedAt: 7,
  ...overrides,
});

const host = (hostId: string, draining: boolean): HostRow => ({
  hostId,
  operator: 'op',
  libvirtUri: `qemu+ssh://${hostId}/system`,
  capacityVcpus: 32,
  capacityMemoryMiB: 65536,
  capacityDiskGiB: 1000,
  usedVcpus: 0,
  usedMemoryMiB: 0,
  // The largest integer the read models promise to keep exactly.
  usedDiskGiB: Number.MAX_SAFE_INTEGER,
  draining,
});

const payload = (payloadId: string, overrides: Partial<PayloadStatusRow> = {}): PayloadStatusRow => ({
  payloadId,
  status: 'accepted',
  payloadType: 'vm.create',
  signer: 'signer',
  code: null,
  reason: null,
  round: 3,
  consensusIndex: 9,
  ledgerIndex: 11,
  ...overrides,
});

const byKey = <T>(rows: T[], key: keyof T): T[] =>
  [...rows].sort((a, b) => String(a[key]).localeCompare(String(b[key])));

const schemaOf = (dataSource: DataSource): string => (dataSource.options as { schema?: string }).schema ?? '';

export function rowStatementCases(target: CasesTarget): void {
  let dataSource: DataSource;
  const e = readModelEntities(target.dialect);

  beforeEach(async () => {
    dataSource = await new DataSource({
      ...(await target.create()),
      entities: Object.values(e),
      synchronize: false,
      logging: false,
    } as never).initialize();
  });
  afterEach(async () => {
    await dataSource?.destroy();
    await target.drop();
  });

  const inTransaction = <T>(work: (m: DataSource['manager']) => Promise<T>): Promise<T> =>
    dataSource.transaction(work);
  const all = <T extends ObjectLiteral>(entity: EntitySchema<T>): Promise<T[]> =>
    dataSource.manager.find(entity);
  /** Every column as the database stores it (no TypeORM conversion), without the key. */
  const stored = async (table: string, key: string, id: string): Promise<Record<string, unknown>> => {
    const [from, p] =
      target.dialect === 'postgres' ? [`"${schemaOf(dataSource)}"."${table}"`, '$1'] : [`"${table}"`, '?'];
    const rows = (await dataSource.query(`SELECT * FROM ${from} WHERE "${key}" = ${p}`, [id])) as Record<
      string,
      unknown
    >[];
    expect(rows).toHaveLength(1);
    const { [key]: _, ...rest } = rows[0]!;
    return rest;
  };

  test("'update' overwrites every column of a conflicting row: to null, to false, to another JSON array", async () => {
    const s = new RowStatements(dataSource, 20_000);
    await inTransaction(async (m) => {
      await s.insert(m, e.vms, [vm('vm-1'), vm('vm-2')], 'update');
      await s.insert(m, e.hosts, [host('host-1', true)], 'update');
    });
    const vm1 = vm('vm-1', {
      hostId: null,
      reservedVcpus: null,
      reservedMemoryMiB: null,
      reservedDiskGiB: null,
      addresses: [],
      status: 'stopped',
      statusReason: 'asked to',
      updatedAt: 8,
    });
    const vm3 = vm('vm-3', { addresses: ['fd00::1'], owner: 'owner-b' });
    await inTransaction(async (m) => {
      await s.insert(m, e.vms, [vm3, vm1], 'update');
      await s.insert(m, e.hosts, [host('host-1', false)], 'update');
    });
    expect(byKey(await all(e.vms), 'vmId')).toEqual([vm1, vm('vm-2'), vm3]);
    expect(await all(e.hosts)).toEqual([host('host-1', false)]);
  });

  test("'ignore' keeps a conflicting row as it was and still inserts the new ones", async () => {
    const s = new RowStatements(dataSource, 20_000);
    const first = payload('p-1');
    await inTransaction((m) => s.insert(m, e.payloadStatuses, [first], 'ignore'));
    const later = payload('p-1', {
      status: 'rejected',
      code: 'QUOTA_EXCEEDED',
      reason: 'over quota',
      payloadType: null,
      ledgerIndex: 12,
    });
    const other = payload('p-2', { payloadType: null, signer: null, code: 'BAD_SIGNATURE', reason: 'no' });
    await inTransaction((m) => s.insert(m, e.payloadStatuses, [later, other], 'ignore'));
    expect(byKey(await all(e.payloadStatuses), 'payloadId')).toEqual([first, other]);
    await inTransaction((m) => s.insert(m, e.hosts, [host('host-1', true)], 'ignore'));
    await inTransaction((m) => s.insert(m, e.hosts, [host('host-1', false)], 'ignore'));
    expect(await all(e.hosts)).toEqual([host('host-1', true)]);
  });

  test("stores every value as TypeORM's query builder stores it (booleans, JSON, nulls, bigints)", async () => {
    const s = new RowStatements(dataSource, 20_000);
    const mine = [
      vm('vm-a', { hostId: null, reservedDiskGiB: null }),
      vm('vm-b', { addresses: ['a"b', 'ü'] }),
    ];
    const theirs = mine.map((r) => ({ ...r, vmId: `${r.vmId}-qb` }));
    const hosts = [host('h-a', true), host('h-b', false)];
    const theirHosts = hosts.map((h) => ({ ...h, hostId: `${h.hostId}-qb` }));
    await inTransaction(async (m) => {
      await s.insert(m, e.vms, mine, 'update');
      await s.insert(m, e.hosts, hosts, 'update');
      await m.createQueryBuilder().insert().into(e.vms).values(theirs).execute();
      await m.createQueryBuilder().insert().into(e.hosts).values(theirHosts).execute();
    });
    for (const r of mine)
      expect(await stored('vms', 'vm_id', r.vmId)).toEqual(await stored('vms', 'vm_id', `${r.vmId}-qb`));
    for (const h of hosts)
      expect(await stored('hosts', 'host_id', h.hostId)).toEqual(
        await stored('hosts', 'host_id', `${h.hostId}-qb`),
      );
    // And reads back what the repository reads.
    await inTransaction(async (m) => {
      const read = await s.findIn(m, e.vms, 'vmId', new Set(['vm-a', 'vm-b-qb']));
      expect(byKey(read, 'vmId')).toEqual(await m.findBy(e.vms, [{ vmId: 'vm-a' }, { vmId: 'vm-b-qb' }]));
      expect(byKey(read, 'vmId')).toEqual([mine[0], theirs[1]]);
      expect(byKey(await s.findIn(m, e.hosts, 'hostId', new Set(['h-a', 'h-b-qb'])), 'hostId')).toEqual([
        hosts[0],
        theirHosts[1],
      ]);
    });
  });

  test('splits a large write into statements under the parameter limit; looks up any number of keys', async () => {
    // Hosts have 10 columns: 3 rows per statement.
    const s = new RowStatements(dataSource, 35);
    const hosts = Array.from({ length: 1500 }, (_, i) =>
      host(`host-${String(i).padStart(4, '0')}`, i % 2 === 0),
    );
    await inTransaction((m) => s.insert(m, e.hosts, hosts.slice(0, 10), 'update'));
    await inTransaction((m) =>
      s.insert(
        m,
        e.hosts,
        hosts.slice(0, 10).map((h) => ({ ...h, usedVcpus: 1 })),
        'update',
      ),
    );
    expect(byKey(await all(e.hosts), 'hostId')).toEqual(
      hosts.slice(0, 10).map((h) => ({ ...h, usedVcpus: 1 })),
    );

    const wide = new RowStatements(dataSource, 20_000);
    await inTransaction((m) => wide.insert(m, e.hosts, hosts, 'update'));
    await inTransaction(async (m) => {
      // 1,500 ids and an unknown one: two IN (...), the second padded with repeated ids.
      const ids = new Set([...hosts.map((h) => h.hostId), 'nobody']);
      expect(byKey(await wide.findIn(m, e.hosts, 'hostId', ids), 'hostId')).toEqual(hosts);
      expect(await wide.findIn(m, e.hosts, 'hostId', new Set(['host-0003', 'nobody']))).toEqual([hosts[3]]);
      expect(await wide.findIn(m, e.hosts, 'hostId', new Set())).toEqual([]);
    });
  });

  test('a row breaking a NOT NULL column fails the statement, whatever the conflict mode', async () => {
    const s = new RowStatements(dataSource, 20_000);
    const bad = { ...payload('p-bad'), status: null } as unknown as PayloadStatusRow;
    for (const mode of ['ignore', 'update'] as const)
      await expect(
        inTransaction((m) => s.insert(m, e.payloadStatuses, [payload('p-ok'), bad], mode)),
      ).rejects.toThrow(/NOT NULL|null value/i);
    expect(await all(e.payloadStatuses)).toEqual([]);
  });

  test('writes a batch (several tables, then the checkpoint) in statements under the parameter limit', async () => {
    const hosts = Array.from({ length: 7 }, (_, i) => host(`host-${i}`, i % 3 === 0));
    const vms = Array.from({ length: 5 }, (_, i) => vm(`vm-${i}`, { hostId: i % 2 ? null : `host-${i}` }));
    const payloads = Array.from({ length: 4 }, (_, i) => payload(`p-${i}`));
    // 40 parameters: hosts (10 columns) 4 rows a statement, vms (16) 2, payloads (9) 4.
    for (const limit of [40, 20_000]) {
      const s = new RowStatements(dataSource, limit);
      await inTransaction((m) =>
        s.insert(m, e.payloadStatuses, [payload('p-0', { status: 'rejected' })], 'ignore'),
      );
      await inTransaction((m) =>
        s.write(
          m,
          [
            rowWrite(e.hosts, hosts, 'update'),
            rowWrite(e.vms, [], 'update'),
            rowWrite(e.vms, vms, 'update'),
            rowWrite(e.payloadStatuses, payloads, 'ignore'),
          ],
          columnUpdate(e.checkpoints, 'projection', 'read_models', 'ledgerIndex', limit),
        ),
      );
      expect(byKey(await all(e.hosts), 'hostId')).toEqual(hosts);
      expect(byKey(await all(e.vms), 'vmId')).toEqual(vms);
      expect(byKey(await all(e.payloadStatuses), 'payloadId')).toEqual([
        payload('p-0', { status: 'rejected' }),
        ...payloads.slice(1),
      ]);
      expect(await dataSource.manager.findOneBy(e.checkpoints, { projection: 'read_models' })).toEqual({
        projection: 'read_models',
        ledgerIndex: limit,
      });
      await inTransaction(async (m) => {
        for (const entity of [e.hosts, e.vms, e.payloadStatuses] as EntitySchema<ObjectLiteral>[])
          await m.createQueryBuilder().delete().from(entity).execute();
      });
    }
    // Nothing to insert: the update alone.
    const s = new RowStatements(dataSource, 20_000);
    await inTransaction((m) =>
      s.write(m, [], columnUpdate(e.checkpoints, 'projection', 'read_models', 'ledgerIndex', 3)),
    );
    expect(await dataSource.manager.findOneBy(e.checkpoints, { projection: 'read_models' })).toEqual({
      projection: 'read_models',
      ledgerIndex: 3,
    });
  });

  test('a failing write leaves nothing of its batch', async () => {
    const s = new RowStatements(dataSource, 20_000);
    const bad = { ...vm('vm-bad'), owner: null } as unknown as VmRow;
    await expect(
      inTransaction((m) =>
        s.write(
          m,
          [
            rowWrite(e.hosts, [host('host-1', true)], 'update'),
            rowWrite(e.vms, [vm('vm-ok'), bad], 'update'),
          ],
          columnUpdate(e.checkpoints, 'projection', 'read_models', 'ledgerIndex', 9),
        ),
      ),
    ).rejects.toThrow(/NOT NULL|null value/i);
    expect(await all(e.hosts)).toEqual([]);
    expect(await all(e.vms)).toEqual([]);
    expect(await dataSource.manager.findOneBy(e.checkpoints, { projection: 'read_models' })).toEqual({
      projection: 'read_models',
      ledgerIndex: -1,
    });
  });

  test('locks and reads one column of one row, and updates it', async () => {
    const s = new RowStatements(dataSource, 20_000);
    await inTransaction(async (m) => {
      await s.insert(m, e.checkpoints, [{ projection: 'p', ledgerIndex: 41 }], 'ignore');
      expect(await s.lockAndRead(m, e.checkpoints, 'projection', 'p', 'ledgerIndex')).toBe(41);
      expect(await s.lockAndRead(m, e.checkpoints, 'projection', 'missing', 'ledgerIndex')).toBeUndefined();
      await s.updateOne(m, e.checkpoints, 'projection', 'p', 'ledgerIndex', Number.MAX_SAFE_INTEGER);
      await s.updateOne(m, e.checkpoints, 'projection', 'missing', 'ledgerIndex', 5);
    });
    expect(byKey(await all(e.checkpoints), 'projection')).toEqual([
      { projection: 'p', ledgerIndex: Number.MAX_SAFE_INTEGER },
      // Seeded when the read models were created.
      { projection: 'read_models', ledgerIndex: -1 },
    ]);
  });
}
