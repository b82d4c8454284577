import fc from 'fast-check';
import {
  type LedgerRecord,
  PayloadProcessor,
  reportableStatuses,
  stateRoot,
} from '../../../domain/processor/index.js';
import { alice, bob, carol, config, dan, erin, frank, hash, newcomer, ports, type Actor, T0 } from './kit.js';

/** Random scenarios for the property specs: abstract steps resolved against the live state. */

export type Action =
  | { kind: 'create'; who: number; size: number; vmId: number }
  | {
      kind: 'owner';
      op: 'vm.stop' | 'vm.start' | 'vm.destroy' | 'vm.resize';
      who: number;
      vmId: number;
      size: number;
    }
  | { kind: 'report'; vmId: number; status: number; stale: boolean }
  | { kind: 'host'; op: 'register' | 'grow' | 'drain'; host: number }
  | { kind: 'propose'; who: number; remove: boolean }
  | { kind: 'vote'; who: number; approve: boolean }
  | { kind: 'junk'; bytes: Uint8Array }
  | { kind: 'replay'; index: number }
  | { kind: 'close'; advanceMicros: number };

const owners = [erin, frank];
const members = [alice, bob, carol, dan, newcomer];
const VM_IDS = ['a', 'b', 'c', 'd', 'e'];
const SIZES = [
  { vcpus: 1, memoryMiB: 512, diskGiB: 5 },
  { vcpus: 2, memoryMiB: 4096, diskGiB: 20 },
  { vcpus: 4, memoryMiB: 8192, diskGiB: 50 },
];
const STATUSES = ['provisioning', 'running', 'stopped', 'blocked', 'failed', 'destroyed'];

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      who: fc.nat(1),
      size: fc.nat(2),
      vmId: fc.nat(5),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('owner' as const),
      op: fc.constantFrom(
        'vm.stop' as const,
        'vm.start' as const,
        'vm.destroy' as const,
        'vm.resize' as const,
      ),
      who: fc.nat(1),
      vmId: fc.nat(4),
      size: fc.nat(2),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      vmId: fc.nat(4),
      status: fc.nat(5),
      stale: fc.nat(4).map((n) => n === 0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('host' as const),
      op: fc.constantFrom('register' as const, 'grow' as const, 'drain' as const),
      host: fc.nat(2),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('propose' as const), who: fc.nat(4), remove: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('vote' as const), who: fc.nat(4), approve: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('junk' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), index: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('close' as const),
      advanceMicros: fc.oneof(
        fc.integer({ min: 1, max: 2_000_000 }),
        fc.integer({ min: 1, max: 700_000_000 }),
      ),
    }),
  },
);

export interface Batch {
  readonly round: number;
  readonly events: { consensusIndex: number; consensusTimestamp: number; payloads: Uint8Array[] }[];
  readonly close: { consensusTimestamp: number; consensusIndex: number };
}

export interface Run {
  readonly processor: PayloadProcessor;
  readonly batches: Batch[];
  readonly records: LedgerRecord[];
  /** Roots before and after each payload that was rejected. */
  readonly rejectedRootPairs: [string, string][];
}

/** Executes actions on a fresh processor; payload bytes are signed against the state as it is then. */
export function execute(actions: readonly Action[]): Run {
  const processor = new PayloadProcessor(config, ports);
  const state = processor.state;
  const batches: Batch[] = [];
  const records: LedgerRecord[] = [];
  const rejectedRootPairs: [string, string][] = [];
  const sent: Uint8Array[] = [];
  let round = 1;
  let now = T0;
  let index = 0;
  let events: Batch['events'] = [];
  let lastProposal: string | null = null;
  const sign = (who: Actor, payload: { type: string } & Record<string, unknown>) =>
    who.sign({ expiresAt: Math.floor(now / 1000) + 600_000, ...payload }).bytes;
  const close = () => {
    const at = { consensusTimestamp: now, consensusIndex: index };
    const outcome = processor.closeRound(round, at);
    records.push(...outcome.records);
    batches.push({ round, events, close: at });
    events = [];
    round++;
  };
  for (const a of actions) {
    let bytes: Uint8Array | null = null;
    switch (a.kind) {
      case 'create':
        bytes = sign(owners[a.who]!, {
          type: 'vm.create',
          name: 'n',
          ...SIZES[a.size]!,
          ...(a.vmId < 5 ? { vmId: VM_IDS[a.vmId] } : {}),
        });
        break;
      case 'owner': {
        // Mostly an existing VM and its owner (who = 0), sometimes another key or id.
        const ids = state.vms.sortedKeys();
        const vmId = ids.length > 0 && a.vmId < 4 ? ids[a.vmId % ids.length]! : VM_IDS[a.vmId]!;
        const owner = owners.find((o) => o.key === state.vms.get(vmId)?.owner) ?? erin;
        const who = a.who === 0 ? owner : owners.find((o) => o !== owner)!;
        bytes = sign(who, { type: a.op, vmId, ...(a.op === 'vm.resize' ? SIZES[a.size] : {}) });
        break;
      }
      case 'report': {
        // Mostly the current request and a status that fits it.
        const ids = state.vms.sortedKeys();
        const vmId = ids.length > 0 ? ids[a.vmId % ids.length]! : VM_IDS[a.vmId]!;
        const vm = state.vms.get(vmId);
        const host = vm?.hostId ? state.hosts.get(vm.hostId) : undefined;
        const operator = members.find((m) => m.key === host?.operator) ?? alice;
        const fitting = vm ? reportableStatuses(vm) : [];
        bytes = sign(operator, {
          type: 'vm.report',
          vmId,
          requestId: a.stale || !vm ? '0'.repeat(64) : vm.requestId,
          status:
            fitting.length > 0 && a.status < 4 ? fitting[a.status % fitting.length]! : STATUSES[a.status]!,
          addresses: ['10.1.2.3'],
        });
        break;
      }
      case 'host':
        if (a.op === 'register')
          bytes = sign(carol, {
            type: 'host.register',
            hostId: `h${3 + a.host}`,
            libvirtUri: 'x',
            capacity: SIZES[a.host]!,
          });
        else {
          const hostId = `h${1 + (a.host % 2)}`;
          const op = a.host % 2 === 0 ? alice : bob;
          bytes =
            a.op === 'drain'
              ? sign(op, { type: 'host.drain', hostId })
              : sign(op, {
                  type: 'host.update',
                  hostId,
                  capacity: { vcpus: 16, memoryMiB: 32_768, diskGiB: 400 },
                });
        }
        break;
      case 'propose':
        bytes = a.remove
          ? sign(members[a.who]!, { type: 'operator.remove', operatorKey: members[(a.who + 1) % 4]!.key })
          : sign(members[a.who]!, {
              type: 'operator.propose',
              operatorKey: newcomer.key,
              stake: 1,
              endpoint: 'e',
            });
        break;
      case 'vote':
        bytes = sign(members[a.who]!, {
          type: 'operator.vote',
          proposalId: lastProposal ?? '1'.repeat(64),
          approve: a.approve,
        });
        break;
      case 'junk':
        bytes = a.bytes;
        break;
      case 'replay':
        bytes = sent.length > 0 ? sent[a.index % sent.length]! : null;
        break;
      case 'close':
        close();
        now += a.advanceMicros;
        break;
    }
    if (!bytes) continue;
    now += 1;
    index += 1;
    sent.push(bytes);
    const before = stateRoot(state, hash);
    const out = processor.applyEvent(round, {
      consensusIndex: index,
      consensusTimestamp: now,
      payloads: [bytes],
    });
    events.push({ consensusIndex: index, consensusTimestamp: now, payloads: [bytes] });
    if (out.length === 1 && out[0]!.event.type === 'PayloadRejected')
      rejectedRootPairs.push([before, stateRoot(state, hash)]);
    for (const r of out) if (r.event.type === 'ProposalOpened') lastProposal = r.event.proposalId;
  }
  close();
  return { processor, batches, records, rejectedRootPairs };
}

/** Scenarios that start with a few VMs, so most later steps have something to act on. */
export const scenarioArb: fc.Arbitrary<Action[]> = fc
  .tuple(
    fc.array(
      fc.record({ kind: fc.constant('create' as const), who: fc.nat(1), size: fc.nat(2), vmId: fc.nat(5) }),
      {
        minLength: 1,
        maxLength: 6,
      },
    ),
    fc.array(actionArb, { minLength: 1, maxLength: 80 }),
  )
  .map(([creates, rest]) => [...creates, ...rest]);
