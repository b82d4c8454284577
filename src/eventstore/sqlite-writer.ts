import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { appendOne, storeError } from './common.js';
import {
  type AppendResult,
  type EventStore,
  EventStoreError,
  type EventStoreErrorCode,
  type ExpectedRevision,
  type NewEvent,
  type StreamAppend,
  WrongExpectedRevisionError,
} from './event-store.js';
import { type PackedBytes, packBytes, transferOf } from '../shared/packed-bytes.js';
import { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store.js';

/**
 * Appends to a SQLite event-store file from a worker thread with its own connection, so that a
 * commit's fsync does not block the event loop. Same transaction and result as
 * SqliteEventStore.append and appendMany (the thread runs them); they commit one at a time, in the
 * order given.
 * A promise resolves only after its commit (synchronous=FULL unless said otherwise).
 * If the thread dies, what was in flight is refused STORE_UNAVAILABLE (it may or may not have
 * committed: appends skip event ids already stored, so a retry is safe), and so is every later append.
 */

export type StreamAppender = Pick<EventStore, 'append' | 'appendMany'>;

export interface WriterInit {
  readonly path: string;
  readonly options: Pick<SqliteEventStoreOptions, 'synchronous' | 'busyTimeoutMs'>;
}

export interface WireError {
  readonly code: EventStoreErrorCode;
  readonly message: string;
  readonly wrongRevision?: { streamId: string; expected: ExpectedRevision; actual: bigint };
}

export type WriterRequest =
  | {
      readonly close?: false;
      readonly id: number;
      /** The appends with their events' data left out: it travels packed in `data`, in the same order. */
      readonly appends: readonly {
        readonly streamId: string;
        readonly events: readonly Omit<NewEvent, 'data'>[];
        readonly expected: ExpectedRevision;
      }[];
      readonly data: PackedBytes;
    }
  | { readonly close: true };

export type WriterReply =
  | { readonly ready: true }
  | { readonly ready: false; readonly error: WireError }
  | { readonly id: number; readonly results: AppendResult[] }
  | { readonly id: number; readonly error: WireError };

/** What the writer needs of a thread; tests may start one another way (e.g. from TypeScript sources). */
export type WriterThreadFactory = (init: WriterInit) => Worker;

const WORKER_URL = new URL('./sqlite-writer-worker.js', import.meta.url);

function fromWire(e: WireError): EventStoreError {
  if (e.wrongRevision) {
    const { streamId, expected, actual } = e.wrongRevision;
    return new WrongExpectedRevisionError(streamId, expected, actual);
  }
  const prefix = `${e.code}: `;
  return storeError(e.code, e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message);
}

interface InFlight {
  resolve(results: AppendResult[]): void;
  reject(error: unknown): void;
}

export class SqliteWriterThread implements StreamAppender {
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 0;
  private failure: EventStoreError | null = null;
  private closing = false;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: WriterReply) => {
      if (!('id' in m)) return;
      const waiting = this.inFlight.get(m.id);
      this.inFlight.delete(m.id);
      if (this.inFlight.size === 0 && !this.closing) worker.unref();
      if ('results' in m) waiting?.resolve(m.results);
      else waiting?.reject(fromWire(m.error));
    });
    worker.on('error', (error) => this.fail(`the writer thread failed: ${String(error)}`));
    worker.on('exit', (code) => this.fail(`the writer thread exited (${code})`));
  }

  /**
   * Starts the thread and waits until it has opened the file (schema included). Without a factory
   * it runs the compiled sqlite-writer-worker.js beside this module; null when that file is absent
   * (as under ts-jest), so that callers append in-thread instead.
   */
  static async open(init: WriterInit, factory?: WriterThreadFactory): Promise<SqliteWriterThread | null> {
    if (!factory && !existsSync(fileURLToPath(WORKER_URL))) return null;
    const worker = factory ? factory(init) : new Worker(WORKER_URL, { workerData: init });
    const ready = await new Promise<WriterReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(storeError('STORE_UNAVAILABLE', `writer thread exited (${code})`)),
      );
    });
    if ('ready' in ready && !ready.ready) {
      await worker.terminate();
      throw fromWire(ready.error);
    }
    worker.unref();
    return new SqliteWriterThread(worker);
  }

  /** A writer thread for a writable SQLite file store; null for any other store. */
  static async for(store: EventStore, factory?: WriterThreadFactory): Promise<SqliteWriterThread | null> {
    if (!(store instanceof SqliteEventStore) || store.readOnly || store.path === ':memory:') return null;
    return SqliteWriterThread.open({ path: store.path, options: store.connectionOptions }, factory);
  }

  get broken(): boolean {
    return this.failure !== null;
  }

  append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return appendOne(this, streamId, events, expected);
  }

  appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (appends.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      // Referenced only while an append waits on it, so that an idle writer never holds the process.
      if (this.inFlight.size === 0) this.worker.ref();
      this.inFlight.set(id, { resolve, reject });
      const data = packBytes(appends.flatMap((a) => a.events.map((e) => e.data)));
      const request: WriterRequest = {
        id,
        appends: appends.map((a) => ({
          streamId: a.streamId,
          events: a.events.map((e) => ({
            eventId: e.eventId,
            type: e.type,
            ...(e.metadata ? { metadata: e.metadata } : {}),
          })),
          expected: a.expected,
        })),
        data,
      };
      this.worker.postMessage(request, transferOf(data));
    });
  }

  /** Lets the appends already sent commit, then stops the thread and closes its connection. */
  async close(): Promise<void> {
    this.closing = true;
    if (!this.failure) {
      this.worker.ref();
      this.worker.postMessage({ close: true } satisfies WriterRequest);
    }
    await this.exited;
  }

  private fail(why: string): void {
    this.failure ??= storeError('STORE_UNAVAILABLE', why);
    for (const waiting of this.inFlight.values()) waiting.reject(this.failure);
    this.inFlight.clear();
  }
}
