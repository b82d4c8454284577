import { accepted, alice, bob, carol, createVm, erin, frank, given, H2, newcomer } from './kit.js';

const register = (who = carol, hostId = 'h3') =>
  who.sign({
    type: 'host.register',
    hostId,
    libvirtUri: 'qemu+ssh://h3/system',
    capacity: { vcpus: 4, memoryMiB: 8192, diskGiB: 100 },
  });

describe('host.register, host.update, host.drain', () => {
  it('a member registers a host it then operates', () => {
    const r = register();
    given()
      .when(r)
      .then(accepted(r), {
        type: 'HostRegistered',
        hostId: 'h3',
        operator: carol.key,
        libvirtUri: 'qemu+ssh://h3/system',
        capacity: { vcpus: 4, memoryMiB: 8192, diskGiB: 100 },
      });
  });

  it('NOT_OPERATOR for a non-member; HOST_EXISTS for a taken id', () => {
    given().when(register(newcomer)).thenRejected('NOT_OPERATOR');
    given().when(register(carol, 'h1')).thenRejected('HOST_EXISTS');
  });

  it('update merges the given fields; only the host operator may update or drain', () => {
    const u = alice.sign({ type: 'host.update', hostId: 'h1', libvirtUri: 'qemu+tls://h1/system' });
    given()
      .when(u)
      .then(accepted(u), {
        type: 'HostUpdated',
        hostId: 'h1',
        libvirtUri: 'qemu+tls://h1/system',
        capacity: { vcpus: 8, memoryMiB: 16_384, diskGiB: 200 },
      });
    given()
      .when(bob.sign({ type: 'host.update', hostId: 'h1', capacity: H2 }))
      .thenRejected('NOT_OPERATOR');
    given()
      .when(bob.sign({ type: 'host.drain', hostId: 'h1' }))
      .thenRejected('NOT_OPERATOR');
    given()
      .when(bob.sign({ type: 'host.drain', hostId: 'nope' }))
      .thenRejected('HOST_NOT_FOUND');
    given()
      .when(bob.sign({ type: 'host.update', hostId: 'nope', capacity: H2 }))
      .thenRejected('HOST_NOT_FOUND');
  });

  it('a drained host takes no new VMs and its VMs move, in id order, elsewhere or to blocked', () => {
    const v1 = createVm(erin, { vmId: 'v1' }); // h2
    const v2 = createVm(frank, { vmId: 'v2', vcpus: 3, memoryMiB: 1024, diskGiB: 1 }); // h2
    const drain = bob.sign({ type: 'host.drain', hostId: 'h2' });
    const s = given(v1, v2).when(drain).thenMatch(
      accepted(drain),
      { type: 'HostDrained', hostId: 'h2' },
      {
        type: 'VmOperationRequested',
        vmId: 'v1',
        operation: 'create',
        hostId: 'h1',
        operator: alice.key,
        requestId: drain.payloadId,
      },
      {
        type: 'VmStatusChanged',
        vmId: 'v1',
        status: 'scheduled',
        hostId: 'h1',
        statusReason: 'moved from drained host h2; scheduled on h1',
      },
      { type: 'VmOperationRequested', vmId: 'v2', hostId: 'h1' },
      { type: 'VmStatusChanged', vmId: 'v2', status: 'scheduled', hostId: 'h1' },
    );
    expect(s.state.hosts.get('h2')!.used).toEqual({ vcpus: 0, memoryMiB: 0, diskGiB: 0 });
    expect(s.state.hosts.get('h1')!.used).toEqual({ vcpus: 4, memoryMiB: 2048, diskGiB: 11 });
    // With h1 full, the VM is blocked instead.
    const fill = createVm(frank, { vmId: 'fill', vcpus: 8, memoryMiB: 1024, diskGiB: 1 });
    given(fill, v1)
      .when(drain)
      .thenMatch(accepted(drain), { type: 'HostDrained' }, { vmId: 'v1', status: 'blocked', hostId: null });
    given(drain)
      .when(bob.sign({ type: 'host.drain', hostId: 'h2' }))
      .thenRejected('INVALID_TRANSITION');
  });
});
