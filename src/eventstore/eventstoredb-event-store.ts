import {
  BACKWARDS,
  binaryEvent,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamRecordedEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type ReadPosition,
} from '@eventstore/db-client';
import {
  checkAppend,
  checkStreamId,
  checkSubscribeFrom,
  readAllRequest,
  readStreamRequest,
  storeError,
  type StreamRead,
} from './common.js';
import {
  EventStoreError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type Subscription,
  type SubscriptionHandlers,
} from './event-store.js';
import {
  encodeEsdbMetadata,
  esdbEventUuid,
  fromEsdbRecorded,
  fromEsdbRevision,
  isSystemEvent,
  toEsdbExpected,
} from './eventstoredb-mapping.js';
import { runningHandler, SubscriptionSet } from './polling-subscription.js';

/**
 * The port over EventStoreDB / KurrentDB 20+ (gRPC). Mapping in eventstoredb-mapping.ts and
 * docs/event-store.md. Idempotency by event id: ESDB deduplicates a retried write only for the
 * same expected revision, so this adapter skips ids already in the stream itself (from a per-stream
 * id set it keeps in sync by reading the stream's new events before each append), serializes its
 * own appends per stream, and reads back what landed after each append.
 */

export interface EventStoreDbEventStoreOptions {
  readonly readOnly?: boolean;
  /** Streams whose event-id sets stay in memory (least recently appended evicted first). Default 64. */
  readonly idCacheStreams?: number;
}

/** The part of the gRPC client this adapter uses. */
export type EsdbClient = Pick<
  EventStoreDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'
>;

const PAGE = 512;
/** Pages of $all read backwards, looking for the last non-system event, before giving up. */
const HEAD_PAGES = 20;

type ErrorWithType = { readonly type?: unknown };

function mapEsdbError(error: unknown, doing: string): EventStoreError {
  if (error instanceof EventStoreError) return error;
  const type = typeof error === 'object' && error !== null ? (error as ErrorWithType).type : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (type === 'invalid-argument' || type === 'maximum-append-size-exceeded' || type === 'stream-deleted')
    return storeError('BAD_REQUEST', `${doing}: ${String(type)}: ${message}`, error);
  return storeError(
    'STORE_UNAVAILABLE',
    `${doing}: ${type === undefined ? '' : `${String(type)}: `}${message}`,
    error,
  );
}

interface KnownIds {
  revision: bigint;
  readonly ids: Set<string>;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export class EventStoreDbEventStore implements EventStore {
  /** EventStoreDB's append is per stream: appendMany goes one stream after another. */
  readonly atomicAcrossStreams = false;
  private readonly subscriptions = new SubscriptionSet();
  private readonly known = new Map<string, KnownIds>();
  private readonly streamQueues = new Map<string, Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly client: EsdbClient,
    private readonly options: EventStoreDbEventStoreOptions,
  ) {}

  /** `url`: esdb://host:2113?tls=false and the like. The client connects on first use. */
  static async open(
    url: string,
    options: EventStoreDbEventStoreOptions = {},
  ): Promise<EventStoreDbEventStore> {
    let client: EventStoreDBClient;
    try {
      client = EventStoreDBClient.connectionString(url);
    } catch (error) {
      throw storeError('BAD_REQUEST', `EventStoreDB URL ${url}: ${String(error)}`, error);
    }
    return new EventStoreDbEventStore(client, options);
  }

  /** Over a client built elsewhere (a configured EventStoreDBClient, or a test double). */
  static fromClient(client: EsdbClient, options: EventStoreDbEventStoreOptions = {}): EventStoreDbEventStore {
    return new EventStoreDbEventStore(client, options);
  }

  private ensureOpen(doing: string): void {
    if (this.closed) throw storeError('STORE_UNAVAILABLE', `${doing}: the store is closed`);
  }

  /** Runs the appends of one stream one after another (their id-set reads and writes must not interleave). */
  private serialize<T>(streamId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.streamQueues.get(streamId) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.streamQueues.set(streamId, tail);
    void tail.then(() => {
      if (this.streamQueues.get(streamId) === tail) this.streamQueues.delete(streamId);
    });
    return run;
  }

  private async *readStreamRaw(streamId: string, req: StreamRead): AsyncIterable<RecordedEvent> {
    if (req.maxCount === 0) return;
    const read = this.client.readStream(streamId, {
      direction: req.forwards ? FORWARDS : BACKWARDS,
      fromRevision: req.fromRevision ?? (req.forwards ? START : END),
      ...(req.maxCount !== null ? { maxCount: req.maxCount } : {}),
    });
    try {
      for await (const resolved of read) {
        if (resolved.event !== undefined) yield fromEsdbRecorded(resolved.event);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return;
      throw mapEsdbError(error, `readStream ${streamId}`);
    }
  }

  /** Brings the stream's id set up to date with the events written since it was last read. */
  private async syncKnown(streamId: string): Promise<KnownIds> {
    const known = this.known.get(streamId) ?? { revision: -1n, ids: new Set<string>() };
    this.known.delete(streamId);
    this.known.set(streamId, known);
    const limit = this.options.idCacheStreams ?? 64;
    for (const oldest of this.known.keys()) {
      if (this.known.size <= limit) break;
      this.known.delete(oldest);
    }
    const req: StreamRead = { forwards: true, fromRevision: known.revision + 1n, maxCount: null };
    for await (const event of this.readStreamRaw(streamId, req)) {
      known.ids.add(event.eventId);
      known.revision = event.revision;
    }
    return known;
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    for (const a of appends) checkAppend(a.streamId, a.events, a.expected);
    const results: AppendResult[] = [];
    for (const a of appends) results.push(await this.append(a.streamId, a.events, a.expected));
    return results;
  }

  async append(
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    checkAppend(streamId, events, expected);
    this.ensureOpen('append');
    if (this.options.readOnly === true)
      throw storeError('BAD_REQUEST', `append to ${streamId}: the store is open read-only`);
    return this.serialize(streamId, () => this.appendSerialized(streamId, events, expected));
  }

  private async appendSerialized(
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const known = await this.syncKnown(streamId);
    const fresh = events.filter((e) => !known.ids.has(e.eventId));
    if (fresh.length === 0) return { nextExpectedRevision: known.revision, position: null, appended: 0 };
    const before = known.revision;
    let nextExpectedRevision: bigint;
    try {
      const result = await this.client.appendToStream(
        streamId,
        fresh.map((e) =>
          binaryEvent({
            id: esdbEventUuid(e.eventId),
            type: e.type,
            data: e.data,
            metadata: encodeEsdbMetadata(e.eventId, e.metadata),
          }),
        ),
        { expectedRevision: toEsdbExpected(expected) },
      );
      nextExpectedRevision = result.nextExpectedRevision;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw mapEsdbError(error, `append to ${streamId}`);
      // Another writer may have stored these very events meanwhile: then this append is a retry.
      const now = await this.syncKnown(streamId);
      if (fresh.every((e) => now.ids.has(e.eventId)))
        return { nextExpectedRevision: now.revision, position: null, appended: 0 };
      throw new WrongExpectedRevisionError(streamId, expected, fromEsdbRevision(error.actualVersion));
    }
    // Read back what landed: ESDB answers a write it already has with success and writes nothing.
    const freshIds = new Set(fresh.map((e) => e.eventId));
    const landed = await collect(
      this.readStreamRaw(streamId, { forwards: true, fromRevision: before + 1n, maxCount: null }),
    );
    let appended = 0;
    let position: bigint | null = null;
    for (const event of landed) {
      if (known.ids.has(event.eventId))
        throw storeError(
          'CORRUPT_RECORD',
          `stream ${streamId} now holds event id ${event.eventId} twice (a writer in another process raced this one)`,
        );
      known.ids.add(event.eventId);
      known.revision = event.revision;
      if (freshIds.has(event.eventId) && event.revision <= nextExpectedRevision) {
        appended += 1;
        position = event.globalPosition;
      }
    }
    return { nextExpectedRevision, position, appended };
  }

  async *readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    const req = readStreamRequest(streamId, options);
    this.ensureOpen('readStream');
    yield* this.readStreamRaw(streamId, req);
  }

  async *readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    const req = readAllRequest(options);
    this.ensureOpen('readAll');
    let left = req.maxCount ?? Number.MAX_SAFE_INTEGER;
    let from: ReadPosition = req.after === null ? START : { commit: req.after, prepare: req.after };
    let last = req.after;
    // Each turn reads one page of $all (system events included) and moves past it; it ends with the log.
    while (left > 0) {
      let page: AllStreamRecordedEvent[];
      try {
        const resolved = await collect(
          this.client.readAll({ direction: FORWARDS, fromPosition: from, maxCount: PAGE }),
        );
        page = resolved.flatMap((r) => (r.event === undefined ? [] : [r.event]));
      } catch (error) {
        throw mapEsdbError(error, 'readAll');
      }
      let advanced = false;
      for (const event of page) {
        if (last !== null && event.position.commit <= last) continue;
        last = event.position.commit;
        from = event.position;
        advanced = true;
        if (isSystemEvent(event.streamId, event.type)) continue;
        yield fromEsdbRecorded(event);
        left -= 1;
        if (left <= 0) return;
      }
      if (page.length < PAGE || !advanced) return;
    }
  }

  async streamRevision(streamId: string): Promise<bigint> {
    checkStreamId(streamId);
    this.ensureOpen('streamRevision');
    const last = await collect(
      this.readStreamRaw(streamId, { forwards: false, fromRevision: null, maxCount: 1 }),
    );
    return last[0]?.revision ?? -1n;
  }

  /** The position of the last non-system event, 'none' when there is none, 'unknown' past the search window. */
  private async lastUserPosition(): Promise<bigint | 'none' | 'unknown'> {
    let from: ReadPosition = END;
    for (let page = 0; page < HEAD_PAGES; page++) {
      const resolved: AllStreamResolvedEvent[] = await collect(
        this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: PAGE }),
      );
      for (const r of resolved) {
        const e = r.event;
        if (e === undefined) continue;
        if (!isSystemEvent(e.streamId, e.type)) return e.position.commit;
        from = e.position;
      }
      if (resolved.length < PAGE) return 'none';
    }
    return 'unknown';
  }

  subscribeToAll(after: bigint | 'start', handlers: SubscriptionHandlers): Subscription {
    const from = checkSubscribeFrom(after);
    this.ensureOpen('subscribeToAll');
    return this.subscriptions.add(
      new EsdbSubscription(
        () =>
          this.client.subscribeToAll({
            fromPosition: from === null ? START : { commit: from, prepare: from },
            filter: excludeSystemEvents(),
          }),
        () => this.lastUserPosition(),
        from,
        handlers,
        (s) => this.subscriptions.delete(s),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.subscriptions.stopAll();
    await Promise.all([...this.streamQueues.values()]);
    await this.client.dispose();
  }
}

/**
 * ESDB's catch-up subscription, filtered to non-system events. It is caught up once it has handed
 * over the last non-system event that existed when it started (or at once when there is none);
 * past the search window it falls back on the server's caughtUp signal (EventStoreDB 23.10+).
 */
class EsdbSubscription implements Subscription {
  readonly caughtUp: Promise<void>;
  private readonly done: Promise<void>;
  private stream: AllStreamSubscription | null = null;
  private stopped = false;
  private isCaughtUp = false;
  private resolveCaughtUp: () => void = () => undefined;
  private rejectCaughtUp: (error: unknown) => void = () => undefined;

  constructor(
    private readonly open: () => AllStreamSubscription,
    private readonly head: () => Promise<bigint | 'none' | 'unknown'>,
    after: bigint | null,
    private readonly handlers: SubscriptionHandlers,
    onFinished: (s: EsdbSubscription) => void,
  ) {
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    this.caughtUp.catch(() => undefined);
    this.done = this.run(after).finally(() => onFinished(this));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const stream = this.stream;
    if (stream !== null) {
      await stream.unsubscribe().catch(() => undefined);
      stream.destroy();
    }
    if (runningHandler.getStore() !== this) await this.done;
  }

  private markCaughtUp(): void {
    if (this.isCaughtUp || this.stopped) return;
    this.isCaughtUp = true;
    this.handlers.onCaughtUp?.();
    this.resolveCaughtUp();
  }

  private async run(after: bigint | null): Promise<void> {
    let handlerFailed = false;
    try {
      const head = await this.head();
      if (this.stopped) return;
      const stream = this.open();
      this.stream = stream;
      if (head === 'none' || (typeof head === 'bigint' && after !== null && head <= after))
        this.markCaughtUp();
      let serverCaughtUp = false;
      if (head === 'unknown')
        stream.on('caughtUp', () => {
          serverCaughtUp = true;
          if (stream.readableLength === 0) this.markCaughtUp();
        });
      let last = after;
      // Ends when stop() destroys the stream or the server ends it.
      for await (const resolved of stream) {
        if (this.stopped) return;
        const e = resolved.event;
        if (e === undefined || isSystemEvent(e.streamId, e.type)) continue;
        if (last !== null && e.position.commit <= last) continue;
        const event = fromEsdbRecorded(e);
        try {
          await runningHandler.run(this, () => this.handlers.onEvent(event));
        } catch (error) {
          handlerFailed = true;
          throw error;
        }
        last = event.globalPosition;
        if ((typeof head === 'bigint' && last >= head) || (serverCaughtUp && stream.readableLength === 0))
          this.markCaughtUp();
      }
      if (!this.stopped) throw storeError('STORE_UNAVAILABLE', 'EventStoreDB ended the subscription');
    } catch (error) {
      if (!this.stopped) {
        this.stopped = true;
        const mapped = handlerFailed ? error : mapEsdbError(error, 'subscribeToAll');
        this.rejectCaughtUp(mapped);
        try {
          this.handlers.onError?.(mapped);
        } catch {
          // Nobody is left to tell.
        }
      }
    } finally {
      this.stopped = true;
      const stream = this.stream;
      if (stream !== null && !stream.destroyed) {
        await stream.unsubscribe().catch(() => undefined);
        stream.destroy();
      }
      if (!this.isCaughtUp)
        this.rejectCaughtUp(storeError('STORE_UNAVAILABLE', 'the subscription stopped before it caught up'));
    }
  }
}
