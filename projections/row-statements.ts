import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { DataSource, EntityManager, EntitySchema, ObjectLiteral } from 'typeorm';

/**
 * The projector's per-batch statements, written once per table and shape instead of through
 * TypeORM's query builder, which spent more CPU building a multi-row INSERT than the database
 * spent running it. Identifiers, placeholders and value conversion still come from TypeORM's
 * metadata and driver, so a row is written and read exactly as the entity says (booleans,
 * simple-json, bigint transformers). The SQL (INSERT ... ON CONFLICT, UPDATE ... RETURNING) is
 * what both SQLite (3.35+) and PostgreSQL accept. On PostgreSQL, write() also sends a batch's
 * inserts and its last update as one statement (data-modifying WITH), since each statement costs
 * a round trip there; SQLite runs in-process and keeps one cached statement per insert.
 */

export type OnConflict = 'update' | 'ignore';

/** Rows for one table; their keys must be distinct. */
export interface RowWrite<T extends ObjectLiteral = ObjectLiteral> {
  readonly entity: EntitySchema<T>;
  readonly rows: readonly T[];
  readonly onConflict: OnConflict;
}

export function rowWrite<T extends ObjectLiteral>(
  entity: EntitySchema<T>,
  rows: readonly T[],
  onConflict: OnConflict,
): RowWrite {
  return { entity, rows, onConflict } as unknown as RowWrite;
}

/** Sets `column` of the row whose `key` is `id`. */
export interface ColumnUpdate<T extends ObjectLiteral = ObjectLiteral> {
  readonly entity: EntitySchema<T>;
  readonly key: keyof T & string;
  readonly id: string;
  readonly column: keyof T & string;
  readonly value: unknown;
}

export function columnUpdate<T extends ObjectLiteral, K extends keyof T & string>(
  entity: EntitySchema<T>,
  key: keyof T & string,
  id: string,
  column: K,
  value: T[K],
): ColumnUpdate {
  return { entity, key, id, column, value } as unknown as ColumnUpdate;
}

interface Piece {
  readonly table: TableStatements;
  readonly rows: readonly ObjectLiteral[];
  readonly onConflict: OnConflict;
}

/** Statements kept per table; past it the oldest goes (better-sqlite3 prepares each new text). */
const CACHED_STATEMENTS = 64;
/** Keys one SELECT looks up with `IN (...)`: a power of two. */
const IN_CHUNK = 1024;

class TableStatements {
  readonly columns: readonly ColumnMetadata[];
  private readonly table: string;
  private readonly columnList: string;
  private readonly conflict: Record<OnConflict, string>;
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly dataSource: DataSource,
    entity: EntitySchema<ObjectLiteral>,
  ) {
    const metadata = dataSource.getMetadata(entity);
    const driver = dataSource.driver;
    const q = (name: string): string => driver.escape(name);
    this.columns = metadata.columns;
    this.table = metadata.tablePath
      .split('.')
      .map((part) => q(part))
      .join('.');
    this.columnList = this.columns.map((c) => q(c.databaseName)).join(', ');
    const keys = metadata.primaryColumns.map((c) => q(c.databaseName));
    const others = this.columns.filter((c) => !c.isPrimary).map((c) => q(c.databaseName));
    this.conflict = {
      ignore: 'ON CONFLICT DO NOTHING',
      update:
        others.length === 0
          ? 'ON CONFLICT DO NOTHING'
          : `ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
    };
  }

  /** Appends the parameters in column order, row after row, converted as TypeORM converts them. */
  values(rows: readonly ObjectLiteral[], out: unknown[] = []): unknown[] {
    const driver = this.dataSource.driver;
    for (const row of rows)
      for (const column of this.columns)
        out.push(driver.preparePersistentValue(column.getEntityValue(row), column) ?? null);
    return out;
  }

  /** `first` is the index of its first parameter, for a statement holding several. */
  insert(rowCount: number, onConflict: OnConflict, first = 0): string {
    const build = (): string => {
      const tuples: string[] = [];
      let index = first;
      for (let r = 0; r < rowCount; r++)
        tuples.push(`(${this.columns.map(() => this.parameter(index++)).join(', ')})`);
      return `INSERT INTO ${this.table} (${this.columnList}) VALUES ${tuples.join(', ')} ${this.conflict[onConflict]}`;
    };
    return first === 0 ? this.cached(`insert ${onConflict} ${rowCount}`, build) : build();
  }

  selectWhereIn(key: ColumnMetadata, count: number): string {
    return this.cached(`select ${key.databaseName} ${count}`, () => {
      const list = Array.from({ length: count }, (_, i) => this.parameter(i)).join(', ');
      return `SELECT ${this.columnList} FROM ${this.table} WHERE ${this.dataSource.driver.escape(key.databaseName)} IN (${list})`;
    });
  }

  /** Re-writes `column` with its own value where `key` matches: takes the row's write lock. */
  lockReturning(key: ColumnMetadata, column: ColumnMetadata): string {
    const c = this.dataSource.driver.escape(column.databaseName);
    return this.cached(`lock ${key.databaseName} ${column.databaseName}`, () => {
      const k = this.dataSource.driver.escape(key.databaseName);
      return `UPDATE ${this.table} SET ${c} = ${c} WHERE ${k} = ${this.parameter(0)} RETURNING ${c}`;
    });
  }

  /** Parameters: the value, then the key. */
  updateWhere(key: ColumnMetadata, column: ColumnMetadata, first = 0): string {
    const build = (): string => {
      const k = this.dataSource.driver.escape(key.databaseName);
      const c = this.dataSource.driver.escape(column.databaseName);
      return `UPDATE ${this.table} SET ${c} = ${this.parameter(first)} WHERE ${k} = ${this.parameter(first + 1)}`;
    };
    return first === 0 ? this.cached(`update ${key.databaseName} ${column.databaseName}`, build) : build();
  }

  /** A database row (keyed by column name) as the entity's object. */
  hydrate(raw: Record<string, unknown>): ObjectLiteral {
    const row: ObjectLiteral = {};
    for (const column of this.columns) column.setEntityValue(row, this.hydrateColumn(raw, column));
    return row;
  }

  hydrateColumn(raw: Record<string, unknown>, column: ColumnMetadata): unknown {
    return this.dataSource.driver.prepareHydratedValue(raw[column.databaseName], column);
  }

  column(propertyName: string): ColumnMetadata {
    const column = this.columns.find((c) => c.propertyName === propertyName);
    if (column === undefined) throw new Error(`${this.table} has no column for ${propertyName}`);
    return column;
  }

  private parameter(index: number): string {
    return this.dataSource.driver.createParameter(`p${index}`, index);
  }

  private cached(key: string, build: () => string): string {
    let sql = this.cache.get(key);
    if (sql === undefined) {
      sql = build();
      this.cache.set(key, sql);
      if (this.cache.size > CACHED_STATEMENTS) this.cache.delete(this.cache.keys().next().value!);
    }
    return sql;
  }
}

/** Rows a statement returned, whatever the driver's raw shape for that kind of statement. */
async function records(
  m: EntityManager,
  sql: string,
  parameters: unknown[],
): Promise<Record<string, unknown>[]> {
  const runner = m.queryRunner ?? m.connection.createQueryRunner();
  try {
    const result = await runner.query(sql, parameters, true);
    return (result.records ?? []) as Record<string, unknown>[];
  } finally {
    if (m.queryRunner === undefined) await runner.release();
  }
}

export class RowStatements {
  private readonly tables = new Map<EntitySchema<ObjectLiteral>, TableStatements>();
  private readonly combinesWrites: boolean;

  constructor(
    private readonly dataSource: DataSource,
    /** Bound parameters per statement, under SQLite's 32766 and PostgreSQL's 65535. */
    private readonly maxParameters: number,
  ) {
    this.combinesWrites = dataSource.driver.options.type === 'postgres';
  }

  /** Multi-row INSERT; on a primary-key conflict either overwrite every other column or keep the old row. */
  insert<T extends ObjectLiteral>(
    m: EntityManager,
    entity: EntitySchema<T>,
    rows: readonly T[],
    onConflict: OnConflict,
  ): Promise<void> {
    return this.write(m, [rowWrite(entity, rows, onConflict)]);
  }

  /**
   * Every insert() of `writes`, then `last`: what a batch writes. On PostgreSQL in as few
   * statements as the parameter limit allows, so a key may appear once per table in `writes`.
   */
  async write(m: EntityManager, writes: readonly RowWrite[], last?: ColumnUpdate): Promise<void> {
    const pieces: Piece[] = [];
    for (const { entity, rows, onConflict } of writes) {
      const table = this.table(entity);
      const chunk = Math.max(1, Math.floor(this.maxParameters / table.columns.length));
      for (let i = 0; i < rows.length; i += chunk)
        pieces.push({ table, rows: rows.slice(i, i + chunk), onConflict });
    }
    if (!this.combinesWrites) {
      for (const { table, rows, onConflict } of pieces)
        await m.query(table.insert(rows.length, onConflict), table.values(rows));
      if (last !== undefined) await this.runUpdate(m, last);
      return;
    }
    let group: Piece[] = [];
    let parameters = 0;
    for (const piece of pieces) {
      const count = piece.rows.length * piece.table.columns.length;
      if (group.length > 0 && parameters + count > this.maxParameters) {
        await this.runCombined(m, group);
        group = [];
        parameters = 0;
      }
      group.push(piece);
      parameters += count;
    }
    if (group.length > 0 && parameters + 2 > this.maxParameters) {
      await this.runCombined(m, group);
      group = [];
    }
    await this.runCombined(m, group, last);
  }

  /** One statement: each piece an INSERT in a WITH, `last` (or the last insert) the main one. */
  private async runCombined(m: EntityManager, pieces: readonly Piece[], last?: ColumnUpdate): Promise<void> {
    const statements: string[] = [];
    const parameters: unknown[] = [];
    for (const { table, rows, onConflict } of pieces) {
      statements.push(table.insert(rows.length, onConflict, parameters.length));
      table.values(rows, parameters);
    }
    if (last !== undefined) {
      const table = this.table(last.entity);
      const column = table.column(last.column);
      statements.push(table.updateWhere(table.column(last.key), column, parameters.length));
      parameters.push(this.dataSource.driver.preparePersistentValue(last.value, column), last.id);
    }
    const main = statements.pop();
    if (main === undefined) return;
    const sql =
      statements.length === 0
        ? main
        : `WITH ${statements.map((s, i) => `w${i} AS (${s})`).join(', ')} ${main}`;
    await m.query(sql, parameters);
  }

  private async runUpdate(m: EntityManager, update: ColumnUpdate): Promise<void> {
    const table = this.table(update.entity);
    const column = table.column(update.column);
    await m.query(table.updateWhere(table.column(update.key), column), [
      this.dataSource.driver.preparePersistentValue(update.value, column),
      update.id,
    ]);
  }

  /** The rows whose `key` is one of `keys`, in no particular order. */
  async findIn<T extends ObjectLiteral>(
    m: EntityManager,
    entity: EntitySchema<T>,
    key: keyof T & string,
    keys: ReadonlySet<string>,
  ): Promise<T[]> {
    if (keys.size === 0) return [];
    const ids = [...keys];
    const table = this.table(entity);
    const column = table.column(key);
    const rows: T[] = [];
    for (let i = 0; i < ids.length; i += IN_CHUNK) {
      const part = ids.slice(i, i + IN_CHUNK);
      // Padded to a power of two with a repeated id, so a few statement texts serve every batch.
      let size = 1;
      while (size < part.length) size *= 2;
      while (part.length < size) part.push(part[part.length - 1]!);
      const raw = await records(m, table.selectWhereIn(column, size), part);
      for (const r of raw) rows.push(table.hydrate(r) as T);
    }
    return rows;
  }

  /**
   * Takes the write lock of the row whose `key` is `id` (held to the end of the transaction) and
   * returns its `column`, or undefined when there is no such row.
   */
  async lockAndRead<T extends ObjectLiteral, K extends keyof T & string>(
    m: EntityManager,
    entity: EntitySchema<T>,
    key: keyof T & string,
    id: string,
    column: K,
  ): Promise<T[K] | undefined> {
    const table = this.table(entity);
    const value = table.column(column);
    const raw = await records(m, table.lockReturning(table.column(key), value), [id]);
    if (raw.length === 0) return undefined;
    return table.hydrateColumn(raw[0]!, value) as T[K];
  }

  updateOne<T extends ObjectLiteral, K extends keyof T & string>(
    m: EntityManager,
    entity: EntitySchema<T>,
    key: keyof T & string,
    id: string,
    column: K,
    value: T[K],
  ): Promise<void> {
    return this.runUpdate(m, columnUpdate(entity, key, id, column, value));
  }

  private table(entity: EntitySchema<ObjectLiteral> | EntitySchema<never>): TableStatements {
    const schema = entity as EntitySchema<ObjectLiteral>;
    let table = this.tables.get(schema);
    if (table === undefined) {
      table = new TableStatements(this.dataSource, schema);
      this.tables.set(schema, table);
    }
    return table;
  }
}
