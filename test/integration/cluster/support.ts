import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { sha256, toHex } from '../../../domain/crypto/index.js';
import { decodeEvent } from '../../../domain/shadowgraph/event.js';
import { dropPostgresSchemas } from '../../../src/eventstore/postgres-event-store.js';

/** Runs real `dagger node` processes from dist/ (built by `npm run build`). */
export const CLI = resolve('dist/src/cli/main.js');
export const PG_URL = process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger';

export interface Cluster {
  readonly dir: string;
  readonly prefix: string;
  readonly configs: readonly string[];
  readonly members: readonly string[];
  readonly urls: readonly string[];
  readonly procs: (ChildProcess | null)[];
}

export function writeCluster(nodes: number, port: number): Cluster {
  const dir = mkdtempSync(join(tmpdir(), 'dagger-cluster-'));
  const out = execFileSync(
    'node',
    [
      CLI,
      'genesis',
      '--nodes',
      String(nodes),
      '--out',
      dir,
      '--bus',
      'kafka',
      '--store',
      'postgres',
      '--port',
      String(port),
      '--network',
      `it-${Date.now()}`,
      '--json',
    ],
    { encoding: 'utf8' },
  );
  const summary = JSON.parse(out) as { prefix: string; configs: string[]; members: string[] };
  return {
    dir,
    prefix: summary.prefix,
    configs: summary.configs,
    members: summary.members,
    urls: summary.configs.map((_, i) => `http://127.0.0.1:${port + i}`),
    procs: summary.configs.map(() => null),
  };
}

export function startProcess(cluster: Cluster, i: number): ChildProcess {
  const child = spawn('node', [CLI, 'node', '--config', cluster.configs[i]!], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DAGGER_PG_URL: PG_URL },
  });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    log.push(d.toString());
    if (log.length > 200) log.shift();
  });
  (child as ChildProcess & { log: string[] }).log = log;
  cluster.procs[i] = child;
  return child;
}

export function processLog(child: ChildProcess | null): string {
  return ((child as (ChildProcess & { log?: string[] }) | null)?.log ?? []).join('');
}

export async function stopAll(cluster: Cluster): Promise<void> {
  await Promise.all(
    cluster.procs.map(
      (p) =>
        new Promise<void>((done) => {
          if (!p || p.exitCode !== null) return done();
          const timer = setTimeout(() => {
            p.kill('SIGKILL');
            done();
          }, 10_000);
          p.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          p.kill('SIGTERM');
        }),
    ),
  );
}

export async function getJson<T>(url: string): Promise<T | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return null;
    return (await res.json()) as T;
  } catch {
    return null;
  }
}

export interface Head {
  round: number;
  consensusIndex: number;
  orderHash: string;
}

/** Polls until the condition holds or the deadline passes; returns whether it held. */
export async function waitFor(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 500,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return condition();
}

/** The payloads a node's own store says it ordered, in order, read straight from its PostgreSQL schema. */
export async function orderedPayloads(prefix: string, member: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const schema = `${prefix}_${member.slice(0, 8)}`;
    const order = await client.query<{ event_id: string }>(
      `SELECT event_id FROM "${schema}".events WHERE stream_id = 'consensus' ORDER BY revision`,
    );
    const ids = order.rows.map((r) => r.event_id);
    const bodies = await client.query<{ event_id: string; data: Buffer }>(
      `SELECT DISTINCT ON (event_id) event_id, data FROM "${schema}".events WHERE type = 'ShadowGraphEvent' AND event_id = ANY($1)`,
      [ids],
    );
    const byId = new Map(bodies.rows.map((r) => [r.event_id, new Uint8Array(r.data)]));
    const out: string[] = [];
    for (const id of ids) {
      const bytes = byId.get(id);
      if (!bytes) throw new Error(`ordered event ${id} missing from ${schema}`);
      for (const p of decodeEvent(bytes, sha256).body.payloads) out.push(toHex(p));
    }
    return out;
  } finally {
    await client.end();
  }
}

export async function dropSchemas(prefix: string): Promise<void> {
  await dropPostgresSchemas(PG_URL, prefix);
}

export interface Decision {
  readonly type: 'PayloadAccepted' | 'PayloadRejected';
  readonly payloadId: string;
  readonly code?: string;
}

/** Every payload decision in a node's `ledger` stream, in ledger order. */
export async function ledgerDecisions(prefix: string, member: string): Promise<Decision[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const schema = `${prefix}_${member.slice(0, 8)}`;
    const rows = await client.query<{ data: Buffer }>(
      `SELECT data FROM "${schema}".events WHERE stream_id = 'ledger' ORDER BY revision`,
    );
    const out: Decision[] = [];
    for (const r of rows.rows) {
      const { event } = JSON.parse(r.data.toString('utf8')) as { event: Decision & { type: string } };
      if (event.type === 'PayloadAccepted' || event.type === 'PayloadRejected') out.push(event);
    }
    return out;
  } finally {
    await client.end();
  }
}
