/**
 * The read models against the real Payload Processor: random signed payloads go through
 * PayloadProcessor, its ledger is projected in random batches, and every view must equal what the
 * processor's own state says.
 */
import fc from 'fast-check';
import {
  sha256,
  signerFromSecretKey,
  strictVerifier,
  toHex,
  type Signer,
} from '../../../domain/crypto/index.js';
import { signPayload } from '../../../domain/payloads/index.js';
import {
  PayloadProcessor,
  reportableStatuses,
  type LedgerRecord,
  type ProcessorConfig,
  type ProcessorState,
} from '../../../domain/processor/index.js';
import { openReadModels, type ReadModelsConfig } from '../../../projections/open-read-models.js';
import type { ReadModels } from '../../../projections/read-models.js';
import { all, snapshot } from '../../contract/read-models.contract.js';

const utf8 = new TextEncoder();

class Actor {
  readonly key: string;
  private readonly signer: Signer;
  private nonce = 0;

  constructor(readonly label: string) {
    this.signer = signerFromSecretKey(sha256(utf8.encode(`read-models:${label}`)));
    this.key = toHex(this.signer.publicKey);
  }

  sign(payload: { type: string } & Record<string, unknown>, nowMicros: number): Uint8Array {
    const full = {
      nonce: `${this.label}-nonce-${this.nonce++}`,
      expiresAt: Math.floor(nowMicros / 1000) + 600_000,
      ...payload,
    };
    return signPayload(full, this.signer, sha256).bytes;
  }
}

const operators = ['alice', 'bob', 'carol'].map((l) => new Actor(l));
const developers = ['erin', 'frank', 'grace'].map((l) => new Actor(l));
const newcomer = new Actor('newcomer');
const actors = [...operators, ...developers, newcomer];
const byKey = new Map(actors.map((a) => [a.key, a]));

const processorConfig: ProcessorConfig = {
  members: operators.map((a) => ({ key: a.key, stake: 10, endpoint: `http://${a.label}` })),
  hosts: [
    {
      hostId: 'g1',
      operator: operators[0]!.key,
      libvirtUri: 'qemu+ssh://g1/system',
      capacity: { vcpus: 8, memoryMiB: 8192, diskGiB: 100 },
    },
    {
      hostId: 'g2',
      operator: operators[1]!.key,
      libvirtUri: 'qemu+ssh://g2/system',
      capacity: { vcpus: 4, memoryMiB: 4096, diskGiB: 50 },
    },
  ],
  accounts: [{ key: developers[1]!.key, maxVms: 20, maxVcpus: 64 }],
  defaultQuota: { maxVms: 4, maxVcpus: 10 },
  maxProposalStake: 10,
  membershipDelay: 2,
  operationDeadlineMicros: 30_000_000,
};

const readModelsConfig: ReadModelsConfig = {
  genesisMembers: processorConfig.members,
  genesisHosts: processorConfig.hosts,
  accountQuotas: processorConfig.accounts,
  defaultQuota: processorConfig.defaultQuota,
};

/** A small deterministic PRNG, so a failing seed replays. */
function prng(seed: number): { int: (n: number) => number; pick: <T>(xs: readonly T[]) => T } {
  let s = seed >>> 0 || 1;
  const int = (n: number): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
  return { int, pick: (xs) => xs[int(xs.length)]! };
}

/** Runs `rounds` rounds of random payloads through the processor; returns its ledger and state. */
function run(seed: number, rounds: number): { records: LedgerRecord[]; state: ProcessorState } {
  const r = prng(seed);
  const processor = new PayloadProcessor(processorConfig, { verify: strictVerifier, hash: sha256 });
  const records: LedgerRecord[] = [];
  const sent: Uint8Array[] = [];
  let now = 1_800_000_000_000_000;
  let consensusIndex = 0;
  let hosts = 0;
  const state = processor.state;

  const payload = (): Uint8Array => {
    const vms = [...state.vms.unordered()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const live = vms.filter(([, v]) => v.status !== 'destroyed');
    const choice = r.int(100);
    if (choice < 25 || live.length === 0) {
      const dev = r.pick(developers);
      return dev.sign(
        {
          type: 'vm.create',
          name: `web${r.int(100)}`,
          vcpus: 1 + r.int(3),
          memoryMiB: 512 * (1 + r.int(4)),
          diskGiB: 5 + r.int(20),
        },
        now,
      );
    }
    const reportable = live.filter(
      ([, v]) => v.hostId !== null && state.hosts.has(v.hostId) && reportableStatuses(v).length > 0,
    );
    if (choice < 60 && reportable.length > 0) {
      const [vmId, vm] = r.pick(reportable);
      return byKey.get(state.hosts.get(vm.hostId!)!.operator)!.sign(
        {
          type: 'vm.report',
          vmId,
          requestId: vm.requestId,
          status: r.pick(reportableStatuses(vm)),
          detail: `report ${r.int(10)}`,
          addresses: [`10.0.${r.int(10)}.${r.int(250)}`],
        },
        now,
      );
    }
    // Mostly VMs that can take the operation; sometimes any, for the refusals.
    const idle = live.filter(
      ([, v]) => v.operation === null && (v.status === 'running' || v.status === 'stopped'),
    );
    const [vmId, vm] = r.pick(idle.length > 0 && r.int(4) !== 0 ? idle : live);
    const owner = byKey.get(vm.owner)!;
    if (choice < 70)
      return owner.sign(
        { type: 'vm.resize', vmId, vcpus: 1 + r.int(4), memoryMiB: 512 * (1 + r.int(4)) },
        now,
      );
    if (choice < 76) return owner.sign({ type: vm.status === 'running' ? 'vm.stop' : 'vm.start', vmId }, now);
    if (choice < 85) return owner.sign({ type: 'vm.destroy', vmId }, now);
    if (choice < 88)
      return r.pick(operators).sign(
        {
          type: 'host.register',
          hostId: `h${hosts++}`,
          libvirtUri: 'qemu:///system',
          capacity: { vcpus: 2 + r.int(8), memoryMiB: 1024 * (1 + r.int(8)), diskGiB: 20 + r.int(100) },
        },
        now,
      );
    if (choice < 90) {
      const [hostId, host] = r.pick([...state.hosts.unordered()]);
      const who = byKey.get(host.operator)!;
      return r.int(3) === 0
        ? who.sign({ type: 'host.drain', hostId }, now)
        : who.sign(
            { type: 'host.update', hostId, capacity: { vcpus: 4 + r.int(8), memoryMiB: 8192, diskGiB: 100 } },
            now,
          );
    }
    if (choice < 92) {
      const member = state.members.get(newcomer.key);
      return r
        .pick(operators)
        .sign(
          member !== undefined && member.until === null
            ? { type: 'operator.remove', operatorKey: newcomer.key }
            : { type: 'operator.propose', operatorKey: newcomer.key, stake: 5, endpoint: 'http://newcomer' },
          now,
        );
    }
    if (choice < 96) {
      const open = [...state.proposals.unordered()].filter(([, p]) => p.status === 'open');
      if (open.length > 0) {
        const [proposalId, p] = r.pick(open);
        const voters = operators.filter((o) => !p.approvals.includes(o.key) && !p.rejections.includes(o.key));
        return r
          .pick(voters.length > 0 ? voters : operators)
          .sign({ type: 'operator.vote', proposalId, approve: r.int(5) !== 0 }, now);
      }
    }
    if (choice < 98 && sent.length > 0) return r.pick(sent); // a replay
    return utf8.encode(`not an envelope ${r.int(1000)}`);
  };

  for (let round = 1; round <= rounds; round++) {
    const events = 1 + r.int(4);
    for (let e = 0; e < events; e++) {
      now += r.int(40) === 0 ? 40_000_000 : 1_000_000; // sometimes past the operation deadline
      consensusIndex++;
      const payloads: Uint8Array[] = [];
      for (let p = 1 + r.int(3); p > 0; p--) payloads.push(payload());
      sent.push(...payloads);
      processor.applyEvent(round, { consensusIndex, consensusTimestamp: now, payloads });
    }
    // The round's records: its payloads' outcomes, then timeouts, pruning and the state root.
    records.push(...processor.closeRound(round).records);
  }
  return { records, state };
}

async function expectViewsMatch(
  rm: ReadModels,
  state: ProcessorState,
  records: readonly LedgerRecord[],
): Promise<void> {
  expect(await rm.checkpoint()).toBe(records.length - 1);
  const sorted = <T>(entries: Iterable<[string, T]>): [string, T][] =>
    [...entries].sort((a, b) => (a[0] < b[0] ? -1 : 1));

  expect(await all((after) => rm.vms({ after }))).toEqual(
    sorted(state.vms.unordered()).map(([vmId, v]) => ({
      vmId,
      owner: v.owner,
      name: v.name,
      hostId: v.hostId,
      ...v.spec,
      image: v.image,
      status: v.status,
      statusReason: v.statusReason,
      requestId: v.requestId,
      addresses: v.addresses,
      updatedAt: expect.any(Number),
    })),
  );
  expect(await all((after) => rm.hosts({ after }))).toEqual(
    sorted(state.hosts.unordered()).map(([hostId, h]) => ({
      hostId,
      operator: h.operator,
      libvirtUri: h.libvirtUri,
      capacity: h.capacity,
      used: h.used,
      draining: h.draining,
    })),
  );
  expect(await all((after) => rm.operators({ after }))).toEqual(
    sorted(state.members.unordered()).map(([operatorKey, m]) => ({
      operatorKey,
      stake: m.stake,
      endpoint: m.endpoint,
      status: m.until === null ? 'member' : 'removed',
      sinceRound: m.until ?? m.since,
    })),
  );
  expect(await all((after) => rm.proposals({ after }))).toEqual(
    sorted(state.proposals.unordered()).map(([proposalId, p]) => ({ proposalId, ...p })),
  );
  for (const actor of actors) {
    const usage = state.accounts.get(actor.key) ?? { vms: 0, vcpus: 0 };
    const view = await rm.account(actor.key);
    expect({ vms: view?.vms ?? 0, vcpus: view?.vcpus ?? 0 }).toEqual(usage);
  }
  const roots = records.filter((rec) => rec.event.type === 'StateRootComputed');
  expect((await all((after) => rm.rounds({ after }))).map((r) => [r.round, r.stateRoot])).toEqual(
    roots.map((rec) => [rec.at.round, (rec.event as { root: string }).root]),
  );
  for (const rec of records) {
    if (rec.event.type !== 'PayloadAccepted' && rec.event.type !== 'PayloadRejected') continue;
    const view = await rm.payload(rec.event.payloadId);
    const first = records.find(
      (x) =>
        (x.event.type === 'PayloadAccepted' || x.event.type === 'PayloadRejected') &&
        x.event.payloadId === (rec.event as { payloadId: string }).payloadId,
    )!;
    expect(view).toMatchObject({
      status: first.event.type === 'PayloadAccepted' ? 'accepted' : 'rejected',
      consensusIndex: first.at.consensusIndex,
      round: first.at.round,
    });
  }
}

describe('read models of a real processor ledger', () => {
  test('every view equals the processor state, for random payloads cut into random batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 5 }),
        async (seed, sizes) => {
          const { records, state } = run(seed, 25);
          const rm = await openReadModels({ type: 'sqlite', path: ':memory:' }, readModelsConfig);
          try {
            for (let i = 0, b = 0; i < records.length; b++) {
              const n = sizes[b % sizes.length]!;
              await rm.project(records.slice(i, i + n));
              i += n;
            }
            await expectViewsMatch(rm, state, records);
            const live = await snapshot(rm, records);
            await rm.rebuild(
              (async function* () {
                yield* records;
              })(),
              { batchSize: 97 },
            );
            expect(await snapshot(rm, records)).toEqual(live);
          } finally {
            await rm.close();
          }
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);
});
