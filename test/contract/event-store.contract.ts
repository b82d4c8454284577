/**
 * The event-store contract (src/eventstore/event-store.ts). Every adapter runs this one suite.
 *
 * The suite never assumes it owns the store: every test writes to streams named with a fresh random
 * prefix and judges $all only after a marker event it appended itself, ignoring other streams. So it
 * also runs against a shared server (EventStoreDB), where other writers may be active.
 */
import { randomBytes } from 'node:crypto';
import {
  EventStoreError,
  WrongExpectedRevisionError,
  type EventStore,
  type EventStoreErrorCode,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
} from '../../src/eventstore/event-store.js';

export interface EventStoreFixture {
  readonly store: EventStore;
  /** Another handle on the same data (another connection, as another process would have). */
  readonly openPeer?: () => Promise<EventStore>;
  /** Releases what the factory created (files, schemas); runs after the suite closed every handle. */
  readonly dispose?: () => Promise<void>;
}

export interface EventStoreContractOptions {
  /** The fixture has openPeer: registers the tests that need a second handle on the same data. */
  readonly peers?: boolean;
  /** Longest time a live subscription may take to see a commit made through a peer handle. */
  readonly peerLatencyMs?: number;
  /** Per-test timeout. */
  readonly timeoutMs?: number;
}

const TYPE = 'ContractTested';
const encoder = new TextEncoder();

export function ev(eventId: string, extra: Partial<NewEvent> = {}): NewEvent {
  return { eventId, type: TYPE, data: encoder.encode(`data of ${eventId}`), ...extra };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 5 ms; fails the test after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection, but the call succeeded'),
    (error: unknown) => error,
  );
}

export async function expectWrongRevision(
  promise: Promise<unknown>,
  streamId: string,
  expected: ExpectedRevision,
  actual: bigint,
): Promise<void> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  if (!(error instanceof WrongExpectedRevisionError)) return;
  expect({
    code: error.code,
    streamId: error.streamId,
    expected: error.expected,
    actual: error.actual,
  }).toEqual({
    code: 'WRONG_EXPECTED_REVISION',
    streamId,
    expected,
    actual,
  });
}

export async function expectStoreError(promise: Promise<unknown>, code: EventStoreErrorCode): Promise<void> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(EventStoreError);
  if (error instanceof EventStoreError) expect(error.code).toBe(code);
}

/** What identifies a delivered event in an exact comparison. */
const key = (e: RecordedEvent): string => `${e.globalPosition} ${e.streamId} ${e.revision} ${e.eventId}`;

function strictlyIncreasing(positions: readonly bigint[]): boolean {
  return positions.every((p, i) => i === 0 || p > positions[i - 1]!);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export function describeEventStoreContract(
  name: string,
  factory: () => Promise<EventStoreFixture>,
  options: EventStoreContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 30_000;
  const peerLatencyMs = options.peerLatencyMs ?? 3000;
  const withPeers = options.peers === true;
  // Not applicable without a second handle (':memory:'), so not registered rather than skipped.
  const peerTest = withPeers ? test : (): void => undefined;

  describe(`EventStore contract: ${name}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;
    let prefix: string;
    const peers: EventStore[] = [];

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      prefix = `ct${randomBytes(5).toString('hex')}`;
    });

    afterEach(async () => {
      for (const p of peers.splice(0)) await p.close();
      await store.close();
      await fixture.dispose?.();
    });

    const s = (stream: string): string => `${prefix}-${stream}`;
    const own = (events: readonly RecordedEvent[]): RecordedEvent[] =>
      events.filter((e) => e.streamId.startsWith(`${prefix}-`));
    const ids = async (stream: string, opts?: Parameters<EventStore['readStream']>[1]): Promise<string[]> =>
      (await collect(store.readStream(s(stream), opts))).map((e) => e.eventId);
    /** Appends an event to this test's marker stream; $all is judged after its position. */
    const marker = async (): Promise<bigint> => {
      const r = await store.append(s('marker'), [ev(`m-${randomBytes(4).toString('hex')}`)], 'any');
      if (r.position === null) throw new Error('the marker append wrote nothing');
      return r.position;
    };
    const peer = async (): Promise<EventStore> => {
      if (fixture.openPeer === undefined) throw new Error('this fixture has no peer handle');
      const p = await fixture.openPeer();
      peers.push(p);
      return p;
    };

    describe('append and expected revisions', () => {
      test(
        'no_stream creates a stream; exact revisions continue it; results report revision, position, count',
        async () => {
          const first = await store.append(s('a'), [ev('a0'), ev('a1'), ev('a2')], 'no_stream');
          expect(first.nextExpectedRevision).toBe(2n);
          expect(first.appended).toBe(3);
          expect(first.position).not.toBeNull();
          const second = await store.append(s('a'), [ev('a3')], 2n);
          expect(second).toEqual({ nextExpectedRevision: 3n, position: second.position, appended: 1 });
          expect(second.position! > first.position!).toBe(true);
          const read = await collect(store.readStream(s('a')));
          expect(read.map((e) => [e.revision, e.eventId, e.streamId, e.type])).toEqual([
            [0n, 'a0', s('a'), TYPE],
            [1n, 'a1', s('a'), TYPE],
            [2n, 'a2', s('a'), TYPE],
            [3n, 'a3', s('a'), TYPE],
          ]);
          expect(read[2]!.globalPosition).toBe(first.position);
          expect(read[3]!.globalPosition).toBe(second.position);
        },
        timeout,
      );

      test(
        'no_stream on an existing stream fails with the actual revision and writes nothing',
        async () => {
          await store.append(s('b'), [ev('b0'), ev('b1')], 'no_stream');
          await expectWrongRevision(store.append(s('b'), [ev('b2')], 'no_stream'), s('b'), 'no_stream', 1n);
          await expectWrongRevision(store.append(s('b'), [ev('b2')], -1n), s('b'), -1n, 1n);
          expect(await ids('b')).toEqual(['b0', 'b1']);
        },
        timeout,
      );

      test(
        'appendMany writes several streams in order, answers in order, and a repeated stream sees its earlier entry',
        async () => {
          const results = await store.appendMany([
            { streamId: s('m1'), events: [ev('x0'), ev('x1')], expected: 'no_stream' },
            { streamId: s('m2'), events: [ev('y0')], expected: 'any' },
            { streamId: s('m1'), events: [ev('x2')], expected: 1n },
          ]);
          expect(results.map((r) => [r.nextExpectedRevision, r.appended])).toEqual([
            [1n, 2],
            [0n, 1],
            [2n, 1],
          ]);
          expect(results[0]!.position! < results[1]!.position!).toBe(true);
          expect(results[1]!.position! < results[2]!.position!).toBe(true);
          expect(await ids('m1')).toEqual(['x0', 'x1', 'x2']);
          expect(await ids('m2')).toEqual(['y0']);
          const again = await store.appendMany([
            { streamId: s('m1'), events: [ev('x2')], expected: 0n },
            { streamId: s('m2'), events: [ev('y0')], expected: 'no_stream' },
          ]);
          expect(again.map((r) => [r.nextExpectedRevision, r.appended, r.position])).toEqual([
            [2n, 0, null],
            [0n, 0, null],
          ]);
          expect(await store.appendMany([])).toEqual([]);
        },
        timeout,
      );

      test(
        'appendMany with a failing expectation: nothing written where atomic, the entries before it elsewhere',
        async () => {
          await store.append(s('f2'), [ev('g0')], 'no_stream');
          await expectWrongRevision(
            store.appendMany([
              { streamId: s('f1'), events: [ev('h0')], expected: 'no_stream' },
              { streamId: s('f2'), events: [ev('g1')], expected: 5n },
              { streamId: s('f3'), events: [ev('k0')], expected: 'any' },
            ]),
            s('f2'),
            5n,
            0n,
          );
          expect(await ids('f1')).toEqual(store.atomicAcrossStreams ? [] : ['h0']);
          expect(await ids('f2')).toEqual(['g0']);
          expect(await ids('f3')).toEqual([]);
        },
        timeout,
      );

      test(
        'a stale or future exact revision fails with the actual one',
        async () => {
          await store.append(s('c'), [ev('c0'), ev('c1'), ev('c2')], 'no_stream');
          await expectWrongRevision(store.append(s('c'), [ev('c3')], 1n), s('c'), 1n, 2n);
          await expectWrongRevision(store.append(s('c'), [ev('c3')], 5n), s('c'), 5n, 2n);
          await expectWrongRevision(store.append(s('empty'), [ev('e0')], 0n), s('empty'), 0n, -1n);
          expect(await ids('c')).toEqual(['c0', 'c1', 'c2']);
          expect(await store.streamRevision(s('empty'))).toBe(-1n);
        },
        timeout,
      );

      test(
        '-1n behaves as no_stream on an empty stream',
        async () => {
          const r = await store.append(s('d'), [ev('d0')], -1n);
          expect(r.nextExpectedRevision).toBe(0n);
          expect(await ids('d')).toEqual(['d0']);
        },
        timeout,
      );

      test(
        'any appends to empty and non-empty streams',
        async () => {
          expect((await store.append(s('e'), [ev('e0')], 'any')).nextExpectedRevision).toBe(0n);
          expect((await store.append(s('e'), [ev('e1'), ev('e2')], 'any')).nextExpectedRevision).toBe(2n);
          expect(await ids('e')).toEqual(['e0', 'e1', 'e2']);
        },
        timeout,
      );

      test(
        'stream_exists fails on an empty stream (actual -1n) and succeeds on a non-empty one',
        async () => {
          await expectWrongRevision(
            store.append(s('f'), [ev('f0')], 'stream_exists'),
            s('f'),
            'stream_exists',
            -1n,
          );
          expect(await store.streamRevision(s('f'))).toBe(-1n);
          await store.append(s('f'), [ev('f0')], 'no_stream');
          const r = await store.append(s('f'), [ev('f1')], 'stream_exists');
          expect(r.nextExpectedRevision).toBe(1n);
          expect(await ids('f')).toEqual(['f0', 'f1']);
        },
        timeout,
      );

      test(
        'the typed error is an EventStoreError with a stable code',
        async () => {
          await store.append(s('g'), [ev('g0')], 'no_stream');
          const error = await failure(store.append(s('g'), [ev('g1')], 'no_stream'));
          expect(error).toBeInstanceOf(EventStoreError);
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({
            code: 'WRONG_EXPECTED_REVISION',
            name: 'WrongExpectedRevisionError',
          });
        },
        timeout,
      );

      test(
        'refuses malformed requests with BAD_REQUEST before writing anything',
        async () => {
          const bad: [string, readonly NewEvent[], ExpectedRevision][] = [
            [s('h'), [ev('x'), ev('x')], 'any'],
            [s('h'), [ev('')], 'any'],
            [s('h'), [ev('x', { type: '' })], 'any'],
            [s('h'), [ev('x', { type: '$system' })], 'any'],
            [s('h'), [ev('x', { metadata: { n: 1n } })], 'any'],
            [s('h'), [ev('x', { metadata: { u: undefined } })], 'any'],
            [s('h'), [ev('x', { metadata: { f: Number.NaN } })], 'any'],
            [s('h'), [ev('x', { metadata: { d: new Date(0) } })], 'any'],
            [s('h'), [ev('x', { metadata: { z: 'nul\u0000' } })], 'any'],
            [s('h'), [ev('x\ud800')], 'any'],
            [s('h'), [ev('x')], -2n],
            ['', [ev('x')], 'any'],
            ['$system', [ev('x')], 'any'],
          ];
          for (const [stream, events, expected] of bad)
            await expectStoreError(store.append(stream, events, expected), 'BAD_REQUEST');
          expect(await store.streamRevision(s('h'))).toBe(-1n);
          await expectStoreError(collect(store.readStream(s('h'), { maxCount: -1 })), 'BAD_REQUEST');
          await expectStoreError(collect(store.readStream(s('h'), { fromRevision: -1n })), 'BAD_REQUEST');
          await expectStoreError(collect(store.readAll({ after: -1n })), 'BAD_REQUEST');
          expect(() => store.subscribeToAll(-5n, { onEvent: () => undefined })).toThrow(EventStoreError);
        },
        timeout,
      );
    });

    describe('idempotency by event id', () => {
      test(
        'retrying the same batch is a no-op, even with the now-stale expected revision',
        async () => {
          const batch = [ev('i0'), ev('i1'), ev('i2')];
          const first = await store.append(s('i'), batch, 'no_stream');
          const retry = await store.append(s('i'), batch, 'no_stream');
          expect(retry).toEqual({ nextExpectedRevision: 2n, position: null, appended: 0 });
          const retryExact = await store.append(s('i'), batch, -1n);
          expect(retryExact).toEqual({ nextExpectedRevision: 2n, position: null, appended: 0 });
          const retryAny = await store.append(s('i'), [ev('i1')], 'any');
          expect(retryAny).toEqual({ nextExpectedRevision: 2n, position: null, appended: 0 });
          const events = await collect(store.readStream(s('i')));
          expect(events.map((e) => e.eventId)).toEqual(['i0', 'i1', 'i2']);
          expect(events[2]!.globalPosition).toBe(first.position);
        },
        timeout,
      );

      test(
        'partial duplicates are skipped and the check applies to the rest',
        async () => {
          await store.append(s('p'), [ev('p0'), ev('p1'), ev('p2')], 'no_stream');
          const r = await store.append(s('p'), [ev('p2'), ev('p3'), ev('p1'), ev('p4')], 2n);
          expect(r.appended).toBe(2);
          expect(r.nextExpectedRevision).toBe(4n);
          expect(await ids('p')).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
          // p4 is a duplicate, p5 is new: the stale expectation fails for p5.
          await expectWrongRevision(store.append(s('p'), [ev('p4'), ev('p5')], 2n), s('p'), 2n, 4n);
          expect(await ids('p')).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
        },
        timeout,
      );

      test(
        'an empty batch succeeds without a check',
        async () => {
          await store.append(s('q'), [ev('q0')], 'no_stream');
          expect(await store.append(s('q'), [], 'no_stream')).toEqual({
            nextExpectedRevision: 0n,
            position: null,
            appended: 0,
          });
          expect(await store.append(s('q-none'), [], 'stream_exists')).toEqual({
            nextExpectedRevision: -1n,
            position: null,
            appended: 0,
          });
          expect(await store.streamRevision(s('q-none'))).toBe(-1n);
        },
        timeout,
      );

      test(
        'the same event id may live in different streams',
        async () => {
          await store.append(s('r1'), [ev('shared')], 'no_stream');
          const r = await store.append(s('r2'), [ev('shared')], 'no_stream');
          expect(r.appended).toBe(1);
          expect(await ids('r1')).toEqual(['shared']);
          expect(await ids('r2')).toEqual(['shared']);
        },
        timeout,
      );
    });

    describe('reading', () => {
      test(
        'readStream forwards, backwards, fromRevision and maxCount',
        async () => {
          await store.append(
            s('rs'),
            range(5).map((i) => ev(`rs${i}`)),
            'no_stream',
          );
          const revs = async (opts: Parameters<EventStore['readStream']>[1]): Promise<bigint[]> =>
            (await collect(store.readStream(s('rs'), opts))).map((e) => e.revision);
          expect(await revs(undefined)).toEqual([0n, 1n, 2n, 3n, 4n]);
          expect(await revs({ direction: 'backwards' })).toEqual([4n, 3n, 2n, 1n, 0n]);
          expect(await revs({ fromRevision: 2n })).toEqual([2n, 3n, 4n]);
          expect(await revs({ direction: 'backwards', fromRevision: 2n })).toEqual([2n, 1n, 0n]);
          expect(await revs({ maxCount: 2 })).toEqual([0n, 1n]);
          expect(await revs({ direction: 'backwards', maxCount: 2 })).toEqual([4n, 3n]);
          expect(await revs({ fromRevision: 1n, maxCount: 3 })).toEqual([1n, 2n, 3n]);
          expect(await revs({ fromRevision: 9n })).toEqual([]);
          expect(await revs({ direction: 'backwards', fromRevision: 9n })).toEqual([4n, 3n, 2n, 1n, 0n]);
          expect(await revs({ maxCount: 0 })).toEqual([]);
          expect(await ids('absent')).toEqual([]);
          expect(await ids('absent', { direction: 'backwards' })).toEqual([]);
        },
        timeout,
      );

      test(
        'readAll returns every stream in commit order, after a position (exclusive), with maxCount',
        async () => {
          const start = await marker();
          const r1 = await store.append(s('A'), [ev('a1')], 'any');
          const r2 = await store.append(s('B'), [ev('b1')], 'any');
          const r3 = await store.append(s('A'), [ev('a2')], 'any');
          const r4 = await store.append(s('C'), [ev('c1'), ev('c2')], 'any');
          const all = own(await collect(store.readAll({ after: start }))).filter(
            (e) => e.streamId !== s('marker'),
          );
          expect(all.map((e) => `${e.streamId.slice(prefix.length + 1)}:${e.eventId}`)).toEqual([
            'A:a1',
            'B:b1',
            'A:a2',
            'C:c1',
            'C:c2',
          ]);
          expect(strictlyIncreasing(all.map((e) => e.globalPosition))).toBe(true);
          expect(all.every((e) => e.globalPosition > start)).toBe(true);
          expect([all[0], all[1], all[2], all[4]].map((e) => e!.globalPosition)).toEqual([
            r1.position,
            r2.position,
            r3.position,
            r4.position,
          ]);
          const afterB = own(await collect(store.readAll({ after: r2.position! })));
          expect(afterB.map((e) => e.eventId)).toEqual(['a2', 'c1', 'c2']);
          const unbounded = await collect(store.readAll({ after: start }));
          const firstTwo = await collect(store.readAll({ after: start, maxCount: 2 }));
          expect(firstTwo.map(key)).toEqual(unbounded.slice(0, 2).map(key));
          expect(firstTwo).toHaveLength(2);
          const fromBeginning = own(await collect(store.readAll()));
          expect(fromBeginning.map(key)).toEqual(own(await collect(store.readAll({ after: 0n }))).map(key));
          expect(fromBeginning[0]!.globalPosition).toBe(start);
          expect(fromBeginning.slice(1).map(key)).toEqual(all.map(key));
          expect(await collect(store.readAll({ after: start, maxCount: 0 }))).toEqual([]);
        },
        timeout,
      );

      test(
        'streamRevision is -1n for an absent stream and the last revision otherwise',
        async () => {
          expect(await store.streamRevision(s('sr'))).toBe(-1n);
          await store.append(s('sr'), [ev('x0'), ev('x1'), ev('x2')], 'no_stream');
          await store.append(s('sr-other'), [ev('y0')], 'no_stream');
          expect(await store.streamRevision(s('sr'))).toBe(2n);
          expect(await store.streamRevision(s('sr-other'))).toBe(0n);
        },
        timeout,
      );

      test(
        'data bytes and metadata round-trip exactly',
        async () => {
          const all256 = Uint8Array.from(range(256));
          const metadata = {
            text: 'quotes " and \\ backslash, ünïcödé, 漢字, emoji 🎉, tab\t, newline\n',
            numbers: [0, -5, 0.1, 1e21, 2 ** 53 - 1, -1.5e-7],
            flags: { yes: true, no: false, nothing: null },
            nested: { deeper: { list: [[1], { a: 'b' }, []] }, empty: {} },
            'key with spaces': 'v',
          };
          await store.append(
            s('rt'),
            [
              ev('bytes', { data: all256, metadata }),
              ev('empty', { data: new Uint8Array(0), metadata: {} }),
              ev('none', { data: all256.subarray(10, 20) }),
            ],
            'no_stream',
          );
          const [a, b, c] = await collect(store.readStream(s('rt')));
          expect(a!.data).toBeInstanceOf(Uint8Array);
          expect(Array.from(a!.data)).toEqual(range(256));
          expect(a!.metadata).toEqual(metadata);
          expect(b!.data).toHaveLength(0);
          expect(b!.metadata).toEqual({});
          expect(Array.from(c!.data)).toEqual(range(10).map((i) => i + 10));
          expect(c!.metadata).toBeNull();
        },
        timeout,
      );

      test(
        'a batch of 10,000 events is atomic and reads back in order; single events of 70 KiB round-trip',
        async () => {
          const start = await marker();
          const batch = range(10_000).map((i) => ev(`big${i}`, { data: encoder.encode(`e${i}`) }));
          const r = await store.append(s('big'), batch, 'no_stream');
          expect(r.appended).toBe(10_000);
          expect(r.nextExpectedRevision).toBe(9_999n);
          const read = await collect(store.readStream(s('big')));
          expect(read).toHaveLength(10_000);
          expect(read.every((e, i) => e.revision === BigInt(i) && e.eventId === `big${i}`)).toBe(true);
          expect(read.every((e, i) => new TextDecoder().decode(e.data) === `e${i}`)).toBe(true);
          expect(read.at(-1)!.globalPosition).toBe(r.position);
          const back = await collect(store.readStream(s('big'), { direction: 'backwards' }));
          expect(back.map((e) => e.eventId)).toEqual(read.map((e) => e.eventId).reverse());
          const inAll = own(await collect(store.readAll({ after: start })));
          expect(inAll.map(key)).toEqual(read.map(key));
          expect(strictlyIncreasing(inAll.map((e) => e.globalPosition))).toBe(true);

          const large = range(3).map((i) => ev(`large${i}`, { data: randomBytes(70 * 1024 + i) }));
          for (const e of large) await store.append(s('large'), [e], 'any');
          const largeRead = await collect(store.readStream(s('large')));
          expect(largeRead.map((e) => Buffer.from(e.data).toString('hex'))).toEqual(
            large.map((e) => Buffer.from(e.data).toString('hex')),
          );
        },
        Math.max(timeout, 60_000),
      );
    });

    describe('concurrency', () => {
      test(
        'appenders racing on one exact revision: exactly one wins, the others get the typed error',
        async () => {
          const stream = s('race');
          await store.append(stream, [ev('seed')], 'no_stream');
          const writers = withPeers
            ? [store, await peer(), store, await peer(), store]
            : range(5).map(() => store);
          const winners: string[] = [];
          for (let round = 1; round <= 8; round++) {
            const expected = BigInt(round - 1);
            const results = await Promise.allSettled(
              writers.map((w, k) => w.append(stream, [ev(`r${round}w${k}`)], expected)),
            );
            const won = results.flatMap((r, k) => (r.status === 'fulfilled' ? [k] : []));
            expect(won).toHaveLength(1);
            for (const r of results)
              if (r.status === 'rejected')
                await expectWrongRevision(Promise.reject(r.reason), stream, expected, BigInt(round));
            winners.push(`r${round}w${won[0]}`);
          }
          const events = await collect(store.readStream(stream));
          expect(events.map((e) => e.revision)).toEqual(range(9).map(BigInt));
          expect(events.map((e) => e.eventId)).toEqual(['seed', ...winners]);
        },
        timeout,
      );

      test(
        'workers that retry on conflicts lose no event and duplicate no revision',
        async () => {
          const stream = s('workers');
          const handles = withPeers ? [store, await peer(), await peer()] : [store, store, store];
          let conflicts = 0;
          const work = async (w: number): Promise<void> => {
            const handle = handles[w % handles.length]!;
            for (let i = 0; i < 15; i++) {
              // A worker loses at most one race per event another worker wins: 4 workers * 15 events bound it.
              for (let attempt = 0; ; attempt++) {
                if (attempt > 60) throw new Error('too many conflicts');
                const revision = await handle.streamRevision(stream);
                try {
                  await handle.append(stream, [ev(`w${w}-${i}`)], revision);
                  break;
                } catch (error) {
                  if (!(error instanceof WrongExpectedRevisionError)) throw error;
                  conflicts += 1;
                }
              }
            }
          };
          await Promise.all(range(4).map(work));
          const events = await collect(store.readStream(stream));
          expect(events.map((e) => e.revision)).toEqual(range(60).map(BigInt));
          expect(new Set(events.map((e) => e.eventId)).size).toBe(60);
          expect(events.map((e) => e.eventId).sort()).toEqual(
            range(4)
              .flatMap((w) => range(15).map((i) => `w${w}-${i}`))
              .sort(),
          );
          for (let w = 0; w < 4; w++) {
            const mine = events.filter((e) => e.eventId.startsWith(`w${w}-`)).map((e) => e.eventId);
            expect(mine).toEqual(range(15).map((i) => `w${w}-${i}`));
          }
          expect(conflicts).toBeGreaterThan(0);
        },
        Math.max(timeout, 60_000),
      );
    });

    describe('subscribeToAll', () => {
      test(
        'catch-up turns live with no gap and no duplicate while another writer appends',
        async () => {
          const start = await marker();
          for (let b = 0; b < 12; b++)
            await store.append(
              s(`hist${b % 3}`),
              range(100).map((i) => ev(`h${b}-${i}`)),
              'any',
            );
          const seen: RecordedEvent[] = [];
          const allPositions: bigint[] = [];
          let inFlight = 0;
          let overlapped = false;
          let caughtUpCalls = 0;
          let seenAtCaughtUp = -1;
          const sub = store.subscribeToAll(start, {
            onEvent: async (e) => {
              inFlight += 1;
              if (inFlight > 1) overlapped = true;
              allPositions.push(e.globalPosition);
              if (e.streamId.startsWith(`${prefix}-`)) seen.push(e);
              if (seen.length % 101 === 0) await sleep(1);
              inFlight -= 1;
            },
            onCaughtUp: () => {
              caughtUpCalls += 1;
              seenAtCaughtUp = seen.length;
            },
          });
          const writer = (async () => {
            for (let i = 0; i < 40; i++) {
              await store.append(s(`live${i % 4}`), [ev(`w${i}a`), ev(`w${i}b`)], 'any');
              await sleep(i % 5 === 0 ? 2 : 0);
            }
          })();
          await sub.caughtUp;
          await writer;
          for (let i = 0; i < 20; i++) {
            await store.append(s('after'), [ev(`after${i}`)], 'any');
            if (i % 4 === 0) await sleep(2);
          }
          const expected = own(await collect(store.readAll({ after: start })));
          expect(expected).toHaveLength(1200 + 80 + 20);
          await waitFor('the subscriber to see every event', () => seen.length >= expected.length);
          await sleep(50);
          await sub.stop();
          expect(seen.map(key)).toEqual(expected.map(key));
          expect(strictlyIncreasing(allPositions)).toBe(true);
          expect(caughtUpCalls).toBe(1);
          expect(seenAtCaughtUp).toBeGreaterThanOrEqual(1200);
          expect(overlapped).toBe(false);
        },
        Math.max(timeout, 60_000),
      );

      test(
        "from 'start' it delivers what readAll() holds, then what is appended later",
        async () => {
          await store.append(s('st'), [ev('st0'), ev('st1')], 'no_stream');
          const seen: RecordedEvent[] = [];
          const sub = store.subscribeToAll('start', { onEvent: (e) => void seen.push(e) });
          await sub.caughtUp;
          await store.append(s('st'), [ev('st2')], 1n);
          await waitFor('st2', () => own(seen).length === 3);
          await sub.stop();
          const all = own(await collect(store.readAll()));
          expect(own(seen).map(key)).toEqual(all.map(key));
          expect(all.map((e) => e.eventId)).toEqual(['st0', 'st1', 'st2']);
        },
        timeout,
      );

      test(
        'from a position it starts strictly after it, and caughtUp resolves at once at the head',
        async () => {
          await store.append(s('fp'), [ev('fp0')], 'no_stream');
          const r = await store.append(s('fp'), [ev('fp1')], 0n);
          const seen: RecordedEvent[] = [];
          let caught = 0;
          const sub = store.subscribeToAll(r.position!, {
            onEvent: (e) => void seen.push(e),
            onCaughtUp: () => void (caught += 1),
          });
          await sub.caughtUp;
          expect(caught).toBe(1);
          expect(own(seen)).toEqual([]);
          await store.append(s('fp'), [ev('fp2')], 1n);
          await waitFor('fp2', () => own(seen).length === 1);
          await sub.stop();
          expect(own(seen).map((e) => e.eventId)).toEqual(['fp2']);
        },
        timeout,
      );

      test(
        'handlers run one at a time: the next waits for the returned promise',
        async () => {
          const start = await marker();
          await store.append(
            s('seq'),
            range(30).map((i) => ev(`q${i}`)),
            'no_stream',
          );
          const log: string[] = [];
          const sub = store.subscribeToAll(start, {
            onEvent: async (e) => {
              if (!e.streamId.startsWith(`${prefix}-`)) return;
              log.push(`begin ${e.eventId}`);
              await sleep(1);
              log.push(`end ${e.eventId}`);
            },
          });
          await waitFor('30 events', () => log.length === 60);
          await sub.stop();
          expect(log).toEqual(range(30).flatMap((i) => [`begin q${i}`, `end q${i}`]));
        },
        timeout,
      );

      test(
        'a handler that throws ends its subscription and reaches onError',
        async () => {
          const start = await marker();
          const boom = new Error('handler failed');
          const errors: unknown[] = [];
          let calls = 0;
          const sub = store.subscribeToAll(start, {
            onEvent: (e) => {
              if (!e.streamId.startsWith(`${prefix}-`)) return;
              calls += 1;
              throw boom;
            },
            onError: (error) => void errors.push(error),
          });
          await store.append(s('boom'), [ev('x0'), ev('x1')], 'no_stream');
          await waitFor('onError', () => errors.length === 1);
          await store.append(s('boom'), [ev('x2')], 1n);
          await sleep(100);
          expect(errors).toEqual([boom]);
          expect(calls).toBe(1);
          await expect(sub.stop()).resolves.toBeUndefined();
        },
        timeout,
      );

      test(
        'stop() waits for the running handler; stopped before the head, caughtUp rejects',
        async () => {
          const start = await marker();
          await store.append(
            s('gate'),
            range(5).map((i) => ev(`g${i}`)),
            'no_stream',
          );
          let release: () => void = () => undefined;
          const gate = new Promise<void>((resolve) => (release = resolve));
          let calls = 0;
          let finished = 0;
          const sub = store.subscribeToAll(start, {
            onEvent: async (e) => {
              if (!e.streamId.startsWith(`${prefix}-`)) return;
              calls += 1;
              await gate;
              finished += 1;
            },
          });
          await waitFor('the first event', () => calls === 1);
          let stopped = false;
          const stopping = sub.stop().then(() => void (stopped = true));
          await sleep(30);
          expect(stopped).toBe(false);
          release();
          await stopping;
          expect(finished).toBe(1);
          expect(calls).toBe(1);
          await expectStoreError(sub.caughtUp, 'STORE_UNAVAILABLE');
        },
        timeout,
      );

      test(
        'stop() called from inside a handler returns without deadlock and no event follows',
        async () => {
          const start = await marker();
          await store.append(
            s('self'),
            range(5).map((i) => ev(`s${i}`)),
            'no_stream',
          );
          const seen: string[] = [];
          const sub = store.subscribeToAll(start, {
            onEvent: async (e) => {
              if (!e.streamId.startsWith(`${prefix}-`)) return;
              seen.push(e.eventId);
              if (seen.length === 2) await sub.stop();
            },
          });
          await waitFor('two events', () => seen.length === 2);
          await sub.stop();
          await sleep(50);
          expect(seen).toEqual(['s0', 's1']);
        },
        timeout,
      );

      test(
        'close() stops subscriptions; calls after close fail with STORE_UNAVAILABLE',
        async () => {
          const start = await marker();
          const seen: RecordedEvent[] = [];
          const errors: unknown[] = [];
          const sub = store.subscribeToAll(start, {
            onEvent: (e) => void seen.push(e),
            onError: (error) => void errors.push(error),
          });
          await sub.caughtUp;
          await store.append(s('close'), [ev('c0')], 'no_stream');
          await waitFor('c0', () => own(seen).length === 1);
          await store.close();
          await expect(sub.stop()).resolves.toBeUndefined();
          if (withPeers) {
            const p = await peer();
            await p.append(s('close'), [ev('c1')], 0n);
            await sleep(peerLatencyMs);
          }
          expect(own(seen).map((e) => e.eventId)).toEqual(['c0']);
          expect(errors).toEqual([]);
          await expectStoreError(store.append(s('close'), [ev('c2')], 'any'), 'STORE_UNAVAILABLE');
          await expectStoreError(store.streamRevision(s('close')), 'STORE_UNAVAILABLE');
          await expectStoreError(collect(store.readAll({ after: start })), 'STORE_UNAVAILABLE');
          await expectStoreError(collect(store.readStream(s('close'))), 'STORE_UNAVAILABLE');
          expect(() => store.subscribeToAll(start, { onEvent: () => undefined })).toThrow(EventStoreError);
        },
        timeout,
      );

      peerTest(
        'a live subscription sees commits made through another handle',
        async () => {
          const p = await peer();
          const start = await marker();
          const seen: RecordedEvent[] = [];
          const sub = store.subscribeToAll(start, { onEvent: (e) => void seen.push(e) });
          await sub.caughtUp;
          const began = Date.now();
          await p.append(s('peer'), [ev('pe0'), ev('pe1')], 'no_stream');
          await waitFor('the peer commit', () => own(seen).length === 2, peerLatencyMs + 2000);
          const latency = Date.now() - began;
          await sub.stop();
          expect(own(seen).map((e) => e.eventId)).toEqual(['pe0', 'pe1']);
          expect(latency).toBeLessThanOrEqual(peerLatencyMs);
        },
        timeout,
      );
    });
  });
}
