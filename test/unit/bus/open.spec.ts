import { describe, expect, it } from '@jest/globals';
import { CommsBusError } from '../../../src/bus/comms-bus.js';
import { KafkaCommsBus, kafkaErrorTypes, toCommsBusError } from '../../../src/bus/kafka-bus.js';
import { MemoryCommsBus } from '../../../src/bus/memory-bus.js';
import { kafkaBrokersFromEnv, openCommsBus, type CommsBusKind } from '../../../src/bus/open.js';

describe('openCommsBus', () => {
  it('reads DAGGER_KAFKA_BROKERS, defaulting to the local broker', () => {
    expect(kafkaBrokersFromEnv({})).toEqual(['127.0.0.1:59092']);
    expect(kafkaBrokersFromEnv({ DAGGER_KAFKA_BROKERS: '  ' })).toEqual(['127.0.0.1:59092']);
    expect(kafkaBrokersFromEnv({ DAGGER_KAFKA_BROKERS: 'a:1, b:2,' })).toEqual(['a:1', 'b:2']);
  });

  it('opens either adapter without connecting anywhere', async () => {
    const memory = openCommsBus('memory');
    expect(memory).toBeInstanceOf(MemoryCommsBus);
    const kafka = openCommsBus('kafka', { env: { DAGGER_KAFKA_BROKERS: '127.0.0.1:1' } });
    expect(kafka).toBeInstanceOf(KafkaCommsBus);
    await Promise.all([memory.close(), kafka.close()]);
  });

  it('refuses an unknown kind and bad Kafka settings with BAD_REQUEST', () => {
    expect(() => openCommsBus('carrier-pigeon' as CommsBusKind)).toThrow(CommsBusError);
    expect(() => new KafkaCommsBus({ brokers: [] })).toThrow(/broker/);
    expect(
      () => new KafkaCommsBus({ brokers: ['x:1'], heartbeatIntervalMs: 5_000, sessionTimeoutMs: 10_000 }),
    ).toThrow(CommsBusError);
  });

  it('checks a Kafka publish before touching the network', async () => {
    const bus = new KafkaCommsBus({ brokers: ['127.0.0.1:1'], logLevel: 'nothing' });
    await expect(
      bus.publish('t', [{ key: null, value: new Uint8Array(2 * 1024 * 1024) }]),
    ).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    await expect(bus.publish('bad topic', [])).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await bus.close();
    await expect(bus.ensureTopics([])).rejects.toMatchObject({ code: 'BUS_UNAVAILABLE' });
  });
});

describe('kafkajs error mapping', () => {
  const protocol = (type: string): Error =>
    Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type });

  it('finds the protocol error behind retries and aggregates', () => {
    const retries = Object.assign(new Error('retries'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      cause: protocol('UNKNOWN_TOPIC_OR_PARTITION'),
    });
    expect(kafkaErrorTypes(retries)).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
    expect(toCommsBusError(retries, 'publish').code).toBe('UNKNOWN_TOPIC');
    const aggregate = Object.assign(new Error('agg'), { errors: [protocol('INVALID_REPLICATION_FACTOR')] });
    expect(toCommsBusError(aggregate, 'ensureTopics').code).toBe('BAD_REQUEST');
    expect(toCommsBusError(protocol('RECORD_LIST_TOO_LARGE'), 'publish').code).toBe('MESSAGE_TOO_LARGE');
    expect(toCommsBusError(protocol('MESSAGE_TOO_LARGE'), 'publish').code).toBe('MESSAGE_TOO_LARGE');
  });

  it('maps connection trouble and the unknown to BUS_UNAVAILABLE, keeping the cause', () => {
    const conn = Object.assign(new Error('connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    const mapped = toCommsBusError(conn, 'publish to t');
    expect(mapped.code).toBe('BUS_UNAVAILABLE');
    expect(mapped.message).toContain('publish to t');
    expect(mapped.cause).toBe(conn);
    expect(toCommsBusError('weird', 'x').code).toBe('BUS_UNAVAILABLE');
    const own = new CommsBusError('BAD_REQUEST', 'mine');
    expect(toCommsBusError(own, 'x')).toBe(own);
  });
});
