/** Validation, partitioning and timing helpers shared by the comms-bus adapters. */
import { CommsBusError, type BusMessage, type SubscribeOptions, type TopicSpec } from './comms-bus.js';

/** Largest message (key + value + headers) either adapter accepts; a 64 KiB event fits with room. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_BATCH = 500;
export const MAX_PARTITIONS = 1024;
/** Bytes per record beyond key, value and headers (Kafka's record framing, rounded up). */
export const RECORD_OVERHEAD_BYTES = 64;

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const utf8 = new TextEncoder();

export function validateTopicName(name: string): void {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new CommsBusError('BAD_REQUEST', `invalid topic name ${JSON.stringify(name)}`);
  }
}

export function validateTopicSpecs(topics: readonly TopicSpec[]): void {
  if (!Array.isArray(topics)) throw new CommsBusError('BAD_REQUEST', 'topics must be an array');
  const seen = new Set<string>();
  for (const t of topics) {
    validateTopicName(t.name);
    if (!Number.isInteger(t.partitions) || t.partitions < 1 || t.partitions > MAX_PARTITIONS) {
      throw new CommsBusError('BAD_REQUEST', `topic ${t.name}: partitions must be 1..${MAX_PARTITIONS}`);
    }
    if (seen.has(t.name)) throw new CommsBusError('BAD_REQUEST', `topic ${t.name} listed twice`);
    seen.add(t.name);
  }
}

export function messageBytes(m: BusMessage): number {
  let n = RECORD_OVERHEAD_BYTES + m.value.byteLength;
  if (m.key !== null) n += utf8.encode(m.key).byteLength;
  if (m.headers) {
    for (const [k, v] of Object.entries(m.headers))
      n += utf8.encode(k).byteLength + utf8.encode(v).byteLength + 8;
  }
  return n;
}

/** Checks every message before any is sent, so a publish is refused whole. Returns their sizes. */
export function validateMessages(topic: string, messages: readonly BusMessage[], maxBytes: number): number[] {
  validateTopicName(topic);
  if (!Array.isArray(messages)) throw new CommsBusError('BAD_REQUEST', 'messages must be an array');
  return messages.map((m, i) => {
    if (!(m.value instanceof Uint8Array)) {
      throw new CommsBusError('BAD_REQUEST', `message ${i}: value must be a Uint8Array`);
    }
    if (m.key !== null && typeof m.key !== 'string') {
      throw new CommsBusError('BAD_REQUEST', `message ${i}: key must be a string or null`);
    }
    if (m.headers !== undefined) {
      for (const [k, v] of Object.entries(m.headers)) {
        if (typeof v !== 'string')
          throw new CommsBusError('BAD_REQUEST', `message ${i}: header ${k} is not a string`);
      }
    }
    const size = messageBytes(m);
    if (size > maxBytes) {
      throw new CommsBusError(
        'MESSAGE_TOO_LARGE',
        `message ${i} on ${topic} is ${size} bytes (limit ${maxBytes})`,
      );
    }
    return size;
  });
}

export function validateSubscribeOptions(topic: string, options: SubscribeOptions): number {
  validateTopicName(topic);
  if (typeof options.group !== 'string' || options.group.length === 0 || options.group.length > 255) {
    throw new CommsBusError('BAD_REQUEST', 'group must be a non-empty string of at most 255 characters');
  }
  if (typeof options.fromBeginning !== 'boolean') {
    throw new CommsBusError('BAD_REQUEST', 'fromBeginning must be a boolean');
  }
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new CommsBusError('BAD_REQUEST', 'maxBatch must be a positive integer');
  }
  return maxBatch;
}

/** Kafka's murmur2 (Utils.murmur2 in the Java client), so both adapters place a key alike. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const len = data.length;
  let h = (0x9747b28c ^ len) | 0;
  const whole = len & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = len & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(utf8.encode(key)) & 0x7fffffff) % partitions;
}

/** What an adapter tells its observer about a handler that threw. */
export interface HandlerErrorInfo {
  readonly topic: string;
  readonly group: string;
  readonly partition: number;
  readonly attempt: number;
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_HANDLER_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5_000 };

/** Exponential (doubling from initialMs, capped at maxMs) with up to 20% jitter; attempt counts from 1. */
export function backoffMs(policy: BackoffPolicy, attempt: number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(base * (0.8 + 0.2 * Math.random()));
}

/** Resolves after ms, or early (with false) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with onTimeout() when promise has not settled within ms. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
