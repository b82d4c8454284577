import { createHash } from 'node:crypto';
import { GroupCommitIntake } from '../../../src/api/intake.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import { SqliteWriterThread } from '../../../src/eventstore/sqlite-writer.js';
import { EventStoreIntakeOutbox } from '../../../src/node/intake-outbox.js';
import { tsWorker } from './ts-thread.js';

/**
 * Run by outbox-writer.spec.ts (node --import tsx): submits envelopes through the group-commit
 * intake into a SQLite outbox whose writes run in a writer thread, and prints each id once its
 * submit resolved (when the API would answer 202). The test kills this process with SIGKILL.
 */
const [path, totalArg] = process.argv.slice(2);
const total = Number(totalArg);
const store = new SqliteEventStore(path!);
const writer = await SqliteWriterThread.for(store, (init) =>
  tsWorker('src/eventstore/sqlite-writer-worker.ts', init),
);
if (!writer) throw new Error('no writer thread');
const outbox = new EventStoreIntakeOutbox(store, Date.now, writer);
const intake = new GroupCommitIntake(outbox, { publish: async () => undefined }, { windowMs: 1 });
process.stdout.write('ready\n');
let next = 0;
const client = async (): Promise<void> => {
  while (next < total) {
    const i = next++;
    const bytes = new TextEncoder().encode(`{"envelope":${i}}`);
    const payloadId = createHash('sha256').update(bytes).digest('hex');
    await intake.submit({ payloadId, bytes });
    process.stdout.write(`${payloadId}\n`);
  }
};
await Promise.all(Array.from({ length: 32 }, client));
process.stdout.write('finished\n');
await intake.close();
await outbox.close();
await store.close();
process.stdout.write('closed\n');
