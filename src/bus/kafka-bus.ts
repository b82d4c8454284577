/**
 * The Kafka comms bus (kafkajs). The only module that imports kafkajs. One admin and one producer per
 * bus, created on first use, and one consumer per subscription. At-least-once: offsets are
 * committed explicitly after the handler resolves; a failed handler gets the same batch again.
 */
import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  EachBatchPayload,
  Kafka,
  KafkaMessage,
  LogEntry,
  Message,
  Producer,
} from 'kafkajs';
import {
  CommsBusError,
  type BusMessage,
  type BusSubscription,
  type CommsBus,
  type CommsBusErrorCode,
  type Delivery,
  type SubscribeOptions,
  type TopicSpec,
} from './comms-bus.js';
import {
  DEFAULT_HANDLER_BACKOFF,
  DEFAULT_MAX_MESSAGE_BYTES,
  backoffMs,
  describeError,
  sleep,
  validateMessages,
  validateSubscribeOptions,
  validateTopicName,
  validateTopicSpecs,
  withTimeout,
  type BackoffPolicy,
  type HandlerErrorInfo,
} from './common.js';

const { Kafka: KafkaClient, logLevel: KafkaLogLevel, CompressionTypes, Partitioners } = kafkajs;

export type KafkaBusLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaBusLogEntry {
  readonly level: string;
  readonly namespace: string;
  readonly message: string;
  readonly extra: Readonly<Record<string, unknown>>;
}

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Replication factor of topics that ensureTopics creates. Default 1. */
  readonly replicationFactor?: number;
  /** Largest message accepted (key + value + headers + framing). Default 1 MiB; the broker allows 2 MiB. */
  readonly maxMessageBytes?: number;
  /** Publishes are sent in requests of at most this many bytes. Default 1 MiB. */
  readonly maxRequestBytes?: number;
  /** Idempotent producer (falls back to a plain one when the broker refuses it). Default true. */
  readonly idempotent?: boolean;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** kafkajs retries of each request: enough to ride out a broker restart. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number; readonly retries?: number };
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  /** Consumer fetch size per partition. Default 2 MiB (at least 1 MiB). */
  readonly maxBytesPerPartition?: number;
  readonly maxWaitTimeMs?: number;
  /** How long subscribe() waits for the consumer to join its group. Default 60 s. */
  readonly joinTimeoutMs?: number;
  /** How long stop() waits for a running handler before abandoning its batch uncommitted. Default 30 s. */
  readonly stopTimeoutMs?: number;
  readonly handlerBackoff?: BackoffPolicy;
  /** Told of every handler failure. Default: an ERROR entry in the log. */
  readonly onHandlerError?: (error: unknown, info: HandlerErrorInfo) => void;
  /** Default 'error'. */
  readonly logLevel?: KafkaBusLogLevel;
  /** Default: one JSON line per entry on stderr. */
  readonly log?: (entry: KafkaBusLogEntry) => void;
}

interface Config {
  readonly replicationFactor: number;
  readonly maxMessageBytes: number;
  readonly maxRequestBytes: number;
  readonly idempotent: boolean;
  readonly requestTimeoutMs: number;
  readonly retry: {
    readonly initialRetryTime: number;
    readonly maxRetryTime: number;
    readonly retries: number;
  };
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxWaitTimeMs: number;
  readonly joinTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly handlerBackoff: BackoffPolicy;
  readonly onHandlerError: ((error: unknown, info: HandlerErrorInfo) => void) | undefined;
  readonly log: (entry: KafkaBusLogEntry) => void;
}

const LOG_LEVELS: Record<KafkaBusLogLevel, number> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

const LEVEL_BY_LABEL: Readonly<Record<string, number>> = {
  ERROR: KafkaLogLevel.ERROR,
  WARN: KafkaLogLevel.WARN,
  INFO: KafkaLogLevel.INFO,
  DEBUG: KafkaLogLevel.DEBUG,
};

/** kafkajs logs these protocol answers as errors, though they are part of normal operation. */
const ROUTINE_ERRORS = /rebalancing|coordinator is loading|not the correct coordinator|member id/i;

function routineError(namespace: string, extra: Readonly<Record<string, unknown>>): boolean {
  return (
    namespace === 'Connection' && typeof extra['error'] === 'string' && ROUTINE_ERRORS.test(extra['error'])
  );
}

const CODE_BY_TYPE: Readonly<Record<string, CommsBusErrorCode>> = {
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  RECORD_LIST_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  UNKNOWN_TOPIC_OR_PARTITION: 'UNKNOWN_TOPIC',
  UNKNOWN_TOPIC_ID: 'UNKNOWN_TOPIC',
  INVALID_TOPIC_EXCEPTION: 'BAD_REQUEST',
  INVALID_PARTITIONS: 'BAD_REQUEST',
  INVALID_REPLICATION_FACTOR: 'BAD_REQUEST',
  INVALID_REPLICA_ASSIGNMENT: 'BAD_REQUEST',
  INVALID_CONFIG: 'BAD_REQUEST',
  INVALID_REQUEST: 'BAD_REQUEST',
  INVALID_GROUP_ID: 'BAD_REQUEST',
  INVALID_SESSION_TIMEOUT: 'BAD_REQUEST',
  POLICY_VIOLATION: 'BAD_REQUEST',
  TOPIC_AUTHORIZATION_FAILED: 'BAD_REQUEST',
  GROUP_AUTHORIZATION_FAILED: 'BAD_REQUEST',
  CLUSTER_AUTHORIZATION_FAILED: 'BAD_REQUEST',
};

const REBALANCE_TYPES = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
  'FENCED_INSTANCE_ID',
]);

/** How many fresh producers one send may try before it reports the failure. */
const PRODUCER_RESETS = 8;
/** Fresh idempotent producers tried before a plain one. */
const IDEMPOTENT_RESETS = 3;

/** Producer states that only a new producer id clears. */
const PRODUCER_RESET_TYPES = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

const IDEMPOTENCE_REFUSED_TYPES = new Set([
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);

/** The kafkajs error types in an error, its causes and aggregated errors. */
export function kafkaErrorTypes(e: unknown, depth = 0): string[] {
  if (depth > 5 || typeof e !== 'object' || e === null) return [];
  const r = e as { type?: unknown; cause?: unknown; errors?: unknown; groups?: unknown };
  const out = typeof r.type === 'string' ? [r.type] : [];
  if (r.cause !== undefined && r.cause !== e) out.push(...kafkaErrorTypes(r.cause, depth + 1));
  if (Array.isArray(r.errors)) for (const x of r.errors) out.push(...kafkaErrorTypes(x, depth + 1));
  if (Array.isArray(r.groups)) {
    for (const g of r.groups) out.push(...kafkaErrorTypes((g as { error?: unknown }).error, depth + 1));
  }
  return out;
}

/** Maps a kafkajs error to a CommsBusError; anything unrecognized is BUS_UNAVAILABLE. */
export function toCommsBusError(e: unknown, context: string): CommsBusError {
  if (e instanceof CommsBusError) return e;
  let code: CommsBusErrorCode = 'BUS_UNAVAILABLE';
  for (const t of kafkaErrorTypes(e)) {
    const c = CODE_BY_TYPE[t];
    if (c) {
      code = c;
      break;
    }
  }
  const err = new CommsBusError(code, `${context}: ${describeError(e)}`);
  err.cause = e;
  return err;
}

const hasType = (e: unknown, types: ReadonlySet<string>): boolean =>
  kafkaErrorTypes(e).some((t) => types.has(t));

export class KafkaCommsBus implements CommsBus {
  private readonly kafka: Kafka;
  private readonly cfg: Config;
  private admin: Promise<Admin> | undefined;
  private producer: Promise<Producer> | undefined;
  private idempotent: boolean;
  private readonly knownTopics = new Set<string>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closed = false;

  constructor(options: KafkaBusOptions) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
      throw new CommsBusError('BAD_REQUEST', 'at least one broker address is needed');
    }
    const sink =
      options.log ?? ((entry: KafkaBusLogEntry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
    const threshold = LOG_LEVELS[options.logLevel ?? 'error'];
    const log = (entry: KafkaBusLogEntry): void => {
      if ((LEVEL_BY_LABEL[entry.level] ?? KafkaLogLevel.ERROR) <= threshold) sink(entry);
    };
    for (const [name, v] of Object.entries(options)) {
      if (name.endsWith('Ms') || name.endsWith('Bytes') || name === 'replicationFactor') {
        if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1)) {
          throw new CommsBusError('BAD_REQUEST', `${name} must be a positive integer`);
        }
      }
    }
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    if (heartbeatIntervalMs * 3 > sessionTimeoutMs) {
      throw new CommsBusError(
        'BAD_REQUEST',
        'heartbeatIntervalMs must be at most a third of sessionTimeoutMs',
      );
    }
    this.cfg = {
      replicationFactor: options.replicationFactor ?? 1,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      maxRequestBytes: options.maxRequestBytes ?? 1024 * 1024,
      idempotent: options.idempotent ?? true,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      retry: {
        initialRetryTime: options.retry?.initialMs ?? 300,
        maxRetryTime: options.retry?.maxMs ?? 5_000,
        retries: options.retry?.retries ?? 10,
      },
      sessionTimeoutMs,
      heartbeatIntervalMs,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 30_000,
      maxBytesPerPartition: Math.max(1024 * 1024, options.maxBytesPerPartition ?? 2 * 1024 * 1024),
      maxWaitTimeMs: options.maxWaitTimeMs ?? 250,
      joinTimeoutMs: options.joinTimeoutMs ?? 60_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 30_000,
      handlerBackoff: options.handlerBackoff ?? DEFAULT_HANDLER_BACKOFF,
      onHandlerError:
        options.onHandlerError ??
        ((error, info) =>
          log({
            level: 'ERROR',
            namespace: 'KafkaCommsBus',
            message: `handler failed (attempt ${info.attempt}); the batch will be handed over again: ${describeError(error)}`,
            extra: { ...info },
          })),
      log,
    };
    this.idempotent = this.cfg.idempotent;
    this.kafka = new KafkaClient({
      brokers: [...options.brokers],
      clientId: options.clientId ?? 'dagger',
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: this.cfg.requestTimeoutMs,
      retry: this.cfg.retry,
      logLevel: threshold,
      logCreator:
        () =>
        ({ namespace, label, log: content }: LogEntry) => {
          const { message, timestamp: _t, ...extra } = content;
          log({ level: routineError(namespace, extra) ? 'INFO' : label, namespace, message, extra });
        },
    });
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.assertOpen();
    validateTopicSpecs(topics);
    if (topics.length === 0) return;
    const admin = await this.getAdmin();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          timeout: this.cfg.requestTimeoutMs,
          topics: missing.map((t) => ({
            topic: t.name,
            numPartitions: t.partitions,
            replicationFactor: this.cfg.replicationFactor,
          })),
        });
      }
    } catch (e) {
      const types = kafkaErrorTypes(e);
      const raced = types.length > 0 && types.every((t) => t === 'TOPIC_ALREADY_EXISTS');
      if (!raced) throw toCommsBusError(e, 'ensureTopics');
    }
    for (const t of topics) this.knownTopics.add(t.name);
  }

  async publish(topic: string, messages: readonly BusMessage[]): Promise<void> {
    this.assertOpen();
    const sizes = validateMessages(topic, messages, this.cfg.maxMessageBytes);
    if (messages.length === 0) return;
    await this.assertTopic(topic);
    let chunk: Message[] = [];
    let bytes = 0;
    for (let i = 0; i < messages.length; i++) {
      const size = sizes[i]!;
      if (chunk.length > 0 && bytes + size > this.cfg.maxRequestBytes) {
        await this.send(topic, chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(toKafkaMessage(messages[i]!));
      bytes += size;
    }
    await this.send(topic, chunk);
  }

  async subscribe(
    topic: string,
    options: SubscribeOptions,
    handler: (batch: readonly Delivery[]) => Promise<void>,
  ): Promise<BusSubscription> {
    this.assertOpen();
    const maxBatch = validateSubscribeOptions(topic, options);
    if (typeof handler !== 'function') throw new CommsBusError('BAD_REQUEST', 'handler must be a function');
    await this.assertTopic(topic);
    const seed = options.fromBeginning ? [] : await this.startOffsets(topic, options.group);
    const sub = new KafkaSubscription(
      this.kafka,
      this.cfg,
      topic,
      options.group,
      options.fromBeginning,
      maxBatch,
      handler,
      (s) => this.subscriptions.delete(s),
    );
    this.subscriptions.add(sub);
    try {
      await sub.start(seed);
    } catch (e) {
      await sub.stop();
      throw toCommsBusError(e, `subscribe ${topic} (group ${options.group})`);
    }
    if (this.closed) {
      await sub.stop();
      throw new CommsBusError('BUS_UNAVAILABLE', 'the bus was closed');
    }
    return sub;
  }

  /** Deletes topics (beyond the port: for tests and operators). Topics that do not exist are ignored. */
  async deleteTopics(topics: readonly string[]): Promise<void> {
    this.assertOpen();
    topics.forEach(validateTopicName);
    if (topics.length === 0) return;
    const admin = await this.getAdmin();
    try {
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length > 0)
        await admin.deleteTopics({ topics: present, timeout: this.cfg.requestTimeoutMs });
    } catch (e) {
      if (!hasType(e, new Set(['UNKNOWN_TOPIC_OR_PARTITION']))) throw toCommsBusError(e, 'deleteTopics');
    }
    for (const t of topics) this.knownTopics.delete(t);
  }

  /** A group's committed offset (null when none) and the end offset of each partition (beyond the port). */
  async groupOffsets(
    topic: string,
    group: string,
  ): Promise<{ partition: number; committed: bigint | null; end: bigint }[]> {
    this.assertOpen();
    await this.assertTopic(topic);
    const admin = await this.getAdmin();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      return ends
        .map((e) => {
          const c = committed?.partitions.find((p) => p.partition === e.partition);
          const offset = c ? BigInt(c.offset) : -1n;
          return { partition: e.partition, committed: offset < 0n ? null : offset, end: BigInt(e.high) };
        })
        .sort((a, b) => a.partition - b.partition);
    } catch (e) {
      throw toCommsBusError(e, `reading the offsets of group ${group}`);
    }
  }

  /** Deletes consumer groups that have no members (beyond the port). Unknown groups are ignored. */
  async deleteGroups(groups: readonly string[]): Promise<void> {
    this.assertOpen();
    if (groups.length === 0) return;
    const admin = await this.getAdmin();
    try {
      await admin.deleteGroups([...groups]);
    } catch (e) {
      const types = kafkaErrorTypes(e);
      if (types.length === 0 || !types.every((t) => t === 'GROUP_ID_NOT_FOUND')) {
        throw toCommsBusError(e, 'deleteGroups');
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    const clients: Promise<{ disconnect(): Promise<void> }>[] = [];
    if (this.producer) clients.push(this.producer);
    if (this.admin) clients.push(this.admin);
    this.producer = undefined;
    this.admin = undefined;
    await Promise.all(
      clients.map(async (c) => {
        try {
          const client = await c;
          await withTimeout(
            client.disconnect(),
            this.cfg.requestTimeoutMs,
            () => new Error('disconnect timed out'),
          );
        } catch {
          // a client that never connected or cannot disconnect is dropped
        }
      }),
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new CommsBusError('BUS_UNAVAILABLE', 'the bus is closed');
  }

  private async assertTopic(topic: string): Promise<void> {
    validateTopicName(topic);
    if (this.knownTopics.has(topic)) return;
    const admin = await this.getAdmin();
    let topics: string[];
    try {
      topics = await admin.listTopics();
    } catch (e) {
      throw toCommsBusError(e, `looking up topic ${topic}`);
    }
    if (!topics.includes(topic)) throw new CommsBusError('UNKNOWN_TOPIC', `topic ${topic} does not exist`);
    this.knownTopics.add(topic);
  }

  /**
   * For a group that starts at the end: the partitions it has no committed offset for, with their
   * current end offsets. Empty when the group has members (a running group has its positions).
   */
  private async startOffsets(topic: string, group: string): Promise<SeedOffset[]> {
    const admin = await this.getAdmin();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const missing = (committed?.partitions ?? [])
        .filter((p) => BigInt(p.offset) < 0n)
        .map((p) => p.partition);
      if (missing.length === 0) return [];
      const { groups } = await admin.describeGroups([group]);
      const state = groups[0]?.state;
      if (state !== undefined && state !== 'Empty' && state !== 'Dead') return [];
      const ends = await admin.fetchTopicOffsets(topic);
      return ends
        .filter((e) => missing.includes(e.partition))
        .map((e) => ({ partition: e.partition, offset: e.high }));
    } catch (e) {
      throw toCommsBusError(e, `reading the offsets of group ${group}`);
    }
  }

  private getAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin({ retry: this.cfg.retry });
      const ready = admin.connect().then(() => admin);
      this.admin = ready;
      ready.catch(() => {
        if (this.admin === ready) this.admin = undefined;
      });
    }
    return this.admin.catch((e: unknown) => {
      throw toCommsBusError(e, 'connecting the admin client');
    });
  }

  private getProducer(): Promise<Producer> {
    if (!this.producer) {
      const ready = this.connectProducer();
      this.producer = ready;
      ready.catch(() => {
        if (this.producer === ready) this.producer = undefined;
      });
    }
    return this.producer.catch((e: unknown) => {
      throw toCommsBusError(e, 'connecting the producer');
    });
  }

  private async connectProducer(): Promise<Producer> {
    const make = (idempotent: boolean): Producer =>
      this.kafka.producer({
        idempotent,
        maxInFlightRequests: 1,
        retry: this.cfg.retry,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
    const producer = make(this.idempotent);
    try {
      await producer.connect();
      return producer;
    } catch (e) {
      await producer.disconnect().catch(() => undefined);
      if (!this.idempotent || !hasType(e, IDEMPOTENCE_REFUSED_TYPES)) throw e;
      this.cfg.log({
        level: 'WARN',
        namespace: 'KafkaCommsBus',
        message: `the broker refused an idempotent producer (${describeError(e)}); using a plain one`,
        extra: {},
      });
      this.idempotent = false;
      const plain = make(false);
      await plain.connect();
      return plain;
    }
  }

  private async resetProducer(broken: Promise<Producer>): Promise<void> {
    if (this.producer !== broken) return;
    this.producer = undefined;
    try {
      const p = await broken;
      await p.disconnect();
    } catch {
      // already unusable
    }
  }

  private async send(topic: string, messages: Message[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = this.getProducer();
      const producer = await current;
      try {
        await producer.send({
          topic,
          messages,
          acks: -1,
          timeout: this.cfg.requestTimeoutMs,
          compression: CompressionTypes.None,
        });
        return;
      } catch (e) {
        // kafkajs's idempotent producer can lose its sequence across a broker restart (kafkajs
        // #598), and fresh producer ids meet the same while partitions still move. Reset and retry;
        // if it keeps happening, go on without idempotence: a retry may then duplicate a message,
        // which every consumer of the bus tolerates (payload ids, event ids).
        if (attempt < PRODUCER_RESETS && hasType(e, PRODUCER_RESET_TYPES)) {
          await this.resetProducer(current);
          if (attempt >= IDEMPOTENT_RESETS && this.idempotent) {
            this.idempotent = false;
            this.cfg.log({
              level: 'WARN',
              namespace: 'KafkaCommsBus',
              message: `the idempotent producer kept failing (${describeError(e)}); using a plain one`,
              extra: {},
            });
          }
          await sleep(backoffMs({ initialMs: 250, maxMs: 4_000 }, attempt));
          continue;
        }
        throw toCommsBusError(e, `publish to ${topic}`);
      }
    }
  }
}

function toKafkaMessage(m: BusMessage): Message {
  const value = Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength);
  return m.headers && Object.keys(m.headers).length > 0
    ? { key: m.key, value, headers: { ...m.headers } }
    : { key: m.key, value };
}

function toDelivery(topic: string, partition: number, m: KafkaMessage): Delivery {
  let headers: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one === undefined) continue;
    headers ??= {};
    headers[k] = typeof one === 'string' ? one : one.toString('utf8');
  }
  const delivery: Delivery = {
    topic,
    partition,
    offset: BigInt(m.offset),
    key: m.key === null || m.key === undefined ? null : m.key.toString('utf8'),
    value: m.value ? new Uint8Array(m.value) : new Uint8Array(0),
    ...(headers ? { headers } : {}),
  };
  return Object.freeze(delivery);
}

type Outcome = 'ok' | 'failed' | 'abandoned';

interface SeedOffset {
  readonly partition: number;
  readonly offset: string;
}

/** Sends heartbeats while a handler runs and remembers a rebalance it learns of. */
class HeartbeatPump {
  rebalance: unknown;
  private busy = false;
  private readonly timer: NodeJS.Timeout;

  constructor(heartbeat: () => Promise<void>, intervalMs: number) {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      heartbeat()
        .catch((e: unknown) => {
          if (hasType(e, REBALANCE_TYPES)) this.rebalance ??= e;
        })
        .finally(() => {
          this.busy = false;
        });
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

class KafkaSubscription implements BusSubscription {
  private readonly consumer: Consumer;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly stopSignal = new AbortController();
  private readonly abandonWaiters = new Set<(o: Outcome) => void>();
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;

  constructor(
    kafka: Kafka,
    private readonly cfg: Config,
    private readonly topic: string,
    private readonly group: string,
    private readonly fromBeginning: boolean,
    private readonly maxBatch: number,
    private readonly handler: (batch: readonly Delivery[]) => Promise<void>,
    private readonly onStopped: (s: KafkaSubscription) => void,
  ) {
    this.consumer = kafka.consumer({
      groupId: group,
      sessionTimeout: cfg.sessionTimeoutMs,
      heartbeatInterval: cfg.heartbeatIntervalMs,
      rebalanceTimeout: cfg.rebalanceTimeoutMs,
      maxBytesPerPartition: cfg.maxBytesPerPartition,
      maxBytes: Math.max(10 * 1024 * 1024, cfg.maxBytesPerPartition * 2),
      maxWaitTimeInMs: cfg.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: { ...cfg.retry, restartOnFailure: async () => !this.stopped },
    });
  }

  async start(seed: readonly SeedOffset[]): Promise<void> {
    const joined = new Promise<void>((resolve) => {
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        this.restarts = 0;
        resolve();
      });
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      this.onCrash(error, restart);
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: this.fromBeginning });
    if (seed.length > 0) await this.commitStartOffsets(seed);
    await this.run();
    await withTimeout(
      joined,
      this.cfg.joinTimeoutMs,
      () => new CommsBusError('BUS_UNAVAILABLE', `no group join within ${this.cfg.joinTimeoutMs} ms`),
    );
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /**
   * Commits the start offsets of a new group before it consumes, so that a later rebalance cannot
   * skip what arrived in between: a short run that only seeks (seeks commit when autoCommit is on).
   */
  private async commitStartOffsets(seed: readonly SeedOffset[]): Promise<void> {
    let removeListener: (() => void) | undefined;
    const fetched = new Promise<void>((resolve) => {
      removeListener = this.consumer.on(this.consumer.events.FETCH, () => resolve());
    });
    try {
      await this.consumer.run({ autoCommit: true, eachBatchAutoResolve: false, eachBatch: async () => {} });
      this.consumer.pause([{ topic: this.topic }]);
      for (const s of seed)
        this.consumer.seek({ topic: this.topic, partition: s.partition, offset: s.offset });
      await withTimeout(
        fetched,
        this.cfg.joinTimeoutMs,
        () =>
          new CommsBusError('BUS_UNAVAILABLE', `setting the start offsets of group ${this.group} timed out`),
      );
    } finally {
      removeListener?.();
      await this.consumer.stop();
    }
  }

  private run(): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private async doStop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    clearTimeout(this.restartTimer);
    const abandon = setTimeout(() => {
      for (const w of this.abandonWaiters) w('abandoned');
    }, this.cfg.stopTimeoutMs);
    try {
      await withTimeout(
        this.consumer.disconnect(),
        this.cfg.stopTimeoutMs + this.cfg.requestTimeoutMs,
        () => new Error('consumer disconnect timed out'),
      );
    } catch (e) {
      this.logWarn(`stopping the consumer of ${this.topic} (group ${this.group}): ${describeError(e)}`);
    } finally {
      clearTimeout(abandon);
      this.onStopped(this);
    }
  }

  /** kafkajs restarts on retriable crashes itself; the rest are restarted here, with a backoff. */
  private onCrash(error: Error, restartedByKafkajs: boolean): void {
    if (this.stopped) return;
    this.logWarn(`consumer of ${this.topic} (group ${this.group}) crashed: ${describeError(error)}`);
    if (restartedByKafkajs) return;
    this.restarts++;
    const delay = backoffMs({ initialMs: 1_000, maxMs: 30_000 }, this.restarts);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.run().catch((e: unknown) => this.onCrash(e instanceof Error ? e : new Error(String(e)), false));
    }, delay);
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i += this.maxBatch) {
      if (this.stopped || !payload.isRunning() || payload.isStale()) return;
      const slice = messages.slice(i, i + this.maxBatch);
      const deliveries = Object.freeze(slice.map((m) => toDelivery(batch.topic, batch.partition, m)));
      const pump = new HeartbeatPump(payload.heartbeat, this.cfg.heartbeatIntervalMs);
      try {
        if (!(await this.handleUntilDone(deliveries, payload, pump))) return;
        const last = slice[slice.length - 1]!.offset;
        payload.resolveOffset(last);
        await this.commit(payload, batch.partition, BigInt(last) + 1n);
      } finally {
        pump.stop();
      }
      if (pump.rebalance !== undefined) throw pump.rebalance;
    }
  }

  /** True once the handler succeeded; false when the batch is given up (stop, revoked partition). */
  private async handleUntilDone(
    deliveries: readonly Delivery[],
    payload: EachBatchPayload,
    pump: HeartbeatPump,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.runHandler(deliveries, attempt);
      if (outcome === 'ok') return true;
      if (outcome === 'abandoned' || this.stopped || !payload.isRunning()) return false;
      if (pump.rebalance !== undefined) throw pump.rebalance;
      await sleep(backoffMs(this.cfg.handlerBackoff, attempt), this.stopSignal.signal);
      if (this.stopped || !payload.isRunning()) return false;
      if (pump.rebalance !== undefined) throw pump.rebalance;
    }
  }

  private runHandler(batch: readonly Delivery[], attempt: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const settle = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        this.abandonWaiters.delete(settle);
        resolve(o);
      };
      this.abandonWaiters.add(settle);
      let result: Promise<void>;
      try {
        result = this.handler(batch);
      } catch (e) {
        result = Promise.reject(e);
      }
      Promise.resolve(result).then(
        () => settle('ok'),
        (e: unknown) => {
          try {
            this.cfg.onHandlerError?.(e, {
              topic: this.topic,
              group: this.group,
              partition: batch[0]?.partition ?? -1,
              attempt,
            });
          } catch {
            // an observer's failure must not stop delivery
          }
          settle('failed');
        },
      );
    });
  }

  private async commit(payload: EachBatchPayload, partition: number, next: bigint): Promise<void> {
    const offsets = { topics: [{ topic: this.topic, partitions: [{ partition, offset: next.toString() }] }] };
    for (let attempt = 1; ; attempt++) {
      try {
        await payload.commitOffsetsIfNecessary(offsets);
        return;
      } catch (e) {
        if (hasType(e, REBALANCE_TYPES) || attempt >= this.cfg.retry.retries) throw e;
        await sleep(
          backoffMs(
            { initialMs: this.cfg.retry.initialRetryTime, maxMs: this.cfg.retry.maxRetryTime },
            attempt,
          ),
        );
      }
    }
  }

  private logWarn(message: string): void {
    this.cfg.log({ level: 'WARN', namespace: 'KafkaCommsBus', message, extra: {} });
  }
}
