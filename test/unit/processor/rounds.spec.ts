import {
  decideRound,
  evolve,
  initialState,
  roundRequestId,
  stateRoot,
  stateRootFromScratch,
} from '../../../domain/processor/index.js';
import { bob, config, createVm, erin, frank, hash, ports, Scenario, T0, T0_MS } from './kit.js';

const D = 300_000_000;

describe('decideRound', () => {
  it('ends with StateRootComputed over the state with the round closed', () => {
    const s = new Scenario();
    const events = decideRound(s.state, { round: 1, consensusTimestamp: T0, consensusIndex: 9 }, ports);
    expect(events).toHaveLength(1);
    const last = events[0]!;
    expect(last.type).toBe('StateRootComputed');
    expect(s.state.round.value).toBe(-1); // pure
    evolve(s.state, last);
    expect(last).toEqual({ type: 'StateRootComputed', round: 1, root: stateRoot(s.state, hash) });
    expect(stateRootFromScratch(s.state, hash)).toBe(stateRoot(s.state, hash));
  });

  it('fails operations whose deadline passed, in deadline then VM id order; a timed-out create frees its host', () => {
    const s = new Scenario();
    const b = createVm(erin, { vmId: 'b' });
    const a = createVm(erin, { vmId: 'a' });
    s.step(b, { consensusTimestamp: T0 + 10 });
    s.step(a, { consensusTimestamp: T0 + 10 });
    const at = { round: 1, consensusTimestamp: T0 + 10 + D, consensusIndex: 5 };
    expect(decideRound(s.state, at, ports).map((e) => e.type)).toEqual(['StateRootComputed']);
    const events = decideRound(s.state, { ...at, consensusTimestamp: T0 + 11 + D }, ports);
    expect(events.slice(0, 2)).toEqual(
      ['a', 'b'].map((vmId) => ({
        type: 'VmStatusChanged',
        vmId,
        requestId: (vmId === 'a' ? a : b).payloadId,
        status: 'failed',
        statusReason: 'operator timeout',
        hostId: null,
        addresses: [],
      })),
    );
    for (const e of events) evolve(s.state, e);
    expect(s.state.hosts.get('h2')!.used.vcpus).toBe(0);
    expect(s.state.openOperations.size).toBe(0);
  });

  it('a timeout that frees capacity retries blocked VMs under the round request id', () => {
    const s = new Scenario();
    s.step(createVm(frank, { vmId: 'a', vcpus: 8, memoryMiB: 512, diskGiB: 1 }), { consensusTimestamp: T0 }); // h1
    s.step(createVm(frank, { vmId: 'b', vcpus: 4, memoryMiB: 512, diskGiB: 1 }), { consensusTimestamp: T0 }); // h2
    s.step(createVm(frank, { vmId: 'c', vcpus: 4, memoryMiB: 512, diskGiB: 1 }), { consensusTimestamp: T0 }); // blocked
    const events = decideRound(
      s.state,
      { round: 1, consensusTimestamp: T0 + D + 1, consensusIndex: 3 },
      ports,
    );
    expect(events.map((e) => [e.type, 'vmId' in e ? e.vmId : null])).toEqual([
      ['VmStatusChanged', 'a'],
      ['VmStatusChanged', 'b'],
      ['VmOperationRequested', 'c'],
      ['VmStatusChanged', 'c'],
      ['StateRootComputed', null],
    ]);
    expect(events[2]).toMatchObject({ requestId: roundRequestId(1, hash), hostId: 'h2' });
  });

  it('a timeout of another operation fails the VM but keeps its host', () => {
    const s = new Scenario();
    const c = createVm(erin, { vmId: 'v' });
    s.step(c);
    s.step(bob.sign({ type: 'vm.report', vmId: 'v', requestId: c.payloadId, status: 'running' }));
    s.step(erin.sign({ type: 'vm.stop', vmId: 'v' }), { consensusTimestamp: T0 + 100 });
    const events = decideRound(
      s.state,
      { round: 1, consensusTimestamp: T0 + 101 + D, consensusIndex: 3 },
      ports,
    );
    expect(events[0]).toMatchObject({ status: 'failed', hostId: 'h2', statusReason: 'operator timeout' });
  });

  it('prunes expired payload ids, then a replay of them is EXPIRED', () => {
    const s = new Scenario();
    const early = erin.sign({
      type: 'vm.create',
      name: 'x',
      vcpus: 1,
      memoryMiB: 64,
      diskGiB: 1,
      expiresAt: T0_MS + 1,
    });
    const late = erin.sign({
      type: 'vm.create',
      name: 'y',
      vcpus: 1,
      memoryMiB: 64,
      diskGiB: 1,
      expiresAt: T0_MS + 2,
    });
    s.step(early, { consensusTimestamp: T0 });
    s.step(late, { consensusTimestamp: T0 });
    expect(s.state.seen.size).toBe(2);
    // At T0 + 1000 µs, expiresAt T0_MS + 1 is not yet passed (1000 < 1000 is false).
    let events = decideRound(s.state, { round: 1, consensusTimestamp: T0 + 1000, consensusIndex: 2 }, ports);
    expect(events.map((e) => e.type)).toEqual(['StateRootComputed']);
    events = decideRound(s.state, { round: 1, consensusTimestamp: T0 + 1001, consensusIndex: 2 }, ports);
    expect(events[0]).toEqual({ type: 'PayloadIdsPruned', before: T0 + 1001, count: 1 });
    for (const e of events) evolve(s.state, e);
    expect([...s.state.seen.sortedKeys()]).toEqual([late.payloadId]);
    expect(s.step(early, { round: 2, consensusTimestamp: T0 + 1002 })).toMatchObject([
      { type: 'PayloadRejected', code: 'EXPIRED' },
    ]);
    expect(stateRootFromScratch(s.state, hash)).toBe(stateRoot(s.state, hash));
  });

  it('refuses a round or payload at or below the closed round', () => {
    const s = new Scenario();
    for (const e of decideRound(s.state, { round: 4, consensusTimestamp: T0, consensusIndex: 0 }, ports))
      evolve(s.state, e);
    expect(() =>
      decideRound(s.state, { round: 4, consensusTimestamp: T0, consensusIndex: 0 }, ports),
    ).toThrow(/ROUND_ORDER/);
    expect(() => s.step(createVm(erin), { round: 3 })).toThrow(/ROUND_ORDER/);
  });

  it('initialState refuses a bad config', () => {
    expect(() => initialState({ ...config, members: [] })).toThrow(/BAD_CONFIG/);
    expect(() =>
      initialState({ ...config, hosts: [{ ...config.hosts[0]!, operator: '00'.repeat(32) }] }),
    ).toThrow(/BAD_CONFIG/);
    expect(() => initialState({ ...config, membershipDelay: -1 })).toThrow(/BAD_CONFIG/);
  });
});
