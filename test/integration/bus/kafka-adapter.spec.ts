/** Kafka-adapter behaviour beyond the shared contract: heartbeats during long handlers, start offsets. */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { BusSubscription, CommsBus } from '../../../src/bus/comms-bus.js';
import type { KafkaCommsBus } from '../../../src/bus/kafka-bus.js';
import { Collector, waitUntil } from '../../contract/comms-bus.contract.js';
import { assertBrokerReachable, deleteTestResources, kafkaBus } from './kafka-env.js';

const WAIT_MS = 60_000;
const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const used = { topics: [] as string[], groups: [] as string[] };
const names = (base: string): { topic: string; group: string } => {
  const topic = `dagger-test.${run}.${base}`;
  const group = `${topic}.g`;
  used.topics.push(topic);
  used.groups.push(group);
  return { topic, group };
};
const value = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('KafkaCommsBus', () => {
  const buses: CommsBus[] = [];
  const subs: BusSubscription[] = [];
  const open = (options: Parameters<typeof kafkaBus>[0] = {}): KafkaCommsBus => {
    const b = kafkaBus(options);
    buses.push(b);
    return b;
  };

  beforeAll(() => assertBrokerReachable());

  afterEach(async () => {
    await Promise.allSettled(subs.splice(0).map((s) => s.stop()));
    await Promise.allSettled(buses.splice(0).map((b) => b.close()));
  }, WAIT_MS);

  afterAll(() => deleteTestResources(used), WAIT_MS);

  it(
    'keeps its group membership through a handler longer than the session timeout',
    async () => {
      const bus = open({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 });
      const { topic, group } = names('long-handler');
      await bus.ensureTopics([{ name: topic, partitions: 1 }]);
      await bus.publish(topic, [{ key: 'k', value: value('slow') }]);
      let calls = 0;
      subs.push(
        await bus.subscribe(topic, { group, fromBeginning: true }, async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 9_000));
        }),
      );
      await waitUntil(
        () => calls === 1,
        WAIT_MS,
        () => 'the slow handler to start',
      );
      const deadline = Date.now() + WAIT_MS;
      let committed: bigint | null = null;
      while (committed === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        committed = (await bus.groupOffsets(topic, group))[0]!.committed;
      }
      expect(committed).toBe(1n);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(calls).toBe(1);
    },
    WAIT_MS * 2,
  );

  it(
    'commits the end offsets of a new group that starts at the end, before it consumes',
    async () => {
      const bus = open();
      const { topic, group } = names('start-at-end');
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      await bus.publish(
        topic,
        Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: value(`old${i}`) })),
      );
      const before = await bus.groupOffsets(topic, group);
      expect(before.every((p) => p.committed === null)).toBe(true);
      const c = new Collector();
      subs.push(await bus.subscribe(topic, { group, fromBeginning: false }, c.handler));
      const after = await bus.groupOffsets(topic, group);
      expect(after.map((p) => p.committed)).toEqual(after.map((p) => p.end));
      expect(after.reduce((n, p) => n + p.end, 0n)).toBe(30n);
      await bus.publish(topic, [{ key: 'k', value: value('new') }]);
      await waitUntil(
        () => c.deliveries.length >= 1,
        WAIT_MS,
        () => 'the new message',
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(c.deliveries.map((d) => new TextDecoder().decode(d.value))).toEqual(['new']);
    },
    WAIT_MS * 2,
  );
});
