import { jest } from '@jest/globals';
import { sha256, strictVerifier } from '../../../domain/crypto/index.js';
import { judgeEnvelope } from '../../../domain/payloads/envelope.js';
import { startTestApp, type TestApp } from '../api/fakes.js';
import { dagger, keyFile, onlyJson, tempDir } from './support.js';

jest.setTimeout(30_000);

const PORTS = { verify: strictVerifier, hash: sha256 };

describe('dagger operator and dagger host', () => {
  const dir = tempDir();
  const op = keyFile(dir, 9);
  let node: TestApp;
  beforeAll(async () => {
    node = await startTestApp();
  });
  afterAll(() => node.close());

  const signedPayload = async (args: string[]) => {
    const r = await dagger([...args, '--key', op.path, '--envelope-only']);
    expect(r.err).toBe('');
    const j = judgeEnvelope(onlyJson(r.out), PORTS);
    if (!j.ok) throw new Error(JSON.stringify(j.error));
    return j.value.payload as Record<string, unknown>;
  };

  it('propose, vote and remove sign operator payloads', async () => {
    const key = 'cd'.repeat(32);
    expect(
      await signedPayload([
        'operator',
        'propose',
        '--operator-key',
        key,
        '--stake',
        '5',
        '--endpoint',
        'http://n5:3000',
      ]),
    ).toMatchObject({ type: 'operator.propose', operatorKey: key, stake: 5, endpoint: 'http://n5:3000' });
    const proposal = 'ef'.repeat(32);
    expect(await signedPayload(['operator', 'vote', proposal, '--approve'])).toMatchObject({
      type: 'operator.vote',
      proposalId: proposal,
      approve: true,
    });
    expect(await signedPayload(['operator', 'vote', proposal, '--reject'])).toMatchObject({ approve: false });
    expect(await signedPayload(['operator', 'remove', key])).toMatchObject({
      type: 'operator.remove',
      operatorKey: key,
    });
    const neither = await dagger(['operator', 'vote', proposal, '--key', op.path, '--envelope-only']);
    expect([neither.exitCode, neither.err]).toEqual([
      1,
      expect.stringContaining('give --approve or --reject'),
    ]);
    const both = await dagger(['operator', 'vote', proposal, '--approve', '--reject', '--key', op.path]);
    expect(both.error?.code).toBe('commander.conflictingOption');
  });

  it('propose sends to the node', async () => {
    const r = await dagger([
      'operator',
      'propose',
      '--operator-key',
      'cd'.repeat(32),
      '--stake',
      '5',
      '--endpoint',
      'http://x',
      '--api',
      node.url,
      '--key',
      op.path,
      '--json',
    ]);
    expect(node.outbox.stored.has(onlyJson(r.out).payloadId as string)).toBe(true);
  });

  it('operator list shows operators, and proposals with --proposals', async () => {
    node.readModels.operatorRows = [
      { operatorKey: op.publicKey, stake: 10, endpoint: 'http://a', status: 'member', sinceRound: 0 },
    ];
    node.readModels.proposalRows = [
      {
        proposalId: 'ef'.repeat(32),
        kind: 'admit',
        operatorKey: 'cd'.repeat(32),
        stake: 5,
        endpoint: 'http://x',
        proposer: op.publicKey,
        status: 'open',
        approvals: [op.publicKey],
        rejections: [],
      },
    ];
    expect(onlyJson((await dagger(['operator', 'list', '--api', node.url, '--json'])).out)).toEqual({
      items: node.readModels.operatorRows,
    });
    const text = await dagger(['operator', 'list', '--api', node.url]);
    expect(text.out).toContain(`${op.publicKey} member  stake 10`);
    const proposals = await dagger(['operator', 'list', '--proposals', '--api', node.url]);
    expect(proposals.out).toContain(`${'ef'.repeat(32)} admit  open     ${'cd'.repeat(32)} stake 5 +1/-0`);
  });

  it('host register, update and drain sign host payloads; list reads hosts', async () => {
    expect(
      await signedPayload([
        'host',
        'register',
        'host-1',
        '--libvirt-uri',
        'qemu:///system',
        '--vcpus',
        '16',
        '--memory-mib',
        '65536',
        '--disk-gib',
        '1000',
      ]),
    ).toMatchObject({
      type: 'host.register',
      hostId: 'host-1',
      capacity: { vcpus: 16, memoryMiB: 65536, diskGiB: 1000 },
    });
    expect(await signedPayload(['host', 'update', 'host-1', '--libvirt-uri', 'qemu+ssh://h/system'])).toEqual(
      expect.objectContaining({ type: 'host.update', libvirtUri: 'qemu+ssh://h/system' }),
    );
    expect(await signedPayload(['host', 'drain', 'host-1'])).toMatchObject({
      type: 'host.drain',
      hostId: 'host-1',
    });
    const partial = await dagger([
      'host',
      'update',
      'host-1',
      '--vcpus',
      '4',
      '--key',
      op.path,
      '--envelope-only',
    ]);
    expect([partial.exitCode, partial.err]).toEqual([1, expect.stringContaining('capacity needs all of')]);
    node.readModels.hostRows = [
      {
        hostId: 'host-1',
        operator: op.publicKey,
        libvirtUri: 'qemu:///system',
        capacity: { vcpus: 16, memoryMiB: 65536, diskGiB: 1000 },
        used: { vcpus: 2, memoryMiB: 1024, diskGiB: 20 },
        draining: false,
      },
    ];
    expect(onlyJson((await dagger(['host', 'list', '--api', node.url, '--json'])).out)).toEqual({
      items: node.readModels.hostRows,
    });
  });

  it('takes the API from DAGGER_API when --api is absent', async () => {
    process.env.DAGGER_API = `http://127.0.0.1:1,${node.url}`;
    try {
      const r = await dagger(['host', 'list', '--json']);
      expect(r.exitCode).toBeUndefined();
    } finally {
      delete process.env.DAGGER_API;
    }
    const none = await dagger(['host', 'list']);
    expect([none.exitCode, none.err]).toEqual([1, expect.stringContaining('give --api URL')]);
  });
});
