import type { Capacity, VmStatus } from '../payloads/schemas.js';
import { type ResolvedConfig, resolveConfig, type ProcessorConfig } from './config.js';
import type { VmOperation, VmSpec } from './events.js';
import { type DigestDepth, ExpiryIndex, Journal, SortedSet, Table } from './table.js';

/**
 * The whole cluster state. Rows are immutable values (replaced, never edited); the tables are
 * mutated in place by evolve(). Everything is strings, integers, booleans and null, so the state
 * root is well defined.
 */

export interface VmRecord {
  readonly owner: string;
  readonly name: string;
  readonly image: string;
  /** The spec the VM has or is being brought to. */
  readonly spec: VmSpec;
  /** What its host counts as used for it; null when it has no host. */
  readonly reserved: VmSpec | null;
  readonly hostId: string | null;
  readonly status: VmStatus;
  readonly statusReason: string;
  /** The payload id of the request the VM currently answers (reports must name it). */
  readonly requestId: string;
  /** The operation its host's operator must still report on, with its deadline (µs). */
  readonly operation: VmOperation | null;
  readonly deadline: number | null;
  readonly addresses: readonly string[];
  /** Blocked for want of room, so placed again when room appears (not when its operator blocked it). */
  readonly awaitsCapacity: boolean;
}

export interface HostRecord {
  readonly operator: string;
  readonly libvirtUri: string;
  readonly capacity: Capacity;
  readonly used: Capacity;
  readonly draining: boolean;
}

export interface MemberRecord {
  readonly stake: number;
  readonly endpoint: string;
  /** First round in which the member's stake counts. */
  readonly since: number;
  /** First round in which it no longer counts; null while no removal is decided. */
  readonly until: number | null;
}

export type ProposalStatus = 'open' | 'admitted' | 'removed';

export interface ProposalRecord {
  readonly kind: 'admit' | 'remove';
  readonly operatorKey: string;
  readonly stake: number;
  readonly endpoint: string;
  readonly proposer: string;
  readonly status: ProposalStatus;
  /** Voter keys, sorted. */
  readonly approvals: readonly string[];
  readonly rejections: readonly string[];
}

/** Usage over the owner's VMs that are not destroyed; no row when the owner has none. */
export interface AccountUsage {
  readonly vms: number;
  readonly vcpus: number;
}

export interface ProcessorState {
  readonly config: ResolvedConfig;
  /** Open while decide() applies events speculatively. */
  readonly journal: Journal;
  /** The tables in the state root. */
  readonly vms: Table<VmRecord>;
  readonly hosts: Table<HostRecord>;
  readonly members: Table<MemberRecord>;
  readonly proposals: Table<ProposalRecord>;
  readonly accounts: Table<AccountUsage>;
  /** Payload id -> its expiresAt (ms), until it is pruned. */
  readonly seen: Table<number>;
  /** The last closed round; -1 before the first. In the root. */
  readonly round: { value: number };
  /** Indexes derived from the tables above; not in the root. */
  readonly openOperations: Table<number>;
  readonly blocked: SortedSet;
  readonly expiries: ExpiryIndex;
}

export type RootTable = 'accounts' | 'hosts' | 'members' | 'proposals' | 'seen' | 'vms';

/** Digest tree depth per table (256^depth leaves): 2 for tables that grow with use, 1 for the small ones. */
export const ROOT_DEPTH: Readonly<Record<RootTable, DigestDepth>> = {
  accounts: 2,
  hosts: 1,
  members: 1,
  proposals: 2,
  seen: 2,
  vms: 2,
};

export function initialState(config: ProcessorConfig | ResolvedConfig): ProcessorState {
  const resolved = resolveConfig(config);
  const journal = new Journal();
  const state: ProcessorState = {
    config: resolved,
    journal,
    vms: new Table(journal, ROOT_DEPTH.vms),
    hosts: new Table(journal, ROOT_DEPTH.hosts),
    members: new Table(journal, ROOT_DEPTH.members),
    proposals: new Table(journal, ROOT_DEPTH.proposals),
    accounts: new Table(journal, ROOT_DEPTH.accounts),
    seen: new Table(journal, ROOT_DEPTH.seen),
    round: { value: -1 },
    openOperations: new Table(journal, null),
    blocked: new SortedSet(journal),
    expiries: new ExpiryIndex(journal),
  };
  for (const m of resolved.members)
    state.members.set(m.key, { stake: m.stake, endpoint: m.endpoint, since: 0, until: null });
  for (const h of resolved.hosts) state.hosts.set(h.hostId, newHost(h.operator, h.libvirtUri, h.capacity));
  return state;
}

/** A host as registered: nothing used, not draining. */
export function newHost(operator: string, libvirtUri: string, capacity: Capacity): HostRecord {
  return { operator, libvirtUri, capacity, used: { vcpus: 0, memoryMiB: 0, diskGiB: 0 }, draining: false };
}

export function setRound(state: ProcessorState, round: number): void {
  const prev = state.round.value;
  if (prev === round) return;
  state.journal.record(() => (state.round.value = prev));
  state.round.value = round;
}

/** A member whose stake counts in `round`: admitted at or before it and not yet removed. */
export function isCurrentMember(state: ProcessorState, key: string, round: number): boolean {
  const m = state.members.get(key);
  return m !== undefined && m.since <= round && (m.until === null || round < m.until);
}

export function totalStake(state: ProcessorState, round: number): number {
  let total = 0;
  for (const [key, m] of state.members.unordered()) if (isCurrentMember(state, key, round)) total += m.stake;
  return total;
}

export function free(host: HostRecord): Capacity {
  return {
    vcpus: host.capacity.vcpus - host.used.vcpus,
    memoryMiB: host.capacity.memoryMiB - host.used.memoryMiB,
    diskGiB: host.capacity.diskGiB - host.used.diskGiB,
  };
}

export function sameSpec(a: VmSpec, b: VmSpec): boolean {
  return a.vcpus === b.vcpus && a.memoryMiB === b.memoryMiB && a.diskGiB === b.diskGiB;
}

/** The larger of two specs in each dimension: what a resize holds until its operator reports. */
export function largerSpec(a: VmSpec, b: VmSpec): VmSpec {
  return {
    vcpus: Math.max(a.vcpus, b.vcpus),
    memoryMiB: Math.max(a.memoryMiB, b.memoryMiB),
    diskGiB: Math.max(a.diskGiB, b.diskGiB),
  };
}

export function fits(spec: VmSpec, room: Capacity): boolean {
  return spec.vcpus <= room.vcpus && spec.memoryMiB <= room.memoryMiB && spec.diskGiB <= room.diskGiB;
}
