import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerEvent, LedgerRecord, VmOperation } from '../../../domain/processor/events.js';
import { nodeKeyFromSecret } from '../../../src/node/genesis.js';
import type { EventStore } from '../../../src/eventstore/event-store.js';
import { openEventStore } from '../../../src/eventstore/open.js';
import {
  type Applier,
  ApplierError,
  type ApplyResult,
  ProvisioningSaga,
  type SagaEvent,
  type SagaLedger,
} from '../../../src/provisioning/index.js';

const key = nodeKeyFromSecret(new Uint8Array(32).fill(7));
const REQ = 'a'.repeat(64);
const NOW = 1_000_000_000;

class FakeLedger implements SagaLedger {
  readonly sent: { status: string; detail: string; requestId: string }[] = [];
  private listener: ((r: readonly LedgerRecord[]) => void) | null = null;
  onLedger(listener: (r: readonly LedgerRecord[]) => void): void {
    this.listener = listener;
  }
  accept(payloads: readonly Uint8Array[]): Promise<void> {
    for (const p of payloads) {
      const env = JSON.parse(new TextDecoder().decode(p)) as {
        payload: { status: string; detail: string; requestId: string };
      };
      this.sent.push(env.payload);
    }
    return Promise.resolve();
  }
  feed(records: readonly LedgerRecord[]): void {
    this.listener?.(records);
  }
}

class FakeApplier implements Applier {
  calls = 0;
  compensated = 0;
  constructor(private readonly behaviour: (call: number) => ApplyResult) {}
  apply(): Promise<ApplyResult> {
    this.calls++;
    try {
      return Promise.resolve(this.behaviour(this.calls));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  compensate(): Promise<void> {
    this.compensated++;
    return Promise.resolve();
  }
  inspect(vmId: string) {
    return Promise.resolve({ vmId, state: 'absent' as const, addresses: [] });
  }
}

const running: ApplyResult = { status: 'running', detail: 'up', addresses: ['10.0.0.2'] };

function records(operation: VmOperation, deadline = NOW + 300_000_000): LedgerRecord[] {
  const events: LedgerEvent[] = [
    {
      type: 'VmRequested',
      vmId: 'vm-1',
      owner: 'b'.repeat(64),
      requestId: REQ,
      name: 'vm-1',
      spec: { vcpus: 1, memoryMiB: 256, diskGiB: 2 },
      image: 'blank',
      sshKeys: [],
      userData: null,
    },
    {
      type: 'VmOperationRequested',
      vmId: 'vm-1',
      requestId: REQ,
      operation,
      hostId: 'host-0',
      operator: key.publicKey,
      spec: { vcpus: 1, memoryMiB: 256, diskGiB: 2 },
      deadline,
    },
  ];
  return events.map((event, i) => ({
    ledgerIndex: i,
    at: { consensusIndex: i, payloadIndex: 0, round: 1, consensusTimestamp: NOW },
    event,
  }));
}

describe('ProvisioningSaga with a fake applier', () => {
  let store: EventStore;

  beforeEach(async () => {
    store = await openEventStore(
      `sqlite:${join(mkdtempSync(join(tmpdir(), 'dagger-saga-')), 'events.sqlite')}`,
    );
  });
  afterEach(async () => {
    await store.close();
  });

  async function run(applier: Applier, ledger = new FakeLedger(), input = records('create')) {
    const saga = new ProvisioningSaga({
      ledger,
      store,
      key,
      genesisHosts: [
        {
          hostId: 'host-0',
          operator: key.publicKey,
          libvirtUri: 'qemu:///system',
          capacity: { vcpus: 8, memoryMiB: 8192, diskGiB: 100 },
        },
      ],
      applierFor: () => applier,
      retry: { attempts: 5, baseMs: 1, maxMs: 5 },
      orderWaitMs: 5,
    });
    await saga.start();
    ledger.feed(input);
    await saga.settled();
    const history = await saga.history('vm-1');
    await saga.stop();
    return { ledger, history };
  }

  const types = (h: readonly SagaEvent[]) => h.map((e) => e.type);

  it('retries a transient failure with backoff, then reports provisioning and running', async () => {
    const applier = new FakeApplier((call) => {
      if (call <= 2) throw new ApplierError('APPLY_TRANSIENT', `busy ${call}`);
      return running;
    });
    const { ledger, history } = await run(applier);
    expect(applier.calls).toBe(3);
    expect(applier.compensated).toBe(0);
    expect(ledger.sent.map((p) => p.status)).toEqual(['provisioning', 'running']);
    expect(ledger.sent.every((p) => p.requestId === REQ)).toBe(true);
    expect(history.filter((e) => e.type === 'StepFailed')).toHaveLength(2);
    expect(types(history).slice(-2)).toEqual(['ReportSubmitted', 'OperationClosed']);
  });

  it('reports failed and compensates on a permanent failure', async () => {
    const applier = new FakeApplier(() => {
      throw new ApplierError('APPLY_PERMANENT', 'base image ubuntu missing');
    });
    const { ledger, history } = await run(applier);
    expect(applier.calls).toBe(1);
    expect(applier.compensated).toBe(1);
    expect(ledger.sent.map((p) => [p.status, p.detail])).toEqual([
      ['provisioning', 'applying plan dagger-vm-1'],
      ['failed', 'APPLY_PERMANENT: base image ubuntu missing'],
    ]);
    expect(history.some((e) => e.type === 'StepSucceeded' && e.step === 'compensate')).toBe(true);
  });

  it('gives up after the retry budget: failed, compensated', async () => {
    const applier = new FakeApplier(() => {
      throw new Error('connection refused');
    });
    const { ledger } = await run(applier);
    expect(applier.calls).toBe(5);
    expect(applier.compensated).toBe(1);
    expect(ledger.sent.map((p) => p.status)).toEqual(['provisioning', 'failed']);
  });

  it('does not report past the deadline (consensus time), and cleans up', async () => {
    const applier = new FakeApplier(() => running);
    const { ledger, history } = await run(applier, new FakeLedger(), records('create', NOW + 1000));
    expect(applier.calls).toBe(0);
    expect(ledger.sent).toEqual([]);
    expect(history.at(-1)).toMatchObject({ type: 'OperationClosed', outcome: 'too late' });
  });

  it('a restart repeats neither a finished step nor a report', async () => {
    const applier = new FakeApplier(() => running);
    await run(applier);
    const second = await run(applier);
    expect(applier.calls).toBe(1);
    expect(second.ledger.sent).toEqual([]);
    expect(second.history.filter((e) => e.type === 'ReportSubmitted')).toHaveLength(2);
  });

  it('resumes an apply started before a crash, as a new attempt', async () => {
    await store.append(
      'saga-vm-1',
      [
        {
          eventId: `${REQ}:StepStarted:apply:1`,
          type: 'StepStarted',
          data: new TextEncoder().encode(
            JSON.stringify({ type: 'StepStarted', requestId: REQ, step: 'apply', attempt: 1 }),
          ),
        },
      ],
      'no_stream',
    );
    const applier = new FakeApplier(() => ({ status: 'stopped', detail: 'shut off', addresses: [] }));
    const { ledger, history } = await run(applier, new FakeLedger(), records('stop'));
    expect(applier.calls).toBe(1);
    expect(
      history.filter((e) => e.type === 'StepStarted').map((e) => (e as { attempt: number }).attempt),
    ).toEqual([1, 2]);
    expect(ledger.sent.map((p) => p.status)).toEqual(['stopped']);
  });

  it('reports failed when the applier answers a status the operation cannot take', async () => {
    const applier = new FakeApplier(() => ({ status: 'blocked', detail: 'no libvirt', addresses: [] }));
    const { ledger } = await run(applier, new FakeLedger(), records('start'));
    expect(ledger.sent.map((p) => [p.status, p.detail])).toEqual([
      ['failed', 'the applier answered blocked for a start'],
    ]);
  });
});
