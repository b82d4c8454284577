import type { RejectionCode } from '../domain/processor/events.js';
import type { VmStatus } from '../domain/payloads/schemas.js';

/** One row per table, as the projector holds it in memory; the entities map them to columns. */

export interface VmRow {
  vmId: string;
  owner: string;
  name: string;
  hostId: string | null;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  image: string;
  status: VmStatus;
  statusReason: string;
  requestId: string;
  addresses: string[];
  /** What the VM holds on its host (null without a host): the processor's `reserved`. */
  reservedVcpus: number | null;
  reservedMemoryMiB: number | null;
  reservedDiskGiB: number | null;
  updatedAt: number;
}

export interface HostRow {
  hostId: string;
  operator: string;
  libvirtUri: string;
  capacityVcpus: number;
  capacityMemoryMiB: number;
  capacityDiskGiB: number;
  usedVcpus: number;
  usedMemoryMiB: number;
  usedDiskGiB: number;
  draining: boolean;
}

export interface OperatorRow {
  operatorKey: string;
  stake: number;
  endpoint: string;
  status: 'member' | 'removed';
  sinceRound: number;
}

export interface ProposalRow {
  proposalId: string;
  kind: 'admit' | 'remove';
  operatorKey: string;
  stake: number;
  endpoint: string;
  proposer: string;
  status: 'open' | 'admitted' | 'removed';
  approvals: string[];
  rejections: string[];
}

/** Usage only: quotas come from configuration when the row is read. */
export interface AccountRow {
  accountKey: string;
  vms: number;
  vcpus: number;
}

export interface PayloadStatusRow {
  payloadId: string;
  status: 'accepted' | 'rejected';
  payloadType: string | null;
  signer: string | null;
  code: RejectionCode | null;
  reason: string | null;
  round: number;
  consensusIndex: number;
  ledgerIndex: number;
}

export interface RoundRow {
  round: number;
  stateRoot: string;
  consensusTimestamp: number;
  consensusIndex: number;
}

export interface CheckpointRow {
  projection: string;
  ledgerIndex: number;
}
