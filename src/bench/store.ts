import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore, NewEvent } from '../eventstore/event-store.js';
import { dropPostgresSchemas, PostgresEventStore } from '../eventstore/postgres-event-store.js';
import { SqliteEventStore } from '../eventstore/sqlite-event-store.js';

/**
 * `dagger bench store`: appends N events in batches of B to a fresh store (SQLite: a temporary file
 * with the node's settings, WAL and synchronous=FULL; PostgreSQL: a fresh schema at DAGGER_PG_URL,
 * dropped after), round-robin over 4 streams with exact expected revisions, as a node writes its
 * own ShadowGraph events. Then it reads them all back with readAll. Events carry a 64-hex id and
 * 256 bytes of data.
 */

export type StoreBenchKind = 'sqlite' | 'postgres';
export const STORE_BENCH_DATA_BYTES = 256;
const STREAMS = 4;

export interface StoreBenchCliOptions {
  readonly store: StoreBenchKind;
  readonly events: number;
  readonly batch: number;
  readonly json?: boolean;
}

export interface StoreBenchOptions {
  readonly store: StoreBenchKind;
  readonly events: number;
  readonly batch: number;
  /** PostgreSQL server; default DAGGER_PG_URL, else the local test service. */
  readonly pgUrl?: string;
  readonly onProgress?: (p: StoreBenchProgress) => void;
  readonly progressMs?: number;
}

export interface StoreBenchProgress {
  readonly phase: 'append' | 'read';
  readonly done: number;
  readonly total: number;
  readonly elapsedSec: number;
}

export interface StoreBenchReport {
  readonly store: StoreBenchKind;
  readonly events: number;
  readonly batch: number;
  readonly appendsPerSec: number;
  /** readAll throughput. */
  readonly readsPerSec: number;
  readonly cores: number;
}

interface OpenedStore {
  readonly store: EventStore;
  cleanup(): Promise<void>;
}

async function openBenchStore(options: StoreBenchOptions): Promise<OpenedStore> {
  if (options.store === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'dagger-bench-store-'));
    try {
      const store = new SqliteEventStore(join(dir, 'events.sqlite'));
      return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
  const url = options.pgUrl ?? process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger';
  const schema = `dagger_bench_${randomBytes(6).toString('hex')}`;
  const drop = async (): Promise<void> => {
    await dropPostgresSchemas(url, schema);
  };
  try {
    return { store: await PostgresEventStore.open({ url, schema }), cleanup: drop };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
}

export async function runStoreBench(options: StoreBenchOptions): Promise<StoreBenchReport> {
  const { events, batch } = options;
  const progressMs = options.progressMs ?? 500;
  const pool = randomBytes(1 << 20);
  const { store, cleanup } = await openBenchStore(options);
  try {
    const revisions = Array.from({ length: STREAMS }, () => -1n);
    let lastReport = 0;
    const report = (phase: StoreBenchProgress['phase'], done: number, t0: number, force = false): void => {
      const now = performance.now();
      if (options.onProgress === undefined || (!force && now - lastReport < progressMs)) return;
      lastReport = now;
      options.onProgress({ phase, done, total: events, elapsedSec: (now - t0) / 1000 });
    };

    const appendStart = performance.now();
    let written = 0;
    for (let b = 0; written < events; b++) {
      const n = Math.min(batch, events - written);
      const batchEvents: NewEvent[] = [];
      for (let k = 0; k < n; k++) {
        const i = written + k;
        const offset = (i * 4099) % (pool.length - STORE_BENCH_DATA_BYTES);
        batchEvents.push({
          eventId: i.toString(16).padStart(64, '0'),
          type: 'BenchEvent',
          data: pool.subarray(offset, offset + STORE_BENCH_DATA_BYTES),
        });
      }
      const stream = b % STREAMS;
      const result = await store.append(`bench-${stream}`, batchEvents, revisions[stream]!);
      revisions[stream] = result.nextExpectedRevision;
      written += n;
      report('append', written, appendStart);
    }
    const appendSec = (performance.now() - appendStart) / 1000;
    report('append', written, appendStart, true);

    const readStart = performance.now();
    let read = 0;
    for await (const _ of store.readAll()) {
      read += 1;
      if ((read & 0x3fff) === 0) report('read', read, readStart);
    }
    const readSec = (performance.now() - readStart) / 1000;
    report('read', read, readStart, true);
    if (read !== events) throw new Error(`bench store: wrote ${events} events but readAll returned ${read}`);

    return {
      store: options.store,
      events,
      batch,
      appendsPerSec: Math.round(events / appendSec),
      readsPerSec: Math.round(read / readSec),
      cores: availableParallelism(),
    };
  } finally {
    await store.close();
    await cleanup();
  }
}

export function formatStoreBenchReport(r: StoreBenchReport): string {
  const lines = [
    `store                  ${r.store}`,
    `events                 ${r.events} (${STORE_BENCH_DATA_BYTES} B of data each)`,
    `batch                  ${r.batch}`,
    `cores                  ${r.cores}`,
    `appended events/s      ${r.appendsPerSec}`,
    `readAll events/s       ${r.readsPerSec}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function storeProgressLine(p: StoreBenchProgress): string {
  return `bench store ${p.elapsedSec.toFixed(1)}s | ${p.phase} ${p.done}/${p.total}`;
}
