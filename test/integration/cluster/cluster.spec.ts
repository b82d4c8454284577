import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sha256, signerFromSecretKey } from '../../../domain/crypto/index.js';
import { signPayload } from '../../../domain/payloads/index.js';
import { openCommsBus } from '../../../src/bus/open.js';
import type { CommsBus } from '../../../src/bus/comms-bus.js';
import {
  type Cluster,
  dropSchemas,
  getJson,
  type Head,
  ledgerDecisions,
  orderedPayloads,
  processLog,
  startProcess,
  stopAll,
  waitFor,
  writeCluster,
} from './support.js';

/**
 * Four `dagger node` processes on the real Kafka broker and PostgreSQL that `npm run
 * services:up` starts. Payloads go straight onto the intake topic (the API arrives later).
 */
jest.setTimeout(600_000);

const NODES = 4;

describe('a four-process cluster on Kafka and PostgreSQL', () => {
  let cluster: Cluster;
  let bus: CommsBus;
  const submitted: string[] = [];

  const publish = async (count: number) => {
    const batch: { key: null; value: Uint8Array }[] = [];
    for (let i = 0; i < count; i++) {
      const value = new Uint8Array(randomBytes(64));
      submitted.push(Buffer.from(value).toString('hex'));
      batch.push({ key: null, value });
      if (batch.length === 500) await bus.publish(`${cluster.prefix}.payloads`, batch.splice(0));
    }
    if (batch.length > 0) await bus.publish(`${cluster.prefix}.payloads`, batch);
  };

  const healthy = (i: number) => async () =>
    (await getJson<{ status: string }>(`${cluster.urls[i]}/health`))?.status === 'ok';

  const allOrderedEverywhere = async (members: readonly string[]) => {
    const want = new Set(submitted);
    for (const m of members) {
      const got = new Set(await orderedPayloads(cluster.prefix, m));
      for (const p of want) if (!got.has(p)) return false;
    }
    return true;
  };

  /** What each node has, for a failure message worth reading. */
  const diagnose = async (label: string) => {
    const want = new Set(submitted);
    const lines: string[] = [`${label}: ${want.size} submitted`];
    for (const [i, m] of cluster.members.entries()) {
      const got = await orderedPayloads(cluster.prefix, m).catch(() => [] as string[]);
      const have = new Set(got);
      const missing = [...want].filter((p) => !have.has(p)).length;
      const head = await getJson<Head>(`${cluster.urls[i]}/v1/ledger/head`);
      const metrics = await fetch(`${cluster.urls[i]}/metrics`, { signal: AbortSignal.timeout(3000) })
        .then((r) => r.text())
        .catch(() => '');
      const stats = metrics
        .split('\n')
        .filter((l) => l.startsWith('dagger_') && !l.includes('bucket'))
        .join('; ');
      lines.push(
        `node ${i}: ordered ${got.length} (missing ${missing}), head ${JSON.stringify(head)}, ${stats}`,
        processLog(cluster.procs[i] ?? null)
          .split('\n')
          .slice(-15)
          .join('\n'),
      );
    }
    process.stderr.write(lines.join('\n') + '\n');
  };

  const expectSameOrderHash = async () => {
    const heads = await Promise.all(cluster.urls.map((u) => getJson<Head>(`${u}/v1/ledger/head`)));
    expect(heads.every((h) => h !== null)).toBe(true);
    const common = Math.min(...heads.map((h) => h!.consensusIndex));
    expect(common).toBeGreaterThan(0);
    const at = await Promise.all(
      cluster.urls.map((u) => getJson<{ orderHash: string }>(`${u}/v1/ledger/at/${common}`)),
    );
    expect(new Set(at.map((a) => a?.orderHash)).size).toBe(1);
    return common;
  };

  beforeAll(async () => {
    // Below the kernel's ephemeral range (32768+), where outgoing connections take their ports.
    const port = 20_000 + 10 * Math.floor(Math.random() * 1000);
    cluster = writeCluster(NODES, port);
    bus = openCommsBus('kafka');
    for (let i = 0; i < NODES; i++) startProcess(cluster, i);
    for (let i = 0; i < NODES; i++) {
      const ok = await waitFor(healthy(i), 90_000);
      if (!ok) throw new Error(`node ${i} never became healthy:\n${processLog(cluster.procs[i]!)}`);
    }
  });

  afterAll(async () => {
    await stopAll(cluster);
    await bus?.close();
    await dropSchemas(cluster.prefix);
  });

  it('orders 10,000 payloads from the bus on every node, each once, with equal order hashes', async () => {
    await publish(10_000);
    const done = await waitFor(() => allOrderedEverywhere(cluster.members), 240_000, 3000);
    if (!done) await diagnose(expect.getState().currentTestName ?? 'test');
    expect(done).toBe(true);
    for (const m of cluster.members) {
      const got = await orderedPayloads(cluster.prefix, m);
      expect(new Set(got).size).toBe(got.length);
      expect(got.length).toBe(submitted.length);
    }
    await expectSameOrderHash();
  });

  it('survives kill -9 of one node mid-run: it restarts, catches up to the same order hash, and nothing is lost', async () => {
    const victim = 2;
    const publishing = publish(3000);
    await new Promise((r) => setTimeout(r, 1500));
    cluster.procs[victim]!.kill('SIGKILL');
    await publishing;
    await publish(2000);
    startProcess(cluster, victim);
    expect(await waitFor(healthy(victim), 90_000)).toBe(true);
    const done = await waitFor(() => allOrderedEverywhere(cluster.members), 240_000, 3000);
    if (!done) await diagnose(expect.getState().currentTestName ?? 'test');
    expect(done).toBe(true);
    const index = await expectSameOrderHash();
    expect(index).toBeGreaterThan(0);
  });

  it('loses nothing and decides nothing twice when the Kafka broker restarts mid-run', async () => {
    // Signed requests straight onto the intake topic, as the APIs put them there.
    const tenants = Array.from({ length: 400 }, () => signerFromSecretKey(new Uint8Array(randomBytes(32))));
    const ids: string[] = [];
    const publishSigned = async (count: number) => {
      const batch: { key: string; value: Uint8Array }[] = [];
      for (let i = 0; i < count; i++) {
        const n = ids.length;
        const { bytes, payloadId } = signPayload(
          {
            type: 'vm.create',
            nonce: randomBytes(12).toString('base64url'),
            expiresAt: Date.now() + 600_000,
            vmId: `restart-${n}`,
            name: `restart-${n}`,
            vcpus: 1,
            memoryMiB: 64,
            diskGiB: 1,
          },
          tenants[n % tenants.length]!,
          sha256,
        );
        ids.push(payloadId);
        batch.push({ key: payloadId, value: bytes });
        if (batch.length === 500) await bus.publish(`${cluster.prefix}.payloads`, batch.splice(0));
      }
      if (batch.length > 0) await bus.publish(`${cluster.prefix}.payloads`, batch);
    };
    const publishing = publishSigned(3000);
    await new Promise((r) => setTimeout(r, 500));
    execFileSync('bash', ['scripts/services/kafka.sh', 'restart'], { stdio: 'ignore', timeout: 120_000 });
    await publishing;
    await publishSigned(2000);
    const acceptedOnce = async (m: string) => {
      const decisions = await ledgerDecisions(cluster.prefix, m);
      const accepted = new Map<string, number>();
      for (const d of decisions)
        if (d.type === 'PayloadAccepted') accepted.set(d.payloadId, (accepted.get(d.payloadId) ?? 0) + 1);
      return ids.every((id) => accepted.get(id) === 1) && [...accepted.values()].every((n) => n === 1);
    };
    const done = await waitFor(
      async () => (await Promise.all(cluster.members.map(acceptedOnce))).every(Boolean),
      240_000,
      3000,
    );
    if (!done) await diagnose(expect.getState().currentTestName ?? 'test');
    expect(done).toBe(true);
    // A copy the bus delivered twice may be ordered twice; the ledger refuses the second as a replay.
    for (const m of cluster.members) {
      const decisions = await ledgerDecisions(cluster.prefix, m);
      const mine = new Set(ids);
      for (const d of decisions.filter((x) => mine.has(x.payloadId) && x.type === 'PayloadRejected'))
        expect(d.code).toBe('REPLAY');
    }
    await expectSameOrderHash();
  });

  it('loses no request the API acknowledged when the node is killed -9 right after', async () => {
    const victim = 1;
    const tenants = Array.from({ length: 30 }, () => signerFromSecretKey(new Uint8Array(randomBytes(32))));
    const acked: string[] = [];
    const post = async (i: number) => {
      const { envelope, payloadId } = signPayload(
        {
          type: 'vm.create',
          nonce: randomBytes(12).toString('base64url'),
          expiresAt: Date.now() + 600_000,
          vmId: `crash-${i}`,
          name: `crash-${i}`,
          vcpus: 1,
          memoryMiB: 64,
          diskGiB: 1,
        },
        tenants[i % tenants.length]!,
        sha256,
      );
      const res = await fetch(`${cluster.urls[victim]}/v1/payloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(envelope),
      }).catch(() => null);
      if (res?.status === 202) acked.push(payloadId);
    };
    const posting = Promise.allSettled(Array.from({ length: 300 }, (_, i) => post(i)));
    expect(await waitFor(async () => acked.length >= 100, 60_000, 5)).toBe(true);
    cluster.procs[victim]!.kill('SIGKILL');
    await posting;
    startProcess(cluster, victim);
    expect(await waitFor(healthy(victim), 90_000)).toBe(true);
    const decidedEverywhere = async () => {
      for (const url of cluster.urls)
        for (const id of acked) {
          const s = await getJson<{ status: string }>(`${url}/v1/payloads/${id}`);
          if (s?.status !== 'accepted') return false;
        }
      return true;
    };
    const done = await waitFor(decidedEverywhere, 180_000, 3000);
    if (!done) await diagnose(`acknowledged ${acked.length} before the kill`);
    expect(done).toBe(true);
    await expectSameOrderHash();
  });

  it('runs a second network against the same PostgreSQL and Kafka without touching the first', async () => {
    await stopAll(cluster);
    const before = await Promise.all(cluster.members.map((m) => orderedPayloads(cluster.prefix, m)));
    const second = writeCluster(NODES, Number(new URL(cluster.urls[0]!).port) + NODES);
    expect(second.prefix).not.toBe(cluster.prefix);
    try {
      for (let i = 0; i < NODES; i++) startProcess(second, i);
      for (let i = 0; i < NODES; i++)
        expect(
          await waitFor(
            async () => (await getJson<{ status: string }>(`${second.urls[i]}/health`))?.status === 'ok',
            90_000,
          ),
        ).toBe(true);
      const mine = Array.from({ length: 500 }, () => new Uint8Array(randomBytes(48)));
      await bus.publish(
        `${second.prefix}.payloads`,
        mine.map((value) => ({ key: null, value })),
      );
      const want = mine.map((p) => Buffer.from(p).toString('hex'));
      const ok = await waitFor(
        async () => {
          for (const m of second.members) {
            const got = new Set(await orderedPayloads(second.prefix, m));
            if (!want.every((w) => got.has(w))) return false;
          }
          return true;
        },
        120_000,
        2000,
      );
      expect(ok).toBe(true);
      for (const m of second.members) {
        const got = await orderedPayloads(second.prefix, m);
        expect(got.filter((p) => submitted.includes(p))).toEqual([]);
      }
      const after = await Promise.all(cluster.members.map((m) => orderedPayloads(cluster.prefix, m)));
      expect(after).toEqual(before);
    } finally {
      await stopAll(second);
      await dropSchemas(second.prefix);
    }
  });
});
