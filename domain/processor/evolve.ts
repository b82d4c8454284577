import { ProcessorError } from './errors.js';
import type { LedgerEvent, LedgerPosition, VmSpec } from './events.js';
import type { HostRecord, ProcessorState, VmRecord } from './state.js';
import { largerSpec, newHost, sameSpec, setRound } from './state.js';

/**
 * evolve(state, event) applies one ledger event. Contract: it MUTATES `state` in place and returns
 * the same object (the tables are large; copying them per event would cost more than deciding).
 * Everything it needs is in the event, so replaying stream `ledger` from initialState(config)
 * rebuilds the state exactly. It throws ProcessorError('BAD_EVENT') on an event that does not
 * fit the state, which only a corrupt or foreign ledger can hold.
 */
export function evolve(state: ProcessorState, event: LedgerEvent, _at?: LedgerPosition): ProcessorState {
  switch (event.type) {
    case 'PayloadAccepted':
      state.seen.set(event.payloadId, event.expiresAt);
      state.expiries.add(event.payloadId, event.expiresAt);
      break;
    case 'PayloadRejected':
      break;
    case 'VmRequested':
      if (state.vms.has(event.vmId)) throw badEvent(`VM ${event.vmId} exists`);
      state.vms.set(event.vmId, {
        owner: event.owner,
        name: event.name,
        image: event.image,
        spec: event.spec,
        reserved: null,
        hostId: null,
        status: 'requested',
        statusReason: '',
        requestId: event.requestId,
        operation: null,
        deadline: null,
        addresses: [],
        awaitsCapacity: false,
      });
      adjustAccount(state, event.owner, 1, event.spec.vcpus);
      break;
    case 'VmOperationRequested': {
      let vm = vmOf(state, event.vmId);
      if (vm.spec.vcpus !== event.spec.vcpus)
        adjustAccount(state, vm.owner, 0, event.spec.vcpus - vm.spec.vcpus);
      if (vm.hostId !== event.hostId) {
        vm = release(state, vm);
        vm = reserve(state, vm, event.hostId, event.spec);
      } else if (event.operation === 'resize') {
        vm = reserve(state, vm, event.hostId, largerSpec(vm.reserved ?? event.spec, event.spec));
      }
      state.vms.set(event.vmId, {
        ...vm,
        spec: event.spec,
        requestId: event.requestId,
        operation: event.operation,
        deadline: event.deadline,
      });
      state.openOperations.set(event.vmId, event.deadline);
      break;
    }
    case 'VmStatusChanged': {
      let vm = vmOf(state, event.vmId);
      const awaitsCapacity = event.status === 'blocked' && waitsForCapacity(state, vm);
      if (event.hostId === null) vm = release(state, vm);
      else if (vm.hostId !== event.hostId) throw badEvent(`VM ${event.vmId} is not on host ${event.hostId}`);
      const closes = CLOSING.has(event.status);
      if ((event.status === 'running' || event.status === 'stopped') && vm.hostId !== null)
        vm = reserve(state, vm, vm.hostId, vm.spec);
      if (closes && vm.operation !== null) state.openOperations.delete(event.vmId);
      if (event.status === 'destroyed') adjustAccount(state, vm.owner, -1, -vm.spec.vcpus);
      if (awaitsCapacity) state.blocked.add(event.vmId);
      else if (vm.status === 'blocked') state.blocked.delete(event.vmId);
      state.vms.set(event.vmId, {
        ...vm,
        status: event.status,
        statusReason: event.statusReason,
        requestId: event.requestId,
        addresses: event.addresses,
        awaitsCapacity,
        operation: closes ? null : vm.operation,
        deadline: closes ? null : vm.deadline,
      });
      break;
    }
    case 'HostRegistered':
      if (state.hosts.has(event.hostId)) throw badEvent(`host ${event.hostId} exists`);
      state.hosts.set(event.hostId, newHost(event.operator, event.libvirtUri, event.capacity));
      break;
    case 'HostUpdated': {
      const host = hostOf(state, event.hostId);
      state.hosts.set(event.hostId, { ...host, libvirtUri: event.libvirtUri, capacity: event.capacity });
      break;
    }
    case 'HostDrained':
      state.hosts.set(event.hostId, { ...hostOf(state, event.hostId), draining: true });
      break;
    case 'ProposalOpened':
      if (state.proposals.has(event.proposalId)) throw badEvent(`proposal ${event.proposalId} exists`);
      state.proposals.set(event.proposalId, {
        kind: event.kind,
        operatorKey: event.operatorKey,
        stake: event.stake,
        endpoint: event.endpoint,
        proposer: event.proposer,
        status: 'open',
        approvals: [],
        rejections: [],
      });
      break;
    case 'ProposalVoted': {
      const p = state.proposals.get(event.proposalId);
      if (!p) throw badEvent(`no proposal ${event.proposalId}`);
      state.proposals.set(
        event.proposalId,
        event.approve
          ? { ...p, approvals: withKey(p.approvals, event.voter) }
          : { ...p, rejections: withKey(p.rejections, event.voter) },
      );
      break;
    }
    case 'OperatorAdmitted': {
      closeProposal(state, event.proposalId, 'admitted');
      state.members.set(event.operatorKey, {
        stake: event.stake,
        endpoint: event.endpoint,
        since: event.effectiveRound,
        until: null,
      });
      break;
    }
    case 'OperatorRemoved': {
      closeProposal(state, event.proposalId, 'removed');
      const m = state.members.get(event.operatorKey);
      if (!m) throw badEvent(`no member ${event.operatorKey}`);
      state.members.set(event.operatorKey, { ...m, until: event.effectiveRound });
      break;
    }
    case 'PayloadIdsPruned': {
      const cutoffMs = expiryCutoffMs(event.before);
      const gone = (id: string) => {
        const exp = state.seen.get(id);
        return exp === undefined || exp < cutoffMs;
      };
      for (const id of state.expiries.candidates(cutoffMs)) if (gone(id)) state.seen.delete(id);
      state.expiries.drop(cutoffMs, gone);
      break;
    }
    case 'StateRootComputed':
      setRound(state, event.round);
      break;
  }
  return state;
}

/** Statuses that end the open operation. */
const CLOSING: ReadonlySet<string> = new Set(['running', 'stopped', 'destroyed', 'failed', 'blocked']);

/** Ids with `expiresAt * 1000 < beforeMicros`, i.e. `expiresAt < ceil(beforeMicros / 1000)`, are expired. */
export function expiryCutoffMs(beforeMicros: number): number {
  return Math.ceil(beforeMicros / 1000);
}

function badEvent(message: string): ProcessorError {
  return new ProcessorError('BAD_EVENT', message);
}

function vmOf(state: ProcessorState, vmId: string): VmRecord {
  const vm = state.vms.get(vmId);
  if (!vm) throw badEvent(`no VM ${vmId}`);
  return vm;
}

function hostOf(state: ProcessorState, hostId: string): HostRecord {
  const host = state.hosts.get(hostId);
  if (!host) throw badEvent(`no host ${hostId}`);
  return host;
}

function withKey(keys: readonly string[], key: string): string[] {
  return [...keys, key].sort();
}

function addUsed(state: ProcessorState, hostId: string, spec: VmSpec, sign: 1 | -1): void {
  const host = hostOf(state, hostId);
  state.hosts.set(hostId, {
    ...host,
    used: {
      vcpus: host.used.vcpus + sign * spec.vcpus,
      memoryMiB: host.used.memoryMiB + sign * spec.memoryMiB,
      diskGiB: host.used.diskGiB + sign * spec.diskGiB,
    },
  });
}

/** Frees what the VM holds on its host; returns the VM without a host. */
function release(state: ProcessorState, vm: VmRecord): VmRecord {
  if (vm.hostId === null) return vm;
  if (vm.reserved) addUsed(state, vm.hostId, vm.reserved, -1);
  return { ...vm, hostId: null, reserved: null };
}

/** Makes the VM hold exactly `spec` on `hostId` (which must be its host or it must have none). */
function reserve(state: ProcessorState, vm: VmRecord, hostId: string, spec: VmSpec): VmRecord {
  if (vm.hostId === hostId && vm.reserved && sameSpec(vm.reserved, spec)) return vm;
  if (vm.reserved && vm.hostId !== null) addUsed(state, vm.hostId, vm.reserved, -1);
  addUsed(state, hostId, spec, 1);
  return { ...vm, hostId, reserved: spec };
}

function adjustAccount(state: ProcessorState, owner: string, vms: number, vcpus: number): void {
  const usage = state.accounts.get(owner) ?? { vms: 0, vcpus: 0 };
  const next = { vms: usage.vms + vms, vcpus: usage.vcpus + vcpus };
  if (next.vms === 0) state.accounts.delete(owner);
  else state.accounts.set(owner, next);
}

function closeProposal(state: ProcessorState, proposalId: string, status: 'admitted' | 'removed'): void {
  const p = state.proposals.get(proposalId);
  if (!p) throw badEvent(`no proposal ${proposalId}`);
  state.proposals.set(proposalId, { ...p, status });
}

/**
 * A VM blocked for want of room is placed again when room appears. One its operator reported
 * blocked (it cannot provision it: no libvirt, a missing image) stays blocked until its owner acts;
 * retrying it would bounce it between hosts that block it, report after report. Operators report
 * during an open operation on a host that is not draining; everything else is the scheduler's.
 */
function waitsForCapacity(state: ProcessorState, vm: VmRecord): boolean {
  if (vm.operation === null || vm.hostId === null) return true;
  return state.hosts.get(vm.hostId)?.draining ?? true;
}
