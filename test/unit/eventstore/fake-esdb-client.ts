/**
 * An in-memory stand-in for the part of @eventstore/db-client the adapter uses, so the adapter's own
 * logic (id sets, read-back, paging, system-event filtering, caught-up detection) runs in `npm test`.
 * It is not EventStoreDB: it models the documented behaviour the adapter relies on — expected
 * revisions, StreamNotFoundError on absent streams, one commit position per event (commit ==
 * prepare), forward $all reads inclusive of their start, subscriptions exclusive of theirs, and
 * system events interleaved in $all. The real-server run is eventstoredb.contract.spec.ts.
 */
import { Readable } from 'node:stream';
import {
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AppendExpectedRevision,
  type Position,
} from '@eventstore/db-client';
import type { EsdbClient } from '../../../src/eventstore/eventstoredb-event-store.js';

interface FakeRecord {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly isJson: false;
  readonly created: Date;
  readonly data: Uint8Array;
  readonly metadata: unknown;
  readonly position: Position;
}

interface EventDataLike {
  readonly id: string;
  readonly type: string;
  readonly data: Uint8Array;
  readonly metadata?: unknown;
}

interface SubscriptionEntry {
  readonly stream: Readable;
  readonly matches: (r: FakeRecord) => boolean;
  last: bigint;
}

function parseMetadata(raw: unknown): unknown {
  if (!(raw instanceof Uint8Array) || raw.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    return raw;
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class FakeEsdb {
  private readonly log: FakeRecord[] = [];
  private readonly streams = new Map<string, FakeRecord[]>();
  private readonly subscriptions = new Set<SubscriptionEntry>();
  private nextPosition = 4096n;
  private appends = 0;

  constructor() {
    this.writeSystem();
  }

  /** System events ESDB writes by itself ($stats, stream metadata), so filtering is exercised. */
  private writeSystem(): void {
    this.record('$stats-fake', { id: crypto.randomUUID(), type: '$statsCollected', data: new Uint8Array(1) });
    this.record('$$fake', { id: crypto.randomUUID(), type: '$metadata', data: new Uint8Array(1) });
  }

  private record(streamId: string, e: EventDataLike): FakeRecord {
    const stream = this.streams.get(streamId) ?? [];
    this.streams.set(streamId, stream);
    const position = { commit: this.nextPosition, prepare: this.nextPosition };
    this.nextPosition += 97n + BigInt(e.data.length);
    const r: FakeRecord = {
      streamId,
      id: e.id,
      revision: BigInt(stream.length),
      type: e.type,
      isJson: false,
      created: new Date(0),
      data: Uint8Array.from(e.data),
      metadata: parseMetadata(e.metadata),
      position,
    };
    stream.push(r);
    this.log.push(r);
    return r;
  }

  private push(): void {
    for (const sub of this.subscriptions)
      for (const r of this.log)
        if (r.position.commit > sub.last) {
          sub.last = r.position.commit;
          if (sub.matches(r)) sub.stream.push({ event: r, commitPosition: r.position.commit });
        }
  }

  private async append(
    streamName: string,
    events: EventDataLike | EventDataLike[],
    options?: { expectedRevision?: AppendExpectedRevision },
  ): Promise<{ success: boolean; nextExpectedRevision: bigint; position: Position }> {
    await tick();
    const list = Array.isArray(events) ? events : [events];
    const stream = this.streams.get(streamName) ?? [];
    const current = stream.length === 0 ? 'no_stream' : BigInt(stream.length - 1);
    const expected = options?.expectedRevision ?? 'any';
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && current === 'no_stream') ||
      (expected === 'stream_exists' && current !== 'no_stream') ||
      expected === current;
    if (!ok) throw new WrongExpectedVersionError(undefined, { streamName, expected, current });
    let last: FakeRecord | undefined;
    for (const e of list) last = this.record(streamName, e);
    this.appends += 1;
    if (this.appends % 7 === 0) this.writeSystem();
    this.push();
    if (last === undefined) throw new Error('the fake got an empty append');
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  private readStream(
    streamName: string,
    options: { direction?: string; fromRevision?: 'start' | 'end' | bigint; maxCount?: number | bigint } = {},
  ): Readable {
    const forwards = options.direction !== 'backwards';
    const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const stream = this.streams.get(streamName);
    const from = options.fromRevision ?? (forwards ? 'start' : 'end');
    async function* items(): AsyncGenerator<{ event: FakeRecord; commitPosition: bigint }> {
      await tick();
      if (stream === undefined) throw new StreamNotFoundError(undefined, streamName);
      const all = forwards ? [...stream] : [...stream].reverse();
      const start = from === 'start' || from === 'end' ? null : from;
      const picked = all.filter(
        (r) => start === null || (forwards ? r.revision >= start : r.revision <= start),
      );
      for (const r of picked.slice(0, max)) yield { event: r, commitPosition: r.position.commit };
    }
    return Object.assign(Readable.from(items()), { cancel: async () => undefined });
  }

  private readAll(
    options: {
      direction?: string;
      fromPosition?: 'start' | 'end' | Position;
      maxCount?: number | bigint;
    } = {},
  ): Readable {
    const forwards = options.direction !== 'backwards';
    const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const from = options.fromPosition ?? (forwards ? 'start' : 'end');
    const snapshot = [...this.log];
    async function* items(): AsyncGenerator<{ event: FakeRecord; commitPosition: bigint }> {
      await tick();
      const at = typeof from === 'string' ? null : from.commit;
      const picked = forwards
        ? snapshot.filter((r) => at === null || r.position.commit >= at)
        : snapshot.filter((r) => at === null || r.position.commit < at).reverse();
      for (const r of picked.slice(0, max)) yield { event: r, commitPosition: r.position.commit };
    }
    return Object.assign(Readable.from(items()), { cancel: async () => undefined });
  }

  private subscribeToAll(
    options: {
      fromPosition?: 'start' | 'end' | Position;
      filter?: { filterOn: string; regex?: string };
    } = {},
  ): Readable {
    const stream = new Readable({ objectMode: true, read: () => undefined });
    const regex = options.filter?.regex === undefined ? null : new RegExp(options.filter.regex);
    const from = options.fromPosition ?? 'start';
    const entry: SubscriptionEntry = {
      stream,
      matches: (r) =>
        regex === null || regex.test(options.filter?.filterOn === 'streamName' ? r.streamId : r.type),
      last: from === 'start' ? -1n : from === 'end' ? this.nextPosition : from.commit,
    };
    const unsubscribe = async (): Promise<void> => {
      this.subscriptions.delete(entry);
      stream.push(null);
    };
    setImmediate(() => {
      if (stream.destroyed) return;
      this.subscriptions.add(entry);
      this.push();
      stream.emit('caughtUp');
    });
    stream.on('close', () => this.subscriptions.delete(entry));
    return Object.assign(stream, { unsubscribe });
  }

  get openSubscriptions(): number {
    return this.subscriptions.size;
  }

  client(): EsdbClient {
    const fake = {
      appendToStream: this.append.bind(this),
      readStream: this.readStream.bind(this),
      readAll: this.readAll.bind(this),
      subscribeToAll: this.subscribeToAll.bind(this),
      dispose: async () => undefined,
    };
    // The fake returns plain Readables where the client's types name richer ones.
    return fake as unknown as EsdbClient;
  }
}
