import { jest } from '@jest/globals';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { type AuditReport, auditStore, openAuditStore } from '../../../src/audit/index.js';
import { dropPostgresSchemas } from '../../../src/eventstore/postgres-event-store.js';
import { networkPrefix, parseGenesis } from '../../../src/node/genesis.js';

/**
 * `dagger audit` of a PostgreSQL store written by a devnet on PostgreSQL (npm run services:up;
 * the CLI from dist/, built by npm run build, so the audit's worker threads run).
 */
const CLI = resolve('dist/src/cli/main.js');
const PG_URL = process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger';
const PORT = 24_410;

jest.setTimeout(180_000);

interface CliRun {
  readonly code: number;
  readonly report: AuditReport;
}

function auditCli(storeUrl: string): Promise<CliRun> {
  return new Promise((done, fail) => {
    execFile(
      'node',
      [CLI, 'audit', '--store', storeUrl, '--json'],
      { encoding: 'utf8', timeout: 120_000 },
      (err, stdout) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        try {
          done({ code, report: JSON.parse(stdout) as AuditReport });
        } catch {
          fail(new Error(`audit printed no report (exit ${code}): ${stdout} ${String(err)}`));
        }
      },
    );
  });
}

async function head(port: number): Promise<{ round: number } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/ledger/head`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as { round: number }) : null;
  } catch {
    return null;
  }
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done();
    }, 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGINT');
  });
}

describe('dagger audit of a PostgreSQL store', () => {
  let dir: string;
  let prefix = '';
  let storeUrl: string;
  let schema: string;
  let log = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dagger-audit-pg-'));
    const devnet = spawn(
      'node',
      [
        CLI,
        'devnet',
        '--nodes',
        '4',
        '--port',
        String(PORT),
        '--data',
        dir,
        '--rate',
        '20',
        '--store',
        'postgres',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DAGGER_PG_URL: PG_URL } },
    );
    const keep = (d: Buffer) => (log = (log + d.toString()).slice(-4000));
    devnet.stdout!.on('data', keep);
    devnet.stderr!.on('data', keep);
    // A few decided rounds with payloads in them, then stopped mid-run (bounded: 90 s).
    const deadline = Date.now() + 90_000;
    let round = -1;
    while (Date.now() < deadline && devnet.exitCode === null) {
      round = (await head(PORT))?.round ?? -1;
      if (round >= 8) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await stopped(devnet);
    if (round < 8) throw new Error(`the devnet decided round ${round} only:\n${log}`);
    const genesis = parseGenesis(JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')));
    prefix = networkPrefix(genesis);
    const key = JSON.parse(readFileSync(join(dir, 'node-0', 'key.json'), 'utf8')) as { publicKey: string };
    schema = `${prefix}_${key.publicKey.slice(0, 8)}`;
    storeUrl = `${PG_URL}?schema=${schema}`;
  });

  afterAll(async () => {
    if (prefix) await dropPostgresSchemas(PG_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('audits clean, with worker threads (CLI) and inline alike', async () => {
    const { code, report } = await auditCli(storeUrl);
    expect(report.mismatches).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.eventsVerified).toBe(report.shadowGraphEvents);
    expect(report.eventsVerified).toBeGreaterThan(20);
    expect(report.ledgerEvents).toBeGreaterThan(20);
    expect(report.stateRootsChecked).toBeGreaterThan(3);

    const store = await openAuditStore(PG_URL, schema);
    let inline: AuditReport;
    try {
      inline = await auditStore(store, { threads: 0 });
    } finally {
      await store.close();
    }
    expect(inline.ok).toBe(true);
    expect(inline.orderHash).toBe(report.orderHash);
    expect(inline.ledgerEvents).toBe(report.ledgerEvents);
  });

  it('detects an altered ledger outcome, named with its position and field', async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    let revision: number;
    try {
      const rows = await client.query<{ revision: string; data: Buffer }>(
        `SELECT revision, data FROM "${schema}".events WHERE stream_id = 'ledger' ORDER BY revision`,
      );
      const accepted = rows.rows.find(
        (r) =>
          (JSON.parse(r.data.toString('utf8')) as { event: { type: string } }).event.type ===
          'PayloadAccepted',
      );
      if (!accepted) throw new Error('no PayloadAccepted in the ledger');
      revision = Number(accepted.revision);
      const text = accepted.data.toString('utf8');
      const altered = text.replace(
        /"signer":"([0-9a-f])/,
        (_, c: string) => `"signer":"${c === '0' ? '1' : '0'}`,
      );
      expect(altered).not.toBe(text);
      await client.query(
        `UPDATE "${schema}".events SET data = $1 WHERE stream_id = 'ledger' AND revision = $2`,
        [Buffer.from(altered, 'utf8'), revision],
      );
    } finally {
      await client.end();
    }
    const { code, report } = await auditCli(storeUrl);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    const found = report.mismatches.filter((m) => m.kind === 'ledger' && m.stream === 'ledger');
    expect(found).toHaveLength(1);
    expect(found[0]!.position).toBe(revision);
    expect(found[0]!.detail).toContain('.event.signer');
  });
});
