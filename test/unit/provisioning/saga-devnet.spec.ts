/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers of the API under test */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { LedgerRecord } from '../../../domain/processor/events.js';
import { compilePlan } from '../../../infra/plans/index.js';
import type { EventStore } from '../../../src/eventstore/event-store.js';
import { PLAN_ONLY_URI, planFileOf, type SagaEvent, sagaStream } from '../../../src/provisioning/index.js';
import { client, decided, type Devnet, startDevnet, submit, vmEverywhere, waitFor } from '../e2e/support.js';

/** On an in-process devnet (hosts with libvirtUri `none`), the saga writes plans and reports blocked. */
jest.setTimeout(120_000);

const decode = <T>(data: Uint8Array): T => JSON.parse(new TextDecoder().decode(data)) as T;

async function sagaEvents(store: EventStore, vmId: string): Promise<SagaEvent[]> {
  const out: SagaEvent[] = [];
  for await (const e of store.readStream(sagaStream(vmId))) out.push(decode<SagaEvent>(e.data));
  return out;
}

/** vm.report payloads the ledger accepted. */
async function acceptedReports(store: EventStore): Promise<number> {
  let n = 0;
  for await (const e of store.readStream('ledger')) {
    const r = decode<LedgerRecord>(e.data);
    if (r.event.type === 'PayloadAccepted' && r.event.payloadType === 'vm.report') n++;
  }
  return n;
}

describe('the provisioning saga on a devnet', () => {
  let net: Devnet;
  let urls: string[];
  const alice = client();

  beforeAll(async () => {
    net = await startDevnet(3, { saga: true });
    urls = net.urls();
  });

  afterAll(async () => {
    await net?.stop();
  });

  it('reports a created VM blocked with its plan written; a restart sends nothing again; destroy removes the plan', async () => {
    const spec = { vcpus: 1, memoryMiB: 256, diskGiB: 2 };
    const id = await submit(urls[0]!, alice, { type: 'vm.create', vmId: 'plan-1', name: 'plan-1', ...spec });
    expect((await decided(urls, id)).map((s) => s.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const views = await vmEverywhere(urls, 'plan-1', (vm) => vm.status === 'blocked');
    expect(new Set(views.map((v) => v.statusReason)).size).toBe(1);

    const scheduled = await waitFor('the operation in the ledger', async () => {
      for await (const e of net.nodes[0]!.store.readStream('ledger')) {
        const r = decode<LedgerRecord>(e.data);
        if (r.event.type === 'VmOperationRequested' && r.event.vmId === 'plan-1') return r.event;
      }
      return null;
    });
    const index = net.layout.keys.findIndex((k) => k.publicKey === scheduled.operator);
    expect(index).toBeGreaterThanOrEqual(0);
    const operatorNode = net.nodes[index]!;
    const path = planFileOf(join(net.layout.configs[index]!.dataDir, 'plans'), 'plan-1');
    expect(views[0].statusReason).toBe(
      `no libvirt URI for host ${scheduled.hostId}: plan written to ${path}`,
    );
    const plan = compilePlan(
      { vmId: 'plan-1', name: 'plan-1', ...spec, image: 'blank', sshKeys: [], userData: null },
      { hostId: scheduled.hostId, libvirtUri: PLAN_ONLY_URI },
    );
    expect(readFileSync(path, 'utf8')).toBe(plan.text);

    const before = await sagaEvents(operatorNode.store, 'plan-1');
    const reported = before.filter((e) => e.type === 'ReportSubmitted').map((e) => (e as any).status);
    expect(reported).toEqual(['provisioning', 'blocked']);
    expect(before.at(-1)).toMatchObject({ type: 'OperationClosed', requestId: id, outcome: 'reported' });
    const reportsBefore = await acceptedReports(operatorNode.store);
    expect(reportsBefore).toBe(2);
    // Other nodes did nothing for it.
    for (const [i, n] of net.nodes.entries())
      if (i !== index) expect(await sagaEvents(n!.store, 'plan-1')).toEqual([]);

    // Restart the operator's node: the saga catches up and submits nothing new.
    await operatorNode.stop();
    const again = await net.start(index);
    urls = net.urls();
    await again.saga!.settled();
    await new Promise((r) => setTimeout(r, 1500));
    await again.saga!.settled();
    expect(await sagaEvents(again.store, 'plan-1')).toEqual(before);
    expect(await acceptedReports(again.store)).toBe(2);

    // A blocked VM is destroyed at once (no operation); the node that wrote its plan removes it.
    const destroy = await submit(urls[0]!, alice, { type: 'vm.destroy', vmId: 'plan-1' });
    await decided(urls, destroy);
    await vmEverywhere(urls, 'plan-1', (vm) => vm.status === 'destroyed');
    await waitFor('the plan removed', async () => !existsSync(path));
    await again.saga!.settled();
    const after = await sagaEvents(again.store, 'plan-1');
    expect(after.at(-1)).toMatchObject({ type: 'OperationClosed', requestId: destroy, outcome: 'released' });
  });
});
