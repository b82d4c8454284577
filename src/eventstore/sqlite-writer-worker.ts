import { parentPort, workerData } from 'node:worker_threads';
import { unpackBytes } from '../shared/packed-bytes.js';
import { EventStoreError, WrongExpectedRevisionError } from './event-store.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import type { WriterInit, WriterReply, WriterRequest, WireError } from './sqlite-writer.js';

/** A SqliteWriterThread's thread: its own connection to the file; one append at a time, in order. */
const port = parentPort;
if (!port) throw new Error('sqlite-writer-worker must run in a worker thread');

function toWire(error: unknown): WireError {
  if (error instanceof WrongExpectedRevisionError)
    return {
      code: error.code,
      message: error.message,
      wrongRevision: { streamId: error.streamId, expected: error.expected, actual: error.actual },
    };
  if (error instanceof EventStoreError) return { code: error.code, message: error.message };
  return { code: 'STORE_UNAVAILABLE', message: String(error) };
}

const { path, options } = workerData as WriterInit;
let store: SqliteEventStore | null = null;
try {
  store = new SqliteEventStore(path, options);
  port.postMessage({ ready: true } satisfies WriterReply);
} catch (error) {
  port.postMessage({ ready: false, error: toWire(error) } satisfies WriterReply);
}

port.on('message', (m: WriterRequest) => {
  if (m.close) {
    void store?.close().then(() => port.close());
    return;
  }
  // appendMany runs its transaction synchronously, so the next message waits for this commit.
  const data = unpackBytes(m.data);
  let at = 0;
  const appends = m.appends.map((a) => ({
    ...a,
    events: a.events.map((e) => ({ ...e, data: data[at++]! })),
  }));
  store!.appendMany(appends).then(
    (results) => port.postMessage({ id: m.id, results } satisfies WriterReply),
    (error: unknown) => port.postMessage({ id: m.id, error: toWire(error) } satisfies WriterReply),
  );
});
