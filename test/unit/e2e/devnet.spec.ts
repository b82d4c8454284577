/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers of the API under test */
import { jest } from '@jest/globals';
import { readEventsOfCreator } from './ledger-probe.js';
import {
  client,
  type Client,
  decided,
  type Devnet,
  getJson,
  joinerConfig,
  post,
  startDevnet,
  submit,
  vmEverywhere,
  waitFor,
} from './support.js';

/**
 * A four-node devnet on the embedded defaults, driven only through the HTTP API with signed
 * requests: the VM lifecycle with operators' reports, refusals at the API and in the ledger,
 * concurrent clients, and an operator admitted and another removed by a 2/3 vote.
 */
jest.setTimeout(180_000);

describe('a devnet driven through the API', () => {
  let net: Devnet;
  let urls: string[];
  let operators: Client[];
  const alice = client();
  const mallory = client();

  beforeAll(async () => {
    net = await startDevnet(4);
    urls = net.urls();
    operators = net.layout.keys.map((k) => client(k.secretKey));
  });

  afterAll(async () => {
    await net?.stop();
  });

  const vmCreate = { type: 'vm.create', name: 'web-1', vcpus: 2, memoryMiB: 512, diskGiB: 10 };

  it('schedules a created VM on one host, the same on every node', async () => {
    const id = await submit(urls[1]!, alice, { ...vmCreate, vmId: 'web-1' });
    const statuses = await decided(urls, id);
    expect(statuses.map((s) => s.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    const views = await vmEverywhere(urls, 'web-1', (vm) => vm.status === 'scheduled');
    expect(new Set(views.map((v) => JSON.stringify(v))).size).toBe(1);
    expect(views[0]).toMatchObject({
      vmId: 'web-1',
      owner: alice.key,
      vcpus: 2,
      memoryMiB: 512,
      diskGiB: 10,
      status: 'scheduled',
      requestId: id,
    });
    expect(views[0].hostId).toMatch(/^host-\d$/);
    const heads = await Promise.all(urls.map((u) => getJson(`${u}/v1/ledger/head`)));
    expect(heads.every((h) => typeof h.stateRoot === 'string' && h.stateRoot.length === 64)).toBe(true);
  });

  it('serves the graph for the explorer: events with round, witness and fame', async () => {
    const head = await getJson(`${urls[0]}/v1/ledger/head`);
    const graph = await getJson(`${urls[0]}/v1/graph?fromRound=${Math.max(0, head.round - 2)}&rounds=4`);
    expect(graph.items.length).toBeGreaterThan(0);
    expect(graph.items.some((e: any) => e.witness && e.famous === true)).toBe(true);
    for (const e of graph.items) {
      expect(e.id).toMatch(/^[0-9a-f]{64}$/);
      expect(e.round).toBeGreaterThanOrEqual(Math.max(0, head.round - 2));
    }
    expect((await fetch(`${urls[0]}/v1/graph?fromRound=-1`)).status).toBe(400);
  });

  it('takes the VM through provisioning, running, resize, stop, start and destroy with the operator reports', async () => {
    const [vm] = await vmEverywhere(urls, 'web-1', (v) => v.status === 'scheduled');
    const operator = operators[Number(vm.hostId.split('-')[1])]!;
    const report = async (requestId: string, status: string, addresses: string[] = []) => {
      const id = await submit(urls[0]!, operator, {
        type: 'vm.report',
        vmId: 'web-1',
        requestId,
        status,
        detail: `${status} by test`,
        addresses,
      });
      const [s] = await decided(urls, id);
      expect(s.status).toBe('accepted');
    };
    await report(vm.requestId, 'provisioning');
    await report(vm.requestId, 'running', ['10.0.0.5']);
    let views = await vmEverywhere(urls, 'web-1', (v) => v.status === 'running');
    expect(views[0].addresses).toEqual(['10.0.0.5']);

    const resize = await submit(urls[2]!, alice, { type: 'vm.resize', vmId: 'web-1', vcpus: 4 });
    expect((await decided(urls, resize))[0].status).toBe('accepted');
    views = await vmEverywhere(urls, 'web-1', (v) => v.requestId === resize);
    expect(views[0].vcpus).toBe(4);
    await report(resize, 'running');

    const stop = await submit(urls[3]!, alice, { type: 'vm.stop', vmId: 'web-1' });
    await decided(urls, stop);
    await report(stop, 'stopped');
    await vmEverywhere(urls, 'web-1', (v) => v.status === 'stopped');

    const start = await submit(urls[0]!, alice, { type: 'vm.start', vmId: 'web-1' });
    await decided(urls, start);
    await report(start, 'running');
    await vmEverywhere(urls, 'web-1', (v) => v.status === 'running' && v.requestId === start);

    const destroy = await submit(urls[1]!, alice, { type: 'vm.destroy', vmId: 'web-1' });
    await decided(urls, destroy);
    await vmEverywhere(urls, 'web-1', (v) => v.status === 'destroying');
    await report(destroy, 'destroyed');
    views = await vmEverywhere(urls, 'web-1', (v) => v.status === 'destroyed');
    expect(new Set(views.map((v) => JSON.stringify(v))).size).toBe(1);
    const account = await getJson(`${urls[0]}/v1/accounts/${alice.key}`);
    expect(account).toMatchObject({ key: alice.key, vms: 0, vcpus: 0 });
  });

  it('refuses what the API can judge with a 4xx and a code, and lets none of it into the ledger', async () => {
    const url = urls[0]!;
    const headBefore = await getJson(`${url}/v1/ledger/head`);
    const good = alice.sign({ ...vmCreate, vmId: 'never-1' }).envelope as any;
    const cases: [string, unknown, string][] = [
      ['malformed JSON', '{"payload": ', 'MALFORMED_JSON'],
      ['a missing field', { ...good, payload: { ...good.payload, name: undefined } }, 'INVALID_PAYLOAD'],
      [
        'an extra field',
        alice.sign({ ...vmCreate, vmId: 'never-2', colour: 'red' }).envelope,
        'INVALID_PAYLOAD',
      ],
      [
        'an unknown type',
        alice.sign({ type: 'vm.teleport', vmId: 'never-3' }).envelope,
        'UNKNOWN_PAYLOAD_TYPE',
      ],
      ['a bad signature', { ...good, signature: 'ab'.repeat(64) }, 'BAD_SIGNATURE'],
      ['a tampered payload', { ...good, payload: { ...good.payload, vcpus: 64 } }, 'BAD_SIGNATURE'],
      ['no signature', { payload: good.payload, signer: good.signer }, 'INVALID_ENVELOPE'],
      ['an oversize body', { ...good, padding: 'x'.repeat(200_000) }, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [what, body, code] of cases) {
      const res = await post(url, body);
      expect({ what, status: res.status >= 400 && res.status < 500, code: res.json?.error?.code }).toEqual({
        what,
        status: true,
        code,
      });
      expect(typeof res.json.error.message).toBe('string');
    }
    // Give the network time to order anything that slipped through, then look for it.
    await waitFor('rounds to pass', async () => {
      const h = await getJson(`${url}/v1/ledger/head`);
      return h.round > headBefore.round + 3;
    });
    for (const vmId of ['never-1', 'never-2', 'never-3'])
      for (const u of urls) expect(await getJson(`${u}/v1/vms/${vmId}`)).toBeNull();
  });

  it('records refusals that need the ordered state as PayloadRejected, with no effect', async () => {
    const id = await submit(urls[0]!, alice, { ...vmCreate, vmId: 'kept-1' });
    await decided(urls, id);
    const [vm] = await vmEverywhere(urls, 'kept-1', (v) => v.status === 'scheduled');

    // The wrong owner.
    const theft = await submit(urls[1]!, mallory, { type: 'vm.destroy', vmId: 'kept-1' });
    const [theftStatus] = await decided(urls, theft);
    expect(theftStatus).toMatchObject({ status: 'rejected', code: 'NOT_OWNER' });

    // Expired before it was ordered (consensus time decides, not the API).
    const expired = alice.sign({ type: 'vm.stop', vmId: 'kept-1', expiresAt: Date.now() - 1000 });
    expect((await post(urls[2]!, expired.envelope)).status).toBe(202);
    const [expiredStatus] = await decided(urls, expired.payloadId);
    expect(expiredStatus).toMatchObject({ status: 'rejected', code: 'EXPIRED' });

    // A replay of an accepted envelope through another node.
    const stop = alice.sign({ type: 'vm.stop', vmId: 'kept-1' });
    expect((await post(urls[0]!, stop.envelope)).status).toBe(202);
    const [first] = await decided(urls, stop.payloadId);
    expect(first.status).toBe('rejected'); // kept-1 is scheduled, not running: not stoppable yet
    expect((await post(urls[3]!, stop.envelope)).status).toBe(202);
    const headAtReplay = await getJson(`${urls[3]}/v1/ledger/head`);

    // A report from an operator that does not run the host.
    const other = operators.find((_, i) => `host-${i}` !== vm.hostId)!;
    const forged = await submit(urls[0]!, other, {
      type: 'vm.report',
      vmId: 'kept-1',
      requestId: vm.requestId,
      status: 'running',
      detail: '',
      addresses: [],
    });
    const [forgedStatus] = await decided(urls, forged);
    expect(forgedStatus).toMatchObject({ status: 'rejected', code: 'NOT_OPERATOR' });

    const after = await vmEverywhere(urls, 'kept-1', () => true);
    expect(after.map((v) => [v.status, v.requestId, v.owner])).toEqual(
      urls.map(() => ['scheduled', vm.requestId, alice.key]),
    );
    // The replayed envelope is still decided once: its first decision stands.
    await waitFor('the replay to be ordered', async () => {
      const h = await getJson(`${urls[0]}/v1/ledger/head`);
      return h.round > headAtReplay.round + 6;
    });
    const again = await Promise.all(urls.map((u) => getJson(`${u}/v1/payloads/${stop.payloadId}`)));
    expect(again.map((s) => s.code)).toEqual(urls.map(() => first.code));
  });

  it('takes many concurrent clients, several sharing one key', async () => {
    const clients = [client(), client(), client()];
    const requests = Array.from({ length: 45 }, (_, i) => ({
      who: clients[i % clients.length]!,
      url: urls[i % urls.length]!,
      vmId: `many-${i}`,
    }));
    const ids = await Promise.all(
      requests.map((r) =>
        submit(r.url, r.who, {
          type: 'vm.create',
          name: r.vmId,
          vcpus: 1,
          memoryMiB: 128,
          diskGiB: 1,
          vmId: r.vmId,
        }),
      ),
    );
    expect(new Set(ids).size).toBe(ids.length);
    const statuses = await Promise.all(ids.map((id) => decided([urls[0]!], id)));
    expect(statuses.map(([s]) => s.status)).toEqual(ids.map(() => 'accepted'));
    for (const c of clients) {
      const account = await getJson(`${urls[2]}/v1/accounts/${c.key}`);
      expect(account.vms).toBe(15);
    }
  });

  let joinerClient: Client;

  it('admits a fifth operator by a 2/3 vote; it catches up and its events reach consensus', async () => {
    const { config, key } = joinerConfig(net, 4);
    joinerClient = client(key.secretKey);
    const proposal = await submit(urls[0]!, operators[0]!, {
      type: 'operator.propose',
      operatorKey: key.publicKey,
      stake: 100,
      endpoint: `http://127.0.0.1:${config.api.port}`,
    });
    expect((await decided(urls, proposal))[0].status).toBe('accepted');
    // 2 of 4 approvals (the proposer's counts) is not more than 2/3 of the stake: still open.
    const vote1 = await submit(urls[1]!, operators[1]!, {
      type: 'operator.vote',
      proposalId: proposal,
      approve: true,
    });
    await decided(urls, vote1);
    const open = await getJson(`${urls[0]}/v1/operators`);
    expect(open.items.some((o: any) => o.operatorKey === key.publicKey)).toBe(false);
    const vote2 = await submit(urls[2]!, operators[2]!, {
      type: 'operator.vote',
      proposalId: proposal,
      approve: true,
    });
    await decided(urls, vote2);
    await Promise.all(
      urls.map((u) =>
        waitFor('the new operator to be listed', async () => {
          const list = await getJson(`${u}/v1/operators`);
          return list.items.some((o: any) => o.operatorKey === key.publicKey && o.status === 'member');
        }),
      ),
    );

    const joiner = await net.start(4, config);
    // It catches up: same order hash as node 0 at a common index.
    await waitFor(
      'the joiner to catch up',
      async () => {
        const [a, b] = await Promise.all([
          getJson(`${urls[0]}/v1/ledger/head`),
          getJson(`${joiner.url}/v1/ledger/head`),
        ]);
        if (b.consensusIndex < 10) return false;
        const at = Math.min(a.consensusIndex, b.consensusIndex);
        const [ha, hb] = await Promise.all([
          getJson(`${urls[0]}/v1/ledger/at/${at}`),
          getJson(`${joiner.url}/v1/ledger/at/${at}`),
        ]);
        return ha.orderHash === hb.orderHash;
      },
      60_000,
    );
    // Its own events are ordered on the old members.
    await waitFor(
      'events of the joiner in consensus order',
      async () => {
        const ordered = await readEventsOfCreator(net.nodes[0]!, key.publicKey);
        return ordered > 0;
      },
      60_000,
    );
    // And a request sent to it is accepted.
    const viaJoiner = await submit(joiner.url, alice, { ...vmCreate, vmId: 'via-joiner' });
    expect((await decided([...urls, joiner.url], viaJoiner)).map((s) => s.status)).toEqual(
      [...urls, joiner.url].map(() => 'accepted'),
    );
  });

  it('removes an operator by a 2/3 vote and reschedules its VMs elsewhere', async () => {
    const all = net.urls();
    const before = await getJson(`${all[0]}/v1/vms/via-joiner`);
    const hostOf = before.hostId as string;
    const owner = Number(hostOf.split('-')[1]);
    const target = operators[owner]!;
    // Five members of 100 each: the proposer and three votes make 400 > 2/3 of 500.
    const voters = [...operators.filter((o) => o !== target), joinerClient];
    const proposal = await submit(all[0]!, voters[0]!, { type: 'operator.remove', operatorKey: target.key });
    await decided(all, proposal);
    for (const v of voters.slice(1)) {
      const vote = await submit(all[0]!, v, { type: 'operator.vote', proposalId: proposal, approve: true });
      await decided(all, vote);
    }
    const moved = await vmEverywhere(all, 'via-joiner', (vm) => vm.hostId !== hostOf, 60_000);
    expect(new Set(moved.map((v) => v.hostId)).size).toBe(1);
    expect(['scheduled', 'blocked']).toContain(moved[0].status);
    const ops = await getJson(`${all[0]}/v1/operators`);
    expect(ops.items.find((o: any) => o.operatorKey === target.key)?.status).not.toBe('member');
  });
});
