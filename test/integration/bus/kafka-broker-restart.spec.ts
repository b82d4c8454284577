/**
 * The Kafka adapter across a broker outage: a producer publishes keyed messages while a group
 * consumes, and the broker is restarted (clean) or killed and started again mid-stream.
 * Afterwards every message was consumed at least once and per-key order of first deliveries holds.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CommsBusError,
  type BusMessage,
  type BusSubscription,
  type CommsBus,
} from '../../../src/bus/comms-bus.js';
import type { KafkaBusLogEntry } from '../../../src/bus/kafka-bus.js';
import { waitUntil } from '../../contract/comms-bus.contract.js';
import { assertBrokerReachable, deleteTestResources, kafkaBus } from './kafka-env.js';

const KAFKA_SH = fileURLToPath(new URL('../../../scripts/services/kafka.sh', import.meta.url));
const SCRIPT_TIMEOUT_MS = 150_000;
const WAIT_MS = 120_000;
const N = 4_000;
const KEYS = 16;
const PER_CALL = 20;

function kafkaSh(...args: string[]): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    execFile('bash', [KAFKA_SH, ...args], { timeout: SCRIPT_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`kafka.sh ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(Date.now() - t0);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const used = { topics: [] as string[], groups: [] as string[] };

describe('Kafka comms bus across a broker outage', () => {
  let buses: CommsBus[] = [];
  let subs: BusSubscription[] = [];
  const logs: KafkaBusLogEntry[] = [];

  beforeAll(() => assertBrokerReachable());

  afterEach(async () => {
    await Promise.allSettled(subs.map((s) => s.stop()));
    await Promise.allSettled(buses.map((b) => b.close()));
    subs = [];
    buses = [];
  }, WAIT_MS);

  afterAll(async () => {
    if (process.env['BUS_TEST_LOGS']) {
      for (const l of logs) process.stdout.write(`${JSON.stringify(l).slice(0, 300)}\n`);
    }
    try {
      // Leave the broker running whatever happened above.
      await kafkaSh('start');
    } finally {
      await deleteTestResources(used);
    }
  }, SCRIPT_TIMEOUT_MS + WAIT_MS);

  const outage = async (kind: 'restart' | 'kill'): Promise<void> => {
    const topic = `dagger-test.${run}.outage-${kind}`;
    const group = `dagger-test.${run}.outage-${kind}.g`;
    used.topics.push(topic);
    used.groups.push(group);
    const producer = kafkaBus({}, logs);
    const consumer = kafkaBus({}, logs);
    buses.push(producer, consumer);
    await producer.ensureTopics([{ name: topic, partitions: 4 }]);

    const deliveries: { key: string; seq: number }[] = [];
    subs.push(
      await consumer.subscribe(topic, { group, fromBeginning: true, maxBatch: 50 }, async (batch) => {
        // A slow handler keeps the group behind the producer, so the outage hits it mid-stream.
        await sleep(25);
        for (const d of batch)
          deliveries.push({ key: d.key!, seq: Number(new TextDecoder().decode(d.value)) });
      }),
    );

    const t0 = Date.now();
    let outageMs = 0;
    let lagAtOutage = 0;
    let outageDone: Promise<void> | undefined;
    let publishRetries = 0;
    let longestPublishMs = 0;
    for (let start = 0; start < N; start += PER_CALL) {
      if (!outageDone && start >= N / 4) {
        lagAtOutage = start - deliveries.length;
        const o0 = Date.now();
        outageDone = (
          kind === 'restart' ? kafkaSh('restart') : kafkaSh('kill').then(() => kafkaSh('start'))
        ).then(() => {
          outageMs = Date.now() - o0;
        });
      }
      const batch: BusMessage[] = [];
      for (let i = start; i < start + PER_CALL; i++)
        batch.push({ key: `k${i % KEYS}`, value: new TextEncoder().encode(String(i)) });
      // An outbox retries a publish that failed; the bus is at-least-once, so this may duplicate.
      for (let attempt = 1; ; attempt++) {
        const p0 = Date.now();
        try {
          await producer.publish(topic, batch);
          longestPublishMs = Math.max(longestPublishMs, Date.now() - p0);
          break;
        } catch (e) {
          if (!(e instanceof CommsBusError) || e.code !== 'BUS_UNAVAILABLE' || attempt >= 5) throw e;
          publishRetries++;
        }
      }
    }
    const published = Date.now();
    await outageDone;

    const firstSeen = new Set<number>();
    await waitUntil(
      () => {
        for (const d of deliveries) firstSeen.add(d.seq);
        return firstSeen.size >= N;
      },
      WAIT_MS,
      () => `${N} distinct messages consumed (got ${firstSeen.size})`,
    );
    const done = Date.now();

    const seen = new Set<number>();
    const lastFirst = new Map<string, number>();
    for (const d of deliveries) {
      if (seen.has(d.seq)) continue;
      seen.add(d.seq);
      expect(d.key).toBe(`k${d.seq % KEYS}`);
      expect(d.seq).toBeGreaterThan(lastFirst.get(d.key) ?? -1);
      lastFirst.set(d.key, d.seq);
    }
    expect(seen.size).toBe(N);
    for (let i = 0; i < N; i++) expect(seen.has(i)).toBe(true);

    const offsets = await producer.groupOffsets(topic, group);
    const duplicates = deliveries.length - N;
    process.stdout.write(
      `[comms-bus kafka ${kind}] ${N} messages, broker ${kind} took ${outageMs} ms (consumer ${lagAtOutage} ` +
        `behind when it began); publish done after ` +
        `${published - t0} ms (longest publish ${longestPublishMs} ms, ${publishRetries} publish retries), all ` +
        `consumed after ${done - t0} ms; ${deliveries.length} deliveries = ${duplicates} duplicates; ` +
        `kafkajs logged ${logs.length} warnings/errors; committed ${offsets.map((o) => `${o.committed}/${o.end}`).join(' ')}\n`,
    );
    expect(lagAtOutage).toBeGreaterThan(0);
  };

  it(
    'loses nothing and keeps per-key order when the broker restarts cleanly',
    () => outage('restart'),
    300_000,
  );

  it(
    'loses nothing and keeps per-key order when the broker is killed and started again',
    () => outage('kill'),
    300_000,
  );
});
