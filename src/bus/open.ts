/** Opens the comms bus an application asked for. */
import { CommsBusError, type CommsBus } from './comms-bus.js';
import { KafkaCommsBus, type KafkaBusOptions } from './kafka-bus.js';
import { MemoryCommsBus, type MemoryBusOptions } from './memory-bus.js';

export type CommsBusKind = 'memory' | 'kafka';

export const DEFAULT_KAFKA_BROKERS = '127.0.0.1:59092';

export interface OpenCommsBusOptions {
  readonly memory?: MemoryBusOptions;
  /** Brokers default to DAGGER_KAFKA_BROKERS (comma-separated), else 127.0.0.1:59092. */
  readonly kafka?: Partial<KafkaBusOptions>;
  /** Where DAGGER_KAFKA_BROKERS is read from. Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function kafkaBrokersFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const raw = env['DAGGER_KAFKA_BROKERS']?.trim() || DEFAULT_KAFKA_BROKERS;
  return raw
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

export function openCommsBus(kind: CommsBusKind, options: OpenCommsBusOptions = {}): CommsBus {
  switch (kind) {
    case 'memory':
      return new MemoryCommsBus(options.memory);
    case 'kafka':
      return new KafkaCommsBus({
        ...options.kafka,
        brokers: options.kafka?.brokers ?? kafkaBrokersFromEnv(options.env ?? process.env),
      });
    default: {
      const never: never = kind;
      throw new CommsBusError('BAD_REQUEST', `unknown comms bus kind ${String(never)}`);
    }
  }
}
