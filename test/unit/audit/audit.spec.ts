import { jest } from '@jest/globals';
// Tampering needs raw SQL on a copy of a store. The dependency-cruiser rule that keeps
// better-sqlite3 behind the SQLite adapter covers domain/projections/infra/src, not test/.
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditReport, auditStore, diffReadModels, openAuditStore } from '../../../src/audit/index.js';
import type { EventStore } from '../../../src/eventstore/event-store.js';
import { buildProgram } from '../../../src/cli/program.js';
import { makeGenesis, parseGenesis } from '../../../src/node/genesis.js';
import { client, decided, type Devnet, startDevnet, submit, waitFor } from '../e2e/support.js';

jest.setTimeout(120_000);

describe('dagger audit on a devnet store', () => {
  let net: Devnet;
  let scratch: string;
  let cases = 0;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'dagger-audit-'));
    net = await startDevnet(4);
    const urls = net.urls();
    const alice = client();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        await submit(urls[i % urls.length]!, alice, {
          type: 'vm.create',
          vmId: `audit-${i}`,
          name: `audit-${i}`,
          vcpus: 1,
          memoryMiB: 256,
          diskGiB: 5,
        }),
      );
    ids.push(await submit(urls[0]!, alice, { type: 'vm.stop', vmId: 'audit-0' }));
    for (const id of ids) await decided(urls, id);
    // A few more decided rounds, so the ledger carries several state roots after the payloads.
    const head = async (u: string) =>
      ((await (await fetch(`${u}/v1/ledger/head`)).json()) as { round: number }).round;
    const target = (await head(urls[0]!)) + 3;
    await waitFor('more rounds', async () => (await head(urls[0]!)) >= target);
    await net.stop();
  });

  afterAll(() => {
    rmSync(net?.dir ?? '', { recursive: true, force: true });
    rmSync(scratch ?? '', { recursive: true, force: true });
  });

  /** A copy of node i's store (with its WAL), tampered by `edit` through raw SQL. */
  function copyStore(i: number, edit?: (db: Database.Database) => void): string {
    const from = join(net.dir, `node-${i}`, 'events.sqlite');
    const to = join(scratch, `case-${cases++}.sqlite`);
    for (const suffix of ['', '-wal', '-shm'])
      if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
    if (edit) {
      const db = new Database(to);
      edit(db);
      db.close();
    }
    return to;
  }

  async function audit(path: string, options: Parameters<typeof auditStore>[1] = {}): Promise<AuditReport> {
    const store = await openAuditStore(`sqlite:${path}`);
    try {
      return await auditStore(store, options);
    } finally {
      await store.close();
    }
  }

  const kinds = (r: AuditReport) => [...new Set(r.mismatches.map((m) => m.kind))].sort();

  /** A row of a ShadowGraph stream in the middle of the store, with its parents and children around it. */
  function middleEvent(db: Database.Database): { rowid: number; stream: string; revision: number } {
    const rows = db
      .prepare(
        "SELECT global_position AS rowid, stream_id AS stream, revision FROM events WHERE stream_id LIKE 'shadowgraph-%' ORDER BY global_position",
      )
      .all() as { rowid: number; stream: string; revision: number }[];
    return rows[Math.floor(rows.length / 3)]!;
  }

  /** Audits a copy of node 0's store with its middle ShadowGraph event (`target`) edited. */
  async function auditEditedEvent(
    edit: (db: Database.Database, rowid: number) => void,
  ): Promise<{ report: AuditReport; target: { stream: string; revision: number } }> {
    let target = { stream: '', revision: 0 };
    const report = await audit(
      copyStore(0, (db) => {
        const e = middleEvent(db);
        target = e;
        edit(db, e.rowid);
      }),
    );
    return { report, target };
  }

  /** XORs `mask` into the stored bytes of event `rowid` at `at(length)`. */
  function flipByte(
    db: Database.Database,
    rowid: number,
    at: (length: number) => number,
    mask: number,
  ): void {
    const { data } = db.prepare('SELECT data FROM events WHERE global_position = ?').get(rowid) as {
      data: Buffer;
    };
    const i = at(data.length);
    data[i] = data[i]! ^ mask;
    db.prepare('UPDATE events SET data = ? WHERE global_position = ?').run(data, rowid);
  }

  it('audits an untouched store clean: consensus, ledger and state roots re-derived', async () => {
    const report = await audit(copyStore(0), { bench: true });
    expect(report.mismatches).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.eventsVerified).toBe(report.shadowGraphEvents);
    expect(report.eventsVerified).toBeGreaterThan(20);
    expect(report.orderedEvents).toBeGreaterThan(0);
    expect(report.ledgerEvents).toBeGreaterThan(5);
    expect(report.stateRootsChecked).toBeGreaterThan(3);
    expect(report.forks).toEqual([]);
    // The bound of the same run: every event and payload signature the audit checked.
    const bench = report.bench!;
    expect(bench.eventSignatures).toBe(report.shadowGraphEvents);
    expect(bench.payloadSignatures).toBeGreaterThanOrEqual(5);
    expect(bench.threads).toBe(0); // no compiled worker under ts-jest: inline, and so the bound
    expect(report.verifyBoundPerSec).toBe(bench.bound.eventsPerSec);
    expect(report.ratioToBound).toBeCloseTo(report.eventsPerSec / bench.bound.eventsPerSec, 9);
    expect(bench.oneThread.cpuSeconds).toBeGreaterThan(0);
    expect(bench.oneThread.cpuRatio).toBeCloseTo(bench.oneThread.cpuSeconds / bench.auditCpuSeconds, 9);
    // The main thread's part of the process's CPU, where the OS tells it (two clocks: a small margin).
    if (process.platform === 'linux') {
      expect(bench.mainThreadCpuSeconds).toBeGreaterThan(0);
      expect(bench.mainThreadCpuSeconds).toBeLessThanOrEqual(bench.auditCpuSeconds + 0.02);
    } else expect(bench.mainThreadCpuSeconds).toBeNull();
  });

  it('re-derives the same with consensus run every few events (memory bound) as once at the end', async () => {
    const path = copyStore(0);
    const [small, once] = [
      await audit(path, { consensusBatch: 7 }),
      await audit(path, { consensusBatch: 1e9 }),
    ];
    expect(small.mismatches).toEqual([]);
    expect(once.mismatches).toEqual([]);
    expect(small.orderHash).toBe(once.orderHash);
  });

  it('re-derives the same whatever the size of the verification jobs (verdicts taken ahead of the order)', async () => {
    const path = copyStore(0);
    const [one, all, inline, lockstep] = [
      await audit(path, { jobEvents: 1, consensusBatch: 3 }),
      await audit(path, { jobEvents: 1e9 }),
      await audit(path, { threads: 0 }),
      // Reading waits for every job before the next: no read-ahead at all.
      await audit(path, { jobEvents: 2, readAheadJobs: 1 }),
    ];
    for (const r of [one, all, inline, lockstep]) expect(r.mismatches).toEqual([]);
    expect(one.orderHash).toBe(all.orderHash);
    expect(inline.orderHash).toBe(all.orderHash);
    expect(lockstep.orderHash).toBe(all.orderHash);
    expect(lockstep.stateRootsChecked).toBe(all.stateRootsChecked);
    expect(one.ledgerEvents).toBe(all.ledgerEvents);
    expect(one.stateRootsChecked).toBe(all.stateRootsChecked);
  });

  it('re-derives the same whatever the commit order: order and ledger stored before the events, genesis last', async () => {
    const path = copyStore(0);
    const moved = copyStore(0, (db) => {
      const max = (db.prepare('SELECT MAX(global_position) AS m FROM events').get() as { m: number }).m;
      db.prepare(
        "UPDATE events SET global_position = global_position + ? WHERE stream_id LIKE 'shadowgraph-%'",
      ).run(max);
      db.prepare("UPDATE events SET global_position = ? WHERE stream_id = 'genesis'").run(3 * max);
      const streams = db
        .prepare('SELECT stream_id AS s FROM events ORDER BY global_position')
        .all()
        .map((r) => (r as { s: string }).s);
      const firstOf = (p: string) => streams.findIndex((s) => s.startsWith(p));
      expect(firstOf('ledger')).toBeLessThan(firstOf('shadowgraph-'));
      expect(firstOf('consensus')).toBeLessThan(firstOf('shadowgraph-'));
      expect(streams.at(-1)).toBe('genesis');
    });
    const [plain, reordered] = [await audit(path), await audit(moved)];
    expect(reordered.mismatches).toEqual([]);
    for (const k of [
      'orderHash',
      'orderHashIndex',
      'ledgerEvents',
      'stateRootsChecked',
      'eventsVerified',
    ] as const)
      expect(reordered[k]).toBe(plain[k]);
    expect(reordered.consensus).toEqual(plain.consensus);
    expect(reordered.ledger).toEqual(plain.ledger);
  });

  it('pins the genesis: the right one passes, another network fails', async () => {
    const genesis = parseGenesis(JSON.parse(readFileSync(join(net.dir, 'genesis.json'), 'utf8')));
    const path = copyStore(0);
    expect((await audit(path, { genesis })).ok).toBe(true);
    const other = makeGenesis('other', [new Uint8Array(32).fill(7)], () => 'http://x').genesis;
    const report = await audit(path, { genesis: other });
    expect(report.ok).toBe(false);
    expect(kinds(report)).toEqual(['genesis']);
  });

  it('the same order hash at the common index on two nodes of one devnet', async () => {
    const [a, b] = [await audit(copyStore(0)), await audit(copyStore(1))];
    expect(a.ok && b.ok).toBe(true);
    const common = Math.min(a.orderHashIndex, b.orderHashIndex);
    expect(common).toBeGreaterThan(0);
    const at = (i: number) => {
      const db = new Database(copyStore(i), { readonly: true });
      const row = db
        .prepare("SELECT data FROM events WHERE stream_id = 'consensus' AND revision = ?")
        .get(common - 1) as { data: Buffer };
      db.close();
      return (JSON.parse(row.data.toString('utf8')) as { orderHash: string }).orderHash;
    };
    expect(at(0)).toBe(at(1));
    if (a.orderHashIndex === common) expect(at(1)).toBe(a.orderHash);
    if (b.orderHashIndex === common) expect(at(0)).toBe(b.orderHash);
  });

  it('a node stopped mid-way (order and ledger tails never written) audits clean as a prefix', async () => {
    const path = copyStore(0, (db) => {
      for (const stream of ['consensus', 'ledger']) {
        const max = (
          db.prepare('SELECT MAX(revision) AS m FROM events WHERE stream_id = ?').get(stream) as { m: number }
        ).m;
        db.prepare('DELETE FROM events WHERE stream_id = ? AND revision > ?').run(
          stream,
          Math.floor(max / 2),
        );
      }
    });
    const report = await audit(path);
    expect(report.mismatches).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.storedIsPrefix).toBe(true);
    expect(report.consensus.storedIsPrefix).toBe(true);
    expect(report.ledger.storedIsPrefix).toBe(true);
  });

  it('detects a flipped byte in an event body', async () => {
    // inside the creator key / seq: the body no longer hashes to its id
    const { report, target } = await auditEditedEvent((db, rowid) => flipByte(db, rowid, () => 40, 0x01));
    expect(report.ok).toBe(false);
    expect(report.mismatches).toContainEqual(
      expect.objectContaining({
        kind: expect.stringMatching(/^(event-id|encoding)$/),
        stream: target.stream,
        position: target.revision,
      }),
    );
  });

  it('detects a forged signature (the body, and so the id, unchanged)', async () => {
    const { report, target } = await auditEditedEvent((db, rowid) =>
      flipByte(db, rowid, (length) => length - 40, 0x80),
    );
    expect(report.ok).toBe(false);
    expect(report.mismatches).toContainEqual(
      expect.objectContaining({ kind: 'signature', stream: target.stream, position: target.revision }),
    );
  });

  it('detects a dropped event: the revision gap, its orphaned children and the order', async () => {
    const { report, target } = await auditEditedEvent((db, rowid) =>
      db.prepare('DELETE FROM events WHERE global_position = ?').run(rowid),
    );
    expect(report.ok).toBe(false);
    expect(report.mismatches).toContainEqual(
      expect.objectContaining({ kind: 'stream-gap', stream: target.stream }),
    );
    expect(kinds(report)).toContain('hash-link');
  });

  it('detects a reordered consensus entry', async () => {
    const report = await audit(
      copyStore(0, (db) => {
        const row = (r: number) =>
          db
            .prepare(
              "SELECT global_position AS p, event_id AS id, data FROM events WHERE stream_id = 'consensus' AND revision = ?",
            )
            .get(r) as { p: number; id: string; data: Buffer };
        const [a, b] = [row(2), row(3)];
        const set = db.prepare('UPDATE events SET event_id = ?, data = ? WHERE global_position = ?');
        db.transaction(() => {
          set.run('swap', a.data, b.p);
          set.run(b.id, b.data, a.p);
          set.run(a.id, a.data, b.p);
        })();
      }),
    );
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'consensus', stream: 'consensus', position: 2 }),
        expect.objectContaining({ kind: 'consensus', stream: 'consensus', position: 3 }),
      ]),
    );
  });

  it('detects an altered ledger outcome and an altered state root', async () => {
    let edited = -1;
    let rootEdited = -1;
    const report = await audit(
      copyStore(0, (db) => {
        const rows = db
          .prepare(
            "SELECT global_position AS p, revision, data FROM events WHERE stream_id = 'ledger' ORDER BY revision",
          )
          .all() as { p: number; revision: number; data: Buffer }[];
        const status = rows.find((r) => r.data.toString('utf8').includes('"status":"scheduled"'))!;
        edited = status.revision;
        db.prepare('UPDATE events SET data = ? WHERE global_position = ?').run(
          Buffer.from(status.data.toString('utf8').replace('"status":"scheduled"', '"status":"running"')),
          status.p,
        );
        const root = rows.filter((r) => r.data.toString('utf8').includes('StateRootComputed')).at(-1)!;
        rootEdited = root.revision;
        db.prepare('UPDATE events SET data = ? WHERE global_position = ?').run(
          Buffer.from(root.data.toString('utf8').replace(/"root":"[0-9a-f]/, '"root":"x')),
          root.p,
        );
      }),
    );
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'ledger', stream: 'ledger', position: edited }),
        expect.objectContaining({ kind: 'state-root', stream: 'ledger', position: rootEdited }),
      ]),
    );
    expect(report.mismatches.find((m) => m.position === edited)!.detail).toMatch(/status/);
  });

  it('reports an unreadable record as a mismatch and goes on', async () => {
    const { report } = await auditEditedEvent((db, rowid) =>
      db.prepare("UPDATE events SET metadata = '{not json' WHERE global_position = ?").run(rowid),
    );
    expect(report.ok).toBe(false);
    expect(kinds(report)).toContain('unreadable');
    expect(report.eventsVerified).toBeGreaterThan(20);
  });

  it('reports the same through readAll alone (a store without readAllPage), an unreadable record included', async () => {
    const path = copyStore(0, (db) =>
      db
        .prepare("UPDATE events SET metadata = '{not json' WHERE global_position = ?")
        .run(middleEvent(db).rowid),
    );
    const store = await openAuditStore(`sqlite:${path}`);
    try {
      const perEvent: EventStore = {
        atomicAcrossStreams: store.atomicAcrossStreams,
        append: (streamId, events, expected) => store.append(streamId, events, expected),
        appendMany: (appends) => store.appendMany(appends),
        readStream: (streamId, options) => store.readStream(streamId, options),
        readAll: (options) => store.readAll(options),
        streamRevision: (streamId) => store.streamRevision(streamId),
        subscribeToAll: (after, handlers) => store.subscribeToAll(after, handlers),
        close: () => store.close(),
      };
      expect('readAllPage' in store && !('readAllPage' in perEvent)).toBe(true);
      const paged = await auditStore(store);
      const slow = await auditStore(perEvent);
      expect(kinds(paged)).toContain('unreadable');
      expect(paged.eventsVerified).toBeGreaterThan(20);
      expect(slow).toEqual({ ...paged, seconds: slow.seconds, eventsPerSec: slow.eventsPerSec });
    } finally {
      await store.close();
    }
  });

  it('rebuilds the read models and finds an edited row', async () => {
    const live = join(scratch, 'rm.sqlite');
    const from = join(net.dir, 'node-0', 'read-models.sqlite');
    for (const suffix of ['', '-wal', '-shm'])
      if (existsSync(from + suffix)) copyFileSync(from + suffix, live + suffix);
    const path = copyStore(0);
    const clean = await audit(path, {
      readModels: (g, ledger, report) => diffReadModels({ type: 'sqlite', path: live }, g, ledger, report),
    });
    expect(clean.mismatches).toEqual([]);
    expect(clean.readModels!.rowsCompared).toBeGreaterThan(10);

    const db = new Database(live);
    db.prepare("UPDATE vms SET vcpus = 7 WHERE vm_id = 'audit-1'").run();
    db.close();
    const report = await audit(path, {
      readModels: (g, ledger, r) => diffReadModels({ type: 'sqlite', path: live }, g, ledger, r),
    });
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([
      expect.objectContaining({ kind: 'read-model', stream: 'vms', position: 'audit-1' }),
    ]);
  });

  async function cli(args: string[]): Promise<{ out: string; err: string; code: number }> {
    let out = '';
    let err = '';
    let code = 0;
    const program = buildProgram({
      out: (t) => void (out += t),
      err: (t) => void (err += t),
      stdoutIsTTY: false,
      stderrIsTTY: false,
      columns: 100,
      setExitCode: (c) => void (code = c),
      interrupted: () => new Promise(() => undefined),
    });
    program.exitOverride();
    for (const sub of program.commands) sub.exitOverride();
    await program.parseAsync(['node', 'dagger', ...args]);
    return { out, err, code };
  }

  it('dagger audit --json prints one report object and exits 0 clean, 1 on a mismatch, 2 when it cannot run', async () => {
    const clean = await cli(['audit', '--store', `sqlite:${copyStore(0)}`, '--json']);
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.out) as AuditReport;
    expect(report).toMatchObject({ ok: true, mismatches: [] });
    for (const k of ['eventsVerified', 'orderedEvents', 'ledgerEvents', 'stateRootsChecked', 'eventsPerSec'])
      expect(typeof (report as unknown as Record<string, unknown>)[k]).toBe('number');

    const tampered = copyStore(0, (db) =>
      db.prepare("DELETE FROM events WHERE stream_id = 'consensus' AND revision = 1").run(),
    );
    const bad = await cli(['audit', '--store', `sqlite:${tampered}`, '--json']);
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.out) as AuditReport).ok).toBe(false);

    const missing = await cli(['audit', '--store', `sqlite:${join(scratch, 'nope.sqlite')}`, '--json']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.out)).toMatchObject({ ok: false, error: { code: 'STORE_UNAVAILABLE' } });
  });
});
