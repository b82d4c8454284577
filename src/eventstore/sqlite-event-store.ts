import Database from 'better-sqlite3';
import {
  appendOne,
  bytesView,
  checkAppend,
  checkExpected,
  checkStreamId,
  checkSubscribeFrom,
  decodeMetadata,
  encodeMetadata,
  readAllRequest,
  readStreamRequest,
  storeError,
} from './common.js';
import {
  EventStoreError,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type PagedEventLog,
  type Subscription,
  type SubscriptionHandlers,
} from './event-store.js';
import { CommitSignal, PollingSubscription, SubscriptionSet } from './polling-subscription.js';

/**
 * The embedded event store: one SQLite file per node (`<data>/node-<i>/events.sqlite`), WAL mode.
 * SQLite admits one writer at a time and every append runs in BEGIN IMMEDIATE, so global positions
 * commit in increasing order: a reader that sees position p sees every position below p.
 */

export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  global_position INTEGER PRIMARY KEY AUTOINCREMENT,
  stream_id       TEXT    NOT NULL,
  revision        INTEGER NOT NULL,
  event_id        TEXT    NOT NULL,
  type            TEXT    NOT NULL,
  data            BLOB    NOT NULL,
  metadata        TEXT,
  UNIQUE (stream_id, revision),
  UNIQUE (stream_id, event_id)
) STRICT;
`;

export interface SqliteEventStoreOptions {
  /** Opens an existing file without writing to it (auditors). It still reads the WAL. */
  readonly readOnly?: boolean;
  /** 'full' (default): a commit survives power loss; 'normal': it survives a process crash only. */
  readonly synchronous?: 'full' | 'normal';
  /** Live subscriptions re-read at least this often, to see commits of other processes. Default 250. */
  readonly pollIntervalMs?: number;
  /** How long a writer waits for another process's write lock before STORE_UNAVAILABLE. Default 5000. */
  readonly busyTimeoutMs?: number;
}

/** A row as read: statements return arrays (`raw`), cheaper to build than one object per row. */
type EventRow = readonly [
  globalPosition: bigint,
  streamId: string,
  revision: bigint,
  eventId: string,
  type: string,
  data: Buffer,
  metadata: string | null,
];

const COLUMNS = 'global_position, stream_id, revision, event_id, type, data, metadata';
const PAGE = 512;

function toRecorded(row: EventRow): RecordedEvent {
  const [globalPosition, streamId, revision, eventId, type, data, metadata] = row;
  return {
    streamId,
    revision,
    globalPosition,
    eventId,
    type,
    data: bytesView(data),
    metadata: decodeMetadata(metadata, `event at position ${globalPosition}`),
  };
}

function mapSqliteError(error: unknown, doing: string): unknown {
  if (error instanceof EventStoreError) return error;
  if (error instanceof Database.SqliteError) {
    if (error.code.startsWith('SQLITE_CORRUPT') || error.code === 'SQLITE_NOTADB')
      return storeError('CORRUPT_RECORD', `${doing}: ${error.message}`, error);
    return storeError('STORE_UNAVAILABLE', `${doing}: ${error.code}: ${error.message}`, error);
  }
  if (error instanceof TypeError && /database connection is not open/.test(error.message))
    return storeError('STORE_UNAVAILABLE', `${doing}: the store is closed`, error);
  return storeError('STORE_UNAVAILABLE', `${doing}: ${String(error)}`, error);
}

export class SqliteEventStore implements EventStore, PagedEventLog {
  private readonly db: Database.Database;
  private readonly signal = new CommitSignal();
  private readonly subscriptions = new SubscriptionSet();
  private readonly pollIntervalMs: number;
  private closed = false;
  readonly atomicAcrossStreams = true;
  private readonly appendTx: (appends: readonly StreamAppend[]) => AppendResult[];
  private readonly stmt: {
    readonly lastRevision: Database.Statement<[string], bigint | null>;
    readonly hasEvent: Database.Statement<[string, string], bigint>;
    readonly insert: Database.Statement<[string, bigint, string, string, Buffer, string | null]>;
    readonly forwards: Database.Statement<[string, bigint, number], EventRow>;
    readonly backwards: Database.Statement<[string, bigint, number], EventRow>;
    readonly all: Database.Statement<[bigint, number], EventRow>;
  };

  /** `path` is a file name or ':memory:'. Throws EventStoreError STORE_UNAVAILABLE when it cannot open. */
  constructor(
    readonly path: string,
    private readonly options: SqliteEventStoreOptions = {},
  ) {
    const readOnly = options.readOnly === true;
    if (readOnly && path === ':memory:')
      throw storeError('BAD_REQUEST', 'an in-memory SQLite store cannot be opened read-only');
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    try {
      this.db = new Database(path, {
        readonly: readOnly,
        fileMustExist: readOnly,
        timeout: options.busyTimeoutMs ?? 5000,
      });
    } catch (error) {
      throw mapSqliteError(error, `opening ${path}`);
    }
    try {
      if (!readOnly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
        this.db.exec(SQLITE_SCHEMA);
      } else if (
        this.db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events'").get() ===
        undefined
      ) {
        throw storeError('CORRUPT_RECORD', `${path} has no events table`);
      }
      const sel = (where: string, order: string): string =>
        `SELECT ${COLUMNS} FROM events WHERE ${where} ORDER BY ${order} LIMIT ?`;
      this.stmt = {
        lastRevision: this.db
          .prepare<[string], bigint | null>('SELECT MAX(revision) FROM events WHERE stream_id = ?')
          .pluck()
          .safeIntegers(true),
        hasEvent: this.db
          .prepare<[string, string], bigint>('SELECT 1 FROM events WHERE stream_id = ? AND event_id = ?')
          .pluck()
          .safeIntegers(true),
        insert: this.db.prepare(
          'INSERT INTO events (stream_id, revision, event_id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
        ),
        forwards: this.db
          .prepare<[string, bigint, number], EventRow>(sel('stream_id = ? AND revision >= ?', 'revision ASC'))
          .raw(true)
          .safeIntegers(true),
        backwards: this.db
          .prepare<[string, bigint, number], EventRow>(
            sel('stream_id = ? AND revision <= ?', 'revision DESC'),
          )
          .raw(true)
          .safeIntegers(true),
        all: this.db
          .prepare<[bigint, number], EventRow>(sel('global_position > ?', 'global_position ASC'))
          .raw(true)
          .safeIntegers(true),
      };
    } catch (error) {
      this.db.close();
      throw mapSqliteError(error, `opening ${path}`);
    }
    this.appendTx = this.db.transaction((appends: readonly StreamAppend[]) =>
      appends.map((a) => this.appendLocked(a.streamId, a.events, a.expected)),
    ).immediate;
  }

  get readOnly(): boolean {
    return this.options.readOnly === true;
  }

  /** What a second connection to the same file must use to write as this one does. */
  get connectionOptions(): Pick<SqliteEventStoreOptions, 'synchronous' | 'busyTimeoutMs'> {
    const { synchronous, busyTimeoutMs } = this.options;
    return {
      ...(synchronous !== undefined ? { synchronous } : {}),
      ...(busyTimeoutMs !== undefined ? { busyTimeoutMs } : {}),
    };
  }

  private appendLocked(
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): AppendResult {
    const current = this.stmt.lastRevision.get(streamId) ?? -1n;
    const fresh = events.filter((e) => this.stmt.hasEvent.get(streamId, e.eventId) === undefined);
    if (fresh.length === 0) return { nextExpectedRevision: current, position: null, appended: 0 };
    checkExpected(streamId, expected, current);
    let revision = current;
    let position = 0n;
    for (const event of fresh) {
      revision += 1n;
      const data = Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength);
      const info = this.stmt.insert.run(
        streamId,
        revision,
        event.eventId,
        event.type,
        data,
        encodeMetadata(event.metadata),
      );
      position = BigInt(info.lastInsertRowid);
    }
    return { nextExpectedRevision: revision, position, appended: fresh.length };
  }

  private ensureOpen(doing: string): void {
    if (this.closed) throw storeError('STORE_UNAVAILABLE', `${doing}: the store is closed`);
  }

  append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return appendOne(this, streamId, events, expected);
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    for (const a of appends) checkAppend(a.streamId, a.events, a.expected);
    const streams = (): string => appends.map((a) => a.streamId).join(', ');
    this.ensureOpen('append');
    if (this.readOnly) throw storeError('BAD_REQUEST', `append to ${streams()}: the store is open read-only`);
    if (appends.length === 0) return [];
    let results: AppendResult[];
    try {
      results = this.appendTx(appends);
    } catch (error) {
      throw mapSqliteError(error, `append to ${streams()}`);
    }
    if (results.some((r) => r.appended > 0)) this.signal.notify();
    return results;
  }

  async *readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    const req = readStreamRequest(streamId, options);
    let left = req.maxCount ?? Number.MAX_SAFE_INTEGER;
    let next: bigint | null = req.fromRevision ?? (req.forwards ? 0n : null);
    // Each turn reads one page; revisions move monotonically, so it ends with the stream.
    while (left > 0) {
      this.ensureOpen('readStream');
      let rows: EventRow[];
      try {
        if (next === null) next = this.stmt.lastRevision.get(streamId) ?? -1n;
        if (next < 0n) return;
        const stmt = req.forwards ? this.stmt.forwards : this.stmt.backwards;
        rows = stmt.all(streamId, next, Math.min(PAGE, left));
      } catch (error) {
        throw mapSqliteError(error, `readStream ${streamId}`);
      }
      for (const row of rows) yield toRecorded(row);
      left -= rows.length;
      const last = rows.at(-1);
      if (last === undefined || rows.length < PAGE) return;
      const [, , revision] = last;
      next = req.forwards ? revision + 1n : revision - 1n;
    }
  }

  private readPage(after: bigint | null, max: number): RecordedEvent[] {
    this.ensureOpen('readAll');
    try {
      return this.stmt.all.all(after ?? 0n, max).map(toRecorded);
    } catch (error) {
      throw mapSqliteError(error, 'readAll');
    }
  }

  /** What readAll({ after, maxCount: max }) yields, as one array (PagedEventLog). */
  async readAllPage(after: bigint, max: number): Promise<RecordedEvent[]> {
    const req = readAllRequest({ after, maxCount: max });
    return this.readPage(req.after, req.maxCount ?? PAGE);
  }

  async *readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    const req = readAllRequest(options);
    let left = req.maxCount ?? Number.MAX_SAFE_INTEGER;
    let after = req.after;
    // Each turn reads one page after the last position seen; it ends with the log.
    while (left > 0) {
      const page = this.readPage(after, Math.min(PAGE, left));
      for (const event of page) yield event;
      left -= page.length;
      const last = page.at(-1);
      if (last === undefined || page.length < PAGE) return;
      after = last.globalPosition;
    }
  }

  async streamRevision(streamId: string): Promise<bigint> {
    checkStreamId(streamId);
    this.ensureOpen('streamRevision');
    try {
      return this.stmt.lastRevision.get(streamId) ?? -1n;
    } catch (error) {
      throw mapSqliteError(error, `streamRevision ${streamId}`);
    }
  }

  subscribeToAll(after: bigint | 'start', handlers: SubscriptionHandlers): Subscription {
    const from = checkSubscribeFrom(after);
    this.ensureOpen('subscribeToAll');
    const source = {
      readPage: async (pos: bigint | null, max: number) => this.readPage(pos, max),
      onCommit: (listener: () => void) => this.signal.onCommit(listener),
    };
    return this.subscriptions.add(
      new PollingSubscription(
        source,
        from,
        handlers,
        { pollIntervalMs: this.pollIntervalMs, pageSize: PAGE },
        (s) => this.subscriptions.delete(s),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.subscriptions.stopAll();
    this.db.close();
  }
}
