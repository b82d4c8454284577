import { rm } from 'node:fs/promises';
import {
  DataSource,
  QueryFailedError,
  type DataSourceOptions,
  type EntityManager,
  type EntitySchema,
  type ObjectLiteral,
} from 'typeorm';
import type { Capacity } from '../domain/payloads/schemas.js';
import type { LedgerRecord } from '../domain/processor/events.js';
import { addVmReferences, batchKeys, LedgerBatch } from './ledger-batch.js';
import { readModelEntities, type ReadModelEntities } from './entities.js';
import { readModelMigrations } from './migrations/index.js';
import { decodeCursor, pageLimit, toPage } from './paging.js';
import { columnUpdate, RowStatements, rowWrite } from './row-statements.js';
import {
  ReadModelError,
  type AccountView,
  type HostView,
  type OperatorView,
  type Page,
  type PageRequest,
  type PayloadStatusView,
  type ProposalView,
  type ReadModels,
  type RoundView,
  type VmView,
} from './read-models.js';
import type { HostRow, OperatorRow, PayloadStatusRow, ProposalRow, RoundRow, VmRow } from './rows.js';

export type ReadModelsTarget =
  | {
      readonly type: 'sqlite';
      /** A file (WAL mode) or ':memory:'. */
      readonly path: string;
      /** How long a write waits for another process's lock. Default 5000. */
      readonly busyTimeoutMs?: number;
    }
  | {
      readonly type: 'postgres';
      /** postgres://user:password@host:port/database */
      readonly url: string;
      /** Created if missing, e.g. `<networkPrefix>_rm`. */
      readonly schema: string;
      readonly poolSize?: number;
    };

export interface GenesisMember {
  readonly key: string;
  readonly stake: number;
  readonly endpoint: string;
}

export interface Quota {
  readonly maxVms: number;
  readonly maxVcpus: number;
}

export interface GenesisHost {
  readonly hostId: string;
  readonly operator: string;
  readonly libvirtUri: string;
  readonly capacity: Capacity;
}

/** From the network's genesis, as the processor gets it (ProcessorConfig). */
export interface ReadModelsConfig {
  /** Seeded as members since round 0 whenever the read models are empty (at open, at rebuild). */
  readonly genesisMembers: readonly GenesisMember[];
  /** Seeded as hosts, nothing used, likewise: they exist without a HostRegistered record. */
  readonly genesisHosts: readonly GenesisHost[];
  readonly accountQuotas: readonly (Quota & { readonly key: string })[];
  readonly defaultQuota: Quota;
}

/** The only projection so far: every table moves with this one checkpoint. */
const PROJECTION = 'read_models';
const MIGRATIONS_TABLE = 'read_model_migrations';
/** Bound parameters per statement, under SQLite's 32766 and PostgreSQL's 65535. */
const MAX_PARAMETERS = 20_000;
const REBUILD_BATCH = 1000;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function checkSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_'))
    throw new ReadModelError(
      'BAD_REQUEST',
      `schema ${JSON.stringify(schema)} must match ${SCHEMA_NAME.source} and not start with pg_`,
    );
}

/** Runs one task at a time, in call order; a failed task does not stop the next. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const UNAVAILABLE =
  /^(ECONN|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE|57P0|08|53300|SQLITE_BUSY|SQLITE_LOCKED|SQLITE_CANTOPEN)/;

function storeError(error: unknown, doing: string): unknown {
  if (error instanceof ReadModelError) return error;
  const source: unknown = error instanceof QueryFailedError ? error.driverError : error;
  const code = typeof source === 'object' && source !== null && 'code' in source ? String(source.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  if (UNAVAILABLE.test(code))
    return new ReadModelError('STORE_UNAVAILABLE', `${doing}: ${message}`, { cause: error });
  if (error instanceof QueryFailedError)
    return new ReadModelError('STORE_FAILED', `${doing}: ${message}`, { cause: error });
  return error;
}

function dataSourceOptions(target: ReadModelsTarget, entities: ReadModelEntities): DataSourceOptions {
  const common = {
    entities: Object.values(entities),
    migrations: readModelMigrations,
    migrationsTableName: MIGRATIONS_TABLE,
    synchronize: false,
    migrationsRun: false,
    logging: false,
  } as const;
  if (target.type === 'sqlite')
    return {
      ...common,
      type: 'better-sqlite3',
      database: target.path,
      enableWAL: target.path !== ':memory:',
      timeout: target.busyTimeoutMs ?? 5000,
      // A read model is rebuildable, so WAL's NORMAL (consistent, maybe not the last commit) is enough.
      prepareDatabase: (db: { pragma(source: string): unknown }) => void db.pragma('synchronous = NORMAL'),
    };
  return {
    ...common,
    type: 'postgres',
    url: target.url,
    schema: target.schema,
    poolSize: target.poolSize ?? 4,
    connectTimeoutMS: 10_000,
  };
}

async function connect(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = new DataSource(options);
  try {
    return await dataSource.initialize();
  } catch (error) {
    throw new ReadModelError('STORE_UNAVAILABLE', `cannot open the database: ${String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Opens (creating and migrating if needed) the read models on SQLite or in a PostgreSQL schema.
 * One handle per process should project; any number may query.
 */
export async function openReadModels(
  target: ReadModelsTarget,
  config: ReadModelsConfig,
): Promise<ReadModels> {
  if (target.type === 'postgres') checkSchemaName(target.schema);
  const entities = readModelEntities(target.type);
  const dataSource = await connect(dataSourceOptions(target, entities));
  const readModels = new TypeOrmReadModels(dataSource, entities, config, target.type === 'sqlite');
  try {
    if (target.type === 'postgres') await migratePostgres(dataSource, target.schema);
    else await dataSource.runMigrations({ transaction: 'all' });
    await readModels.seed();
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw storeError(error, 'opening the read models');
  }
  return readModels;
}

/** Serializes schema creation and migrations across processes opening the same schema. */
async function migratePostgres(dataSource: DataSource, schema: string): Promise<void> {
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  const key = `dagger read models ${schema}`;
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    await lock.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
    await lock.release();
  }
}

/** Opens the read models, rebuilds them from `ledger` and closes them: `dagger projections rebuild`. */
export async function rebuildReadModels(
  target: ReadModelsTarget,
  config: ReadModelsConfig,
  ledger: AsyncIterable<LedgerRecord>,
  options?: { readonly batchSize?: number },
): Promise<number> {
  const readModels = await openReadModels(target, config);
  try {
    return await readModels.rebuild(ledger, options);
  } finally {
    await readModels.close();
  }
}

/**
 * The statements TypeORM would run to make the database match the entities: empty when the
 * migrations and the entities agree (a test checks it; run it after writing a migration).
 */
export async function readModelSchemaDrift(target: ReadModelsTarget): Promise<string[]> {
  if (target.type === 'postgres') checkSchemaName(target.schema);
  const dataSource = await connect(dataSourceOptions(target, readModelEntities(target.type)));
  try {
    const sql = await dataSource.driver.createSchemaBuilder().log();
    return sql.upQueries.map((q) => q.query);
  } finally {
    await dataSource.destroy();
  }
}

/** Deletes the read models: the PostgreSQL schema, or the SQLite file with its WAL. */
export async function dropReadModels(target: ReadModelsTarget): Promise<void> {
  if (target.type === 'sqlite') {
    if (target.path === ':memory:') return;
    for (const suffix of ['', '-wal', '-shm']) await rm(`${target.path}${suffix}`, { force: true });
    return;
  }
  checkSchemaName(target.schema);
  const dataSource = await connect({ type: 'postgres', url: target.url, poolSize: 1, logging: false });
  try {
    await dataSource.query(`DROP SCHEMA IF EXISTS "${target.schema}" CASCADE`);
  } finally {
    await dataSource.destroy();
  }
}

function vmView(row: VmRow): VmView {
  return {
    vmId: row.vmId,
    owner: row.owner,
    name: row.name,
    hostId: row.hostId,
    vcpus: row.vcpus,
    memoryMiB: row.memoryMiB,
    diskGiB: row.diskGiB,
    image: row.image,
    status: row.status,
    statusReason: row.statusReason,
    requestId: row.requestId,
    addresses: row.addresses,
    updatedAt: row.updatedAt,
  };
}

function hostView(row: HostRow): HostView {
  return {
    hostId: row.hostId,
    operator: row.operator,
    libvirtUri: row.libvirtUri,
    capacity: { vcpus: row.capacityVcpus, memoryMiB: row.capacityMemoryMiB, diskGiB: row.capacityDiskGiB },
    used: { vcpus: row.usedVcpus, memoryMiB: row.usedMemoryMiB, diskGiB: row.usedDiskGiB },
    draining: row.draining,
  };
}

function operatorView(row: OperatorRow): OperatorView {
  return {
    operatorKey: row.operatorKey,
    stake: row.stake,
    endpoint: row.endpoint,
    status: row.status,
    sinceRound: row.sinceRound,
  };
}

function proposalView(row: ProposalRow): ProposalView {
  return {
    proposalId: row.proposalId,
    kind: row.kind,
    operatorKey: row.operatorKey,
    stake: row.stake,
    endpoint: row.endpoint,
    proposer: row.proposer,
    status: row.status,
    approvals: row.approvals,
    rejections: row.rejections,
  };
}

function payloadView(row: PayloadStatusRow): PayloadStatusView {
  return {
    payloadId: row.payloadId,
    status: row.status,
    payloadType: row.payloadType,
    signer: row.signer,
    ...(row.code !== null ? { code: row.code } : {}),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    round: row.round,
    consensusIndex: row.consensusIndex,
  };
}

function roundView(row: RoundRow): RoundView {
  return {
    round: row.round,
    stateRoot: row.stateRoot,
    consensusTimestamp: row.consensusTimestamp,
    consensusIndex: row.consensusIndex,
  };
}

class TypeOrmReadModels implements ReadModels {
  /** project() and rebuild() one at a time. */
  private readonly writer = new Serial();
  /** SQLite has one connection: a query between two statements of a batch would see half of it. */
  private readonly connection: Serial | null;
  private readonly quotas: Map<string, { maxVms: number; maxVcpus: number }>;
  private readonly statements: RowStatements;
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly e: ReadModelEntities,
    private readonly config: ReadModelsConfig,
    singleConnection: boolean,
  ) {
    this.connection = singleConnection ? new Serial() : null;
    this.statements = new RowStatements(dataSource, MAX_PARAMETERS);
    this.quotas = new Map(
      config.accountQuotas.map((q) => [q.key, { maxVms: q.maxVms, maxVcpus: q.maxVcpus }]),
    );
  }

  // ---- Projector

  async project(records: readonly LedgerRecord[]): Promise<void> {
    for (const record of records)
      if (!Number.isSafeInteger(record.ledgerIndex) || record.ledgerIndex < 0)
        throw new ReadModelError('BAD_REQUEST', `ledger index ${String(record.ledgerIndex)} is not an index`);
    if (records.length === 0) return;
    await this.writer.run(() => this.transaction('projecting', (m) => this.applyBatch(m, records)));
  }

  async rebuild(
    ledger: AsyncIterable<LedgerRecord>,
    options: { readonly batchSize?: number } = {},
  ): Promise<number> {
    const size = options.batchSize ?? REBUILD_BATCH;
    if (!Number.isSafeInteger(size) || size < 1)
      throw new ReadModelError('BAD_REQUEST', `batch size must be a positive integer, got ${size}`);
    return this.writer.run(async () => {
      await this.transaction('clearing the read models', (m) => this.reset(m));
      let batch: LedgerRecord[] = [];
      const flush = async (): Promise<void> => {
        const records = batch;
        batch = [];
        await this.transaction('rebuilding', (m) => this.applyBatch(m, records));
      };
      for await (const record of ledger) {
        batch.push(record);
        if (batch.length >= size) await flush();
      }
      if (batch.length > 0) await flush();
      return this.checkpoint();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writer.run(async () => {
      this.closed = true;
      await (this.connection ?? new Serial()).run(() => this.dataSource.destroy());
    });
  }

  /** Creates the checkpoint at -1 and genesis (members, hosts) if nothing was projected yet; idempotent. */
  async seed(): Promise<void> {
    await this.transaction('seeding', async (m) => {
      await this.statements.insert(
        m,
        this.e.checkpoints,
        [{ projection: PROJECTION, ledgerIndex: -1 }],
        'ignore',
      );
      if ((await this.checkpointIn(m)) === -1) await this.seedGenesis(m);
    });
  }

  private async seedGenesis(m: EntityManager): Promise<void> {
    const members: OperatorRow[] = this.config.genesisMembers.map((g) => ({
      operatorKey: g.key,
      stake: g.stake,
      endpoint: g.endpoint,
      status: 'member',
      sinceRound: 0,
    }));
    await this.statements.insert(m, this.e.operators, members, 'ignore');
    const hosts: HostRow[] = this.config.genesisHosts.map((h) => ({
      hostId: h.hostId,
      operator: h.operator,
      libvirtUri: h.libvirtUri,
      capacityVcpus: h.capacity.vcpus,
      capacityMemoryMiB: h.capacity.memoryMiB,
      capacityDiskGiB: h.capacity.diskGiB,
      usedVcpus: 0,
      usedMemoryMiB: 0,
      usedDiskGiB: 0,
      draining: false,
    }));
    await this.statements.insert(m, this.e.hosts, hosts, 'ignore');
  }

  private async reset(m: EntityManager): Promise<void> {
    await this.lockCheckpoint(m);
    for (const entity of [
      this.e.vms,
      this.e.hosts,
      this.e.operators,
      this.e.proposals,
      this.e.accounts,
      this.e.payloadStatuses,
      this.e.rounds,
    ] as EntitySchema<ObjectLiteral>[])
      await m.createQueryBuilder().delete().from(entity).execute();
    await m.update(this.e.checkpoints, { projection: PROJECTION }, { ledgerIndex: -1 });
    await this.seedGenesis(m);
  }

  /** Takes the checkpoint row's write lock first, so two projecting processes cannot interleave. */
  private async lockCheckpoint(m: EntityManager): Promise<number> {
    const index = await this.statements.lockAndRead(
      m,
      this.e.checkpoints,
      'projection',
      PROJECTION,
      'ledgerIndex',
    );
    if (index === undefined) throw new ReadModelError('STORE_FAILED', 'the checkpoint row is missing');
    return index;
  }

  private async checkpointIn(m: EntityManager): Promise<number> {
    const row = await m.findOneBy(this.e.checkpoints, { projection: PROJECTION });
    if (row === null) throw new ReadModelError('STORE_FAILED', 'the checkpoint row is missing');
    return row.ledgerIndex;
  }

  private async applyBatch(m: EntityManager, records: readonly LedgerRecord[]): Promise<void> {
    let last = await this.lockCheckpoint(m);
    const fresh: LedgerRecord[] = [];
    for (const record of records) {
      if (record.ledgerIndex <= last) continue;
      if (record.ledgerIndex !== last + 1)
        throw new ReadModelError(
          'LEDGER_GAP',
          `ledger record ${record.ledgerIndex} does not follow ${last}: the read models are at ${last}`,
        );
      fresh.push(record);
      last = record.ledgerIndex;
    }
    if (fresh.length === 0) return;

    const keys = batchKeys(fresh);
    const vms = await this.statements.findIn(m, this.e.vms, 'vmId', keys.vms);
    addVmReferences(keys, vms);
    const batch = new LedgerBatch({
      vms,
      hosts: await this.statements.findIn(m, this.e.hosts, 'hostId', keys.hosts),
      accounts: await this.statements.findIn(m, this.e.accounts, 'accountKey', keys.accounts),
      operators: await this.statements.findIn(m, this.e.operators, 'operatorKey', keys.operators),
      proposals: await this.statements.findIn(m, this.e.proposals, 'proposalId', keys.proposals),
    });
    for (const record of fresh) batch.apply(record);
    const changes = batch.changes();
    await this.statements.write(
      m,
      [
        rowWrite(this.e.hosts, changes.hosts, 'update'),
        rowWrite(this.e.vms, changes.vms, 'update'),
        rowWrite(this.e.accounts, changes.accounts, 'update'),
        rowWrite(this.e.operators, changes.operators, 'update'),
        rowWrite(this.e.proposals, changes.proposals, 'update'),
        rowWrite(this.e.payloadStatuses, changes.payloads, 'ignore'),
        rowWrite(this.e.rounds, changes.rounds, 'update'),
      ],
      columnUpdate(this.e.checkpoints, 'projection', PROJECTION, 'ledgerIndex', last),
    );
  }

  private async transaction<T>(doing: string, work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.exclusive(doing, () => this.dataSource.transaction(work));
  }

  private async read<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.exclusive('querying', () => work(this.dataSource.manager));
  }

  private async exclusive<T>(doing: string, work: () => Promise<T>): Promise<T> {
    const guarded = async (): Promise<T> => {
      if (this.closed) throw new ReadModelError('CLOSED', 'the read models are closed');
      try {
        return await work();
      } catch (error) {
        throw storeError(error, doing);
      }
    };
    return this.connection === null ? guarded() : this.connection.run(guarded);
  }

  // ---- ReadModelQueries

  checkpoint(): Promise<number> {
    return this.read((m) => this.checkpointIn(m));
  }

  async vm(vmId: string): Promise<VmView | null> {
    const row = await this.read((m) => m.findOneBy(this.e.vms, { vmId }));
    return row === null ? null : vmView(row);
  }

  async vms(page: PageRequest & { owner?: string; hostId?: string } = {}): Promise<Page<VmView>> {
    const limit = pageLimit(page);
    const after = decodeCursor(page.after, 'string');
    const rows = await this.read((m) => {
      const q = m.createQueryBuilder(this.e.vms, 'r');
      if (after !== undefined) q.andWhere('r.vmId > :after', { after });
      if (page.owner !== undefined) q.andWhere('r.owner = :owner', { owner: page.owner });
      if (page.hostId !== undefined) q.andWhere('r.hostId = :hostId', { hostId: page.hostId });
      return q
        .orderBy('r.vmId', 'ASC')
        .limit(limit + 1)
        .getMany();
    });
    return toPage(rows, limit, (r) => r.vmId, vmView);
  }

  hosts(page: PageRequest = {}): Promise<Page<HostView>> {
    return this.list(this.e.hosts, 'hostId', page, hostView);
  }

  operators(page: PageRequest = {}): Promise<Page<OperatorView>> {
    return this.list(this.e.operators, 'operatorKey', page, operatorView);
  }

  proposals(page: PageRequest = {}): Promise<Page<ProposalView>> {
    return this.list(this.e.proposals, 'proposalId', page, proposalView);
  }

  async account(key: string): Promise<AccountView | null> {
    const row = await this.read((m) => m.findOneBy(this.e.accounts, { accountKey: key }));
    const quota = this.quotas.get(key);
    if (row === null && quota === undefined) return null;
    const { maxVms, maxVcpus } = quota ?? this.config.defaultQuota;
    return { key, vms: row?.vms ?? 0, vcpus: row?.vcpus ?? 0, maxVms, maxVcpus };
  }

  async payload(payloadId: string): Promise<PayloadStatusView | null> {
    const row = await this.read((m) => m.findOneBy(this.e.payloadStatuses, { payloadId }));
    return row === null ? null : payloadView(row);
  }

  async rounds(page: PageRequest & { fromRound?: number } = {}): Promise<Page<RoundView>> {
    const limit = pageLimit(page);
    const after = decodeCursor(page.after, 'number');
    if (page.fromRound !== undefined && !Number.isSafeInteger(page.fromRound))
      throw new ReadModelError('BAD_REQUEST', `fromRound must be an integer, got ${page.fromRound}`);
    const rows = await this.read((m) => {
      const q = m.createQueryBuilder(this.e.rounds, 'r');
      if (after !== undefined) q.andWhere('r.round > :after', { after });
      if (page.fromRound !== undefined) q.andWhere('r.round >= :fromRound', { fromRound: page.fromRound });
      return q
        .orderBy('r.round', 'ASC')
        .limit(limit + 1)
        .getMany();
    });
    return toPage(rows, limit, (r) => r.round, roundView);
  }

  private async list<T extends ObjectLiteral, V>(
    entity: EntitySchema<T>,
    key: keyof T & string,
    page: PageRequest,
    view: (row: T) => V,
  ): Promise<Page<V>> {
    const limit = pageLimit(page);
    const after = decodeCursor(page.after, 'string');
    const rows = await this.read((m) => {
      const q = m.createQueryBuilder(entity, 'r');
      if (after !== undefined) q.where(`r.${key} > :after`, { after });
      return q
        .orderBy(`r.${key}`, 'ASC')
        .limit(limit + 1)
        .getMany();
    });
    return toPage(rows, limit, (r) => r[key] as string, view);
  }
}
