import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { sha256 } from '../../domain/crypto/index.js';
import { decodeEvent } from '../../domain/shadowgraph/event.js';
import type { CommsBus } from '../bus/comms-bus.js';
import { openCommsBus } from '../bus/open.js';
import { openEventStore } from '../eventstore/open.js';
import { dropPostgresSchemas } from '../eventstore/postgres-event-store.js';
import { networkPrefix } from '../node/genesis.js';
import { type RunningNode, startNode, storeUrlFor } from '../node/launcher.js';
import { writeNetwork } from '../node/network-files.js';
import { EVENT_TYPES, STREAMS, topicsFor } from '../node/node-runtime.js';
import { LatencyHistogram } from './histogram.js';

export interface ClusterBenchOptions {
  readonly nodes: number;
  readonly bus: 'memory' | 'kafka';
  readonly store: 'sqlite' | 'postgres';
  readonly payloads: number;
  /** Payloads per second, open loop; 0 = as fast as the bus takes them. */
  readonly rate: number;
  readonly onProgress?: (ordered: number, total: number) => void;
}

export interface ClusterBenchReport {
  readonly bench: 'cluster';
  readonly nodes: number;
  readonly bus: string;
  readonly store: string;
  readonly processes: boolean;
  readonly payloads: number;
  readonly cores: number;
  readonly payloadsPerSec: number;
  readonly finalityMs: { readonly p50: number; readonly p99: number };
  readonly duplicates: number;
  /**
   * CPU over the run (first submission to the last payload ordered everywhere), from /proc: the
   * machine's busy share of all its cores, its busy CPU per payload (nodes, broker, database,
   * publisher: everything), and the node processes' own; null where /proc cannot be read.
   */
  readonly cpu: {
    readonly machineBusyShare: number;
    readonly machineCpuUsPerPayload: number;
    readonly nodesCpuUsPerPayload: number | null;
  } | null;
}

const PAYLOAD_BYTES = 256;

/**
 * `dagger bench cluster`: N real nodes (separate `dagger node` processes on Kafka; in-process on
 * the memory bus), 256-byte payloads published on the intake topic, each carrying its submit
 * time. Throughput: payloads ordered by every node over the time from the first submission to
 * the last payload ordered on the last node. Finality per payload: from its submission to the
 * wall-clock time the last node ordered it (each node records that time beside its consensus
 * record), read back from every node's store after the run.
 */
export async function runClusterBench(opts: ClusterBenchOptions): Promise<ClusterBenchReport> {
  const dir = mkdtempSync(`${tmpdir()}/dagger-bench-cluster-`);
  const port = 21_000 + 10 * Math.floor(Math.random() * 1000);
  const processes = opts.bus === 'kafka';
  const layout = writeNetwork(dir, {
    nodes: opts.nodes,
    network: `bench-${Date.now()}`,
    host: '127.0.0.1',
    port,
    store: opts.store,
    bus: opts.bus,
  });
  const shared: CommsBus | undefined = processes ? undefined : openCommsBus('memory');
  const children: ChildProcess[] = [];
  const inProcess: RunningNode[] = [];
  const publisher = shared ?? openCommsBus('kafka');
  try {
    if (processes) {
      for (const file of layout.configFiles)
        children.push(
          spawn(process.execPath, [process.argv[1]!, 'node', '--config', file], { stdio: 'ignore' }),
        );
    } else {
      for (const config of layout.configs) inProcess.push(await startNode(config, { sharedBus: shared! }));
    }
    const urls = layout.configs.map((c) => `http://127.0.0.1:${c.api.port}`);
    await waitUntil(
      async () => (await Promise.all(urls.map(healthy))).every(Boolean),
      120_000,
      'nodes healthy',
    );

    const topic = topicsFor(layout.genesis).payloads;
    const pids = children.map((c) => c.pid!);
    const cpuAtStart = cpuSample(pids);
    const started = Date.now();
    const batchSize = 2000;
    for (let sent = 0; sent < opts.payloads;) {
      const n = Math.min(batchSize, opts.payloads - sent);
      const batch = Array.from({ length: n }, (_, i) => ({ key: null, value: benchPayload(sent + i) }));
      await publisher.publish(topic, batch);
      sent += n;
      if (opts.rate > 0) {
        const due = started + (sent / opts.rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    }
    let lastOrdered = 0;
    await waitUntil(
      async () => {
        const counts = await Promise.all(urls.map(orderedPayloadCount));
        lastOrdered = Math.min(...counts);
        opts.onProgress?.(Math.min(lastOrdered, opts.payloads), opts.payloads);
        return lastOrdered >= opts.payloads;
      },
      600_000,
      'every payload ordered on every node',
      100,
    );
    const cpuAtEnd = cpuSample(pids);

    // Read back from every node's store: when each node ordered each payload.
    const orderedAt = new Map<string, number>();
    let duplicates = 0;
    let lastMs = 0;
    for (let i = 0; i < layout.keys.length; i++) {
      const target = storeUrlFor(layout.configs[i]!, layout.genesis, layout.keys[i]!);
      const store = await openEventStore(
        target.url,
        target.schema ? { schema: target.schema, readOnly: true } : { readOnly: true },
      );
      try {
        const bodies = new Map<string, Uint8Array>();
        for await (const r of store.readAll())
          if (r.type === EVENT_TYPES.shadowgraphEvent) bodies.set(r.eventId, r.data);
        const seen = new Set<string>();
        for await (const r of store.readStream(STREAMS.consensus)) {
          const at = Number((r.metadata as { orderedAtMs?: number } | null)?.orderedAtMs ?? 0);
          const bytes = bodies.get(r.eventId);
          if (!bytes) continue;
          for (const p of decodeEvent(bytes, sha256).body.payloads) {
            if (p.length !== PAYLOAD_BYTES) continue;
            const key = Buffer.from(p.subarray(0, 16)).toString('hex');
            if (seen.has(key)) {
              duplicates++;
              continue;
            }
            seen.add(key);
            const submitted = Number(new DataView(p.buffer, p.byteOffset).getBigUint64(0)) / 1000;
            const latency = at - submitted;
            orderedAt.set(key, Math.max(orderedAt.get(key) ?? 0, latency));
            lastMs = Math.max(lastMs, at);
          }
        }
      } finally {
        await store.close();
      }
    }
    const finality = new LatencyHistogram();
    for (const ms of orderedAt.values()) finality.record(ms);
    const seconds = Math.max(0.001, (lastMs - started) / 1000);
    return {
      bench: 'cluster',
      nodes: opts.nodes,
      bus: opts.bus,
      store: opts.store,
      processes,
      payloads: opts.payloads,
      cores: availableParallelism(),
      payloadsPerSec: Math.round(opts.payloads / seconds),
      finalityMs: { p50: finality.percentile(0.5) ?? 0, p99: finality.percentile(0.99) ?? 0 },
      duplicates,
      cpu: cpuReport(cpuAtStart, cpuAtEnd, opts.payloads, processes),
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
    );
    for (const n of inProcess) await n.stop().catch(() => undefined);
    await publisher.close().catch(() => undefined);
    if (opts.store === 'postgres')
      await dropPostgresSchemas(
        process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger',
        networkPrefix(layout.genesis),
      ).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CpuSample {
  /** Jiffies over all cores: busy (everything but idle and iowait) and in total. */
  readonly machineBusy: number;
  readonly machineTotal: number;
  /** User + system jiffies of the node processes; null if one could not be read. */
  readonly nodes: number | null;
}

/** Linux reports /proc times in USER_HZ, 100 a second on every mainstream architecture. */
const JIFFY_US = 10_000;

export function cpuSample(pids: readonly number[]): CpuSample | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]!
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = fields[3]! + fields[4]!;
    let nodes: number | null = 0;
    for (const pid of pids) {
      try {
        // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        nodes += Number(rest[11]) + Number(rest[12]);
      } catch {
        nodes = null;
        break;
      }
    }
    return { machineBusy: total - idle, machineTotal: total, nodes };
  } catch {
    return null;
  }
}

export function cpuReport(
  start: CpuSample | null,
  end: CpuSample | null,
  payloads: number,
  processes: boolean,
): ClusterBenchReport['cpu'] {
  if (!start || !end || end.machineTotal <= start.machineTotal) return null;
  const busy = end.machineBusy - start.machineBusy;
  const nodes = processes && start.nodes !== null && end.nodes !== null ? end.nodes - start.nodes : null;
  return {
    machineBusyShare: Math.round((1000 * busy) / (end.machineTotal - start.machineTotal)) / 1000,
    machineCpuUsPerPayload: Math.round((busy * JIFFY_US) / payloads),
    nodesCpuUsPerPayload: nodes === null ? null : Math.round((nodes * JIFFY_US) / payloads),
  };
}

function benchPayload(seq: number): Uint8Array {
  const p = new Uint8Array(randomBytes(PAYLOAD_BYTES));
  const view = new DataView(p.buffer);
  view.setBigUint64(0, BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000)));
  view.setBigUint64(8, BigInt(seq));
  return p;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function orderedPayloadCount(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const m = /^dagger_ordered_payloads_total (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function waitUntil(
  cond: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(everyMs);
  }
  throw new Error(`bench cluster: timed out waiting for ${what}`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
