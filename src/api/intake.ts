import { ApiError } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import type { ApiLogger, IntakeItem, IntakeOutbox, IntakePublisher, IntakeTuning } from './ports.js';

export type SubmitOutcome = 'stored' | 'duplicate';

interface Queued {
  readonly item: IntakeItem;
  /** Resolves 'stored' once the item's batch is durable. */
  readonly done: Promise<SubmitOutcome>;
  resolve(outcome: SubmitOutcome): void;
  reject(error: unknown): void;
}

const unavailable = (message: string) => new ApiError(503, 'UNAVAILABLE', message);
const DUPLICATE: Promise<SubmitOutcome> = Promise.resolve('duplicate');

/**
 * Group commit in front of the outbox. Requests queue for at most `windowMs` (or until `maxBatch`
 * are queued) and go to the outbox in one append; one append runs at a time, and what queues
 * meanwhile goes in the next one as soon as it ends. Each request resolves once its batch is
 * durable; the batch is then handed to the publisher, which nobody waits for.
 */
export class GroupCommitIntake {
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly rememberIds: number;
  private queue: Queued[] = [];
  /** Queued or being appended, by payloadId: a duplicate waits for the same outcome. */
  private readonly open = new Map<string, Queued>();
  /** Recently made durable here (insertion order, bounded). */
  private readonly recent = new Set<string>();
  private readonly publishing = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private appending: Promise<void> | null = null;
  private closed = false;
  readonly stats = { appends: 0, stored: 0 };

  constructor(
    private readonly outbox: IntakeOutbox,
    private readonly publisher: IntakePublisher,
    tuning: IntakeTuning = {},
    private readonly metrics?: ApiMetrics,
    private readonly log?: ApiLogger,
  ) {
    this.windowMs = tuning.windowMs ?? 2;
    this.maxBatch = tuning.maxBatch ?? 500;
    this.maxQueued = tuning.maxQueued ?? 20_000;
    this.rememberIds = tuning.rememberIds ?? 100_000;
  }

  submit(item: IntakeItem): Promise<SubmitOutcome> {
    if (this.closed) return Promise.reject(unavailable('this node is shutting down'));
    if (this.recent.has(item.payloadId)) return DUPLICATE;
    const same = this.open.get(item.payloadId);
    if (same) return same.done.then(() => 'duplicate');
    if (this.queue.length >= this.maxQueued)
      return Promise.reject(unavailable('intake queue full; retry or use another node'));
    let resolve!: (outcome: SubmitOutcome) => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<SubmitOutcome>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const queued: Queued = { item, done, resolve, reject };
    this.queue.push(queued);
    this.open.set(item.payloadId, queued);
    this.schedule();
    return done;
  }

  /** 'pending' when this node made the payload durable recently (no outbox read). */
  knows(payloadId: string): boolean {
    return this.recent.has(payloadId);
  }

  /** Refuses new submissions, commits what is queued, and waits for the publishes. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.appending) {
      if (this.appending) await this.appending;
      else this.flush();
    }
    await Promise.all([...this.publishing]);
  }

  private schedule(): void {
    if (this.appending) return;
    if (this.queue.length >= this.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.appending || this.queue.length === 0) return;
    const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatch);
    this.appending = this.commit(batch).finally(() => {
      this.appending = null;
      // After the answers of this batch are written: the outbox may block the loop (SQLite fsync).
      if (this.queue.length > 0) setImmediate(() => this.flush());
    });
  }

  private async commit(batch: Queued[]): Promise<void> {
    const items = batch.map((q) => q.item);
    this.stats.appends++;
    this.metrics?.batchSize.observe(items.length);
    try {
      await this.outbox.append(items);
    } catch (error) {
      for (const q of batch) this.open.delete(q.item.payloadId);
      this.log?.({ level: 'error', msg: 'outbox append failed', count: items.length, error: String(error) });
      const refusal = unavailable('the outbox cannot take payloads now; retry or use another node');
      for (const q of batch) q.reject(refusal);
      return;
    }
    this.stats.stored += items.length;
    for (const q of batch) {
      this.open.delete(q.item.payloadId);
      this.remember(q.item.payloadId);
      q.resolve('stored');
    }
    const publish = this.publisher
      .publish(items)
      .catch((error: unknown) => {
        this.metrics?.publishFailures.inc();
        this.log?.({ level: 'error', msg: 'publish failed', count: items.length, error: String(error) });
      })
      .finally(() => this.publishing.delete(publish));
    this.publishing.add(publish);
  }

  private remember(id: string): void {
    this.recent.add(id);
    if (this.recent.size > this.rememberIds) this.recent.delete(this.recent.values().next().value as string);
  }
}
