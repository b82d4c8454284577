import type { IntakeItem, IntakeOutbox } from '../api/ports.js';
import type { EventStore } from '../eventstore/event-store.js';
import { SqliteWriterThread, type StreamAppender } from '../eventstore/sqlite-writer.js';

export const INTAKE_STREAM = 'intake';
export const INTAKE_EVENT_TYPE = 'PayloadAccepted.Intake';

/**
 * The durable outbox of envelopes this node's API accepted: stream `intake` of its own store,
 * one event per payload id (the store skips ids it already holds). An entry stays pending until
 * the ledger decides its payload; pending entries are what a restarted node publishes again.
 */
export class EventStoreIntakeOutbox implements IntakeOutbox {
  private readonly pending = new Map<string, { bytes: Uint8Array; since: number }>();

  /** `writer` appends to the same store (e.g. a SqliteWriterThread); by default the store itself. */
  constructor(
    private readonly store: EventStore,
    private readonly now: () => number = Date.now,
    private readonly writer: StreamAppender & { close?(): Promise<void> } = store,
  ) {}

  /**
   * The outbox of a node's store. On a SQLite file its appends (and their fsync) run in a writer
   * thread off the event loop; `close` stops that thread.
   */
  static async open(
    store: EventStore,
    now: () => number = Date.now,
    options: { readonly writerThread?: boolean } = {},
  ): Promise<EventStoreIntakeOutbox> {
    const writer = options.writerThread === false ? null : await SqliteWriterThread.for(store);
    return new EventStoreIntakeOutbox(store, now, writer ?? store);
  }

  async append(items: readonly IntakeItem[]): Promise<void> {
    if (items.length === 0) return;
    // A writer thread that died leaves the store's own connection to carry on.
    const writer = this.writer instanceof SqliteWriterThread && this.writer.broken ? this.store : this.writer;
    await writer.append(
      INTAKE_STREAM,
      items.map((i) => ({ eventId: i.payloadId, type: INTAKE_EVENT_TYPE, data: i.bytes })),
      'any',
    );
    const since = this.now();
    for (const i of items)
      if (!this.pending.has(i.payloadId)) this.pending.set(i.payloadId, { bytes: i.bytes, since });
  }

  status(payloadId: string): Promise<'pending' | null> {
    return Promise.resolve(this.pending.has(payloadId) ? 'pending' : null);
  }

  /** The ledger decided these (accepted or rejected): they are no longer pending. */
  decided(payloadIds: Iterable<string>): void {
    for (const id of payloadIds) this.pending.delete(id);
  }

  /**
   * Reloads what the store holds that `isDecided` does not know, returned for publishing again.
   * Expired entries stay out: the ledger forgets ids once they expire, so one sent again would be
   * decided a second time.
   */
  async restore(isDecided: (payloadId: string) => boolean): Promise<Uint8Array[]> {
    const since = this.now();
    for await (const e of this.store.readStream(INTAKE_STREAM))
      if (!isDecided(e.eventId) && !expired(e.data, since))
        this.pending.set(e.eventId, { bytes: e.data, since });
    return [...this.pending.values()].map((p) => p.bytes);
  }

  /** Seconds the oldest pending payload has waited (0 when none). */
  oldestPendingSeconds(): number {
    // Entries go in with a non-decreasing `since`, so the first is the oldest.
    const first = this.pending.values().next();
    return first.done ? 0 : (this.now() - first.value.since) / 1000;
  }

  get size(): number {
    return this.pending.size;
  }

  /** True when appends run in a writer thread rather than on the store's own connection. */
  get writesInThread(): boolean {
    return this.writer !== this.store;
  }

  /** Waits for the appends under way and stops the writer thread, if any (not the store). */
  async close(): Promise<void> {
    if (this.writer !== this.store) await this.writer.close?.();
  }
}

function expired(envelope: Uint8Array, nowMs: number): boolean {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(envelope)) as { payload?: { expiresAt?: unknown } };
    const at = parsed.payload?.expiresAt;
    return typeof at === 'number' && at < nowMs;
  } catch {
    return true;
  }
}
