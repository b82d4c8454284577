/**
 * Hand-made ledger records for the read-model suites and the projection bench: what the Payload
 * Processor would append to stream `ledger`, without running it.
 */
import type { LedgerEvent, LedgerPosition, LedgerRecord, VmSpec } from '../../domain/processor/events.js';
import type { VmStatus } from '../../domain/payloads/schemas.js';

/** A 64-hex key or id, distinct per label. */
export function key(label: string | number): string {
  const hex = Buffer.from(String(label), 'utf8').toString('hex');
  if (hex.length > 64) throw new Error(`label ${label} too long for a key`);
  return hex.padStart(64, '0');
}

export const SPEC: VmSpec = { vcpus: 2, memoryMiB: 1024, diskGiB: 20 };
export const CAPACITY = { vcpus: 32, memoryMiB: 65536, diskGiB: 1000 };
const T0 = 1_790_000_000_000_000;

/** Appends records with consecutive ledger indexes and plausible positions. */
export class Ledger {
  readonly records: LedgerRecord[] = [];
  round = 1;
  private consensusIndex = 0;

  constructor(readonly start = 0) {}

  get next(): number {
    return this.start + this.records.length;
  }

  /** A record at the next ledger index; each call is a new consensus event unless `at` says otherwise. */
  add(
    event: LedgerEvent | { readonly type: string; readonly [field: string]: unknown },
    at: Partial<LedgerPosition> = {},
  ): LedgerRecord {
    this.consensusIndex += 1;
    const record = {
      ledgerIndex: this.next,
      at: {
        consensusIndex: this.consensusIndex,
        payloadIndex: 0,
        round: this.round,
        consensusTimestamp: T0 + this.consensusIndex * 1000,
        ...at,
      },
      event: event as LedgerEvent,
    };
    this.records.push(record);
    return record;
  }

  /** Closes the current round with its state root. */
  root(root = key(`root ${this.round}`)): LedgerRecord {
    const record = this.add({ type: 'StateRootComputed', round: this.round, root }, { payloadIndex: -1 });
    this.round += 1;
    return record;
  }

  accepted(payloadId: string, payloadType = 'vm.create', signer = key('signer')): LedgerRecord {
    return this.add({
      type: 'PayloadAccepted',
      payloadId,
      payloadType,
      signer,
      expiresAt: 1_790_000_600_000,
    });
  }

  rejected(payloadId: string, code = 'QUOTA_EXCEEDED', reason = 'over quota'): LedgerRecord {
    return this.add({
      type: 'PayloadRejected',
      payloadId,
      payloadType: 'vm.create',
      signer: key('signer'),
      code: code as never,
      reason,
    });
  }

  host(hostId: string, operator = key('op 0'), capacity = CAPACITY): LedgerRecord {
    return this.add({
      type: 'HostRegistered',
      hostId,
      operator,
      libvirtUri: `qemu+ssh://${hostId}/system`,
      capacity,
    });
  }

  vm(vmId: string, owner: string, spec: VmSpec = SPEC, requestId = key(`req ${vmId}`)): LedgerRecord {
    return this.add({
      type: 'VmRequested',
      vmId,
      owner,
      requestId,
      name: `name-${vmId}`,
      spec,
      image: 'debian-12',
      sshKeys: ['ssh-ed25519 AAAA test'],
      userData: null,
    });
  }

  operation(
    vmId: string,
    operation: 'create' | 'resize' | 'stop' | 'start' | 'destroy',
    hostId: string,
    spec: VmSpec = SPEC,
    requestId = key(`${operation} ${vmId}`),
  ): LedgerRecord {
    return this.add({
      type: 'VmOperationRequested',
      vmId,
      requestId,
      operation,
      hostId,
      operator: key('op 0'),
      spec,
      deadline: T0 + 60_000_000,
    });
  }

  status(
    vmId: string,
    status: VmStatus,
    hostId: string | null,
    addresses: string[] = [],
    requestId = key(`req ${vmId}`),
    statusReason = '',
  ): LedgerRecord {
    return this.add({ type: 'VmStatusChanged', vmId, requestId, status, statusReason, hostId, addresses });
  }
}

/**
 * A ledger of `vms` VM lifecycles spread over `hosts` hosts and `owners` owners, with a state root
 * every 50 records: the mix a busy network appends (payload outcomes, requests, status changes).
 */
export function busyLedger(options: { vms: number; hosts?: number; owners?: number }): LedgerRecord[] {
  const hosts = options.hosts ?? 20;
  const owners = options.owners ?? 100;
  const ledger = new Ledger();
  const big = { vcpus: 1_000_000, memoryMiB: 1_000_000_000, diskGiB: 1_000_000_000 };
  for (let h = 0; h < hosts; h++) ledger.host(`host-${h}`, key(`op ${h % 4}`), big);
  const tick = (): void => {
    if (ledger.records.length % 50 === 0) ledger.root();
  };
  for (let v = 0; v < options.vms; v++) {
    const vmId = `vm-${v}`;
    const hostId = `host-${v % hosts}`;
    const owner = key(`owner ${v % owners}`);
    const request = key(`req ${vmId}`);
    const steps = [
      () => ledger.accepted(request, 'vm.create', owner),
      () => ledger.vm(vmId, owner, SPEC, request),
      () => ledger.operation(vmId, 'create', hostId, SPEC, request),
      () => ledger.status(vmId, 'scheduled', hostId, [], request),
      () => ledger.accepted(key(`report ${vmId}`), 'vm.report', key(`op ${v % 4}`)),
      () => ledger.status(vmId, 'running', hostId, [`10.0.${v % 250}.${v % 200}`], request),
    ];
    for (const step of steps) {
      step();
      tick();
    }
  }
  return ledger.records;
}
