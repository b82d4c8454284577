import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Worker } from 'node:worker_threads';
import { GroupCommitIntake } from '../../../src/api/intake.js';
import { WrongExpectedRevisionError } from '../../../src/eventstore/event-store.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import { SqliteWriterThread } from '../../../src/eventstore/sqlite-writer.js';
import { EventStoreIntakeOutbox, INTAKE_STREAM } from '../../../src/node/intake-outbox.js';
import { RecordingPublisher } from './fakes.js';
import { tsWorker } from './ts-thread.js';

const WORKER = 'src/eventstore/sqlite-writer-worker.ts';
const item = (i: number) => ({
  payloadId: i.toString(16).padStart(64, '0'),
  bytes: new TextEncoder().encode(`{"n":${i}}`),
});

async function storedIds(path: string): Promise<Set<string>> {
  const store = new SqliteEventStore(path);
  const ids = new Set<string>();
  for await (const e of store.readStream(INTAKE_STREAM)) ids.add(e.eventId);
  await store.close();
  return ids;
}

describe('the intake outbox with a SQLite writer thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dagger-outbox-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends in its own thread: the store sees the events, duplicates are skipped, errors keep their type', async () => {
    const path = join(dir, 'events.sqlite');
    const store = new SqliteEventStore(path);
    const writer = (await SqliteWriterThread.for(store, (init) => tsWorker(WORKER, init)))!;
    const first = await writer.append(
      's',
      [{ eventId: 'a', type: 'T', data: new Uint8Array([1, 2]) }],
      'any',
    );
    expect(first).toMatchObject({ nextExpectedRevision: 0n, appended: 1 });
    const again = await writer.append('s', [{ eventId: 'a', type: 'T', data: new Uint8Array([9]) }], 'any');
    expect(again.appended).toBe(0);
    await expect(
      writer.append('s', [{ eventId: 'b', type: 'T', data: new Uint8Array([3]) }], 5n),
    ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    const events = [];
    for await (const e of store.readStream('s')) events.push(e);
    expect(events.map((e) => [e.eventId, [...e.data]])).toEqual([['a', [1, 2]]]);
    await writer.close();
    await expect(
      writer.append('s', [{ eventId: 'c', type: 'T', data: new Uint8Array([1]) }], 'any'),
    ).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    await store.close();
  }, 30_000);

  it('takes no writer thread for a store in memory', async () => {
    const store = new SqliteEventStore(':memory:');
    expect(await SqliteWriterThread.for(store, (init) => tsWorker(WORKER, init))).toBeNull();
    await store.close();
  });

  it('thread terminated mid-stream: every resolved submit is in the file, the rest are refused, and the store carries on', async () => {
    const path = join(dir, 'events.sqlite');
    const store = new SqliteEventStore(path);
    let thread: Worker | undefined;
    const writer = (await SqliteWriterThread.for(store, (init) => (thread = tsWorker(WORKER, init))))!;
    const outbox = new EventStoreIntakeOutbox(store, Date.now, writer);
    const intake = new GroupCommitIntake(outbox, new RecordingPublisher(), { windowMs: 1, maxBatch: 50 });
    const acked: string[] = [];
    const refused: string[] = [];
    let n = 0;
    const client = async (): Promise<void> => {
      while (n < 5000) {
        const it = item(n++);
        try {
          await intake.submit(it);
          acked.push(it.payloadId);
          if (acked.length === 300) void thread!.terminate();
        } catch (error) {
          expect(error).toMatchObject({ code: 'UNAVAILABLE' });
          refused.push(it.payloadId);
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, client));
    expect(writer.broken).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    // After the thread died the outbox appends on the store's own connection.
    expect(acked.length).toBeGreaterThan(300);
    await intake.close();
    await outbox.close();
    await store.close();
    const ids = await storedIds(path);
    expect(acked.filter((id) => !ids.has(id))).toEqual([]);
  }, 60_000);

  it('an idle writer thread does not hold the process, and one with appends or a close under way does', async () => {
    const path = join(dir, 'events.sqlite');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/unit/api/outbox-crash-child.ts', path, '50'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const lines: string[] = [];
    const code = new Promise((resolve) => child.once('exit', resolve));
    for await (const line of createInterface({ input: child.stdout })) lines.push(line);
    expect(await code).toBe(0);
    expect(lines.slice(-2)).toEqual(['finished', 'closed']);
    expect((await storedIds(path)).size).toBe(50);
  }, 60_000);

  it('process killed (SIGKILL) mid-stream: every id acknowledged before the kill is in the file after reopening', async () => {
    const path = join(dir, 'events.sqlite');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/unit/api/outbox-crash-child.ts', path, '200000'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const acked: string[] = [];
    let finished = false;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'finished') finished = true;
      else if (/^[0-9a-f]{64}$/.test(line)) acked.push(line);
      if (acked.length >= 2000 && !child.killed) child.kill('SIGKILL');
    }
    await exited;
    expect(finished).toBe(false);
    expect(acked.length).toBeGreaterThanOrEqual(2000);
    const ids = await storedIds(path);
    expect(acked.filter((id) => !ids.has(id))).toEqual([]);
  }, 90_000);
});
