import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  StreamAppend,
} from '../../../src/eventstore/event-store.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import { SqliteWriterThread } from '../../../src/eventstore/sqlite-writer.js';
import { describeEventStoreContract } from '../../contract/event-store.contract.js';
import { tsWorker } from '../api/ts-thread.js';

const POLL_MS = 50;
const WORKER = 'src/eventstore/sqlite-writer-worker.ts';

/**
 * A SQLite file whose appends go through a SqliteWriterThread, as a node's steps and its intake
 * outbox do, and whose reads and subscriptions go through the store's own connection: the
 * contract then holds the thread's append and appendMany to the port's rules.
 */
class ThreadAppendedStore implements EventStore {
  readonly atomicAcrossStreams = true;

  constructor(
    private readonly store: SqliteEventStore,
    private readonly writer: SqliteWriterThread,
  ) {}

  append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return this.writer.append(streamId, events, expected);
  }

  appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    return this.writer.appendMany(appends);
  }

  readStream(...args: Parameters<EventStore['readStream']>): ReturnType<EventStore['readStream']> {
    return this.store.readStream(...args);
  }

  readAll(...args: Parameters<EventStore['readAll']>): ReturnType<EventStore['readAll']> {
    return this.store.readAll(...args);
  }

  streamRevision(streamId: string): Promise<bigint> {
    return this.store.streamRevision(streamId);
  }

  subscribeToAll(
    ...args: Parameters<EventStore['subscribeToAll']>
  ): ReturnType<EventStore['subscribeToAll']> {
    return this.store.subscribeToAll(...args);
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.store.close();
  }
}

const open = async (path: string): Promise<EventStore> => {
  const store = new SqliteEventStore(path, { pollIntervalMs: POLL_MS });
  const writer = await SqliteWriterThread.for(store, (init) => tsWorker(WORKER, init));
  if (!writer) throw new Error('no writer thread for a SQLite file');
  return new ThreadAppendedStore(store, writer);
};

describeEventStoreContract(
  'SQLite file, appends in a writer thread',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dagger-es-thread-'));
    const path = join(dir, 'events.sqlite');
    return {
      store: await open(path),
      openPeer: () => open(path),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { peers: true, peerLatencyMs: 10 * POLL_MS, timeoutMs: 60_000 },
);
