import { toHex } from '../crypto/index.js';
import {
  type EnvelopePorts,
  type Opened,
  type OpenedPayload,
  openPayloadBytes,
  readableParts,
} from '../payloads/envelope.js';
import type {
  HostDrain,
  HostRegister,
  HostUpdate,
  OperatorPropose,
  OperatorRemove,
  OperatorVote,
  Payload,
  VmCreate,
  VmReport,
  VmResize,
  VmStatus,
} from '../payloads/schemas.js';
import { isSupermajority, MAX_TOTAL_STAKE } from '../shadowgraph/membership.js';
import { quotaOf } from './config.js';
import { ProcessorError } from './errors.js';
import type { LedgerEvent, LedgerPosition, RejectionCode, VmOperation, VmSpec } from './events.js';
import { evolve, expiryCutoffMs } from './evolve.js';
import { largestRoom, placeVm } from './scheduler.js';
import {
  fits,
  free,
  isCurrentMember,
  type ProcessorState,
  type ProposalRecord,
  sameSpec,
  setRound,
  totalStake,
  type VmRecord,
} from './state.js';
import { stateRoot } from './state-root.js';

/**
 * The decider. decide() and decideRound() are pure: they apply the events they decide to the
 * state speculatively (so a later step sees an earlier one, e.g. two VMs placed by one drain) and
 * roll the state back before returning. applyPayload() and applyRound() decide and keep the
 * effects, which equals decide() followed by evolve() of each event; the processor uses them.
 */

export interface ProcessorPorts extends EnvelopePorts {
  /**
   * Optional: opens ledger bytes. It must answer exactly what `openPayloadBytes(bytes, {verify, hash})`
   * answers with the consensus verifier, e.g. from verdicts workers computed before the order
   * was known. Opening is stateless, so it is where parallelism goes.
   */
  readonly open?: (bytes: Uint8Array) => Opened;
}

export interface OrderedPayload {
  readonly bytes: Uint8Array;
  readonly position: LedgerPosition;
}

export interface RoundClose {
  readonly round: number;
  /** The consensus timestamp (µs) of the round's last ordered event: no later payload is older. */
  readonly consensusTimestamp: number;
  readonly consensusIndex: number;
}

export function decide(state: ProcessorState, input: OrderedPayload, ports: ProcessorPorts): LedgerEvent[] {
  return speculate(state, () => applyPayload(state, input, ports));
}

export function decideRound(state: ProcessorState, close: RoundClose, ports: ProcessorPorts): LedgerEvent[] {
  return speculate(state, () => applyRound(state, close, ports));
}

function speculate(state: ProcessorState, run: () => LedgerEvent[]): LedgerEvent[] {
  if (!state.journal.begin()) throw new ProcessorError('NESTED_DECISION', 'a decision is already open');
  try {
    return run();
  } finally {
    state.journal.rollback();
  }
}

const utf8 = new TextEncoder();
const REASON_CHARS = 512;
/** Largest expiresAt (ms) whose value in µs is still a safe integer. */
const MAX_EXPIRES_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

interface Refusal {
  readonly code: RejectionCode;
  readonly reason: string;
}
type Judgement = Refusal | (() => void);

const no = (code: RejectionCode, reason: string): Refusal => ({ code, reason });

class Ctx {
  readonly events: LedgerEvent[] = [];

  constructor(
    readonly state: ProcessorState,
    readonly ports: ProcessorPorts,
    readonly at: LedgerPosition,
    /** The id new requests get: the payload's id, or the round's for what a round close decides. */
    readonly requestId: string,
    readonly signer: string,
  ) {}

  get round(): number {
    return this.at.round;
  }

  get now(): number {
    return this.at.consensusTimestamp;
  }

  get deadline(): number {
    return this.now + this.state.config.operationDeadlineMicros;
  }

  emit(event: LedgerEvent): void {
    evolve(this.state, event, this.at);
    this.events.push(event);
  }
}

/** Decides one ordered payload and applies the outcome to `state` (mutates it). */
export function applyPayload(
  state: ProcessorState,
  input: OrderedPayload,
  ports: ProcessorPorts,
): LedgerEvent[] {
  const at = input.position;
  if (at.round <= state.round.value)
    throw new ProcessorError(
      'ROUND_ORDER',
      `payload of round ${at.round}; round ${state.round.value} is closed`,
    );
  const opened = ports.open ? ports.open(input.bytes) : openPayloadBytes(input.bytes, ports);
  if (!opened.ok) {
    const ctx = new Ctx(state, ports, at, '', '');
    const known = readableParts(input.bytes);
    ctx.emit({
      type: 'PayloadRejected',
      payloadId: toHex(ports.hash(input.bytes)),
      payloadType: known.payloadType,
      signer: known.signer,
      code: opened.error.code,
      reason: clip(opened.error.message),
    });
    return ctx.events;
  }
  const { payloadId, envelope, payload } = opened.value;
  const ctx = new Ctx(state, ports, at, payloadId, envelope.signer);
  const judged = judgeTime(ctx, payload) ?? judge(ctx, opened.value);
  if (typeof judged !== 'function') {
    ctx.emit({
      type: 'PayloadRejected',
      payloadId,
      payloadType: payload.type,
      signer: envelope.signer,
      code: judged.code,
      reason: clip(judged.reason),
    });
    return ctx.events;
  }
  ctx.emit({
    type: 'PayloadAccepted',
    payloadId,
    payloadType: payload.type,
    signer: envelope.signer,
    expiresAt: payload.expiresAt,
  });
  judged();
  return ctx.events;
}

/** The id of requests a round close makes (retries after timeouts): hex sha256("DAGGER round <r>"). */
export function roundRequestId(round: number, hash: (data: Uint8Array) => Uint8Array): string {
  return toHex(hash(utf8.encode(`DAGGER round ${round}`)));
}

/** Closes a decided round: operation timeouts, pruning of expired ids, then the state root. Mutates `state`. */
export function applyRound(state: ProcessorState, close: RoundClose, ports: ProcessorPorts): LedgerEvent[] {
  if (close.round <= state.round.value)
    throw new ProcessorError('ROUND_ORDER', `round ${close.round}; round ${state.round.value} is closed`);
  const at: LedgerPosition = {
    consensusIndex: close.consensusIndex,
    payloadIndex: -1,
    round: close.round,
    consensusTimestamp: close.consensusTimestamp,
  };
  const ctx = new Ctx(state, ports, at, roundRequestId(close.round, ports.hash), '');
  const expired: [string, number][] = [];
  state.openOperations.forEachUnordered((deadline, vmId) => {
    if (deadline < close.consensusTimestamp) expired.push([vmId, deadline]);
  });
  expired.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let freed = false;
  for (const [vmId] of expired) {
    const vm = state.vms.get(vmId)!;
    const create = vm.operation === 'create';
    freed ||= create;
    ctx.emit({
      type: 'VmStatusChanged',
      vmId,
      requestId: vm.requestId,
      status: 'failed',
      statusReason: 'operator timeout',
      hostId: create ? null : vm.hostId,
      addresses: create ? [] : vm.addresses,
    });
  }
  if (freed) retryBlocked(ctx, null);
  const cutoffMs = expiryCutoffMs(close.consensusTimestamp);
  let count = 0;
  for (const id of state.expiries.candidates(cutoffMs)) if (state.seen.get(id)! < cutoffMs) count++;
  if (count > 0) ctx.emit({ type: 'PayloadIdsPruned', before: close.consensusTimestamp, count });
  setRound(state, close.round);
  ctx.emit({ type: 'StateRootComputed', round: close.round, root: stateRoot(state, ports.hash) });
  return ctx.events;
}

function clip(text: string): string {
  return text.length <= REASON_CHARS ? text : `${text.slice(0, REASON_CHARS - 1)}…`;
}

function judgeTime(ctx: Ctx, payload: Payload): Refusal | null {
  const { expiresAt } = payload;
  const ttlMs = ctx.state.config.maxPayloadTtlMs;
  if (expiresAt <= MAX_EXPIRES_MS && expiresAt * 1000 < ctx.now)
    return no('EXPIRED', `expired at ${expiresAt} ms; consensus time is ${ctx.now} µs`);
  if (expiresAt > MAX_EXPIRES_MS || expiresAt * 1000 > ctx.now + ttlMs * 1000)
    return no('EXPIRY_TOO_FAR', `expiresAt may lie at most ${ttlMs} ms after consensus time`);
  if (ctx.state.seen.has(ctx.requestId)) return no('REPLAY', 'this payload id was already ordered');
  return null;
}

function judge(ctx: Ctx, opened: OpenedPayload): Judgement {
  const p = opened.payload;
  switch (p.type) {
    case 'vm.create':
      return vmCreate(ctx, p);
    case 'vm.resize':
      return vmResize(ctx, p);
    case 'vm.stop':
    case 'vm.start':
    case 'vm.destroy':
      return vmLifecycle(ctx, p.vmId, p.type);
    case 'vm.report':
      return vmReport(ctx, p);
    case 'host.register':
      return hostRegister(ctx, p);
    case 'host.update':
      return hostUpdate(ctx, p);
    case 'host.drain':
      return hostDrain(ctx, p);
    case 'operator.propose':
      return operatorPropose(ctx, p);
    case 'operator.remove':
      return operatorRemove(ctx, p);
    case 'operator.vote':
      return operatorVote(ctx, p);
  }
}

// --- VMs ---------------------------------------------------------------------------------------

const specOf = (p: { vcpus: number; memoryMiB: number; diskGiB: number }): VmSpec => ({
  vcpus: p.vcpus,
  memoryMiB: p.memoryMiB,
  diskGiB: p.diskGiB,
});
const noRoom = (s: VmSpec): string =>
  `no host has capacity for ${s.vcpus} vCPUs, ${s.memoryMiB} MiB memory, ${s.diskGiB} GiB disk`;

function quotaRefusal(ctx: Ctx, owner: string, addVms: number, addVcpus: number): Refusal | null {
  const quota = quotaOf(ctx.state.config, owner);
  const usage = ctx.state.accounts.get(owner) ?? { vms: 0, vcpus: 0 };
  if (usage.vms + addVms > quota.maxVms)
    return no('QUOTA_EXCEEDED', `the account has ${usage.vms} of ${quota.maxVms} VMs`);
  if (usage.vcpus + addVcpus > quota.maxVcpus)
    return no(
      'QUOTA_EXCEEDED',
      `the account uses ${usage.vcpus} of ${quota.maxVcpus} vCPUs; this needs ${addVcpus} more`,
    );
  return null;
}

function vmCreate(ctx: Ctx, p: VmCreate): Judgement {
  const vmId = p.vmId ?? `vm-${ctx.requestId.slice(0, 16)}`;
  if (ctx.state.vms.has(vmId)) return no('VM_EXISTS', `VM ${vmId} exists`);
  const refusal = quotaRefusal(ctx, ctx.signer, 1, p.vcpus);
  if (refusal) return refusal;
  return () => {
    ctx.emit({
      type: 'VmRequested',
      vmId,
      owner: ctx.signer,
      requestId: ctx.requestId,
      name: p.name,
      spec: specOf(p),
      image: p.image,
      sshKeys: p.sshKeys,
      userData: p.userData ?? null,
    });
    if (!place(ctx, vmId, '')) block(ctx, vmId);
  };
}

/** Emits a create on the best-fit host; false (and nothing emitted) when none fits. */
function place(ctx: Ctx, vmId: string, why: string): boolean {
  const vm = ctx.state.vms.get(vmId)!;
  const hostId = placeVm(ctx.state, vm.spec, ctx.round);
  if (hostId === null) return false;
  ctx.emit({
    type: 'VmOperationRequested',
    vmId,
    requestId: ctx.requestId,
    operation: 'create',
    hostId,
    operator: ctx.state.hosts.get(hostId)!.operator,
    spec: vm.spec,
    deadline: ctx.deadline,
  });
  ctx.emit({
    type: 'VmStatusChanged',
    vmId,
    requestId: ctx.requestId,
    status: 'scheduled',
    statusReason: `${why}scheduled on ${hostId}`,
    hostId,
    addresses: [],
  });
  return true;
}

function block(ctx: Ctx, vmId: string): void {
  const vm = ctx.state.vms.get(vmId)!;
  ctx.emit({
    type: 'VmStatusChanged',
    vmId,
    requestId: ctx.requestId,
    status: 'blocked',
    statusReason: noRoom(vm.spec),
    hostId: null,
    addresses: [],
  });
}

/** Places blocked VMs, in VM id order, wherever they now fit. */
function retryBlocked(ctx: Ctx, skip: string | null): void {
  const { state } = ctx;
  if (state.blocked.size === 0) return;
  let room = largestRoom(state, ctx.round);
  for (const vmId of [...state.blocked.values()]) {
    if (vmId === skip || !fits(state.vms.get(vmId)!.spec, room)) continue;
    if (place(ctx, vmId, 'capacity freed; ')) room = largestRoom(state, ctx.round);
  }
}

function ownedVm(ctx: Ctx, vmId: string): VmRecord | Refusal {
  const vm = ctx.state.vms.get(vmId);
  if (!vm) return no('VM_NOT_FOUND', `no VM ${vmId}`);
  if (vm.owner !== ctx.signer) return no('NOT_OWNER', `VM ${vmId} belongs to another key`);
  return vm;
}

const isRefusal = (v: unknown): v is Refusal => typeof v === 'object' && v !== null && 'code' in v;

function idleIn(vm: VmRecord, statuses: readonly VmStatus[], what: string): Refusal | null {
  if (!statuses.includes(vm.status)) return no('INVALID_TRANSITION', `cannot ${what} a ${vm.status} VM`);
  if (vm.operation !== null)
    return no('INVALID_TRANSITION', `cannot ${what} while its ${vm.operation} is in progress`);
  return null;
}

function requestOperation(ctx: Ctx, vmId: string, vm: VmRecord, operation: VmOperation, spec: VmSpec): void {
  const hostId = vm.hostId!;
  ctx.emit({
    type: 'VmOperationRequested',
    vmId,
    requestId: ctx.requestId,
    operation,
    hostId,
    operator: ctx.state.hosts.get(hostId)!.operator,
    spec,
    deadline: ctx.deadline,
  });
}

function vmResize(ctx: Ctx, p: VmResize): Judgement {
  const vm = ownedVm(ctx, p.vmId);
  if (isRefusal(vm)) return vm;
  const idle = idleIn(vm, ['running', 'stopped'], 'resize');
  if (idle) return idle;
  const spec: VmSpec = {
    vcpus: p.vcpus ?? vm.spec.vcpus,
    memoryMiB: p.memoryMiB ?? vm.spec.memoryMiB,
    diskGiB: p.diskGiB ?? vm.spec.diskGiB,
  };
  const quota = quotaRefusal(ctx, vm.owner, 0, spec.vcpus - vm.spec.vcpus);
  if (quota) return quota;
  const held = vm.reserved ?? vm.spec;
  const extra: VmSpec = {
    vcpus: Math.max(0, spec.vcpus - held.vcpus),
    memoryMiB: Math.max(0, spec.memoryMiB - held.memoryMiB),
    diskGiB: Math.max(0, spec.diskGiB - held.diskGiB),
  };
  if (!fits(extra, free(ctx.state.hosts.get(vm.hostId!)!)))
    return no('INSUFFICIENT_CAPACITY', `host ${vm.hostId} has not enough free capacity for the new size`);
  return () => requestOperation(ctx, p.vmId, vm, 'resize', spec);
}

function vmLifecycle(ctx: Ctx, vmId: string, type: 'vm.stop' | 'vm.start' | 'vm.destroy'): Judgement {
  const vm = ownedVm(ctx, vmId);
  if (isRefusal(vm)) return vm;
  if (type === 'vm.stop') {
    const idle = idleIn(vm, ['running'], 'stop');
    return idle ?? (() => requestOperation(ctx, vmId, vm, 'stop', vm.spec));
  }
  if (type === 'vm.start') {
    const idle = idleIn(vm, ['stopped'], 'start');
    return idle ?? (() => requestOperation(ctx, vmId, vm, 'start', vm.spec));
  }
  if (vm.status === 'destroying' || vm.status === 'destroyed')
    return no('INVALID_TRANSITION', `cannot destroy a ${vm.status} VM`);
  return () => {
    const host = vm.hostId === null ? undefined : ctx.state.hosts.get(vm.hostId);
    if (host === undefined || !isCurrentMember(ctx.state, host.operator, ctx.round)) {
      ctx.emit({
        type: 'VmStatusChanged',
        vmId,
        requestId: ctx.requestId,
        status: 'destroyed',
        statusReason: host ? 'destroyed; its operator is no longer a member' : 'destroyed',
        hostId: null,
        addresses: [],
      });
      if (host) retryBlocked(ctx, null);
      return;
    }
    requestOperation(ctx, vmId, vm, 'destroy', vm.spec);
    ctx.emit({
      type: 'VmStatusChanged',
      vmId,
      requestId: ctx.requestId,
      status: 'destroying',
      statusReason: 'destroy requested',
      hostId: vm.hostId,
      addresses: vm.addresses,
    });
  };
}

/** What the operator may report, by the open operation (or, with none, by status). */
export function reportableStatuses(vm: VmRecord): readonly VmStatus[] {
  switch (vm.operation) {
    case 'create':
      return ['provisioning', 'running', 'failed', 'blocked'];
    case 'start':
      return ['running', 'failed'];
    case 'stop':
      return ['stopped', 'failed'];
    case 'resize':
      return ['running', 'stopped', 'failed'];
    case 'destroy':
      return ['destroyed', 'failed'];
    case null:
      if (vm.status === 'running') return ['stopped', 'failed'];
      if (vm.status === 'stopped') return ['running', 'failed'];
      return [];
  }
}

function vmReport(ctx: Ctx, p: VmReport): Judgement {
  const vm = ctx.state.vms.get(p.vmId);
  if (!vm) return no('VM_NOT_FOUND', `no VM ${p.vmId}`);
  const host = vm.hostId === null ? undefined : ctx.state.hosts.get(vm.hostId);
  if (!host || host.operator !== ctx.signer)
    return no('NOT_OPERATOR', `only the operator of VM ${p.vmId}'s host may report on it`);
  if (p.requestId !== vm.requestId)
    return no('STALE_REPORT', `VM ${p.vmId} answers request ${vm.requestId}, not ${p.requestId}`);
  if (!reportableStatuses(vm).includes(p.status))
    return no(
      'INVALID_TRANSITION',
      `cannot report ${p.status} for a ${vm.status} VM` + (vm.operation ? ` during ${vm.operation}` : ''),
    );
  return () => {
    const frees =
      p.status === 'destroyed' ||
      p.status === 'blocked' ||
      (p.status === 'failed' && vm.operation === 'create');
    const shrinks =
      (p.status === 'running' || p.status === 'stopped') &&
      vm.reserved !== null &&
      !sameSpec(vm.reserved, vm.spec);
    ctx.emit({
      type: 'VmStatusChanged',
      vmId: p.vmId,
      requestId: vm.requestId,
      status: p.status,
      statusReason: p.detail,
      hostId: frees ? null : vm.hostId,
      addresses: frees ? [] : p.addresses,
    });
    if (frees || shrinks) retryBlocked(ctx, p.status === 'blocked' ? p.vmId : null);
  };
}

// --- Hosts -------------------------------------------------------------------------------------

function hostRegister(ctx: Ctx, p: HostRegister): Judgement {
  if (!isCurrentMember(ctx.state, ctx.signer, ctx.round))
    return no('NOT_OPERATOR', 'only a member operator may register hosts');
  if (ctx.state.hosts.has(p.hostId)) return no('HOST_EXISTS', `host ${p.hostId} exists`);
  return () => {
    ctx.emit({
      type: 'HostRegistered',
      hostId: p.hostId,
      operator: ctx.signer,
      libvirtUri: p.libvirtUri,
      capacity: { vcpus: p.capacity.vcpus, memoryMiB: p.capacity.memoryMiB, diskGiB: p.capacity.diskGiB },
    });
    retryBlocked(ctx, null);
  };
}

function ownHost(ctx: Ctx, hostId: string): Refusal | null {
  const host = ctx.state.hosts.get(hostId);
  if (!host) return no('HOST_NOT_FOUND', `no host ${hostId}`);
  if (host.operator !== ctx.signer || !isCurrentMember(ctx.state, ctx.signer, ctx.round))
    return no('NOT_OPERATOR', `only host ${hostId}'s operator, while a member, may change it`);
  return null;
}

function hostUpdate(ctx: Ctx, p: HostUpdate): Judgement {
  const refusal = ownHost(ctx, p.hostId);
  if (refusal) return refusal;
  const host = ctx.state.hosts.get(p.hostId)!;
  return () => {
    const c = p.capacity ?? host.capacity;
    ctx.emit({
      type: 'HostUpdated',
      hostId: p.hostId,
      libvirtUri: p.libvirtUri ?? host.libvirtUri,
      capacity: { vcpus: c.vcpus, memoryMiB: c.memoryMiB, diskGiB: c.diskGiB },
    });
    retryBlocked(ctx, null);
  };
}

function hostDrain(ctx: Ctx, p: HostDrain): Judgement {
  const refusal = ownHost(ctx, p.hostId);
  if (refusal) return refusal;
  if (ctx.state.hosts.get(p.hostId)!.draining)
    return no('INVALID_TRANSITION', `host ${p.hostId} is already draining`);
  return () => drainHost(ctx, p.hostId);
}

/** VMs a drain moves; destroying and failed ones stay for their operator to finish. */
const MOVABLE: readonly VmStatus[] = ['scheduled', 'provisioning', 'running', 'stopped'];

function drainHost(ctx: Ctx, hostId: string): void {
  ctx.emit({ type: 'HostDrained', hostId });
  const moving: string[] = [];
  for (const [vmId, vm] of ctx.state.vms.unordered())
    if (vm.hostId === hostId && MOVABLE.includes(vm.status)) moving.push(vmId);
  for (const vmId of moving.sort())
    if (!place(ctx, vmId, `moved from drained host ${hostId}; `)) block(ctx, vmId);
}

// --- Operators ---------------------------------------------------------------------------------

/** Member now, or admitted for a later round, and no removal in force. */
function memberOrAdmitted(ctx: Ctx, key: string): boolean {
  const m = ctx.state.members.get(key);
  return m !== undefined && (m.until === null || m.until > ctx.round);
}

/** Stake of members, current or admitted, with no removal decided, but `except`. */
function standingStake(ctx: Ctx, except: string | null): number {
  let total = 0;
  for (const [key, m] of ctx.state.members.unordered())
    if (m.until === null && key !== except) total += m.stake;
  return total;
}

/** A proposal whose outcome already holds is closed too. */
function isClosed(ctx: Ctx, p: ProposalRecord): boolean {
  if (p.status !== 'open') return true;
  const m = ctx.state.members.get(p.operatorKey);
  return p.kind === 'admit' ? memberOrAdmitted(ctx, p.operatorKey) : m === undefined || m.until !== null;
}

function approvedStake(ctx: Ctx, approvals: readonly string[]): number {
  let stake = 0;
  for (const key of approvals)
    if (isCurrentMember(ctx.state, key, ctx.round)) stake += ctx.state.members.get(key)!.stake;
  return stake;
}

/** Whether the proposal would pass with `voter`'s approval added. */
function passesWith(ctx: Ctx, p: ProposalRecord, voter: string): boolean {
  const approvals = p.approvals.includes(voter) ? p.approvals : [...p.approvals, voter];
  return isSupermajority(approvedStake(ctx, approvals), totalStake(ctx.state, ctx.round));
}

function effectRefusal(
  ctx: Ctx,
  kind: 'admit' | 'remove',
  operatorKey: string,
  stake: number,
): Refusal | null {
  if (kind === 'admit' && standingStake(ctx, null) + stake > MAX_TOTAL_STAKE)
    return no('STAKE_TOO_HIGH', 'the total stake would exceed its limit');
  if (kind === 'remove' && standingStake(ctx, operatorKey) === 0)
    return no('LAST_MEMBER', 'the removal would leave no member');
  return null;
}

function operatorPropose(ctx: Ctx, p: OperatorPropose): Judgement {
  if (!isCurrentMember(ctx.state, ctx.signer, ctx.round)) return no('NOT_MEMBER', 'only members may propose');
  if (p.stake > ctx.state.config.maxProposalStake)
    return no('STAKE_TOO_HIGH', `stake ${p.stake} exceeds the cap of ${ctx.state.config.maxProposalStake}`);
  if (memberOrAdmitted(ctx, p.operatorKey)) return no('ALREADY_MEMBER', `${p.operatorKey} is a member`);
  const refusal = effectRefusal(ctx, 'admit', p.operatorKey, p.stake);
  if (refusal) return refusal;
  return () => openProposal(ctx, 'admit', p.operatorKey, p.stake, p.endpoint);
}

function operatorRemove(ctx: Ctx, p: OperatorRemove): Judgement {
  if (!isCurrentMember(ctx.state, ctx.signer, ctx.round)) return no('NOT_MEMBER', 'only members may propose');
  const target = ctx.state.members.get(p.operatorKey);
  if (!target || target.until !== null) return no('NOT_MEMBER', `${p.operatorKey} is not a member`);
  const refusal = effectRefusal(ctx, 'remove', p.operatorKey, target.stake);
  if (refusal) return refusal;
  return () => openProposal(ctx, 'remove', p.operatorKey, target.stake, target.endpoint);
}

/** Opens the signer's proposal under the payload's id, with the signer's own approval. */
function openProposal(
  ctx: Ctx,
  kind: 'admit' | 'remove',
  operatorKey: string,
  stake: number,
  endpoint: string,
): void {
  ctx.emit({
    type: 'ProposalOpened',
    proposalId: ctx.requestId,
    kind,
    operatorKey,
    stake,
    endpoint,
    proposer: ctx.signer,
  });
  vote(ctx, ctx.requestId, true);
}

function operatorVote(ctx: Ctx, p: OperatorVote): Judgement {
  if (!isCurrentMember(ctx.state, ctx.signer, ctx.round)) return no('NOT_MEMBER', 'only members may vote');
  const proposal = ctx.state.proposals.get(p.proposalId);
  if (!proposal) return no('PROPOSAL_NOT_FOUND', `no proposal ${p.proposalId}`);
  if (isClosed(ctx, proposal)) return no('PROPOSAL_CLOSED', `proposal ${p.proposalId} is closed`);
  if (proposal.approvals.includes(ctx.signer) || proposal.rejections.includes(ctx.signer))
    return no('ALREADY_VOTED', `${ctx.signer} has voted on proposal ${p.proposalId}`);
  if (p.approve && passesWith(ctx, proposal, ctx.signer)) {
    const refusal = effectRefusal(ctx, proposal.kind, proposal.operatorKey, proposal.stake);
    if (refusal) return refusal;
  }
  return () => vote(ctx, p.proposalId, p.approve);
}

/** Records the signer's vote; an approval that brings the stake over 2/3 decides the proposal. */
function vote(ctx: Ctx, proposalId: string, approve: boolean): void {
  ctx.emit({ type: 'ProposalVoted', proposalId, voter: ctx.signer, approve });
  if (!approve) return;
  const p = ctx.state.proposals.get(proposalId)!;
  if (!isSupermajority(approvedStake(ctx, p.approvals), totalStake(ctx.state, ctx.round))) return;
  const effectiveRound = ctx.round + ctx.state.config.membershipDelay;
  if (p.kind === 'admit') {
    ctx.emit({
      type: 'OperatorAdmitted',
      proposalId,
      operatorKey: p.operatorKey,
      stake: p.stake,
      endpoint: p.endpoint,
      effectiveRound,
    });
    return;
  }
  ctx.emit({ type: 'OperatorRemoved', proposalId, operatorKey: p.operatorKey, effectiveRound });
  const hosts: string[] = [];
  for (const [hostId, host] of ctx.state.hosts.unordered())
    if (host.operator === p.operatorKey && !host.draining) hosts.push(hostId);
  for (const hostId of hosts.sort()) drainHost(ctx, hostId);
}
