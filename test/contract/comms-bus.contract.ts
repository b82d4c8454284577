/**
 * The comms-bus contract: every adapter of src/bus/comms-bus.ts passes this one suite.
 * Runners: test/unit/bus/memory.contract.spec.ts and test/integration/bus/kafka.contract.spec.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import {
  CommsBusError,
  type BusMessage,
  type BusSubscription,
  type CommsBus,
  type Delivery,
} from '../../src/bus/comms-bus.js';

/** The knobs the suite needs set on the adapter under test. */
export interface ContractBusSettings {
  readonly stopTimeoutMs: number;
  readonly handlerBackoff: { readonly initialMs: number; readonly maxMs: number };
}

export interface ContractOptions {
  /** Bound of every wait for deliveries. Default 60 s. */
  readonly waitMs?: number;
  /** Jest timeout of each test. Default 3 × waitMs. */
  readonly testTimeoutMs?: number;
  /** Messages in the volume test. Default 20,000. */
  readonly manyMessages?: number;
  /** How long "nothing more arrives" is watched. Default 500 ms. */
  readonly quietMs?: number;
  /** Called once after the suite with every topic and group it used (delete them). */
  readonly cleanup?: (used: { readonly topics: string[]; readonly groups: string[] }) => Promise<void>;
  /** Receives measurements (e.g. messages per second) for the report. */
  readonly report?: (line: string) => void;
}

const SETTINGS: ContractBusSettings = { stopTimeoutMs: 2_000, handlerBackoff: { initialMs: 50, maxMs: 400 } };

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Body {
  readonly id: string;
  readonly seq: number;
}

const body = (id: string, seq: number): Uint8Array => enc.encode(JSON.stringify({ id, seq }));
const parse = (d: Delivery): Body => JSON.parse(dec.decode(d.value)) as Body;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() holds; fails with what() after ms. */
export async function waitUntil(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await sleep(10);
  }
}

/** Records every batch a subscription gets. */
export class Collector {
  readonly batches: Delivery[][] = [];
  readonly deliveries: Delivery[] = [];
  active = 0;
  maxActive = 0;

  readonly handler = async (batch: readonly Delivery[]): Promise<void> => {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      this.batches.push([...batch]);
      this.deliveries.push(...batch);
      await Promise.resolve();
    } finally {
      this.active--;
    }
  };

  ids(): Set<string> {
    return new Set(this.deliveries.map((d) => parse(d).id));
  }
}

async function expectBusError(p: Promise<unknown>, code: CommsBusError['code']): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommsBusError);
  expect((err as CommsBusError).code).toBe(code);
}

export function describeCommsBusContract(
  name: string,
  factory: (settings: ContractBusSettings) => CommsBus | Promise<CommsBus>,
  options: ContractOptions = {},
): void {
  const waitMs = options.waitMs ?? 60_000;
  const testTimeoutMs = options.testTimeoutMs ?? waitMs * 3;
  const manyMessages = options.manyMessages ?? 20_000;
  const quietMs = options.quietMs ?? 500;
  const report = options.report ?? ((line: string) => process.stdout.write(`${line}\n`));
  const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const used = { topics: [] as string[], groups: [] as string[] };

  describe(`CommsBus contract: ${name}`, () => {
    let buses: CommsBus[] = [];
    let subs: BusSubscription[] = [];

    const open = async (): Promise<CommsBus> => {
      const bus = await factory(SETTINGS);
      buses.push(bus);
      return bus;
    };
    const topicName = (base: string): string => {
      const t = `dagger-test.${run}.${base}`;
      used.topics.push(t);
      return t;
    };
    const groupName = (base: string): string => {
      const g = `dagger-test.${run}.${base}.${used.groups.length}`;
      used.groups.push(g);
      return g;
    };
    const newTopic = async (bus: CommsBus, base: string, partitions: number): Promise<string> => {
      const t = topicName(base);
      await bus.ensureTopics([{ name: t, partitions }]);
      return t;
    };
    const track = (s: BusSubscription): BusSubscription => {
      subs.push(s);
      return s;
    };
    const wait = (cond: () => boolean, what: () => string): Promise<void> => waitUntil(cond, waitMs, what);

    afterEach(async () => {
      const s = subs;
      const b = buses;
      subs = [];
      buses = [];
      await Promise.allSettled(s.map((x) => x.stop()));
      await Promise.allSettled(b.map((x) => x.close()));
    }, testTimeoutMs);

    afterAll(async () => {
      await options.cleanup?.({ topics: [...new Set(used.topics)], groups: [...new Set(used.groups)] });
    }, testTimeoutMs);

    it(
      'refuses bad requests with typed errors',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'errors', 1);
        await bus.ensureTopics([{ name: t, partitions: 1 }]);
        await expectBusError(bus.ensureTopics([{ name: 'bad name!', partitions: 1 }]), 'BAD_REQUEST');
        await expectBusError(bus.ensureTopics([{ name: topicName('zero'), partitions: 0 }]), 'BAD_REQUEST');
        await expectBusError(
          bus.publish(topicName('missing'), [{ key: null, value: new Uint8Array(1) }]),
          'UNKNOWN_TOPIC',
        );
        await expectBusError(
          bus.subscribe(
            topicName('missing2'),
            { group: groupName('g'), fromBeginning: true },
            async () => {},
          ),
          'UNKNOWN_TOPIC',
        );
        await expectBusError(
          bus.publish(t, [{ key: 'k', value: new Uint8Array(2 * 1024 * 1024) }]),
          'MESSAGE_TOO_LARGE',
        );
        await expectBusError(
          bus.subscribe(t, { group: '', fromBeginning: true }, async () => {}),
          'BAD_REQUEST',
        );
        await expectBusError(
          bus.subscribe(t, { group: groupName('g'), fromBeginning: true, maxBatch: 0 }, async () => {}),
          'BAD_REQUEST',
        );
        await bus.publish(t, []);
      },
      testTimeoutMs,
    );

    it(
      'keeps per-key order, offsets and delivery fields',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'order', 3);
        const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
        const total = 300;
        for (let start = 0; start < total; start += 50) {
          const batch: BusMessage[] = [];
          for (let i = start; i < start + 50; i++)
            batch.push({ key: keys[i % keys.length]!, value: body(`m${i}`, i) });
          await bus.publish(t, batch);
        }
        const c = new Collector();
        track(
          await bus.subscribe(t, { group: groupName('order'), fromBeginning: true, maxBatch: 7 }, c.handler),
        );
        await wait(
          () => c.deliveries.length >= total,
          () => `${total} deliveries (got ${c.deliveries.length})`,
        );
        await sleep(quietMs);
        expect(c.deliveries).toHaveLength(total);
        expect(c.maxActive).toBe(1);
        for (const b of c.batches) {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(7);
        }
        const partitionOfKey = new Map<string, number>();
        const lastSeq = new Map<string, number>();
        const lastOffset = new Map<number, bigint>();
        for (const d of c.deliveries) {
          expect(d.topic).toBe(t);
          expect(typeof d.offset).toBe('bigint');
          expect(d.partition).toBeGreaterThanOrEqual(0);
          expect(d.partition).toBeLessThan(3);
          const key = d.key!;
          expect(keys).toContain(key);
          expect(partitionOfKey.get(key) ?? d.partition).toBe(d.partition);
          partitionOfKey.set(key, d.partition);
          const { seq } = parse(d);
          expect(seq).toBeGreaterThan(lastSeq.get(key) ?? -1);
          lastSeq.set(key, seq);
          expect(d.offset).toBeGreaterThan(lastOffset.get(d.partition) ?? -1n);
          lastOffset.set(d.partition, d.offset);
        }
      },
      testTimeoutMs,
    );

    it(
      'spreads a shared group over its members, each message to one of them, and rebalances on leave',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'shared', 4);
        const g = groupName('shared');
        const a = new Collector();
        const b = new Collector();
        const subA = track(await bus.subscribe(t, { group: g, fromBeginning: true }, a.handler));
        track(await bus.subscribe(t, { group: g, fromBeginning: true }, b.handler));
        const first = 400;
        const msgs: BusMessage[] = [];
        for (let i = 0; i < first; i++) msgs.push({ key: `k${i % 40}`, value: body(`m${i}`, i) });
        await bus.publish(t, msgs);
        await wait(
          () => a.deliveries.length + b.deliveries.length >= first,
          () => `${first} deliveries (a ${a.deliveries.length}, b ${b.deliveries.length})`,
        );
        await sleep(quietMs);
        expect(a.deliveries.length + b.deliveries.length).toBe(first);
        expect(new Set([...a.ids(), ...b.ids()]).size).toBe(first);
        expect(a.deliveries.length).toBeGreaterThan(0);
        expect(b.deliveries.length).toBeGreaterThan(0);
        const pa = new Set(a.deliveries.map((d) => d.partition));
        const pb = new Set(b.deliveries.map((d) => d.partition));
        expect([...pa].filter((p) => pb.has(p))).toEqual([]);

        await subA.stop();
        const more: BusMessage[] = [];
        for (let i = first; i < first + 100; i++) more.push({ key: `k${i % 40}`, value: body(`m${i}`, i) });
        const aBefore = a.deliveries.length;
        await bus.publish(t, more);
        await wait(
          () => new Set([...a.ids(), ...b.ids()]).size >= first + 100,
          () => `all ${first + 100} ids after member A left`,
        );
        expect(a.deliveries.length).toBe(aBefore);
        expect(new Set(b.deliveries.map((d) => d.partition)).size).toBe(4);
      },
      testTimeoutMs,
    );

    it(
      'rebalances when a member joins mid-stream, losing nothing and keeping per-key order',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'join', 4);
        const g = groupName('join');
        const arrivals: { member: 'a' | 'b'; key: string; seq: number }[] = [];
        const handler =
          (member: 'a' | 'b') =>
          async (batch: readonly Delivery[]): Promise<void> => {
            await sleep(5);
            for (const d of batch) arrivals.push({ member, key: d.key!, seq: parse(d).seq });
          };
        track(await bus.subscribe(t, { group: g, fromBeginning: true, maxBatch: 10 }, handler('a')));
        const rounds = 100;
        const perRound = 20;
        let joined: Promise<BusSubscription> | undefined;
        for (let r = 0; r < rounds; r++) {
          if (r === rounds / 4)
            joined = bus.subscribe(t, { group: g, fromBeginning: true, maxBatch: 10 }, handler('b'));
          await bus.publish(
            t,
            Array.from({ length: perRound }, (_, i) => {
              const seq = r * perRound + i;
              return { key: `k${seq % 40}`, value: body(`m${seq}`, seq) };
            }),
          );
          await sleep(20);
        }
        track(await joined!);
        const total = rounds * perRound;
        const distinct = (): number => new Set(arrivals.map((x) => x.seq)).size;
        await wait(
          () => distinct() >= total,
          () => `${total} distinct messages (got ${distinct()})`,
        );
        expect(arrivals.some((x) => x.member === 'b')).toBe(true);
        const first = new Set<number>();
        const lastSeq = new Map<string, number>();
        for (const x of arrivals) {
          if (first.has(x.seq)) continue;
          first.add(x.seq);
          expect(x.seq).toBeGreaterThan(lastSeq.get(x.key) ?? -1);
          lastSeq.set(x.key, x.seq);
        }
        report(`[comms-bus ${name}] join mid-stream: ${arrivals.length - total} duplicates of ${total}`);
      },
      testTimeoutMs,
    );

    it(
      'gives every message to each of two groups',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'groups', 2);
        const x = new Collector();
        const y = new Collector();
        track(await bus.subscribe(t, { group: groupName('x'), fromBeginning: true }, x.handler));
        track(await bus.subscribe(t, { group: groupName('y'), fromBeginning: true }, y.handler));
        const n = 200;
        await bus.publish(
          t,
          Array.from({ length: n }, (_, i) => ({
            key: i % 3 === 0 ? null : `k${i % 7}`,
            value: body(`m${i}`, i),
          })),
        );
        await wait(
          () => x.ids().size >= n && y.ids().size >= n,
          () => `${n} ids in both groups (x ${x.ids().size}, y ${y.ids().size})`,
        );
        await sleep(quietMs);
        expect(x.deliveries).toHaveLength(n);
        expect(y.deliveries).toHaveLength(n);
      },
      testTimeoutMs,
    );

    it(
      'hands a batch whose handler threw over again, and loses nothing',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'retry', 2);
        const n = 60;
        await bus.publish(
          t,
          Array.from({ length: n }, (_, i) => ({ key: `k${i % 4}`, value: body(`m${i}`, i) })),
        );
        const attempts = new Map<string, number>();
        const seenBatches: string[] = [];
        const ok = new Collector();
        let active = 0;
        let maxActive = 0;
        track(
          await bus.subscribe(
            t,
            { group: groupName('retry'), fromBeginning: true, maxBatch: 5 },
            async (batch) => {
              active++;
              maxActive = Math.max(maxActive, active);
              try {
                const sig = batch.map((d) => `${d.partition}:${d.offset}`).join(',');
                seenBatches.push(sig);
                const tries = (attempts.get(sig) ?? 0) + 1;
                attempts.set(sig, tries);
                if (batch.some((d) => parse(d).seq % 10 === 3) && tries < 3)
                  throw new Error('injected failure');
                await ok.handler(batch);
              } finally {
                active--;
              }
            },
          ),
        );
        await wait(
          () => ok.ids().size >= n,
          () => `${n} ids handled (got ${ok.ids().size})`,
        );
        await sleep(quietMs);
        expect(maxActive).toBe(1);
        const failing = [...attempts.entries()].filter(([, tries]) => tries >= 3);
        expect(failing.length).toBeGreaterThan(0);
        for (const [sig] of failing) {
          const idx = seenBatches.indexOf(sig);
          expect(seenBatches.slice(idx, idx + 3)).toEqual([sig, sig, sig]);
        }
        expect(ok.ids().size).toBe(n);
        const offsets = ok.deliveries.map((d) => `${d.partition}:${d.offset}`);
        expect(new Set(offsets).size).toBe(offsets.length);
      },
      testTimeoutMs,
    );

    it(
      'redelivers to a new member what a stopped member never committed (failing handler)',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'handoff', 1);
        const g = groupName('handoff');
        const n = 20;
        await bus.publish(
          t,
          Array.from({ length: n }, (_, i) => ({ key: 'k', value: body(`m${i}`, i) })),
        );
        const handledByA: Delivery[] = [];
        const failedAtA: Delivery[] = [];
        const subA = track(
          await bus.subscribe(t, { group: g, fromBeginning: true, maxBatch: 5 }, async (batch) => {
            if (handledByA.length === 0) {
              handledByA.push(...batch);
              return;
            }
            failedAtA.push(...batch);
            throw new Error('member A fails from its second batch on');
          }),
        );
        await wait(
          () => failedAtA.length > 0,
          () => 'a failed batch at member A',
        );
        await subA.stop();
        expect(handledByA.map((d) => parse(d).seq)).toEqual([0, 1, 2, 3, 4]);
        const b = new Collector();
        track(await bus.subscribe(t, { group: g, fromBeginning: false }, b.handler));
        await wait(
          () => b.ids().size >= n - 5,
          () => `${n - 5} ids at member B (got ${b.ids().size})`,
        );
        await sleep(quietMs);
        expect(b.deliveries[0]!.offset).toBe(failedAtA[0]!.offset);
        expect(b.deliveries.map((d) => parse(d).seq)).toEqual(Array.from({ length: n - 5 }, (_, i) => i + 5));
      },
      testTimeoutMs,
    );

    it(
      'lets a running handler finish on stop and commits its batch',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'graceful', 1);
        const g = groupName('graceful');
        await bus.publish(t, [
          { key: 'k', value: body('m0', 0) },
          { key: 'k', value: body('m1', 1) },
        ]);
        let entered = false;
        let finished = false;
        const subA = track(
          await bus.subscribe(t, { group: g, fromBeginning: true }, async () => {
            entered = true;
            await sleep(300);
            finished = true;
          }),
        );
        await wait(
          () => entered,
          () => 'member A entering its handler',
        );
        await subA.stop();
        expect(finished).toBe(true);
        await bus.publish(t, [{ key: 'k', value: body('m2', 2) }]);
        const b = new Collector();
        track(await bus.subscribe(t, { group: g, fromBeginning: true }, b.handler));
        await wait(
          () => b.deliveries.length >= 1,
          () => 'the next member getting m2',
        );
        await sleep(quietMs);
        expect([...b.ids()]).toEqual(['m2']);
      },
      testTimeoutMs,
    );

    it(
      'abandons a hung handler on stop and redelivers its batch to the next member',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'hung', 1);
        const g = groupName('hung');
        await bus.publish(t, [
          { key: 'k', value: body('m0', 0) },
          { key: 'k', value: body('m1', 1) },
        ]);
        let entered = false;
        let lateCommitAttempt = false;
        let release: () => void = () => {};
        const subA = track(
          await bus.subscribe(t, { group: g, fromBeginning: true }, async () => {
            entered = true;
            await new Promise<void>((r) => {
              release = r;
            });
            lateCommitAttempt = true;
          }),
        );
        await wait(
          () => entered,
          () => 'member A entering its handler',
        );
        const t0 = Date.now();
        await subA.stop();
        const stopMs = Date.now() - t0;
        expect(stopMs).toBeGreaterThanOrEqual(SETTINGS.stopTimeoutMs - 100);
        expect(stopMs).toBeLessThan(waitMs);
        release();
        await sleep(50);
        expect(lateCommitAttempt).toBe(true);
        const b = new Collector();
        track(await bus.subscribe(t, { group: g, fromBeginning: true }, b.handler));
        await wait(
          () => b.ids().size >= 2,
          () => `both ids at member B (got ${b.ids().size})`,
        );
        expect(b.deliveries.map((d) => parse(d).seq)).toEqual([0, 1]);
      },
      testTimeoutMs,
    );

    it(
      'starts a new group at the beginning or at the end, and resumes a known group from its commits',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'start', 2);
        const publishRange = (from: number, to: number): Promise<void> =>
          bus.publish(
            t,
            Array.from({ length: to - from }, (_, i) => ({
              key: `k${(from + i) % 5}`,
              value: body(`m${from + i}`, from + i),
            })),
          );
        await publishRange(0, 10);
        const latest = new Collector();
        const earliest = new Collector();
        const gResume = groupName('resume');
        const resume1 = new Collector();
        track(await bus.subscribe(t, { group: groupName('latest'), fromBeginning: false }, latest.handler));
        track(
          await bus.subscribe(t, { group: groupName('earliest'), fromBeginning: true }, earliest.handler),
        );
        const subR = track(await bus.subscribe(t, { group: gResume, fromBeginning: true }, resume1.handler));
        await publishRange(10, 20);
        await wait(
          () => latest.ids().size >= 10 && earliest.ids().size >= 20 && resume1.ids().size >= 20,
          () =>
            `latest 10 (${latest.ids().size}), earliest 20 (${earliest.ids().size}), resume 20 (${resume1.ids().size})`,
        );
        await sleep(quietMs);
        expect([...latest.ids()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${10 + i}`).sort());
        expect(earliest.deliveries).toHaveLength(20);
        await subR.stop();
        await publishRange(20, 25);
        const resume2 = new Collector();
        track(await bus.subscribe(t, { group: gResume, fromBeginning: true }, resume2.handler));
        await wait(
          () => resume2.ids().size >= 5,
          () => `5 new ids at the resumed group (got ${resume2.ids().size})`,
        );
        await sleep(quietMs);
        expect([...resume2.ids()].sort()).toEqual(['m20', 'm21', 'm22', 'm23', 'm24']);
      },
      testTimeoutMs,
    );

    it(
      'carries 64 KiB messages (and one near the 1 MiB limit) byte for byte',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'big', 2);
        const values = Array.from({ length: 40 }, () => new Uint8Array(randomBytes(64 * 1024)));
        values.push(new Uint8Array(randomBytes(900 * 1024)));
        await bus.publish(
          t,
          values.map((value, i) => ({ key: `big${i % 3}`, value, headers: { i: String(i) } })),
        );
        const c = new Collector();
        track(await bus.subscribe(t, { group: groupName('big'), fromBeginning: true }, c.handler));
        await wait(
          () => c.deliveries.length >= values.length,
          () => `${values.length} big messages (got ${c.deliveries.length})`,
        );
        for (const d of c.deliveries) {
          const i = Number(d.headers?.['i']);
          expect(Buffer.from(d.value).equals(Buffer.from(values[i]!))).toBe(true);
        }
        expect(new Set(c.deliveries.map((d) => d.headers?.['i'])).size).toBe(values.length);
      },
      testTimeoutMs,
    );

    it(
      'round-trips headers, null keys and empty values',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'headers', 1);
        const headers = { 'content-type': 'application/dagger-event', unicode: 'ünïcødé ✓', empty: '' };
        await bus.publish(t, [
          { key: 'with', value: enc.encode('a'), headers },
          { key: null, value: new Uint8Array(0) },
          { key: '', value: enc.encode('c'), headers: {} },
        ]);
        const c = new Collector();
        track(await bus.subscribe(t, { group: groupName('headers'), fromBeginning: true }, c.handler));
        await wait(
          () => c.deliveries.length >= 3,
          () => `3 deliveries (got ${c.deliveries.length})`,
        );
        const [d0, d1, d2] = c.deliveries;
        expect(d0!.key).toBe('with');
        expect(d0!.headers).toEqual(headers);
        expect(dec.decode(d0!.value)).toBe('a');
        expect(d1!.key).toBeNull();
        expect(d1!.value.byteLength).toBe(0);
        expect(d1!.headers ?? {}).toEqual({});
        expect(d2!.key).toBe('');
        expect(d2!.headers ?? {}).toEqual({});
      },
      testTimeoutMs,
    );

    it(
      `moves ${manyMessages} messages within the wait bound, in per-key order`,
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'many', 4);
        const c = new Collector();
        track(
          await bus.subscribe(
            t,
            { group: groupName('many'), fromBeginning: true, maxBatch: 1000 },
            c.handler,
          ),
        );
        const keys = 100;
        const t0 = Date.now();
        for (let start = 0; start < manyMessages; start += 1000) {
          const batch: BusMessage[] = [];
          for (let i = start; i < Math.min(manyMessages, start + 1000); i++) {
            batch.push({ key: `key-${i % keys}`, value: body(`m${i}`, i) });
          }
          await bus.publish(t, batch);
        }
        const published = Date.now();
        await wait(
          () => c.deliveries.length >= manyMessages,
          () => `${manyMessages} deliveries (got ${c.deliveries.length})`,
        );
        const done = Date.now();
        const lastSeq = new Map<string, number>();
        for (const d of c.deliveries) {
          const { seq } = parse(d);
          expect(seq).toBeGreaterThan(lastSeq.get(d.key!) ?? -1);
          lastSeq.set(d.key!, seq);
        }
        expect(c.ids().size).toBe(manyMessages);
        const secs = Math.max(1, done - t0) / 1000;
        report(
          `[comms-bus ${name}] ${manyMessages} messages: publish ${published - t0} ms, ` +
            `end-to-end ${done - t0} ms (${Math.round(manyMessages / secs)} msg/s)`,
        );
      },
      testTimeoutMs,
    );

    it(
      'stops consuming on subscription stop (idempotent) and on close()',
      async () => {
        const bus = await open();
        const t = await newTopic(bus, 'close', 1);
        const stopped = new Collector();
        const sub = track(
          await bus.subscribe(t, { group: groupName('stopped'), fromBeginning: true }, stopped.handler),
        );
        const c = new Collector();
        track(await bus.subscribe(t, { group: groupName('close'), fromBeginning: true }, c.handler));
        await bus.publish(t, [{ key: 'k', value: body('m0', 0) }]);
        await wait(
          () => c.deliveries.length >= 1 && stopped.deliveries.length >= 1,
          () => 'the first message at both subscriptions',
        );
        await Promise.all([sub.stop(), sub.stop()]);
        await sub.stop();
        await bus.close();
        await bus.close();
        await expectBusError(bus.publish(t, [{ key: 'k', value: body('m1', 1) }]), 'BUS_UNAVAILABLE');
        await expectBusError(
          bus.subscribe(t, { group: groupName('late'), fromBeginning: true }, async () => {}),
          'BUS_UNAVAILABLE',
        );
        const other = await open();
        await other.publish(t, [{ key: 'k', value: body('m2', 2) }]);
        const probe = new Collector();
        track(await other.subscribe(t, { group: groupName('probe'), fromBeginning: true }, probe.handler));
        await wait(
          () => probe.ids().has('m2'),
          () => 'the second message at a fresh group on another bus',
        );
        await sleep(quietMs);
        expect(c.deliveries).toHaveLength(1);
        expect(stopped.deliveries).toHaveLength(1);
      },
      testTimeoutMs,
    );
  });
}
