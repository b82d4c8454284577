/**
 * The in-process comms bus: Kafka's model in one process. Topics have partitions with offsets;
 * consumer groups split partitions between members and keep committed offsets. Each partition
 * keeps a bounded tail (retention): a group that lags beyond it skips what was trimmed.
 */
import {
  CommsBusError,
  type BusMessage,
  type BusSubscription,
  type CommsBus,
  type Delivery,
  type SubscribeOptions,
  type TopicSpec,
} from './comms-bus.js';
import {
  DEFAULT_HANDLER_BACKOFF,
  DEFAULT_MAX_MESSAGE_BYTES,
  backoffMs,
  partitionForKey,
  sleep,
  validateMessages,
  validateSubscribeOptions,
  validateTopicSpecs,
  type BackoffPolicy,
  type HandlerErrorInfo,
} from './common.js';

export interface MemoryBrokerOptions {
  /** Largest message accepted (key + value + headers + framing). Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Retention per partition: the newest messages kept. Default 100,000. */
  readonly retainMessagesPerPartition?: number;
  /** Retention per partition in bytes. Default 64 MiB. */
  readonly retainBytesPerPartition?: number;
}

export interface MemoryBusOptions extends MemoryBrokerOptions {
  /** The broker this client talks to; several clients (nodes) may share one. Default: a private broker. */
  readonly broker?: MemoryBroker;
  /** Delay before a failed batch is handed over again. Default 100 ms doubling to 5 s. */
  readonly handlerBackoff?: BackoffPolicy;
  /** How long stop() waits for a running handler before abandoning its batch uncommitted. Default 30 s. */
  readonly stopTimeoutMs?: number;
  readonly onHandlerError?: (error: unknown, info: HandlerErrorInfo) => void;
}

interface Stored {
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly bytes: number;
}

class PartitionLog {
  private items: Stored[] = [];
  private start = 0;
  private first = 0;
  private bytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get firstOffset(): number {
    return this.first;
  }

  get endOffset(): number {
    return this.first + this.items.length - this.start;
  }

  append(m: Stored): void {
    this.items.push(m);
    this.bytes += m.bytes;
    while (
      this.items.length - this.start > 1 &&
      (this.items.length - this.start > this.maxMessages || this.bytes > this.maxBytes)
    ) {
      this.bytes -= this.items[this.start]!.bytes;
      this.start++;
      this.first++;
    }
    if (this.start > 4096 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  read(from: number, max: number): Stored[] {
    const i = this.start + (from - this.first);
    return this.items.slice(i, i + max);
  }
}

class Topic {
  readonly logs: PartitionLog[];
  private nextRoundRobin = 0;

  constructor(
    readonly name: string,
    partitions: number,
    maxMessages: number,
    maxBytes: number,
  ) {
    this.logs = Array.from({ length: partitions }, () => new PartitionLog(maxMessages, maxBytes));
  }

  partitionFor(key: string | null): number {
    if (key !== null) return partitionForKey(key, this.logs.length);
    const p = this.nextRoundRobin;
    this.nextRoundRobin = (p + 1) % this.logs.length;
    return p;
  }
}

interface Claim {
  readonly partition: number;
  readonly deliveries: readonly Delivery[];
  readonly next: number;
}

/** One group's state on one topic: committed offsets, members, partition owners and locks. */
class GroupState {
  /** Next offset to deliver per partition; undefined means "from the oldest retained". */
  readonly committed: (number | undefined)[];
  readonly owner: (Member | undefined)[];
  /** A partition is locked while a batch from it is being handled (by its owner or a former owner). */
  readonly locked: boolean[];
  members: Member[] = [];

  constructor(
    readonly name: string,
    readonly topic: Topic,
  ) {
    const n = topic.logs.length;
    this.committed = new Array<number | undefined>(n).fill(undefined);
    this.owner = new Array<Member | undefined>(n).fill(undefined);
    this.locked = new Array<boolean>(n).fill(false);
  }

  join(m: Member): void {
    this.members.push(m);
    this.rebalance();
  }

  leave(m: Member): void {
    this.members = this.members.filter((x) => x !== m);
    this.rebalance();
  }

  private rebalance(): void {
    const n = this.members.length;
    for (const m of this.members) m.assigned = [];
    for (let p = 0; p < this.owner.length; p++) {
      const m = n === 0 ? undefined : this.members[p % n];
      this.owner[p] = m;
      m?.assigned.push(p);
    }
    this.wakeAll();
  }

  wakeAll(): void {
    for (const m of this.members) m.wake();
  }

  claim(m: Member, from: number, maxBatch: number): Claim | undefined {
    const parts = m.assigned;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[(from + i) % parts.length]!;
      if (this.owner[p] !== m || this.locked[p]) continue;
      const log = this.topic.logs[p]!;
      const pos = Math.max(this.committed[p] ?? log.firstOffset, log.firstOffset);
      if (pos >= log.endOffset) continue;
      const stored = log.read(pos, maxBatch);
      this.locked[p] = true;
      m.cursor = (from + i + 1) % parts.length;
      const deliveries = stored.map((s, j): Delivery =>
        Object.freeze({
          topic: this.topic.name,
          partition: p,
          offset: BigInt(pos + j),
          key: s.key,
          value: s.value.slice(),
          ...(s.headers ? { headers: s.headers } : {}),
        }),
      );
      return { partition: p, deliveries: Object.freeze(deliveries), next: pos + stored.length };
    }
    return undefined;
  }

  release(p: number, commitTo?: number): void {
    if (commitTo !== undefined && commitTo > (this.committed[p] ?? -1)) this.committed[p] = commitTo;
    this.locked[p] = false;
    this.wakeAll();
  }
}

type Outcome = 'ok' | 'failed' | 'abandoned';

class Member implements BusSubscription {
  assigned: number[] = [];
  cursor = 0;
  private stopped = false;
  private abandoned = false;
  private pendingWake = false;
  private wakeWaiter: (() => void) | undefined;
  private abandonWaiter: ((o: Outcome) => void) | undefined;
  private readonly stopSignal = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly group: GroupState,
    private readonly maxBatch: number,
    private readonly handler: (batch: readonly Delivery[]) => Promise<void>,
    private readonly opts: Required<Pick<MemoryBusOptions, 'handlerBackoff' | 'stopTimeoutMs'>> &
      Pick<MemoryBusOptions, 'onHandlerError'>,
    private readonly onStopped: (m: Member) => void,
  ) {}

  start(): void {
    this.group.join(this);
    this.loopDone = this.loop();
  }

  wake(): void {
    const w = this.wakeWaiter;
    if (w) {
      this.wakeWaiter = undefined;
      w();
    } else {
      this.pendingWake = true;
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    this.group.leave(this);
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.abandoned = true;
        this.abandonWaiter?.('abandoned');
        resolve();
      }, this.opts.stopTimeoutMs);
    });
    await Promise.race([this.loopDone, timedOut]);
    clearTimeout(timer);
    this.onStopped(this);
  }

  private async loop(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (!this.stopped) {
      const claim = this.group.claim(this, this.cursor, this.maxBatch);
      if (!claim) {
        await this.waitForWake();
        continue;
      }
      await this.process(claim);
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  private waitForWake(): Promise<void> {
    if (this.pendingWake || this.stopped) {
      this.pendingWake = false;
      return new Promise<void>((r) => setImmediate(r));
    }
    return new Promise<void>((r) => {
      this.wakeWaiter = r;
    });
  }

  private async process(claim: Claim): Promise<void> {
    const { partition } = claim;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.runHandler(claim.deliveries, attempt);
      if (outcome === 'abandoned') {
        this.group.release(partition);
        return;
      }
      if (outcome === 'ok') {
        this.group.release(partition, claim.next);
        return;
      }
      if (this.stopped || this.group.owner[partition] !== this) {
        this.group.release(partition);
        return;
      }
      await sleep(backoffMs(this.opts.handlerBackoff, attempt), this.stopSignal.signal);
      if (this.stopped || this.group.owner[partition] !== this) {
        this.group.release(partition);
        return;
      }
    }
  }

  private runHandler(batch: readonly Delivery[], attempt: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const settle = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        this.abandonWaiter = undefined;
        resolve(o);
      };
      this.abandonWaiter = settle;
      let result: Promise<void>;
      try {
        result = this.handler(batch);
      } catch (e) {
        result = Promise.reject(e);
      }
      Promise.resolve(result).then(
        () => settle(this.abandoned ? 'abandoned' : 'ok'),
        (e: unknown) => {
          this.reportError(e, batch[0]?.partition ?? -1, attempt);
          settle(this.abandoned ? 'abandoned' : 'failed');
        },
      );
    });
  }

  private reportError(e: unknown, partition: number, attempt: number): void {
    try {
      this.opts.onHandlerError?.(e, {
        topic: this.group.topic.name,
        group: this.group.name,
        partition,
        attempt,
      });
    } catch {
      // an observer's failure must not stop delivery
    }
  }
}

/** The shared state of an in-process "cluster": topics, partitions, groups and their offsets. */
export class MemoryBroker {
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, GroupState>();
  private readonly wakeScheduled = new Set<string>();
  readonly maxMessageBytes: number;
  private readonly retainMessages: number;
  private readonly retainBytes: number;

  constructor(options: MemoryBrokerOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.retainMessages = options.retainMessagesPerPartition ?? 100_000;
    this.retainBytes = options.retainBytesPerPartition ?? 64 * 1024 * 1024;
  }

  ensureTopics(topics: readonly TopicSpec[]): void {
    validateTopicSpecs(topics);
    for (const t of topics) {
      if (!this.topics.has(t.name)) {
        this.topics.set(t.name, new Topic(t.name, t.partitions, this.retainMessages, this.retainBytes));
      }
    }
  }

  append(topic: string, messages: readonly BusMessage[]): void {
    const sizes = validateMessages(topic, messages, this.maxMessageBytes);
    if (messages.length === 0) return;
    const t = this.topic(topic);
    messages.forEach((m, i) => {
      const headers =
        m.headers && Object.keys(m.headers).length > 0 ? Object.freeze({ ...m.headers }) : undefined;
      const stored: Stored = { key: m.key, value: m.value.slice(), headers, bytes: sizes[i]! };
      t.logs[t.partitionFor(m.key)]!.append(stored);
    });
    this.scheduleWake(topic);
  }

  /**
   * The group's state on the topic. A group without members that starts at the end gets committed
   * offsets at the end of every partition it has none for (as the Kafka adapter does).
   */
  group(topic: string, group: string, fromBeginning: boolean): GroupState {
    const t = this.topic(topic);
    const key = `${group}\u0000${topic}`;
    let g = this.groups.get(key);
    if (!g) {
      g = new GroupState(group, t);
      this.groups.set(key, g);
    }
    if (!fromBeginning && g.members.length === 0) {
      const state = g;
      t.logs.forEach((log, p) => {
        if (state.committed[p] === undefined) state.committed[p] = log.endOffset;
      });
    }
    return g;
  }

  private topic(name: string): Topic {
    const t = this.topics.get(name);
    if (!t) throw new CommsBusError('UNKNOWN_TOPIC', `topic ${name} does not exist`);
    return t;
  }

  private scheduleWake(topic: string): void {
    if (this.wakeScheduled.has(topic)) return;
    this.wakeScheduled.add(topic);
    setImmediate(() => {
      this.wakeScheduled.delete(topic);
      for (const g of this.groups.values()) if (g.topic.name === topic) g.wakeAll();
    });
  }
}

/** A client of a MemoryBroker; closing it stops only its own subscriptions. */
export class MemoryCommsBus implements CommsBus {
  readonly broker: MemoryBroker;
  private readonly members = new Set<Member>();
  private closed = false;
  private readonly memberOpts: Required<Pick<MemoryBusOptions, 'handlerBackoff' | 'stopTimeoutMs'>> &
    Pick<MemoryBusOptions, 'onHandlerError'>;

  constructor(options: MemoryBusOptions = {}) {
    this.broker = options.broker ?? new MemoryBroker(options);
    this.memberOpts = {
      handlerBackoff: options.handlerBackoff ?? DEFAULT_HANDLER_BACKOFF,
      stopTimeoutMs: options.stopTimeoutMs ?? 30_000,
      onHandlerError: options.onHandlerError,
    };
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.assertOpen();
    this.broker.ensureTopics(topics);
  }

  async publish(topic: string, messages: readonly BusMessage[]): Promise<void> {
    this.assertOpen();
    this.broker.append(topic, messages);
    // Yield a macrotask so a publisher in a loop leaves room for the consumers.
    await new Promise<void>((r) => setImmediate(r));
  }

  async subscribe(
    topic: string,
    options: SubscribeOptions,
    handler: (batch: readonly Delivery[]) => Promise<void>,
  ): Promise<BusSubscription> {
    this.assertOpen();
    const maxBatch = validateSubscribeOptions(topic, options);
    if (typeof handler !== 'function') throw new CommsBusError('BAD_REQUEST', 'handler must be a function');
    const group = this.broker.group(topic, options.group, options.fromBeginning);
    const member = new Member(group, maxBatch, handler, this.memberOpts, (m) => this.members.delete(m));
    this.members.add(member);
    member.start();
    return member;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.members].map((m) => m.stop()));
  }

  private assertOpen(): void {
    if (this.closed) throw new CommsBusError('BUS_UNAVAILABLE', 'the bus is closed');
  }
}
