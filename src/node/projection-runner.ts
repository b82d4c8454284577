import type { LedgerRecord } from '../../domain/processor/events.js';
import type { ReadModels } from '../../projections/index.js';
import type { EventStore } from '../eventstore/event-store.js';
import { ledgerRecordOf, STREAMS } from './node-runtime.js';

const CATCH_UP_BATCH = 1000;

/**
 * Keeps the read models up with stream `ledger`. Records handed over live are projected at once
 * when they continue the checkpoint; anything else (a start behind, a failed batch) is read back
 * from the store, which stays the source of truth. One batch at a time.
 */
export class ProjectionRunner {
  private checkpoint = -1;
  private target = 0;
  private running: Promise<void> | null = null;
  private queued: LedgerRecord[] = [];
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly readModels: ReadModels,
    private readonly store: EventStore,
    private readonly log: (
      level: 'warn' | 'error',
      message: string,
      fields?: Record<string, unknown>,
    ) => void,
  ) {}

  async start(ledgerSize: number): Promise<void> {
    this.checkpoint = await this.readModels.checkpoint();
    this.target = ledgerSize;
    await this.kick();
  }

  /** Records just made durable in `ledger`, in order. */
  offer(records: readonly LedgerRecord[]): void {
    if (records.length === 0) return;
    const last = records[records.length - 1]!.ledgerIndex + 1;
    if (last > this.target) this.target = last;
    for (const r of records) this.queued.push(r);
    void this.kick();
  }

  /** Records in `ledger` the read models do not reflect yet. */
  get lag(): number {
    return Math.max(0, this.target - (this.checkpoint + 1));
  }

  /** Resolves once the read models reflect every record offered so far. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.settled();
  }

  private kick(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.checkpoint + 1 < this.target) {
      try {
        const batch = this.takeQueued() ?? (await this.readFromStore());
        if (batch.length === 0) return;
        await this.readModels.project(batch);
        this.checkpoint = batch[batch.length - 1]!.ledgerIndex;
        this.failures = 0;
      } catch (err) {
        this.queued = [];
        this.failures++;
        this.log('warn', 'projecting the ledger failed; retrying from the store', {
          error: String(err),
          checkpoint: this.checkpoint,
        });
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** this.failures, 5000)));
        this.checkpoint = await this.readModels.checkpoint().catch(() => this.checkpoint);
      }
    }
  }

  /** The queued records that continue the checkpoint, or null when there are none. */
  private takeQueued(): LedgerRecord[] | null {
    const next = this.checkpoint + 1;
    let start = 0;
    while (start < this.queued.length && this.queued[start]!.ledgerIndex < next) start++;
    if (start === this.queued.length || this.queued[start]!.ledgerIndex !== next) {
      this.queued = this.queued.slice(start);
      return null;
    }
    const batch = this.queued.slice(start);
    this.queued = [];
    return batch;
  }

  private async readFromStore(): Promise<LedgerRecord[]> {
    const out: LedgerRecord[] = [];
    for await (const e of this.store.readStream(STREAMS.ledger, {
      fromRevision: BigInt(this.checkpoint + 1),
      maxCount: CATCH_UP_BATCH,
    }))
      out.push(ledgerRecordOf(e.data));
    return out;
  }
}
