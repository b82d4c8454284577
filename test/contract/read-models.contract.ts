/**
 * The read-model contract (projections/read-models.ts): the same suite on SQLite and PostgreSQL.
 * Every test gets a fresh, empty database from the factory.
 */
import type { LedgerRecord } from '../../domain/processor/events.js';
import {
  dropReadModels,
  openReadModels,
  readModelSchemaDrift,
  type ReadModelsConfig,
  type ReadModelsTarget,
} from '../../projections/open-read-models.js';
import {
  ReadModelError,
  type Page,
  type ReadModelErrorCode,
  type ReadModels,
} from '../../projections/read-models.js';
import { busyLedger, CAPACITY, key, Ledger, SPEC } from './ledger-fixtures.js';

export interface ReadModelsFixture {
  readonly target: ReadModelsTarget;
  /** Releases what the factory made; runs after every handle closed. Defaults to dropReadModels. */
  readonly dispose?: () => Promise<void>;
}

export interface ReadModelsContractOptions {
  /** Registers the tests that open two handles on the same database at once. */
  readonly peers?: boolean;
  readonly timeoutMs?: number;
}

export const GENESIS_HOST = {
  hostId: 'g1',
  operator: key('op 1'),
  libvirtUri: 'qemu+ssh://g1/system',
  capacity: { vcpus: 16, memoryMiB: 32768, diskGiB: 500 },
};

export const CONFIG: ReadModelsConfig = {
  genesisMembers: [0, 1, 2].map((i) => ({
    key: key(`op ${i}`),
    stake: 100 + i,
    endpoint: `http://op${i}:3000`,
  })),
  genesisHosts: [GENESIS_HOST],
  accountQuotas: [{ key: key('vip'), maxVms: 100, maxVcpus: 400 }],
  defaultQuota: { maxVms: 10, maxVcpus: 32 },
};

const NONE = { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
const genesisHostView = { ...GENESIS_HOST, used: NONE, draining: false };

export async function expectReadModelError(
  promise: Promise<unknown>,
  code: ReadModelErrorCode,
): Promise<void> {
  const error = await promise.then(
    () => new Error('expected a rejection, but the call succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReadModelError);
  if (error instanceof ReadModelError) expect(error.code).toBe(code);
}

/** Every page of a list, following `next`. */
export async function all<T>(list: (after?: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let after: string | undefined;
  do {
    const page = await list(after);
    items.push(...page.items);
    after = page.next;
  } while (after !== undefined);
  return items;
}

/** Everything the queries can show about `records`: equal snapshots mean equal read models. */
export async function snapshot(
  rm: ReadModels,
  records: readonly LedgerRecord[],
): Promise<Record<string, unknown>> {
  const payloadIds = new Set<string>();
  const owners = new Set<string>([key('vip'), key('nobody')]);
  for (const { event } of records) {
    if (event.type === 'PayloadAccepted' || event.type === 'PayloadRejected') payloadIds.add(event.payloadId);
    if (event.type === 'VmRequested') owners.add(event.owner);
  }
  return {
    checkpoint: await rm.checkpoint(),
    vms: await all((after) => rm.vms({ after, limit: 7 })),
    hosts: await all((after) => rm.hosts({ after, limit: 7 })),
    operators: await all((after) => rm.operators({ after })),
    proposals: await all((after) => rm.proposals({ after })),
    rounds: await all((after) => rm.rounds({ after, limit: 7 })),
    accounts: await Promise.all([...owners].sort().map((o) => rm.account(o))),
    payloads: await Promise.all([...payloadIds].sort().map((p) => rm.payload(p))),
  };
}

async function* stream(records: readonly LedgerRecord[]): AsyncIterable<LedgerRecord> {
  for (const record of records) yield record;
}

/** Splits into batches of the given sizes, cycling. */
function batches(records: readonly LedgerRecord[], sizes: readonly number[]): LedgerRecord[][] {
  const out: LedgerRecord[][] = [];
  for (let i = 0, s = 0; i < records.length; s++) {
    const size = sizes[s % sizes.length]!;
    out.push(records.slice(i, i + size));
    i += size;
  }
  return out;
}

/** A ledger touching every event type, with its expected end state checked in the suite. */
function everyEventType(): Ledger {
  const l = new Ledger();
  const alice = key('alice');
  l.host('h1');
  l.host('h2', key('op 1'), { vcpus: 8, memoryMiB: 8192, diskGiB: 100 });
  l.accepted(key('p1'));
  l.vm('vm-a', alice);
  l.operation('vm-a', 'create', 'h1');
  l.status('vm-a', 'scheduled', 'h1');
  l.status('vm-a', 'running', 'h1', ['10.0.0.5']);
  l.root();
  l.rejected(key('p2'), 'QUOTA_EXCEEDED', 'alice has 10 VMs');
  l.vm('vm-b', alice, { vcpus: 4, memoryMiB: 4096, diskGiB: 40 });
  l.status('vm-b', 'scheduled', 'h2');
  l.operation('vm-b', 'resize', 'h2', { vcpus: 6, memoryMiB: 6144, diskGiB: 60 }, key('resize b'));
  l.add({ type: 'HostUpdated', hostId: 'h2', libvirtUri: 'qemu+tls://h2/system', capacity: CAPACITY });
  l.add({ type: 'HostDrained', hostId: 'h1' });
  l.root();
  const proposal = key('proposal 3');
  l.add({
    type: 'ProposalOpened',
    proposalId: proposal,
    kind: 'admit',
    operatorKey: key('op 3'),
    stake: 50,
    endpoint: 'http://op3:3000',
    proposer: key('op 0'),
  });
  l.add({ type: 'ProposalVoted', proposalId: proposal, voter: key('op 0'), approve: true });
  l.add({ type: 'ProposalVoted', proposalId: proposal, voter: key('op 2'), approve: false });
  l.add({ type: 'ProposalVoted', proposalId: proposal, voter: key('op 1'), approve: true });
  l.add({
    type: 'OperatorAdmitted',
    proposalId: proposal,
    operatorKey: key('op 3'),
    stake: 50,
    endpoint: 'http://op3:3000',
    effectiveRound: 7,
  });
  const removal = key('proposal rm 2');
  l.add({
    type: 'ProposalOpened',
    proposalId: removal,
    kind: 'remove',
    operatorKey: key('op 2'),
    stake: 0,
    endpoint: '',
    proposer: key('op 1'),
  });
  l.add({ type: 'OperatorRemoved', proposalId: removal, operatorKey: key('op 2'), effectiveRound: 9 });
  const small = { vcpus: 1, memoryMiB: 512, diskGiB: 5 };
  l.vm('vm-g', key('erin'), small);
  l.operation('vm-g', 'create', 'g1', small);
  l.status('vm-g', 'scheduled', 'g1');
  l.add({ type: 'PayloadIdsPruned', before: 1_790_000_000_000_000, count: 3 });
  l.add({ type: 'SomethingTheProcessorAddsLater', whatever: 1 });
  l.root();
  return l;
}

export function describeReadModelsContract(
  name: string,
  factory: () => Promise<ReadModelsFixture>,
  options: ReadModelsContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 30_000;
  const peerTest = options.peers === true ? test : (): void => undefined;

  describe(`Read models contract: ${name}`, () => {
    let fixture: ReadModelsFixture;
    const handles: ReadModels[] = [];
    const open = async (config: ReadModelsConfig = CONFIG): Promise<ReadModels> => {
      const rm = await openReadModels(fixture.target, config);
      handles.push(rm);
      return rm;
    };

    beforeEach(async () => {
      fixture = await factory();
    }, timeout);
    afterEach(async () => {
      for (const rm of handles.splice(0)) await rm.close();
      await (fixture.dispose ?? (() => dropReadModels(fixture.target)))();
    }, timeout);

    test('a new database: checkpoint -1, genesis members, quotas, nothing else', async () => {
      const rm = await open();
      expect(await rm.checkpoint()).toBe(-1);
      expect((await rm.operators()).items).toEqual(
        CONFIG.genesisMembers
          .map((g) => ({
            operatorKey: g.key,
            stake: g.stake,
            endpoint: g.endpoint,
            status: 'member',
            sinceRound: 0,
          }))
          .sort((a, b) => (a.operatorKey < b.operatorKey ? -1 : 1)),
      );
      expect(await rm.vms()).toEqual({ items: [] });
      expect(await rm.hosts()).toEqual({ items: [genesisHostView] });
      expect(await rm.proposals()).toEqual({ items: [] });
      expect(await rm.rounds()).toEqual({ items: [] });
      expect(await rm.vm('vm-a')).toBeNull();
      expect(await rm.payload(key('p1'))).toBeNull();
      expect(await rm.account(key('vip'))).toEqual({
        key: key('vip'),
        vms: 0,
        vcpus: 0,
        maxVms: 100,
        maxVcpus: 400,
      });
      expect(await rm.account(key('nobody'))).toBeNull();
    });

    test('the migrated tables are exactly what the entities describe', async () => {
      await (await open()).close();
      expect(await readModelSchemaDrift(fixture.target)).toEqual([]);
    });

    test('every event type lands in its view', async () => {
      const rm = await open();
      const l = everyEventType();
      await rm.project(l.records);
      const alice = key('alice');
      expect(await rm.checkpoint()).toBe(l.records.length - 1);

      expect(await rm.vm('vm-a')).toEqual({
        vmId: 'vm-a',
        owner: alice,
        name: 'name-vm-a',
        hostId: 'h1',
        ...SPEC,
        image: 'debian-12',
        status: 'running',
        statusReason: '',
        requestId: key('req vm-a'),
        addresses: ['10.0.0.5'],
        updatedAt: 6,
      });
      expect(await rm.vm('vm-b')).toMatchObject({
        hostId: 'h2',
        status: 'scheduled',
        vcpus: 6,
        memoryMiB: 6144,
        diskGiB: 60,
        requestId: key('resize b'),
        updatedAt: 11,
      });
      expect((await rm.hosts()).items).toEqual([
        { ...genesisHostView, used: { vcpus: 1, memoryMiB: 512, diskGiB: 5 } },
        {
          hostId: 'h1',
          operator: key('op 0'),
          libvirtUri: 'qemu+ssh://h1/system',
          capacity: CAPACITY,
          used: SPEC,
          draining: true,
        },
        {
          hostId: 'h2',
          operator: key('op 1'),
          libvirtUri: 'qemu+tls://h2/system',
          capacity: CAPACITY,
          used: { vcpus: 6, memoryMiB: 6144, diskGiB: 60 },
          draining: false,
        },
      ]);
      expect(await rm.account(alice)).toEqual({ key: alice, vms: 2, vcpus: 8, maxVms: 10, maxVcpus: 32 });

      expect(await rm.payload(key('p1'))).toEqual({
        payloadId: key('p1'),
        status: 'accepted',
        payloadType: 'vm.create',
        signer: key('signer'),
        round: 1,
        consensusIndex: 3,
      });
      expect(await rm.payload(key('p2'))).toEqual({
        payloadId: key('p2'),
        status: 'rejected',
        payloadType: 'vm.create',
        signer: key('signer'),
        code: 'QUOTA_EXCEEDED',
        reason: 'alice has 10 VMs',
        round: 2,
        consensusIndex: 9,
      });

      const operators = (await rm.operators()).items;
      expect(operators.find((o) => o.operatorKey === key('op 3'))).toEqual({
        operatorKey: key('op 3'),
        stake: 50,
        endpoint: 'http://op3:3000',
        status: 'member',
        sinceRound: 7,
      });
      expect(operators.find((o) => o.operatorKey === key('op 2'))).toEqual({
        operatorKey: key('op 2'),
        stake: 102,
        endpoint: 'http://op2:3000',
        status: 'removed',
        sinceRound: 9,
      });
      expect(operators).toHaveLength(4);
      const proposals = (await rm.proposals()).items;
      expect(proposals.find((p) => p.proposalId === key('proposal 3'))).toEqual({
        proposalId: key('proposal 3'),
        kind: 'admit',
        operatorKey: key('op 3'),
        stake: 50,
        endpoint: 'http://op3:3000',
        proposer: key('op 0'),
        status: 'admitted',
        approvals: [key('op 0'), key('op 1')],
        rejections: [key('op 2')],
      });
      expect(proposals.find((p) => p.proposalId === key('proposal rm 2'))).toMatchObject({
        kind: 'remove',
        status: 'removed',
        approvals: [],
        rejections: [],
      });

      const roots = l.records.filter((r) => r.event.type === 'StateRootComputed');
      expect((await rm.rounds()).items).toEqual(
        roots.map((r) => ({
          round: r.at.round,
          stateRoot: (r.event as { root: string }).root,
          consensusTimestamp: r.at.consensusTimestamp,
          consensusIndex: r.at.consensusIndex,
        })),
      );
      expect((await rm.rounds({ fromRound: 2 })).items.map((r) => r.round)).toEqual([2, 3]);
    });

    test('host use and account counts follow the VM through its life, as the processor counts them', async () => {
      const rm = await open();
      const l = new Ledger();
      const bob = key('bob');
      const used = async () => {
        const hosts = (await rm.hosts()).items;
        return Object.fromEntries(hosts.filter((h) => h.hostId !== 'g1').map((h) => [h.hostId, h.used]));
      };
      const account = async () => {
        const a = await rm.account(bob);
        return a && { vms: a.vms, vcpus: a.vcpus };
      };
      const step = async (...records: LedgerRecord[]) => rm.project(records);
      const vm = async () => {
        const v = await rm.vm('v');
        return v && [v.status, v.hostId, v.vcpus, v.memoryMiB, v.diskGiB];
      };

      await step(l.host('h1'), l.host('h2'), l.vm('v', bob));
      expect(await used()).toEqual({ h1: NONE, h2: NONE });
      expect(await account()).toEqual({ vms: 1, vcpus: 2 });
      // The operation that places the VM reserves its spec; the status change confirms the host.
      await step(l.operation('v', 'create', 'h1'), l.status('v', 'scheduled', 'h1'));
      expect(await used()).toEqual({ h1: SPEC, h2: NONE });
      await step(l.status('v', 'running', 'h1', ['10.0.0.9']));
      await step(l.operation('v', 'stop', 'h1'), l.status('v', 'stopped', 'h1'));
      expect(await used()).toEqual({ h1: SPEC, h2: NONE });
      // A resize holds the larger of both sizes until the operator reports, then the new size.
      const resized = { vcpus: 8, memoryMiB: 512, diskGiB: 50 };
      await step(l.operation('v', 'resize', 'h1', resized));
      expect(await used()).toEqual({ h1: { vcpus: 8, memoryMiB: 1024, diskGiB: 50 }, h2: NONE });
      expect(await account()).toEqual({ vms: 1, vcpus: 8 });
      expect(await vm()).toEqual(['stopped', 'h1', 8, 512, 50]);
      await step(l.status('v', 'stopped', 'h1'));
      expect(await used()).toEqual({ h1: resized, h2: NONE });
      // A failed operation on a placed VM keeps it on its host; a status change without host frees it.
      await step(
        l.operation('v', 'start', 'h1', resized),
        l.status('v', 'failed', 'h1', [], key('x'), 'libvirt said no'),
      );
      expect(await used()).toEqual({ h1: resized, h2: NONE });
      expect(await rm.vm('v')).toMatchObject({
        status: 'failed',
        statusReason: 'libvirt said no',
        hostId: 'h1',
      });
      await step(l.status('v', 'blocked', null));
      expect(await used()).toEqual({ h1: NONE, h2: NONE });
      expect(await account()).toEqual({ vms: 1, vcpus: 8 });
      await step(l.operation('v', 'create', 'h2', resized), l.status('v', 'scheduled', 'h2'));
      expect(await used()).toEqual({ h1: NONE, h2: resized });
      // Not something the processor emits, but well defined: a status naming another host moves the VM.
      await step(l.status('v', 'running', 'h1'));
      expect(await used()).toEqual({ h1: resized, h2: NONE });
      await step(l.operation('v', 'destroy', 'h1', resized), l.status('v', 'destroying', 'h1'));
      expect(await used()).toEqual({ h1: resized, h2: NONE });
      await step(l.status('v', 'destroyed', null));
      expect(await used()).toEqual({ h1: NONE, h2: NONE });
      expect(await account()).toEqual({ vms: 0, vcpus: 0 });
      expect(await vm()).toEqual(['destroyed', null, 8, 512, 50]);
      // A destroyed VM's id may be requested again.
      const small = { vcpus: 1, memoryMiB: 512, diskGiB: 5 };
      await step(l.vm('v', bob, small), l.operation('v', 'create', 'h1', small));
      expect(await used()).toEqual({ h1: small, h2: NONE });
      expect(await account()).toEqual({ vms: 1, vcpus: 1 });
    });

    test('a payload keeps its first outcome: a later replay rejection does not overwrite it', async () => {
      const rm = await open();
      const l = new Ledger();
      await rm.project([l.accepted(key('p')), l.rejected(key('p'), 'REPLAY', 'seen')]);
      await rm.project([l.rejected(key('p'), 'EXPIRED', 'too late')]);
      expect(await rm.payload(key('p'))).toMatchObject({ status: 'accepted', consensusIndex: 1 });
      expect(await rm.checkpoint()).toBe(2);
    });

    test('unknown event types change nothing but move the checkpoint', async () => {
      const rm = await open();
      const l = new Ledger();
      l.add({ type: 'NotYetKnown', vmId: 'x' });
      l.add({ type: 'PayloadIdsPruned', before: 1, count: 0 });
      const before = await snapshot(rm, []);
      await rm.project(l.records);
      expect(await rm.checkpoint()).toBe(1);
      expect({ ...(await snapshot(rm, [])), checkpoint: -1 }).toEqual(before);
    });

    test('idempotent: the same batch twice, or overlapping batches, equals projecting once', async () => {
      const records = everyEventType().records;
      const once = await open();
      await once.project(records);
      const expected = await snapshot(once, records);
      await once.project(records);
      expect(await snapshot(once, records)).toEqual(expected);
      await once.project(records.slice(3, 9));
      expect(await snapshot(once, records)).toEqual(expected);
      await once.close();
      await (fixture.dispose ?? (() => dropReadModels(fixture.target)))();
      fixture = await factory();

      const overlapping = await open();
      for (let i = 0; i < records.length; i += 4)
        await overlapping.project(records.slice(Math.max(0, i - 6), i + 4));
      expect(await snapshot(overlapping, records)).toEqual(expected);
    });

    test('concurrent project() calls on one handle are applied one at a time', async () => {
      const records = busyLedger({ vms: 40, hosts: 3, owners: 5 });
      const rm = await open();
      await Promise.all(batches(records, [17, 5, 30]).map((b) => rm.project(b)));
      await Promise.all([rm.project(records.slice(0, 100)), rm.project(records.slice(50))]);
      const fresh = await openReadModels({ type: 'sqlite', path: ':memory:' }, CONFIG);
      await fresh.project(records);
      const expected = await snapshot(fresh, records);
      await fresh.close();
      expect(await snapshot(rm, records)).toEqual(expected);
    });

    test('a batch that skips a ledger index is refused whole (LEDGER_GAP)', async () => {
      const rm = await open();
      const records = everyEventType().records;
      await rm.project(records.slice(0, 3));
      await expectReadModelError(rm.project(records.slice(4, 8)), 'LEDGER_GAP');
      await expectReadModelError(rm.project([records[3]!, records[5]!]), 'LEDGER_GAP');
      expect(await rm.checkpoint()).toBe(2);
      expect(await rm.vm('vm-a')).toBeNull();
      await rm.project(records.slice(3));
      expect(await rm.checkpoint()).toBe(records.length - 1);
      await expectReadModelError(rm.project([{ ...records[0]!, ledgerIndex: -1 }]), 'BAD_REQUEST');
      await expectReadModelError(rm.project([{ ...records[0]!, ledgerIndex: 1.5 }]), 'BAD_REQUEST');
    });

    test('a record that fails mid-batch rolls the whole batch back, checkpoint included', async () => {
      const rm = await open();
      const l = new Ledger();
      await rm.project([l.host('h1'), l.vm('v1', key('carol'))]);

      // Fails while writing: the VM row breaks NOT NULL after the hosts were already written.
      const batch = [
        l.host('h2'),
        l.status('v1', 'running', 'h1'),
        l.accepted(key('p9')),
        l.add({
          type: 'VmRequested',
          vmId: 'v2',
          owner: key('carol'),
          requestId: key('r'),
          name: null,
          spec: SPEC,
          image: 'debian-12',
          sshKeys: [],
          userData: null,
        } as never),
        l.root(),
      ];
      const before = await snapshot(rm, l.records);
      await expectReadModelError(rm.project(batch), 'STORE_FAILED');
      expect(await snapshot(rm, l.records)).toEqual(before);
      expect(await rm.checkpoint()).toBe(1);

      // Fails while applying: a status change for a VM the ledger never requested.
      const unknown = new Ledger(2);
      await expectReadModelError(
        rm.project([unknown.host('h3'), unknown.status('ghost', 'running', 'h3')]),
        'LEDGER_INCONSISTENT',
      );
      expect(await snapshot(rm, l.records)).toEqual(before);

      // The handle still works, and the good records project.
      await rm.project(batch.slice(0, 3));
      expect(await rm.checkpoint()).toBe(4);
      expect(await rm.vm('v1')).toMatchObject({ status: 'running', hostId: 'h1' });
    });

    test.each([
      ['a second VmRequested for a live VM', (l: Ledger) => [l.vm('v', key('o')), l.vm('v', key('o'))]],
      ['a second HostRegistered', (l: Ledger) => [l.host('h'), l.host('h')]],
      [
        'a scheduled VM on an unknown host',
        (l: Ledger) => [l.vm('v', key('o')), l.status('v', 'running', 'nope')],
      ],
      ['a HostDrained for an unknown host', (l: Ledger) => [l.add({ type: 'HostDrained', hostId: 'nope' })]],
      [
        'a vote on an unknown proposal',
        (l: Ledger) => [l.add({ type: 'ProposalVoted', proposalId: 'p', voter: 'v', approve: true })],
      ],
      [
        'removing an unknown operator',
        (l: Ledger) => [
          l.add({
            type: 'ProposalOpened',
            proposalId: 'p',
            kind: 'remove',
            operatorKey: 'k',
            stake: 0,
            endpoint: '',
            proposer: 'x',
          }),
          l.add({ type: 'OperatorRemoved', proposalId: 'p', operatorKey: 'k', effectiveRound: 3 }),
        ],
      ],
    ])('LEDGER_INCONSISTENT: %s', async (_what, build) => {
      const rm = await open();
      await expectReadModelError(rm.project(build(new Ledger())), 'LEDGER_INCONSISTENT');
      expect(await rm.checkpoint()).toBe(-1);
    });

    test('rebuild from the ledger gives the same query results as projecting live', async () => {
      const records = [...everyEventType().records];
      const busy = busyLedger({ vms: 30, hosts: 4, owners: 3 });
      // Append the busy ledger after the hand-made one, renumbered.
      const offset = records.length;
      for (const r of busy) records.push({ ...r, ledgerIndex: r.ledgerIndex + offset });
      const rm = await open();
      for (const batch of batches(records, [1, 13, 2, 40])) await rm.project(batch);
      const live = await snapshot(rm, records);

      expect(await rm.rebuild(stream(records), { batchSize: 7 })).toBe(records.length - 1);
      expect(await snapshot(rm, records)).toEqual(live);
      // Rebuild also throws away rows the ledger does not have, and re-seeds genesis.
      expect(await rm.rebuild(stream(records.slice(0, 2)))).toBe(1);
      expect((await rm.operators()).items).toHaveLength(CONFIG.genesisMembers.length);
      expect(await rm.vms()).toEqual({ items: [] });
      expect(await rm.rebuild(stream(records))).toBe(records.length - 1);
      expect(await snapshot(rm, records)).toEqual(live);
      expect(await rm.rebuild(stream([]))).toBe(-1);
      expect((await rm.operators()).items.map((o) => [o.operatorKey, o.status, o.sinceRound])).toEqual(
        CONFIG.genesisMembers.map((g) => [g.key, 'member', 0]).sort(),
      );
    });

    test('pages: ordered by id bytewise, opaque next cursor only when more rows exist', async () => {
      const rm = await open();
      const l = new Ledger();
      const ids = ['vm-b', 'vma', 'vm-a', 'vm0', 'vm9', 'vm-10', 'vm10', 'a', 'z', '0'];
      for (let i = 0; i < 15; i++) ids.push(`x${String(i).padStart(2, '0')}`);
      l.host('h1');
      l.host('h2');
      for (const [i, id] of ids.entries()) {
        l.vm(id, key(i % 2 === 0 ? 'even' : 'odd'));
        l.status(id, 'scheduled', i % 3 === 0 ? 'h1' : 'h2');
      }
      await rm.project(l.records);
      const sorted = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

      const first = await rm.vms({ limit: 10 });
      expect(first.items.map((v) => v.vmId)).toEqual(sorted.slice(0, 10));
      expect(typeof first.next).toBe('string');
      const second = await rm.vms({ limit: 10, after: first.next });
      expect(second.items.map((v) => v.vmId)).toEqual(sorted.slice(10, 20));
      const third = await rm.vms({ limit: 10, after: second.next });
      expect(third.items.map((v) => v.vmId)).toEqual(sorted.slice(20));
      expect(third.next).toBeUndefined();
      // Exactly a full last page: no next.
      const full = await rm.vms({ limit: 5, after: (await rm.vms({ limit: 20 })).next });
      expect(full.items).toHaveLength(5);
      expect(full.next).toBeUndefined();

      const byOwner = await all((after) => rm.vms({ owner: key('even'), after, limit: 4 }));
      expect(byOwner.map((v) => v.vmId)).toEqual(sorted.filter((id) => ids.indexOf(id) % 2 === 0));
      const byHost = await all((after) => rm.vms({ hostId: 'h1', after, limit: 3 }));
      expect(byHost.map((v) => v.vmId)).toEqual(sorted.filter((id) => ids.indexOf(id) % 3 === 0));
      expect((await rm.vms({ owner: key('odd'), hostId: 'h1' })).items.map((v) => v.vmId)).toEqual(
        sorted.filter((id) => ids.indexOf(id) % 6 === 3),
      );

      const hosts = await rm.hosts({ limit: 1 });
      expect(hosts.items.map((h) => h.hostId)).toEqual(['g1']);
      expect((await rm.hosts({ limit: 1, after: hosts.next })).items.map((h) => h.hostId)).toEqual(['h1']);
      expect((await rm.operators({ limit: 2 })).next).toBeDefined();

      await expectReadModelError(rm.vms({ after: 'not a cursor' }), 'BAD_REQUEST');
      await expectReadModelError(
        rm.vms({ after: Buffer.from('{"a":1}').toString('base64url') }),
        'BAD_REQUEST',
      );
      await expectReadModelError(rm.rounds({ after: first.next }), 'BAD_REQUEST');
      await expectReadModelError(rm.vms({ limit: 0 }), 'BAD_REQUEST');
      await expectReadModelError(rm.vms({ limit: 2.5 }), 'BAD_REQUEST');
      await expectReadModelError(rm.rounds({ fromRound: -0.5 }), 'BAD_REQUEST');
    });

    test('limit defaults to 100 and is capped at 1000', async () => {
      const rm = await open();
      const l = new Ledger();
      for (let i = 0; i < 1001; i++) l.root();
      await rm.project(l.records);
      const page = await rm.rounds();
      expect(page.items).toHaveLength(100);
      expect(page.items[99]!.round).toBe(100);
      const capped = await rm.rounds({ limit: 5000 });
      expect(capped.items).toHaveLength(1000);
      const rest = await rm.rounds({ limit: 5000, after: capped.next });
      expect(rest.items.map((r) => r.round)).toEqual([1001]);
      expect(rest.next).toBeUndefined();
      const from = await rm.rounds({ fromRound: 998, limit: 2 });
      expect(from.items.map((r) => r.round)).toEqual([998, 999]);
      expect((await rm.rounds({ fromRound: 998, after: from.next })).items.map((r) => r.round)).toEqual([
        1000, 1001,
      ]);
    });

    test('reopening keeps rows and checkpoint; genesis is not re-seeded over what the ledger changed', async () => {
      const records = everyEventType().records;
      const first = await open();
      await first.project(records);
      const expected = await snapshot(first, records);
      await first.close();
      await expectReadModelError(first.checkpoint(), 'CLOSED');
      await expectReadModelError(first.project(records), 'CLOSED');
      const second = await open();
      expect(await snapshot(second, records)).toEqual(expected);
      expect((await second.operators()).items.find((o) => o.operatorKey === key('op 2'))!.status).toBe(
        'removed',
      );
    });

    test('quotas come from the configuration the handle was opened with', async () => {
      const l = new Ledger();
      await (await open()).project([l.vm('v', key('vip')), l.vm('w', key('dave'))]);
      const other = await open({ ...CONFIG, accountQuotas: [], defaultQuota: { maxVms: 3, maxVcpus: 6 } });
      expect(await other.account(key('vip'))).toEqual({
        key: key('vip'),
        vms: 1,
        vcpus: 2,
        maxVms: 3,
        maxVcpus: 6,
      });
      expect(await other.account(key('dave'))).toMatchObject({ vms: 1, maxVms: 3 });
    });

    peerTest(
      'two handles projecting the same ledger at once never apply a record twice',
      async () => {
        const records = busyLedger({ vms: 60, hosts: 5, owners: 7 });
        const a = await open();
        const b = await open();
        await Promise.all([
          (async () => {
            for (const batch of batches(records, [23, 11])) await a.project(batch);
          })(),
          (async () => {
            for (const batch of batches(records, [9, 31])) await b.project(batch);
          })(),
        ]);
        const fresh = await openReadModels({ type: 'sqlite', path: ':memory:' }, CONFIG);
        await fresh.project(records);
        const expected = await snapshot(fresh, records);
        await fresh.close();
        expect(await snapshot(a, records)).toEqual(expected);
        expect(await snapshot(b, records)).toEqual(expected);
      },
      timeout,
    );
  });
}
