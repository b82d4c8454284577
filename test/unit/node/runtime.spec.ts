import { jest } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { MemoryBroker, MemoryCommsBus } from '../../../src/bus/memory-bus.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import { SqliteWriterThread } from '../../../src/eventstore/sqlite-writer.js';
import { sha256 } from '../../../domain/crypto/index.js';
import { makeGenesis, type Genesis, type NodeKey } from '../../../src/node/genesis.js';
import { NodeRuntime, STREAMS, topicsFor } from '../../../src/node/node-runtime.js';
import { tsWorker } from '../api/ts-thread.js';
import { FAST, until } from './support.js';

const WRITER = 'src/eventstore/sqlite-writer-worker.ts';

/** Four full node runtimes in one process: SQLite stores, one in-process broker, real timers. */
jest.setTimeout(120_000);

describe('NodeRuntime on the embedded adapters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dagger-runtime-'));
  const secrets = [0, 1, 2, 3].map((i) => sha256(new TextEncoder().encode(`runtime-spec:${i}`)));
  const { genesis, keys } = makeGenesis('runtime-spec', secrets, (i) => `http://127.0.0.1:${4000 + i}`, FAST);
  const broker = new MemoryBroker();
  const stores: SqliteEventStore[] = [];
  const runtimes: NodeRuntime[] = [];
  const ordered: string[][] = [[], [], [], []];

  const writers: SqliteWriterThread[] = [];
  let writerThread: Worker | undefined;

  const start = async (i: number, g: Genesis = genesis, key: NodeKey = keys[i]!) => {
    const store = new SqliteEventStore(join(dir, `node-${i}.sqlite`));
    // Node 0 commits its steps in a writer thread, as a launched node does; the others in-thread.
    const writer =
      i === 0 ? await SqliteWriterThread.for(store, (init) => (writerThread = tsWorker(WRITER, init))) : null;
    if (writer) writers.push(writer);
    const runtime = new NodeRuntime({
      genesis: g,
      key,
      store,
      ...(writer ? { stepAppender: writer } : {}),
      bus: new MemoryCommsBus({ broker }),
      tickMs: 2,
      syncMs: 200,
    });
    ordered[i] = [];
    runtime.onOrdered((records, events) => {
      for (const e of events)
        for (const p of e.event.body.payloads) ordered[i]!.push(Buffer.from(p).toString('hex'));
      void records;
    });
    await runtime.start();
    stores[i] = store;
    runtimes[i] = runtime;
    return runtime;
  };

  afterAll(async () => {
    for (const r of runtimes) await r?.stop();
    for (const w of writers) await w.close();
    for (const s of stores) await s?.close();
  });

  it('orders payloads from the intake topic on every node, each once, in one order', async () => {
    for (let i = 0; i < 4; i++) await start(i);
    const bus = new MemoryCommsBus({ broker });
    const payloads = Array.from({ length: 400 }, (_, i) => new TextEncoder().encode(`p${i}`));
    await bus.publish(
      topicsFor(genesis).payloads,
      payloads.map((value) => ({ key: null, value })),
    );
    const want = payloads.map((p) => Buffer.from(p).toString('hex'));
    expect(await until(() => ordered.every((o) => want.every((w) => o.includes(w))), 60_000)).toBe(true);
    for (const o of ordered) expect(new Set(o).size).toBe(o.length);
    const common = Math.min(...runtimes.map((r) => r.head().consensusIndex));
    const hashes = await Promise.all(runtimes.map((r) => r.orderHashAtIndex(common)));
    expect(new Set(hashes).size).toBe(1);
    // Node 0's steps went through its writer thread, which is still up.
    expect(writers.map((w) => w.broken)).toEqual([false]);
    expect(runtimes[0]!.stats.ownEvents).toBeGreaterThan(0);
    await bus.close();
  });

  it('a node whose step writer thread dies commits through its store and keeps ordering', async () => {
    await writerThread!.terminate();
    expect(writers[0]!.broken).toBe(true);
    const ownBefore = runtimes[0]!.stats.ownEvents;
    const bus = new MemoryCommsBus({ broker });
    const payloads = Array.from({ length: 100 }, (_, i) => new TextEncoder().encode(`after-writer-${i}`));
    await bus.publish(
      topicsFor(genesis).payloads,
      payloads.map((value) => ({ key: null, value })),
    );
    const want = payloads.map((p) => Buffer.from(p).toString('hex'));
    expect(await until(() => ordered.every((o) => want.every((w) => o.includes(w))), 60_000)).toBe(true);
    expect(runtimes[0]!.stats.ownEvents).toBeGreaterThan(ownBefore);
    const common = Math.min(...runtimes.map((r) => r.head().consensusIndex));
    const hashes = await Promise.all(runtimes.map((r) => r.orderHashAtIndex(common)));
    expect(new Set(hashes).size).toBe(1);
    await bus.close();
  });

  it('restarts a node from its store: no seq reused, the consensus stream continues without repeats', async () => {
    const victim = 1;
    const before = runtimes[victim]!.head();
    await runtimes[victim]!.stop();
    await stores[victim]!.close();
    const ownBefore = await stores[victim]!.streamRevision(
      STREAMS.shadowgraph(keys[victim]!.publicKey),
    ).catch(() => null);
    void ownBefore;
    const restarted = await start(victim);
    expect(restarted.head().consensusIndex).toBeGreaterThanOrEqual(before.consensusIndex);
    const others = runtimes.filter((_, i) => i !== victim);
    const target = Math.max(...others.map((r) => r.head().consensusIndex)) + 20;
    expect(await until(() => restarted.head().consensusIndex >= target, 60_000)).toBe(true);
    const common = Math.min(...runtimes.map((r) => r.head().consensusIndex));
    const hashes = await Promise.all(runtimes.map((r) => r.orderHashAtIndex(common)));
    expect(new Set(hashes).size).toBe(1);
    // The consensus stream holds each index once, in order.
    let expected = 0;
    for await (const r of stores[victim]!.readStream(STREAMS.consensus)) {
      expect(Number(r.revision)).toBe(expected);
      expect(
        (JSON.parse(new TextDecoder().decode(r.data)) as { consensusIndex: number }).consensusIndex,
      ).toBe(expected);
      expected++;
    }
    expect(expected).toBe(restarted.head().consensusIndex);
    // Own events: revision = seq, no gap, no repeat.
    let seq = 0;
    for await (const r of stores[victim]!.readStream(STREAMS.shadowgraph(keys[victim]!.publicKey)))
      expect(Number(r.revision)).toBe(seq++);
    expect(seq).toBeGreaterThan(10);
  });

  it('a node away longer than its peers keep events in memory catches up from their stores', async () => {
    const victim = 2;
    const others = runtimes.filter((_, i) => i !== victim);
    await runtimes[victim]!.stop();
    await stores[victim]!.close();
    const left = Math.max(...others.map((r) => r.lastDecidedRound()));
    // Past the prune horizon: what the victim lacks is no longer in any peer's graph.
    const pruned = left + FAST.pruneHorizon + 8;
    expect(await until(() => Math.min(...others.map((r) => r.lastDecidedRound())) >= pruned, 60_000)).toBe(
      true,
    );
    const fromStoreBefore = others.reduce((n, r) => n + r.stats.eventsSentFromStore, 0);
    const restarted = await start(victim);
    const target = Math.max(...others.map((r) => r.head().consensusIndex)) + 20;
    expect(await until(() => restarted.head().consensusIndex >= target, 60_000)).toBe(true);
    expect(others.reduce((n, r) => n + r.stats.eventsSentFromStore, 0)).toBeGreaterThan(fromStoreBefore);
    const common = Math.min(...runtimes.map((r) => r.head().consensusIndex));
    const hashes = await Promise.all(runtimes.map((r) => r.orderHashAtIndex(common)));
    expect(new Set(hashes).size).toBe(1);
  });

  it('refuses to start on a store that holds another genesis', async () => {
    const other = makeGenesis(
      'another-network',
      secrets,
      (i) => `http://127.0.0.1:${5000 + i}`,
      FAST,
    ).genesis;
    const store = new SqliteEventStore(join(dir, 'node-0.sqlite'));
    const runtime = new NodeRuntime({
      genesis: other,
      key: keys[0]!,
      store,
      bus: new MemoryCommsBus({ broker }),
    });
    await expect(runtime.start()).rejects.toThrow(/GENESIS_MISMATCH/);
    await store.close();
  });
});
