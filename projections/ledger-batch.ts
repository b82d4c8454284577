import type { LedgerEvent, LedgerRecord, VmSpec } from '../domain/processor/events.js';
import type { VmStatus } from '../domain/payloads/schemas.js';
import { largerSpec, sameSpec } from '../domain/processor/state.js';
import { ReadModelError } from './read-models.js';
import type {
  AccountRow,
  HostRow,
  OperatorRow,
  PayloadStatusRow,
  ProposalRow,
  RoundRow,
  VmRow,
} from './rows.js';

/**
 * Applies one batch of ledger records to the rows they touch, in memory: the store loads those rows
 * (batchKeys()), the batch applies every record in order, and the store writes back what changed in
 * the same transaction as the checkpoint. No I/O here, so a failing record leaves nothing half-written.
 *
 * Host use and account usage follow domain/processor/evolve.ts, so the read models show what the
 * scheduler counts: a VM holds a reservation on its host from the operation that places it until a
 * status change takes it off (hostId null); a resize holds the larger size until running/stopped.
 */

/** A VM in this state no longer counts against its owner's quota. */
const FREES_ACCOUNT: VmStatus = 'destroyed';

export interface BatchKeys {
  readonly vms: Set<string>;
  readonly hosts: Set<string>;
  readonly accounts: Set<string>;
  readonly operators: Set<string>;
  readonly proposals: Set<string>;
}

/** The rows a batch may read or change, before anything is loaded. */
export function batchKeys(records: readonly LedgerRecord[]): BatchKeys {
  const keys: BatchKeys = {
    vms: new Set(),
    hosts: new Set(),
    accounts: new Set(),
    operators: new Set(),
    proposals: new Set(),
  };
  for (const { event } of records) {
    const e = event as LedgerEvent;
    switch (e.type) {
      case 'VmRequested':
        keys.vms.add(e.vmId);
        keys.accounts.add(e.owner);
        break;
      case 'VmOperationRequested':
        keys.vms.add(e.vmId);
        keys.hosts.add(e.hostId);
        break;
      case 'VmStatusChanged':
        keys.vms.add(e.vmId);
        if (e.hostId !== null) keys.hosts.add(e.hostId);
        break;
      case 'HostRegistered':
      case 'HostUpdated':
      case 'HostDrained':
        keys.hosts.add(e.hostId);
        break;
      case 'ProposalOpened':
      case 'ProposalVoted':
        keys.proposals.add(e.proposalId);
        break;
      case 'OperatorAdmitted':
      case 'OperatorRemoved':
        keys.proposals.add(e.proposalId);
        keys.operators.add(e.operatorKey);
        break;
    }
  }
  return keys;
}

/** Loaded VMs point at hosts and owners whose rows their changes touch. */
export function addVmReferences(keys: BatchKeys, vms: readonly VmRow[]): void {
  for (const vm of vms) {
    keys.accounts.add(vm.owner);
    if (vm.hostId !== null) keys.hosts.add(vm.hostId);
  }
}

export interface LoadedRows {
  readonly vms: readonly VmRow[];
  readonly hosts: readonly HostRow[];
  readonly accounts: readonly AccountRow[];
  readonly operators: readonly OperatorRow[];
  readonly proposals: readonly ProposalRow[];
}

export interface BatchChanges {
  readonly vms: VmRow[];
  readonly hosts: HostRow[];
  readonly accounts: AccountRow[];
  readonly operators: OperatorRow[];
  readonly proposals: ProposalRow[];
  /** New payload outcomes; the first outcome of a payload id wins, later ones are ignored. */
  readonly payloads: PayloadStatusRow[];
  readonly rounds: RoundRow[];
}

/** Changes the rows it was given in place: the store hands over rows it has just read. */
class Table<T> {
  readonly rows = new Map<string, T>();
  readonly dirty = new Set<string>();

  constructor(rows: readonly T[], key: (row: T) => string) {
    for (const row of rows) this.rows.set(key(row), row);
  }

  put(key: string, row: T): T {
    this.rows.set(key, row);
    this.dirty.add(key);
    return row;
  }

  changed(): T[] {
    return [...this.dirty].map((k) => this.rows.get(k)!);
  }
}

const specOf = (vm: VmRow): VmSpec => ({ vcpus: vm.vcpus, memoryMiB: vm.memoryMiB, diskGiB: vm.diskGiB });

function reservedOf(vm: VmRow): VmSpec | null {
  if (vm.reservedVcpus === null || vm.reservedMemoryMiB === null || vm.reservedDiskGiB === null) return null;
  return { vcpus: vm.reservedVcpus, memoryMiB: vm.reservedMemoryMiB, diskGiB: vm.reservedDiskGiB };
}

function inconsistent(record: LedgerRecord, what: string): ReadModelError {
  return new ReadModelError(
    'LEDGER_INCONSISTENT',
    `ledger record ${record.ledgerIndex} (${record.event.type}): ${what}`,
  );
}

export class LedgerBatch {
  private readonly vms: Table<VmRow>;
  private readonly hosts: Table<HostRow>;
  private readonly accounts: Table<AccountRow>;
  private readonly operators: Table<OperatorRow>;
  private readonly proposals: Table<ProposalRow>;
  private readonly payloads = new Map<string, PayloadStatusRow>();
  private readonly rounds = new Map<number, RoundRow>();

  /** Takes ownership of the loaded rows (it changes them); pass copies to keep the originals. */
  constructor(loaded: LoadedRows) {
    this.vms = new Table(loaded.vms, (r) => r.vmId);
    this.hosts = new Table(loaded.hosts, (r) => r.hostId);
    this.accounts = new Table(loaded.accounts, (r) => r.accountKey);
    this.operators = new Table(loaded.operators, (r) => r.operatorKey);
    this.proposals = new Table(loaded.proposals, (r) => r.proposalId);
  }

  changes(): BatchChanges {
    return {
      vms: this.vms.changed(),
      hosts: this.hosts.changed(),
      accounts: this.accounts.changed(),
      operators: this.operators.changed(),
      proposals: this.proposals.changed(),
      payloads: [...this.payloads.values()],
      rounds: [...this.rounds.values()],
    };
  }

  /** Unknown event types change nothing: the processor may add some before the projections know them. */
  apply(record: LedgerRecord): void {
    const e = record.event as LedgerEvent;
    const at = record.at;
    switch (e.type) {
      case 'PayloadAccepted':
      case 'PayloadRejected':
        if (this.payloads.has(e.payloadId)) return;
        this.payloads.set(e.payloadId, {
          payloadId: e.payloadId,
          status: e.type === 'PayloadAccepted' ? 'accepted' : 'rejected',
          payloadType: e.payloadType,
          signer: e.signer,
          code: e.type === 'PayloadRejected' ? e.code : null,
          reason: e.type === 'PayloadRejected' ? e.reason : null,
          round: at.round,
          consensusIndex: at.consensusIndex,
          ledgerIndex: record.ledgerIndex,
        });
        return;
      case 'VmRequested': {
        const existing = this.vms.rows.get(e.vmId);
        if (existing !== undefined && existing.status !== 'destroyed')
          throw inconsistent(record, `VM ${e.vmId} already exists`);
        if (existing !== undefined) {
          this.countAccount(existing, -1);
          this.release(record, existing);
        }
        const vm = this.vms.put(e.vmId, {
          vmId: e.vmId,
          owner: e.owner,
          name: e.name,
          hostId: null,
          vcpus: e.spec.vcpus,
          memoryMiB: e.spec.memoryMiB,
          diskGiB: e.spec.diskGiB,
          image: e.image,
          status: 'requested',
          statusReason: '',
          requestId: e.requestId,
          addresses: [],
          reservedVcpus: null,
          reservedMemoryMiB: null,
          reservedDiskGiB: null,
          updatedAt: record.ledgerIndex,
        });
        this.countAccount(vm, 1);
        return;
      }
      case 'VmOperationRequested':
        this.changeVm(record, e.vmId, (vm) => {
          if (vm.hostId !== e.hostId) {
            this.release(record, vm);
            this.reserve(record, vm, e.hostId, e.spec);
          } else if (e.operation === 'resize') {
            // A resize holds the larger of the old and new size until the operator reports.
            this.reserve(record, vm, e.hostId, largerSpec(reservedOf(vm) ?? e.spec, e.spec));
          }
          vm.requestId = e.requestId;
          vm.vcpus = e.spec.vcpus;
          vm.memoryMiB = e.spec.memoryMiB;
          vm.diskGiB = e.spec.diskGiB;
        });
        return;
      case 'VmStatusChanged':
        this.changeVm(record, e.vmId, (vm) => {
          if (e.hostId === null) this.release(record, vm);
          else if (vm.hostId !== e.hostId) {
            this.release(record, vm);
            this.reserve(record, vm, e.hostId, specOf(vm));
          }
          if ((e.status === 'running' || e.status === 'stopped') && vm.hostId !== null)
            this.reserve(record, vm, vm.hostId, specOf(vm));
          vm.requestId = e.requestId;
          vm.status = e.status;
          vm.statusReason = e.statusReason;
          vm.addresses = [...e.addresses];
        });
        return;
      case 'HostRegistered':
        if (this.hosts.rows.has(e.hostId)) throw inconsistent(record, `host ${e.hostId} already exists`);
        this.hosts.put(e.hostId, {
          hostId: e.hostId,
          operator: e.operator,
          libvirtUri: e.libvirtUri,
          capacityVcpus: e.capacity.vcpus,
          capacityMemoryMiB: e.capacity.memoryMiB,
          capacityDiskGiB: e.capacity.diskGiB,
          usedVcpus: 0,
          usedMemoryMiB: 0,
          usedDiskGiB: 0,
          draining: false,
        });
        return;
      case 'HostUpdated': {
        const host = this.host(record, e.hostId);
        host.libvirtUri = e.libvirtUri;
        host.capacityVcpus = e.capacity.vcpus;
        host.capacityMemoryMiB = e.capacity.memoryMiB;
        host.capacityDiskGiB = e.capacity.diskGiB;
        return;
      }
      case 'HostDrained':
        this.host(record, e.hostId).draining = true;
        return;
      case 'ProposalOpened':
        if (this.proposals.rows.has(e.proposalId))
          throw inconsistent(record, `proposal ${e.proposalId} already exists`);
        this.proposals.put(e.proposalId, {
          proposalId: e.proposalId,
          kind: e.kind,
          operatorKey: e.operatorKey,
          stake: e.stake,
          endpoint: e.endpoint,
          proposer: e.proposer,
          status: 'open',
          approvals: [],
          rejections: [],
        });
        return;
      case 'ProposalVoted': {
        const proposal = this.proposal(record, e.proposalId);
        // Sorted by key, as the processor keeps them; a repeated voter moves.
        const others = (keys: string[]) => keys.filter((v) => v !== e.voter);
        proposal.approvals = others(proposal.approvals);
        proposal.rejections = others(proposal.rejections);
        if (e.approve) proposal.approvals = [...proposal.approvals, e.voter].sort();
        else proposal.rejections = [...proposal.rejections, e.voter].sort();
        return;
      }
      case 'OperatorAdmitted':
        this.proposal(record, e.proposalId).status = 'admitted';
        this.operators.put(e.operatorKey, {
          operatorKey: e.operatorKey,
          stake: e.stake,
          endpoint: e.endpoint,
          status: 'member',
          sinceRound: e.effectiveRound,
        });
        return;
      case 'OperatorRemoved': {
        this.proposal(record, e.proposalId).status = 'removed';
        const operator = this.operators.rows.get(e.operatorKey);
        if (operator === undefined) throw inconsistent(record, `operator ${e.operatorKey} is unknown`);
        this.operators.put(e.operatorKey, { ...operator, status: 'removed', sinceRound: e.effectiveRound });
        return;
      }
      case 'StateRootComputed':
        this.rounds.set(e.round, {
          round: e.round,
          stateRoot: e.root,
          consensusTimestamp: at.consensusTimestamp,
          consensusIndex: at.consensusIndex,
        });
        return;
    }
  }

  private changeVm(record: LedgerRecord, vmId: string, change: (vm: VmRow) => void): void {
    const vm = this.vms.rows.get(vmId);
    if (vm === undefined) throw inconsistent(record, `VM ${vmId} is unknown`);
    this.countAccount(vm, -1);
    change(vm);
    vm.updatedAt = record.ledgerIndex;
    this.countAccount(vm, 1);
    this.vms.dirty.add(vmId);
  }

  /** Adds (sign 1) or takes back (sign -1) what a VM counts for its owner. */
  private countAccount(vm: VmRow, sign: 1 | -1): void {
    if (vm.status === FREES_ACCOUNT) return;
    const account =
      this.accounts.rows.get(vm.owner) ??
      this.accounts.put(vm.owner, { accountKey: vm.owner, vms: 0, vcpus: 0 });
    account.vms += sign;
    account.vcpus += sign * vm.vcpus;
    this.accounts.dirty.add(vm.owner);
  }

  /** Makes the VM hold exactly `spec` on `hostId`, freeing what it held before. */
  private reserve(record: LedgerRecord, vm: VmRow, hostId: string, spec: VmSpec): void {
    const held = reservedOf(vm);
    if (vm.hostId === hostId && held !== null && sameSpec(held, spec)) return;
    if (vm.hostId !== null && held !== null) this.addUsed(record, vm.hostId, held, -1);
    this.addUsed(record, hostId, spec, 1);
    vm.hostId = hostId;
    vm.reservedVcpus = spec.vcpus;
    vm.reservedMemoryMiB = spec.memoryMiB;
    vm.reservedDiskGiB = spec.diskGiB;
  }

  /** Takes the VM off its host, freeing what it held there. */
  private release(record: LedgerRecord, vm: VmRow): void {
    const held = reservedOf(vm);
    if (vm.hostId !== null && held !== null) this.addUsed(record, vm.hostId, held, -1);
    vm.hostId = null;
    vm.reservedVcpus = null;
    vm.reservedMemoryMiB = null;
    vm.reservedDiskGiB = null;
  }

  private addUsed(record: LedgerRecord, hostId: string, spec: VmSpec, sign: 1 | -1): void {
    const host = this.host(record, hostId);
    host.usedVcpus += sign * spec.vcpus;
    host.usedMemoryMiB += sign * spec.memoryMiB;
    host.usedDiskGiB += sign * spec.diskGiB;
  }

  private host(record: LedgerRecord, hostId: string): HostRow {
    const host = this.hosts.rows.get(hostId);
    if (host === undefined) throw inconsistent(record, `host ${hostId} is unknown`);
    this.hosts.dirty.add(hostId);
    return host;
  }

  private proposal(record: LedgerRecord, proposalId: string): ProposalRow {
    const proposal = this.proposals.rows.get(proposalId);
    if (proposal === undefined) throw inconsistent(record, `proposal ${proposalId} is unknown`);
    this.proposals.dirty.add(proposalId);
    return proposal;
  }
}
