import { EntitySchema, type EntitySchemaColumnOptions, type ValueTransformer } from 'typeorm';
import type {
  AccountRow,
  CheckpointRow,
  HostRow,
  OperatorRow,
  PayloadStatusRow,
  ProposalRow,
  RoundRow,
  VmRow,
} from './rows.js';

/**
 * The read-model tables. The migrations in migrations/ create them; a test checks that TypeORM
 * finds nothing to change between these schemas and the migrated database.
 */

export type Dialect = 'sqlite' | 'postgres';

/** pg returns BIGINT as a string; every integer here is a safe integer. */
const asNumber: ValueTransformer = {
  to: (value: unknown) => value,
  from: (value: unknown) => (value === null || value === undefined ? value : Number(value)),
};

export function readModelEntities(dialect: Dialect) {
  /** Ids sort bytewise on both databases, so pages and cursors agree. */
  const id = (name: string): EntitySchemaColumnOptions => ({
    type: 'text',
    name,
    primary: true,
    ...(dialect === 'postgres' ? { collation: 'C' } : {}),
  });
  const text = (name: string, nullable = false): EntitySchemaColumnOptions => ({
    type: 'text',
    name,
    nullable,
    ...(dialect === 'postgres' ? { collation: 'C' } : {}),
  });
  const int = (name: string, nullable = false): EntitySchemaColumnOptions => ({
    type: 'bigint',
    name,
    nullable,
    transformer: asNumber,
  });
  const json = (name: string): EntitySchemaColumnOptions => ({ type: 'simple-json', name });

  const vms = new EntitySchema<VmRow>({
    name: 'Vm',
    tableName: 'vms',
    columns: {
      vmId: id('vm_id'),
      owner: text('owner'),
      name: text('name'),
      hostId: text('host_id', true),
      vcpus: int('vcpus'),
      memoryMiB: int('memory_mib'),
      diskGiB: int('disk_gib'),
      image: text('image'),
      status: text('status'),
      statusReason: text('status_reason'),
      requestId: text('request_id'),
      addresses: json('addresses'),
      reservedVcpus: int('reserved_vcpus', true),
      reservedMemoryMiB: int('reserved_memory_mib', true),
      reservedDiskGiB: int('reserved_disk_gib', true),
      updatedAt: int('updated_at'),
    },
    indices: [
      { name: 'vms_owner', columns: ['owner', 'vmId'] },
      { name: 'vms_host', columns: ['hostId', 'vmId'] },
    ],
  });

  const hosts = new EntitySchema<HostRow>({
    name: 'Host',
    tableName: 'hosts',
    columns: {
      hostId: id('host_id'),
      operator: text('operator'),
      libvirtUri: text('libvirt_uri'),
      capacityVcpus: int('capacity_vcpus'),
      capacityMemoryMiB: int('capacity_memory_mib'),
      capacityDiskGiB: int('capacity_disk_gib'),
      usedVcpus: int('used_vcpus'),
      usedMemoryMiB: int('used_memory_mib'),
      usedDiskGiB: int('used_disk_gib'),
      draining: { type: 'boolean', name: 'draining' },
    },
  });

  const operators = new EntitySchema<OperatorRow>({
    name: 'Operator',
    tableName: 'operators',
    columns: {
      operatorKey: id('operator_key'),
      stake: int('stake'),
      endpoint: text('endpoint'),
      status: text('status'),
      sinceRound: int('since_round'),
    },
  });

  const proposals = new EntitySchema<ProposalRow>({
    name: 'Proposal',
    tableName: 'proposals',
    columns: {
      proposalId: id('proposal_id'),
      kind: text('kind'),
      operatorKey: text('operator_key'),
      stake: int('stake'),
      endpoint: text('endpoint'),
      proposer: text('proposer'),
      status: text('status'),
      approvals: json('approvals'),
      rejections: json('rejections'),
    },
  });

  const accounts = new EntitySchema<AccountRow>({
    name: 'Account',
    tableName: 'accounts',
    columns: {
      accountKey: id('account_key'),
      vms: int('vms'),
      vcpus: int('vcpus'),
    },
  });

  const payloadStatuses = new EntitySchema<PayloadStatusRow>({
    name: 'PayloadStatus',
    tableName: 'payload_statuses',
    columns: {
      payloadId: id('payload_id'),
      status: text('status'),
      payloadType: text('payload_type', true),
      signer: text('signer', true),
      code: text('code', true),
      reason: text('reason', true),
      round: int('round'),
      consensusIndex: int('consensus_index'),
      ledgerIndex: int('ledger_index'),
    },
  });

  const rounds = new EntitySchema<RoundRow>({
    name: 'Round',
    tableName: 'rounds',
    columns: {
      round: { ...int('round'), primary: true },
      stateRoot: text('state_root'),
      consensusTimestamp: int('consensus_timestamp'),
      consensusIndex: int('consensus_index'),
    },
  });

  const checkpoints = new EntitySchema<CheckpointRow>({
    name: 'Checkpoint',
    tableName: 'checkpoints',
    columns: {
      projection: id('projection'),
      ledgerIndex: int('ledger_index'),
    },
  });

  return { vms, hosts, operators, proposals, accounts, payloadStatuses, rounds, checkpoints };
}

export type ReadModelEntities = ReturnType<typeof readModelEntities>;
