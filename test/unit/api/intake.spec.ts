import { GroupCommitIntake } from '../../../src/api/intake.js';
import { ApiError } from '../../../src/api/errors.js';
import { MemoryOutbox, RecordingPublisher } from './fakes.js';

const item = (i: number) => ({
  payloadId: i.toString(16).padStart(64, '0'),
  bytes: new Uint8Array([i & 0xff]),
});
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => item(from + i));

describe('GroupCommitIntake', () => {
  it('puts requests of one window into one append and resolves them only once it is durable', async () => {
    const outbox = new MemoryOutbox();
    outbox.delayMs = 10;
    const intake = new GroupCommitIntake(outbox, new RecordingPublisher(), { windowMs: 5 });
    const resolvedAt: number[] = [];
    await Promise.all(
      range(50).map((it) =>
        intake.submit(it).then(() => resolvedAt.push(outbox.durable.includes(it.payloadId) ? 1 : 0)),
      ),
    );
    expect(outbox.appends).toHaveLength(1);
    expect(resolvedAt).toEqual(new Array(50).fill(1));
    await intake.close();
  });

  it('sends a full batch at once, runs one append at a time and sends what queued meanwhile next', async () => {
    const outbox = new MemoryOutbox();
    outbox.delayMs = 20;
    let concurrent = 0;
    let maxConcurrent = 0;
    const append = outbox.append.bind(outbox);
    outbox.append = async (items) => {
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      try {
        await append(items);
      } finally {
        concurrent--;
      }
    };
    const intake = new GroupCommitIntake(outbox, new RecordingPublisher(), { windowMs: 1000, maxBatch: 10 });
    const started = Date.now();
    await Promise.all(range(35).map((it) => intake.submit(it)));
    expect(Date.now() - started).toBeLessThan(900);
    expect(outbox.appends.map((a) => a.length)).toEqual([10, 10, 10, 5]);
    expect(maxConcurrent).toBe(1);
    await intake.close();
  });

  it('publishes each durable batch after resolving it', async () => {
    const outbox = new MemoryOutbox();
    const publisher = new RecordingPublisher();
    const intake = new GroupCommitIntake(outbox, publisher, { windowMs: 1 });
    await Promise.all(range(3).map((it) => intake.submit(it)));
    await intake.close();
    expect(publisher.published.map((b) => b[0])).toEqual([0, 1, 2]);
  });

  it('rejects a whole batch with UNAVAILABLE when the append fails, and forgets it', async () => {
    const outbox = new MemoryOutbox();
    outbox.failing = true;
    const intake = new GroupCommitIntake(outbox, new RecordingPublisher(), { windowMs: 1 });
    const results = await Promise.allSettled(range(3).map((it) => intake.submit(it)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as ApiError).code).toBe('UNAVAILABLE');
    }
    outbox.failing = false;
    await expect(intake.submit(item(0))).resolves.toBe('stored');
    await intake.close();
  });

  it('answers duplicates without a second append', async () => {
    const outbox = new MemoryOutbox();
    outbox.delayMs = 5;
    const intake = new GroupCommitIntake(outbox, new RecordingPublisher(), { windowMs: 1 });
    const outcomes = await Promise.all([intake.submit(item(7)), intake.submit(item(7))]);
    expect(outcomes).toEqual(['stored', 'duplicate']);
    expect(await intake.submit(item(7))).toBe('duplicate');
    expect(outbox.appends).toEqual([[item(7).payloadId]]);
    expect(intake.knows(item(7).payloadId)).toBe(true);
    await intake.close();
  });

  it('forgets the oldest ids beyond rememberIds (the outbox still dedupes them)', async () => {
    const outbox = new MemoryOutbox();
    const intake = new GroupCommitIntake(outbox, new RecordingPublisher(), { windowMs: 1, rememberIds: 2 });
    for (const it of range(3)) await intake.submit(it);
    expect(intake.knows(item(0).payloadId)).toBe(false);
    expect(intake.knows(item(2).payloadId)).toBe(true);
    expect(await intake.submit(item(0))).toBe('stored');
    expect(outbox.stored.size).toBe(3);
    await intake.close();
  });

  it('refuses beyond maxQueued and after close, and close commits what is queued', async () => {
    const outbox = new MemoryOutbox();
    const intake = new GroupCommitIntake(outbox, new RecordingPublisher(), { windowMs: 50, maxQueued: 2 });
    const queued = [intake.submit(item(1)), intake.submit(item(2))];
    await expect(intake.submit(item(3))).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    await intake.close();
    await expect(Promise.all(queued)).resolves.toEqual(['stored', 'stored']);
    await expect(intake.submit(item(4))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
