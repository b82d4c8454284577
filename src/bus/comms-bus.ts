/**
 * The comms-bus port: topics of keyed byte messages, at-least-once. Two adapters implement it
 * (in-process and Kafka) and both pass test/contract/comms-bus.contract.ts. The bus is an
 * untrusted transport: everything that crosses it is signed and checked by the receiver.
 */

export interface BusMessage {
  /** Messages with one key keep their order (one partition). */
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Delivery extends BusMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
}

export interface SubscribeOptions {
  /**
   * Consumers sharing a group split the topic's partitions between them (each message goes to one
   * member). Distinct groups each get every message.
   */
  readonly group: string;
  /** Where a group with no committed offset starts. */
  readonly fromBeginning: boolean;
  /** Most messages handed over in one batch. */
  readonly maxBatch?: number;
}

export interface BusSubscription {
  stop(): Promise<void>;
}

export interface CommsBus {
  /** Creates missing topics; existing ones are left as they are. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /** Resolves once the bus has accepted every message durably (Kafka: acks from the broker). */
  publish(topic: string, messages: readonly BusMessage[]): Promise<void>;
  /**
   * Hands batches to the handler one at a time; offsets are committed only after the handler's
   * promise resolves, so a crash redelivers what was not yet handled (never loses it). A handler
   * that throws gets the same batch again after a backoff. The returned promise resolves once the
   * consumer has joined its group.
   */
  subscribe(
    topic: string,
    options: SubscribeOptions,
    handler: (batch: readonly Delivery[]) => Promise<void>,
  ): Promise<BusSubscription>;
  close(): Promise<void>;
}

export type CommsBusErrorCode = 'BUS_UNAVAILABLE' | 'MESSAGE_TOO_LARGE' | 'UNKNOWN_TOPIC' | 'BAD_REQUEST';

export class CommsBusError extends Error {
  constructor(
    readonly code: CommsBusErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'CommsBusError';
  }
}
