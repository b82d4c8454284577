import {
  Table,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
  type TableColumnOptions,
} from 'typeorm';

/** The first read-model schema. Migrations are frozen: change the schema in a new one. */
export class ReadModelsInitial1795000000000 implements MigrationInterface {
  readonly name = 'ReadModelsInitial1795000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.driver.options.type === 'postgres';
    const collation = postgres ? { collation: 'C' } : {};
    const id = (name: string): TableColumnOptions => ({ name, type: 'text', isPrimary: true, ...collation });
    const text = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: 'text',
      isNullable,
      ...collation,
    });
    const int = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: 'bigint',
      isNullable,
    });
    const table = (name: string, columns: TableColumnOptions[]) =>
      queryRunner.createTable(new Table({ name, columns }));

    await table('vms', [
      id('vm_id'),
      text('owner'),
      text('name'),
      text('host_id', true),
      int('vcpus'),
      int('memory_mib'),
      int('disk_gib'),
      text('image'),
      text('status'),
      text('status_reason'),
      text('request_id'),
      { name: 'addresses', type: 'text' },
      int('reserved_vcpus', true),
      int('reserved_memory_mib', true),
      int('reserved_disk_gib', true),
      int('updated_at'),
    ]);
    await queryRunner.createIndex(
      'vms',
      new TableIndex({ name: 'vms_owner', columnNames: ['owner', 'vm_id'] }),
    );
    await queryRunner.createIndex(
      'vms',
      new TableIndex({ name: 'vms_host', columnNames: ['host_id', 'vm_id'] }),
    );
    await table('hosts', [
      id('host_id'),
      text('operator'),
      text('libvirt_uri'),
      int('capacity_vcpus'),
      int('capacity_memory_mib'),
      int('capacity_disk_gib'),
      int('used_vcpus'),
      int('used_memory_mib'),
      int('used_disk_gib'),
      { name: 'draining', type: 'boolean' },
    ]);
    await table('operators', [
      id('operator_key'),
      int('stake'),
      text('endpoint'),
      text('status'),
      int('since_round'),
    ]);
    await table('proposals', [
      id('proposal_id'),
      text('kind'),
      text('operator_key'),
      int('stake'),
      text('endpoint'),
      text('proposer'),
      text('status'),
      { name: 'approvals', type: 'text' },
      { name: 'rejections', type: 'text' },
    ]);
    await table('accounts', [id('account_key'), int('vms'), int('vcpus')]);
    await table('payload_statuses', [
      id('payload_id'),
      text('status'),
      text('payload_type', true),
      text('signer', true),
      text('code', true),
      text('reason', true),
      int('round'),
      int('consensus_index'),
      int('ledger_index'),
    ]);
    await table('rounds', [
      { name: 'round', type: 'bigint', isPrimary: true },
      text('state_root'),
      int('consensus_timestamp'),
      int('consensus_index'),
    ]);
    await table('checkpoints', [id('projection'), int('ledger_index')]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of [
      'checkpoints',
      'rounds',
      'payload_statuses',
      'accounts',
      'proposals',
      'operators',
      'hosts',
      'vms',
    ])
      await queryRunner.dropTable(name);
  }
}
