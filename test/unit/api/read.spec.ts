import { jest } from '@jest/globals';
import { ReadModelError } from '../../../projections/read-models.js';
import { get, startTestApp, type TestApp, vmView } from './fakes.js';

jest.setTimeout(30_000);

const alice = 'aa'.repeat(32);
const bob = 'bb'.repeat(32);

describe('read routes on the read models', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    t.readModels.vmRows = [
      vmView('vm-1', alice, 'host-a'),
      vmView('vm-2', bob, 'host-b'),
      vmView('vm-3', alice, 'host-b'),
    ];
    t.readModels.hostRows = [
      {
        hostId: 'host-a',
        operator: alice,
        libvirtUri: 'qemu:///system',
        capacity: { vcpus: 16, memoryMiB: 65536, diskGiB: 1000 },
        used: { vcpus: 1, memoryMiB: 512, diskGiB: 10 },
        draining: false,
      },
    ];
    t.readModels.operatorRows = [
      { operatorKey: alice, stake: 10, endpoint: 'http://a', status: 'member', sinceRound: 0 },
      { operatorKey: bob, stake: 5, endpoint: 'http://b', status: 'removed', sinceRound: 40 },
    ];
    t.readModels.proposalRows = [
      {
        proposalId: 'cc'.repeat(32),
        kind: 'admit',
        operatorKey: 'dd'.repeat(32),
        stake: 3,
        endpoint: 'http://d',
        proposer: alice,
        status: 'open',
        approvals: [alice],
        rejections: [],
      },
    ];
    t.readModels.accountRows = [{ key: alice, vms: 2, vcpus: 2, maxVms: 10, maxVcpus: 64 }];
  });
  afterAll(() => t.close());

  it('lists VMs as {items} and pages with limit/after/next', async () => {
    const all = await get(t.url, '/v1/vms');
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ items: t.readModels.vmRows });
    const first = await get(t.url, '/v1/vms?limit=2');
    expect(first.body.items.map((v: { vmId: string }) => v.vmId)).toEqual(['vm-1', 'vm-2']);
    expect(first.body.next).toBe('vm-2');
    const second = await get(t.url, `/v1/vms?limit=2&after=${first.body.next}`);
    expect(second.body).toEqual({ items: [t.readModels.vmRows[2]] });
  });

  it('filters VMs by owner and host and passes the parsed filter to the read models', async () => {
    const r = await get(t.url, `/v1/vms?owner=${alice}&hostId=host-b&limit=5`);
    expect(r.body.items.map((v: { vmId: string }) => v.vmId)).toEqual(['vm-3']);
    expect(t.readModels.calls.at(-1)).toEqual({
      method: 'vms',
      arg: { owner: alice, hostId: 'host-b', limit: 5 },
    });
  });

  it.each([
    ['limit=0'],
    ['limit=501'],
    ['limit=abc'],
    ['limit=1&limit=2'],
    ['owner=ALICE'],
    ['hostId=Bad_Host'],
    ['color=red'],
    [`after=${'x'.repeat(600)}`],
  ])('refuses /v1/vms?%s with 400 BAD_REQUEST', async (q) => {
    const r = await get(t.url, `/v1/vms?${q}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BAD_REQUEST');
    expect(Array.isArray(r.body.error.details)).toBe(true);
  });

  it('gets one VM, 404 when absent, 400 on a bad id', async () => {
    expect((await get(t.url, '/v1/vms/vm-2')).body).toEqual(t.readModels.vmRows[1]);
    const missing = await get(t.url, '/v1/vms/vm-9');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
    const bad = await get(t.url, '/v1/vms/VM_1');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('lists hosts, operators and proposals', async () => {
    expect((await get(t.url, '/v1/hosts')).body).toEqual({ items: t.readModels.hostRows });
    expect((await get(t.url, '/v1/operators')).body).toEqual({ items: t.readModels.operatorRows });
    expect((await get(t.url, '/v1/operators?limit=1')).body).toEqual({
      items: [t.readModels.operatorRows[0]],
      next: alice,
    });
    expect((await get(t.url, '/v1/operators/proposals')).body).toEqual({ items: t.readModels.proposalRows });
    expect((await get(t.url, '/v1/hosts?owner=x')).status).toBe(400);
  });

  it('gets an account, 404 when absent, 400 on a bad key', async () => {
    expect((await get(t.url, `/v1/accounts/${alice}`)).body).toEqual(t.readModels.accountRows[0]);
    expect((await get(t.url, `/v1/accounts/${bob}`)).status).toBe(404);
    expect((await get(t.url, '/v1/accounts/alice')).status).toBe(400);
  });

  it('maps read-model errors: a bad cursor is 400, an unreachable database 503', async () => {
    const original = t.readModels.hosts.bind(t.readModels);
    t.readModels.hosts = async () => {
      throw new ReadModelError('BAD_REQUEST', 'bad cursor');
    };
    const bad = await get(t.url, '/v1/hosts?after=zz');
    expect([bad.status, bad.body.error]).toEqual([400, { code: 'BAD_REQUEST', message: 'bad cursor' }]);
    t.readModels.hosts = async () => {
      throw new ReadModelError('STORE_UNAVAILABLE', 'connection refused');
    };
    const down = await get(t.url, '/v1/hosts');
    expect([down.status, down.body.error.code]).toEqual([503, 'UNAVAILABLE']);
    t.readModels.hosts = async () => {
      throw new Error('boom');
    };
    const boom = await get(t.url, '/v1/hosts');
    expect([boom.status, boom.body]).toEqual([
      500,
      { error: { code: 'INTERNAL', message: 'internal error' } },
    ]);
    expect(t.logs.some((l) => l.level === 'error' && l.code === 'INTERNAL')).toBe(true);
    t.readModels.hosts = original;
  });
});

describe('read routes without read models', () => {
  it('answer 503 UNAVAILABLE', async () => {
    const t = await startTestApp({ readModels: undefined });
    try {
      for (const path of [
        '/v1/vms',
        '/v1/vms/vm-1',
        '/v1/hosts',
        '/v1/operators',
        '/v1/operators/proposals',
        `/v1/accounts/${alice}`,
      ]) {
        const r = await get(t.url, path);
        expect([path, r.status, r.body.error.code]).toEqual([path, 503, 'UNAVAILABLE']);
      }
    } finally {
      await t.close();
    }
  });
});
