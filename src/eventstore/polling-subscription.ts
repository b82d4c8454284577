import { AsyncLocalStorage } from 'node:async_hooks';
import { storeError } from './common.js';
import type { RecordedEvent, Subscription, SubscriptionHandlers } from './event-store.js';

/**
 * Where a polling subscription reads. Gap-freedom is the source's job: once readPage has returned
 * an event at position p, no event below p may become visible later (SQLite: one writer at a time;
 * PostgreSQL: positions are taken under a lock held until commit).
 */
export interface PollSource {
  /** Events after `after` (null: from the beginning) in global-position order, at most `max`. */
  readPage(after: bigint | null, max: number): Promise<readonly RecordedEvent[]>;
  /** Calls `listener` after commits this source hears of; returns the function that unregisters it. */
  onCommit(listener: () => void): () => void;
}

export interface PollOptions {
  /** Longest wait between two reads once live: the fallback for commits no notification reports. */
  readonly pollIntervalMs: number;
  readonly pageSize: number;
}

/** The subscription whose onEvent is running, so stop() called from inside a handler does not wait on itself. */
export const runningHandler = new AsyncLocalStorage<Subscription>();

/**
 * Catch-up then live over readPage: reads pages until one comes back short (caught up), then waits
 * for a commit notification or the poll interval, whichever comes first, and reads again.
 */
export class PollingSubscription implements Subscription {
  readonly caughtUp: Promise<void>;
  private readonly done: Promise<void>;
  private stopped = false;
  private isCaughtUp = false;
  /** Set by a commit notification; a read that starts later clears it. */
  private dirty = false;
  private wake: (() => void) | null = null;
  private resolveCaughtUp: () => void = () => undefined;
  private rejectCaughtUp: (error: unknown) => void = () => undefined;

  constructor(
    private readonly source: PollSource,
    after: bigint | null,
    private readonly handlers: SubscriptionHandlers,
    private readonly options: PollOptions,
    onFinished: (subscription: PollingSubscription) => void,
  ) {
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    // Callers that never await caughtUp must not see an unhandled rejection.
    this.caughtUp.catch(() => undefined);
    const unregister = source.onCommit(() => this.signal());
    this.done = this.run(after).finally(() => {
      unregister();
      onFinished(this);
    });
  }

  /** Resolves once no handler runs and none will; called from inside onEvent it does not wait. */
  stop(): Promise<void> {
    this.stopped = true;
    this.signal();
    return runningHandler.getStore() === this ? Promise.resolve() : this.done;
  }

  private signal(): void {
    this.dirty = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(finish, this.options.pollIntervalMs);
      this.wake = finish;
    });
  }

  // Runs until stopped or failed: each turn reads one page or waits at most pollIntervalMs.
  private async run(after: bigint | null): Promise<void> {
    let last = after;
    try {
      while (!this.stopped) {
        this.dirty = false;
        const page = await this.source.readPage(last, this.options.pageSize);
        for (const event of page) {
          if (this.stopped) return;
          if (last !== null && event.globalPosition <= last)
            throw storeError('CORRUPT_RECORD', `position ${event.globalPosition} read after ${last}`);
          await runningHandler.run(this, () => this.handlers.onEvent(event));
          last = event.globalPosition;
        }
        if (page.length < this.options.pageSize && !this.stopped) {
          if (!this.isCaughtUp) {
            this.isCaughtUp = true;
            this.handlers.onCaughtUp?.();
            this.resolveCaughtUp();
          }
          if (!this.dirty) await this.sleep();
        }
      }
    } catch (error) {
      if (!this.stopped) {
        this.stopped = true;
        this.rejectCaughtUp(error);
        try {
          this.handlers.onError?.(error);
        } catch {
          // The subscription is already over; an onError that throws has nobody left to tell.
        }
      }
    } finally {
      this.stopped = true;
      if (!this.isCaughtUp)
        this.rejectCaughtUp(storeError('STORE_UNAVAILABLE', 'the subscription stopped before it caught up'));
    }
  }
}

/** The subscriptions of one store, so close() can stop them all. */
export class SubscriptionSet {
  private readonly live = new Set<Subscription>();

  add<S extends Subscription>(subscription: S): S {
    this.live.add(subscription);
    return subscription;
  }

  delete(subscription: Subscription): void {
    this.live.delete(subscription);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.live].map((s) => s.stop()));
    this.live.clear();
  }
}

/** In-process commit notifications: a store calls notify() after each commit that wrote events. */
export class CommitSignal {
  private readonly listeners = new Set<() => void>();

  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
