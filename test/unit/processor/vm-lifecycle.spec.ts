import { accepted, alice, bob, carol, createVm, erin, frank, given, H1, type Signed, T0 } from './kit.js';

const create = createVm(erin, { vmId: 'v1' }); // lands on h2 (bob)
const report = (requestId: string, status: string, extra: Record<string, unknown> = {}, who = bob): Signed =>
  who.sign({ type: 'vm.report', vmId: 'v1', requestId, status, ...extra });
const running = report(create.payloadId, 'running', { detail: 'up', addresses: ['10.0.0.5'] });
const stop = erin.sign({ type: 'vm.stop', vmId: 'v1' });
const stopped = report(stop.payloadId, 'stopped');
const spec = { vcpus: 1, memoryMiB: 1024, diskGiB: 10 };
const D = 300_000_000;

describe('vm.resize, vm.stop, vm.start, vm.destroy', () => {
  it('VM_NOT_FOUND and NOT_OWNER', () => {
    given()
      .when(erin.sign({ type: 'vm.stop', vmId: 'nope' }))
      .thenRejected('VM_NOT_FOUND');
    given(create, running)
      .when(frank.sign({ type: 'vm.stop', vmId: 'v1' }))
      .thenRejected('NOT_OWNER');
  });

  it('stop of a running VM asks its host operator, with a deadline; the status changes on the report', () => {
    given(create, running)
      .when(stop, { consensusTimestamp: T0 + 100 })
      .then(accepted(stop), {
        type: 'VmOperationRequested',
        vmId: 'v1',
        requestId: stop.payloadId,
        operation: 'stop',
        hostId: 'h2',
        operator: bob.key,
        spec,
        deadline: T0 + 100 + D,
      });
    given(create, running, stop).when(stopped).then(accepted(stopped), {
      type: 'VmStatusChanged',
      vmId: 'v1',
      requestId: stop.payloadId,
      status: 'stopped',
      statusReason: '',
      hostId: 'h2',
      addresses: [],
    });
  });

  it('start only from stopped; stop only from running; neither while an operation is open', () => {
    given(create, running)
      .when(erin.sign({ type: 'vm.start', vmId: 'v1' }))
      .thenRejected('INVALID_TRANSITION');
    given(create)
      .when(stop)
      .thenRejected('INVALID_TRANSITION', /scheduled/);
    given(create, running, stop)
      .when(erin.sign({ type: 'vm.stop', vmId: 'v1' }))
      .thenRejected('INVALID_TRANSITION', /in progress/);
    const start = erin.sign({ type: 'vm.start', vmId: 'v1' });
    given(create, running, stop, stopped)
      .when(start)
      .thenMatch(accepted(start), { type: 'VmOperationRequested', operation: 'start', hostId: 'h2' });
  });

  it('resize checks the quota and the host, and reserves the larger of both sizes until done', () => {
    const resize = erin.sign({ type: 'vm.resize', vmId: 'v1', vcpus: 2, memoryMiB: 512 });
    const scenario = given(create, running)
      .when(resize)
      .thenMatch(accepted(resize), {
        type: 'VmOperationRequested',
        operation: 'resize',
        spec: { vcpus: 2, memoryMiB: 512, diskGiB: 10 },
      });
    expect(scenario.state.hosts.get('h2')!.used).toEqual({ vcpus: 2, memoryMiB: 1024, diskGiB: 10 });
    expect(scenario.state.accounts.get(erin.key)).toEqual({ vms: 1, vcpus: 2 });
    const done = report(resize.payloadId, 'running');
    const after = given(create, running, resize).when(done).thenMatch(accepted(done), { status: 'running' });
    expect(after.state.hosts.get('h2')!.used).toEqual({ vcpus: 2, memoryMiB: 512, diskGiB: 10 });

    given(create, running)
      .when(erin.sign({ type: 'vm.resize', vmId: 'v1', vcpus: 9 }))
      .thenRejected('QUOTA_EXCEEDED');
    given(create, running)
      .when(erin.sign({ type: 'vm.resize', vmId: 'v1', diskGiB: 101 }))
      .thenRejected('INSUFFICIENT_CAPACITY');
    given(create)
      .when(erin.sign({ type: 'vm.resize', vmId: 'v1', vcpus: 2 }))
      .thenRejected('INVALID_TRANSITION');
  });

  it('destroy of a VM on a host goes through destroying; the report frees the host and the quota', () => {
    const destroy = erin.sign({ type: 'vm.destroy', vmId: 'v1' });
    given(create, running)
      .when(destroy, { consensusTimestamp: T0 + 50 })
      .then(
        accepted(destroy),
        {
          type: 'VmOperationRequested',
          vmId: 'v1',
          requestId: destroy.payloadId,
          operation: 'destroy',
          hostId: 'h2',
          operator: bob.key,
          spec,
          deadline: T0 + 50 + D,
        },
        {
          type: 'VmStatusChanged',
          vmId: 'v1',
          requestId: destroy.payloadId,
          status: 'destroying',
          statusReason: 'destroy requested',
          hostId: 'h2',
          addresses: ['10.0.0.5'],
        },
      );
    const gone = report(destroy.payloadId, 'destroyed');
    const s = given(create, running, destroy)
      .when(gone)
      .thenMatch(accepted(gone), { status: 'destroyed', hostId: null, addresses: [] });
    expect(s.state.hosts.get('h2')!.used).toEqual({ vcpus: 0, memoryMiB: 0, diskGiB: 0 });
    expect(s.state.accounts.get(erin.key)).toBeUndefined();
    expect(s.state.openOperations.size).toBe(0);
    given(create, running, destroy)
      .when(erin.sign({ type: 'vm.destroy', vmId: 'v1' }))
      .thenRejected('INVALID_TRANSITION');
    given(create, running, destroy, gone)
      .when(erin.sign({ type: 'vm.destroy', vmId: 'v1' }))
      .thenRejected('INVALID_TRANSITION');
  });

  it('destroy of a blocked VM finishes at once', () => {
    const big = createVm(frank, { vmId: 'big', vcpus: 64 });
    const destroy = frank.sign({ type: 'vm.destroy', vmId: 'big' });
    given(big).when(destroy).then(accepted(destroy), {
      type: 'VmStatusChanged',
      vmId: 'big',
      requestId: destroy.payloadId,
      status: 'destroyed',
      statusReason: 'destroyed',
      hostId: null,
      addresses: [],
    });
  });

  it('destroy of a VM whose create failed finishes at once', () => {
    const failed = report(create.payloadId, 'failed', { detail: 'no image' });
    given(create, failed)
      .when(erin.sign({ type: 'vm.destroy', vmId: 'v1' }))
      .thenMatch({ type: 'PayloadAccepted' }, { status: 'destroyed', hostId: null });
  });
});

describe('vm.report', () => {
  it('only the operator of the VM host may report: NOT_OPERATOR', () => {
    given(create)
      .when(report(create.payloadId, 'running', {}, alice))
      .thenRejected('NOT_OPERATOR');
    given(create)
      .when(report(create.payloadId, 'running', {}, erin))
      .thenRejected('NOT_OPERATOR');
  });

  it('a report must answer the current request: STALE_REPORT', () => {
    given(create, running, stop).when(report(create.payloadId, 'stopped')).thenRejected('STALE_REPORT');
  });

  it('validates the transition for the open operation', () => {
    given(create).when(report(create.payloadId, 'stopped')).thenRejected('INVALID_TRANSITION');
    given(create).when(report(create.payloadId, 'destroyed')).thenRejected('INVALID_TRANSITION');
    given(create, running, stop).when(report(stop.payloadId, 'running')).thenRejected('INVALID_TRANSITION');
    // With no operation open, the operator may still report what it observes.
    given(create, running).when(report(create.payloadId, 'stopped')).thenMatch({}, { status: 'stopped' });
    given(create, running).when(report(create.payloadId, 'provisioning')).thenRejected('INVALID_TRANSITION');
  });

  it('carries detail and addresses; provisioning keeps the operation open, running closes it', () => {
    const prov = report(create.payloadId, 'provisioning', { detail: 'applying plan' });
    const s = given(create).when(prov).then(accepted(prov), {
      type: 'VmStatusChanged',
      vmId: 'v1',
      requestId: create.payloadId,
      status: 'provisioning',
      statusReason: 'applying plan',
      hostId: 'h2',
      addresses: [],
    });
    expect(s.state.openOperations.size).toBe(1);
    const r = given(create, prov)
      .when(running)
      .then(accepted(running), {
        type: 'VmStatusChanged',
        vmId: 'v1',
        requestId: create.payloadId,
        status: 'running',
        statusReason: 'up',
        hostId: 'h2',
        addresses: ['10.0.0.5'],
      });
    expect(r.state.openOperations.size).toBe(0);
  });

  it('a failed create frees the host; a failed stop keeps it', () => {
    const failed = report(create.payloadId, 'failed', { detail: 'boom' });
    const s = given(create).when(failed).thenMatch(accepted(failed), { status: 'failed', hostId: null });
    expect(s.state.hosts.get('h2')!.used.vcpus).toBe(0);
    const stopFailed = report(stop.payloadId, 'failed');
    const t = given(create, running, stop)
      .when(stopFailed)
      .thenMatch(accepted(stopFailed), { status: 'failed', hostId: 'h2' });
    expect(t.state.hosts.get('h2')!.used.vcpus).toBe(1);
  });
});

describe('blocked VMs', () => {
  const filler = createVm(frank, { vmId: 'filler', vcpus: 8, memoryMiB: 1024, diskGiB: 1 }); // takes h1
  const filler2 = createVm(frank, { vmId: 'filler2', vcpus: 4, memoryMiB: 1024, diskGiB: 1 }); // takes h2
  const b = createVm(frank, { vmId: 'b', vcpus: 2, memoryMiB: 1024, diskGiB: 1 });
  const a = createVm(frank, { vmId: 'a', vcpus: 2, memoryMiB: 1024, diskGiB: 1 });

  it('are retried in VM id order when a host registers', () => {
    const register = carol.sign({
      type: 'host.register',
      hostId: 'h3',
      libvirtUri: 'qemu:///system',
      capacity: { vcpus: 2, memoryMiB: 4096, diskGiB: 10 },
    });
    given(filler, filler2, b, a).when(register).thenMatch(
      accepted(register),
      { type: 'HostRegistered', hostId: 'h3', operator: carol.key },
      { type: 'VmOperationRequested', vmId: 'a', hostId: 'h3', requestId: register.payloadId },
      {
        type: 'VmStatusChanged',
        vmId: 'a',
        status: 'scheduled',
        statusReason: 'capacity freed; scheduled on h3',
      },
    );
  });

  it('are retried when a VM is destroyed', () => {
    const destroy = frank.sign({ type: 'vm.destroy', vmId: 'filler2' });
    const gone = bob.sign({
      type: 'vm.report',
      vmId: 'filler2',
      requestId: destroy.payloadId,
      status: 'destroyed',
    });
    given(filler, filler2, b, a, destroy)
      .when(gone)
      .thenMatch(
        accepted(gone),
        { status: 'destroyed', vmId: 'filler2' },
        { type: 'VmOperationRequested', vmId: 'a', hostId: 'h2' },
        { status: 'scheduled', vmId: 'a' },
        { type: 'VmOperationRequested', vmId: 'b', hostId: 'h2' },
        { status: 'scheduled', vmId: 'b' },
      );
  });

  it('are retried when a host grows', () => {
    const grow = alice.sign({ type: 'host.update', hostId: 'h1', capacity: { ...H1, vcpus: 10 } });
    given(filler, filler2, b, a)
      .when(grow)
      .thenMatch(
        accepted(grow),
        { type: 'HostUpdated' },
        { vmId: 'a', hostId: 'h1' },
        { vmId: 'a', status: 'scheduled' },
      );
  });
});

describe('a VM its operator reports blocked', () => {
  const second = createVm(erin, { vmId: 'v2' });
  const blockedBy = (vmId: string, requestId: string) =>
    bob.sign({ type: 'vm.report', vmId, requestId, status: 'blocked', detail: 'no libvirt here' });

  it('stays blocked with the reason, and is not placed again when another VM frees room', () => {
    const v2Blocked = blockedBy('v2', second.payloadId);
    const v1Blocked = blockedBy('v1', create.payloadId);
    // Without the rule, v1's report would free h2 and place v2 there again, and so on forever.
    given(create, second, v2Blocked).when(v1Blocked).then(accepted(v1Blocked), {
      type: 'VmStatusChanged',
      vmId: 'v1',
      requestId: create.payloadId,
      status: 'blocked',
      statusReason: 'no libvirt here',
      hostId: null,
      addresses: [],
    });
  });
});
