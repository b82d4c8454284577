import { jest } from '@jest/globals';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256, strictVerifier, toHex } from '../../../domain/crypto/index.js';
import { judgeEnvelope } from '../../../domain/payloads/envelope.js';
import { startTestApp, type TestApp, vmView } from '../api/fakes.js';
import { dagger, keyFile, onlyJson, tempDir } from './support.js';

jest.setTimeout(30_000);

const PORTS = { verify: strictVerifier, hash: sha256 };
const SIZE = ['--name', 'web-1', '--vcpus', '2', '--memory-mib', '1024', '--disk-gib', '20'];

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('dagger vm (against a live node API)', () => {
  const dir = tempDir();
  const alice = keyFile(dir, 7);
  /** `dagger vm create` of SIZE signed by alice, with `args`. */
  const create = (...args: string[]) => dagger(['vm', 'create', '--key', alice.path, ...SIZE, ...args]);
  let node: TestApp;
  beforeAll(async () => {
    node = await startTestApp();
  });
  afterAll(() => node.close());

  it('create --envelope-only prints a signed envelope that judgeEnvelope accepts, and sends nothing', async () => {
    const before = node.outbox.appends.length;
    const now = Date.now();
    const r = await dagger([
      'vm',
      'create',
      '--key',
      alice.path,
      ...SIZE,
      '--ssh-key',
      'ssh-ed25519 AAAA a',
      '--ssh-key',
      'ssh-ed25519 BBBB b',
      '--ttl-seconds',
      '120',
      '--envelope-only',
    ]);
    expect(r.exitCode).toBeUndefined();
    const judged = judgeEnvelope(onlyJson(r.out), PORTS);
    if (!judged.ok) throw new Error(judged.error.message);
    const p = judged.value.payload as Record<string, unknown>;
    expect(p).toMatchObject({ type: 'vm.create', name: 'web-1', vcpus: 2, memoryMiB: 1024, diskGiB: 20 });
    expect(p.sshKeys).toEqual(['ssh-ed25519 AAAA a', 'ssh-ed25519 BBBB b']);
    expect(p.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(p.expiresAt).toBeGreaterThanOrEqual(now + 120_000);
    expect(p.expiresAt).toBeLessThan(Date.now() + 121_000);
    expect(judged.value.envelope.signer).toBe(alice.publicKey);
    expect(node.outbox.appends.length).toBe(before);
  });

  it('create --json prints exactly {"payloadId","vmId"} and the node holds the envelope', async () => {
    const r = await create('--api', node.url, '--json');
    const out = onlyJson(r.out);
    expect(Object.keys(out).sort()).toEqual(['payloadId', 'vmId']);
    const id = out.payloadId as string;
    expect(out.vmId).toBe(`vm-${id.slice(0, 16)}`);
    expect(toHex(sha256(node.outbox.stored.get(id)!))).toBe(id);
  });

  it('create takes --vm-id, --image and --user-data-file', async () => {
    const userData = join(dir, 'user-data');
    writeFileSync(userData, '#cloud-config\nhostname: web\n');
    const r = await create(
      '--api',
      node.url,
      '--vm-id',
      'my-vm',
      '--image',
      'debian-12',
      '--user-data-file',
      userData,
      '--json',
    );
    const out = onlyJson(r.out);
    expect(out.vmId).toBe('my-vm');
    const stored = JSON.parse(Buffer.from(node.outbox.stored.get(out.payloadId as string)!).toString());
    expect(stored.payload).toMatchObject({
      vmId: 'my-vm',
      image: 'debian-12',
      userData: '#cloud-config\nhostname: web\n',
    });
  });

  it('fails over to the next --api on a connection error and on a 5xx', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const r = await create('--api', dead, '--api', node.url, '--json');
    expect(r.exitCode).toBeUndefined();
    expect(node.outbox.stored.has(onlyJson(r.out).payloadId as string)).toBe(true);

    const broken = await startTestApp();
    broken.outbox.failing = true;
    try {
      const r2 = await create('--api', broken.url, '--api', node.url, '--json');
      expect(r2.exitCode).toBeUndefined();
      expect(broken.outbox.appends).toHaveLength(1);
      expect(node.outbox.stored.has(onlyJson(r2.out).payloadId as string)).toBe(true);
    } finally {
      await broken.close();
    }
  });

  it('treats a 4xx as final: prints the API code and message, exits 1, tries no other node', async () => {
    const strict = await startTestApp({ bodyLimitBytes: 100 });
    const appendsBefore = node.outbox.appends.length;
    try {
      const r = await create('--api', strict.url, '--api', node.url);
      expect(r.exitCode).toBe(1);
      expect(r.err).toContain('error: PAYLOAD_TOO_LARGE: the body is larger than 100 bytes');
      expect(r.err).toContain(`(HTTP 413 from ${strict.url})`);
      expect(r.out).toBe('');
      expect(node.outbox.appends.length).toBe(appendsBefore);
      const j = await create('--api', strict.url, '--json');
      expect(onlyJson(j.out)).toEqual({
        error: expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE', status: 413, url: strict.url }),
      });
    } finally {
      await strict.close();
    }
  });

  it('reports every node unreachable clearly', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const r = await dagger(['vm', 'stop', 'vm-1', '--api', dead, '--key', alice.path, '--json']);
    expect(r.exitCode).toBe(1);
    expect(r.err).toContain('UNREACHABLE');
    expect(r.err).toContain('ECONNREFUSED');
    expect((onlyJson(r.out).error as { code: string }).code).toBe('UNREACHABLE');
  });

  it('refuses a bad request locally with the same codes and details as a node', async () => {
    const r = await create('--api', node.url, '--vm-id', 'Bad_Id');
    expect(r.exitCode).toBe(1);
    expect(r.err).toContain('error: INVALID_PAYLOAD');
    expect(r.err).toContain('payload.vmId');
  });

  it('refuses a bad key file', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ publicKey: alice.publicKey, secretKey: '00'.repeat(32) }));
    const r = await dagger(['vm', 'stop', 'vm-1', '--key', bad, '--envelope-only']);
    expect(r.exitCode).toBe(1);
    expect(r.err).toContain('BAD_KEY_FILE');
  });

  it('--wait polls until accepted, and exits 1 when rejected', async () => {
    const waiting = dagger([
      'vm',
      'start',
      'vm-9',
      '--api',
      node.url,
      '--key',
      alice.path,
      '--wait',
      '--timeout',
      '10',
      '--json',
    ]);
    const decide = async (status: 'accepted' | 'rejected') => {
      for (let i = 0; i < 100 && node.outbox.stored.size === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      const id = [...node.outbox.stored.keys()].find(
        (k) =>
          !node.readModels.payloadRows.some((p) => p.payloadId === k) &&
          JSON.parse(Buffer.from(node.outbox.stored.get(k)!).toString()).payload.vmId === 'vm-9',
      )!;
      node.readModels.payloadRows.push({
        payloadId: id,
        status,
        payloadType: 'vm.start',
        signer: alice.publicKey,
        round: 3,
        consensusIndex: 12,
        ...(status === 'rejected' ? { code: 'VM_NOT_FOUND' as const, reason: 'no vm-9' } : {}),
      });
    };
    await decide('accepted');
    const r = await waiting;
    expect(r.exitCode).toBeUndefined();
    expect(onlyJson(r.out)).toEqual(
      expect.objectContaining({ vmId: 'vm-9', status: 'accepted', round: 3, consensusIndex: 12 }),
    );

    const waiting2 = dagger([
      'vm',
      'destroy',
      'vm-9',
      '--api',
      node.url,
      '--key',
      alice.path,
      '--wait',
      '--timeout',
      '10',
    ]);
    await new Promise((r) => setTimeout(r, 100));
    const id2 = [...node.outbox.stored.keys()].at(-1)!;
    node.readModels.payloadRows.push({
      payloadId: id2,
      status: 'rejected',
      payloadType: 'vm.destroy',
      signer: alice.publicKey,
      code: 'VM_NOT_FOUND',
      reason: 'no vm-9',
      round: 4,
      consensusIndex: 13,
    });
    const r2 = await waiting2;
    expect(r2.exitCode).toBe(1);
    expect(r2.out).toContain(
      `payload ${id2} rejected in round 4 (consensus index 13): VM_NOT_FOUND: no vm-9`,
    );
  });

  it('--wait gives up after --timeout with TIMEOUT', async () => {
    const r = await dagger([
      'vm',
      'stop',
      'vm-2',
      '--api',
      node.url,
      '--key',
      alice.path,
      '--wait',
      '--timeout',
      '0.6',
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.err).toContain('error: TIMEOUT');
    expect(r.err).toContain('last status: pending');
  });

  it('resize, stop, start, destroy and report sign what they say', async () => {
    const env = async (args: string[]) => {
      const r = await dagger([...args, '--key', alice.path, '--envelope-only']);
      expect(r.err).toBe('');
      const j = judgeEnvelope(onlyJson(r.out), PORTS);
      if (!j.ok) throw new Error(JSON.stringify(j.error));
      return j.value.payload as Record<string, unknown>;
    };
    expect(await env(['vm', 'resize', 'vm-1', '--vcpus', '4', '--disk-gib', '40'])).toMatchObject({
      type: 'vm.resize',
      vmId: 'vm-1',
      vcpus: 4,
      diskGiB: 40,
    });
    for (const verb of ['stop', 'start', 'destroy'])
      expect(await env(['vm', verb, 'vm-1'])).toMatchObject({ type: `vm.${verb}`, vmId: 'vm-1' });
    const requestId = 'ab'.repeat(32);
    expect(
      await env([
        'vm',
        'report',
        'vm-1',
        '--request-id',
        requestId,
        '--status',
        'running',
        '--address',
        '10.0.0.5',
        '--detail',
        'up',
      ]),
    ).toMatchObject({
      type: 'vm.report',
      vmId: 'vm-1',
      requestId,
      status: 'running',
      addresses: ['10.0.0.5'],
      detail: 'up',
    });
    const none = await dagger(['vm', 'resize', 'vm-1', '--key', alice.path, '--envelope-only']);
    expect(none.exitCode).toBe(1);
    expect(none.err).toContain('give at least one of');
    const badStatus = await dagger([
      'vm',
      'report',
      'vm-1',
      '--request-id',
      requestId,
      '--status',
      'happy',
      '--key',
      alice.path,
    ]);
    expect(badStatus.error?.code).toBe('commander.invalidArgument');
  });

  it('get and list read the node', async () => {
    node.readModels.vmRows = [vmView('vm-a', alice.publicKey, 'h1'), vmView('vm-b', 'bb'.repeat(32), 'h2')];
    const got = await dagger(['vm', 'get', 'vm-a', '--api', node.url, '--json']);
    expect(onlyJson(got.out)).toEqual(node.readModels.vmRows[0]);
    const missing = await dagger(['vm', 'get', 'vm-z', '--api', node.url]);
    expect(missing.exitCode).toBe(1);
    expect(missing.err).toContain('error: NOT_FOUND: vm vm-z not found');
    const all = await dagger(['vm', 'list', '--api', node.url, '--json']);
    expect(onlyJson(all.out)).toEqual({ items: node.readModels.vmRows });
    const mine = await dagger(['vm', 'list', '--api', node.url, '--mine', '--key', alice.path]);
    expect(mine.out.trim().split('\n')).toHaveLength(1);
    expect(mine.out).toContain('vm-a');
    const paged = await dagger(['vm', 'list', '--api', node.url, '--limit', '1', '--all', '--json']);
    expect(onlyJson(paged.out)).toEqual({ items: node.readModels.vmRows });
  });
});
