/** Memory-adapter behaviour beyond the shared contract: retention, rebalance locks, async delivery. */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { BusSubscription, CommsBus, Delivery } from '../../../src/bus/comms-bus.js';
import { partitionForKey } from '../../../src/bus/common.js';
import { MemoryBroker, MemoryCommsBus } from '../../../src/bus/memory-bus.js';
import { Collector, waitUntil } from '../../contract/comms-bus.contract.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const msg = (key: string | null, text: string): { key: string | null; value: Uint8Array } => ({
  key,
  value: enc.encode(text),
});
const texts = (ds: readonly Delivery[]): string[] => ds.map((d) => dec.decode(d.value));
const WAIT = 5_000;

/** A key that lands on the given partition. */
function keyFor(partition: number, partitions: number): string {
  for (let i = 0; i < 10_000; i++) if (partitionForKey(`k${i}`, partitions) === partition) return `k${i}`;
  throw new Error('no key found');
}

describe('MemoryCommsBus', () => {
  const open: CommsBus[] = [];
  const subs: BusSubscription[] = [];
  const bus = (broker?: MemoryBroker, stopTimeoutMs = 1_000): MemoryCommsBus => {
    const b = new MemoryCommsBus({ broker, stopTimeoutMs, handlerBackoff: { initialMs: 10, maxMs: 40 } });
    open.push(b);
    return b;
  };

  afterEach(async () => {
    await Promise.all(subs.splice(0).map((s) => s.stop()));
    await Promise.all(open.splice(0).map((b) => b.close()));
  });

  it('never calls a handler from inside publish', async () => {
    const b = bus();
    await b.ensureTopics([{ name: 't', partitions: 1 }]);
    const c = new Collector();
    subs.push(await b.subscribe('t', { group: 'g', fromBeginning: true }, c.handler));
    const p = b.publish('t', [msg('k', 'a')]);
    expect(c.deliveries).toHaveLength(0);
    await p;
    await waitUntil(
      () => c.deliveries.length === 1,
      WAIT,
      () => 'one delivery',
    );
  });

  it('keeps a bounded tail per partition; a lagging new group starts at the oldest retained', async () => {
    const broker = new MemoryBroker({ retainMessagesPerPartition: 10 });
    const b = bus(broker);
    await b.ensureTopics([{ name: 't', partitions: 1 }]);
    for (let i = 0; i < 25; i++) await b.publish('t', [msg('k', `m${i}`)]);
    const c = new Collector();
    subs.push(await b.subscribe('t', { group: 'g', fromBeginning: true }, c.handler));
    await waitUntil(
      () => c.deliveries.length >= 10,
      WAIT,
      () => '10 deliveries',
    );
    expect(texts(c.deliveries)).toEqual(Array.from({ length: 10 }, (_, i) => `m${15 + i}`));
    expect(c.deliveries[0]!.offset).toBe(15n);
  });

  it('trims by bytes too, keeping at least the newest message', async () => {
    const broker = new MemoryBroker({ retainBytesPerPartition: 1_000 });
    const b = bus(broker);
    await b.ensureTopics([{ name: 't', partitions: 1 }]);
    await b.publish('t', [
      { key: 'k', value: new Uint8Array(600) },
      { key: 'k', value: new Uint8Array(700) },
    ]);
    const c = new Collector();
    subs.push(await b.subscribe('t', { group: 'g', fromBeginning: true }, c.handler));
    await waitUntil(
      () => c.deliveries.length >= 1,
      WAIT,
      () => 'one delivery',
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(c.deliveries.map((d) => [d.offset, d.value.byteLength])).toEqual([[1n, 700]]);
  });

  it('holds a partition that moves in a rebalance until its former owner has finished and committed', async () => {
    const b = bus();
    await b.ensureTopics([{ name: 't', partitions: 2 }]);
    const k1 = keyFor(1, 2);
    await b.publish('t', [msg(k1, 'x0'), msg(k1, 'x1')]);
    let release: () => void = () => {};
    const seenA: string[] = [];
    subs.push(
      await b.subscribe('t', { group: 'g', fromBeginning: true }, async (batch) => {
        seenA.push(...texts(batch));
        await new Promise<void>((r) => {
          release = r;
        });
      }),
    );
    await waitUntil(
      () => seenA.length > 0,
      WAIT,
      () => 'member A holding a batch',
    );
    const bMember = new Collector();
    subs.push(await b.subscribe('t', { group: 'g', fromBeginning: true }, bMember.handler));
    await b.publish('t', [msg(k1, 'x2')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(bMember.deliveries).toHaveLength(0);
    release();
    await waitUntil(
      () => bMember.deliveries.length >= 1,
      WAIT,
      () => 'member B getting the new message',
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(seenA).toEqual(['x0', 'x1']);
    expect(texts(bMember.deliveries)).toEqual(['x2']);
  });

  it('reports handler errors to its observer and retries with a backoff', async () => {
    const errors: { attempt: number; partition: number }[] = [];
    const b = new MemoryCommsBus({
      handlerBackoff: { initialMs: 5, maxMs: 20 },
      onHandlerError: (_e, info) => errors.push({ attempt: info.attempt, partition: info.partition }),
    });
    open.push(b);
    await b.ensureTopics([{ name: 't', partitions: 1 }]);
    await b.publish('t', [msg('k', 'a')]);
    let calls = 0;
    subs.push(
      await b.subscribe('t', { group: 'g', fromBeginning: true }, async () => {
        calls++;
        if (calls < 4) throw new Error('boom');
      }),
    );
    await waitUntil(
      () => calls >= 4,
      WAIT,
      () => '4 calls',
    );
    expect(errors).toEqual([
      { attempt: 1, partition: 0 },
      { attempt: 2, partition: 0 },
      { attempt: 3, partition: 0 },
    ]);
  });

  it('spreads null keys round-robin over the partitions', async () => {
    const b = bus();
    await b.ensureTopics([{ name: 't', partitions: 3 }]);
    await b.publish(
      't',
      Array.from({ length: 9 }, (_, i) => msg(null, `n${i}`)),
    );
    const c = new Collector();
    subs.push(await b.subscribe('t', { group: 'g', fromBeginning: true }, c.handler));
    await waitUntil(
      () => c.deliveries.length >= 9,
      WAIT,
      () => '9 deliveries',
    );
    const perPartition = [0, 1, 2].map((p) => c.deliveries.filter((d) => d.partition === p).length);
    expect(perPartition).toEqual([3, 3, 3]);
  });

  it('isolates clients of one broker: closing one leaves the others consuming', async () => {
    const broker = new MemoryBroker();
    const b1 = bus(broker);
    const b2 = bus(broker);
    await b1.ensureTopics([{ name: 't', partitions: 1 }]);
    const c2 = new Collector();
    subs.push(await b2.subscribe('t', { group: 'g2', fromBeginning: true }, c2.handler));
    await b1.close();
    await b2.publish('t', [msg('k', 'a')]);
    await waitUntil(
      () => c2.deliveries.length === 1,
      WAIT,
      () => 'delivery at the open client',
    );
    await b2.ensureTopics([{ name: 't', partitions: 5 }]);
    await b2.publish('t', [msg(keyFor(0, 1), 'b')]);
    await waitUntil(
      () => c2.deliveries.length === 2,
      WAIT,
      () => 'existing topic kept as it was',
    );
    expect(c2.deliveries.every((d) => d.partition === 0)).toBe(true);
  });

  it('does not let a caller mutate what was published or delivered', async () => {
    const b = bus();
    await b.ensureTopics([{ name: 't', partitions: 1 }]);
    const value = enc.encode('abc');
    await b.publish('t', [{ key: 'k', value }]);
    value[0] = 0x7a;
    const x = new Collector();
    const y = new Collector();
    subs.push(
      await b.subscribe('t', { group: 'x', fromBeginning: true }, async (batch) => {
        batch[0]!.value[1] = 0x7a;
        await x.handler(batch);
      }),
    );
    await waitUntil(
      () => x.deliveries.length === 1,
      WAIT,
      () => 'x',
    );
    subs.push(await b.subscribe('t', { group: 'y', fromBeginning: true }, y.handler));
    await waitUntil(
      () => y.deliveries.length === 1,
      WAIT,
      () => 'y',
    );
    expect(texts(y.deliveries)).toEqual(['abc']);
    expect(Object.isFrozen(y.deliveries[0])).toBe(true);
  });
});
