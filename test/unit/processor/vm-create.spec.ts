import {
  accepted,
  alice,
  bob,
  createVm,
  erin,
  frank,
  given,
  H2,
  newcomer,
  small,
  T0,
  vmIdOf,
} from './kit.js';

describe('vm.create', () => {
  it('given capacity, a create is accepted, requested, and scheduled on the best-fit host', () => {
    const create = createVm(erin, { sshKeys: ['ssh-ed25519 AAAA erin'], userData: '#cloud-config' });
    const vmId = vmIdOf(create);
    given()
      .when(create, { consensusTimestamp: T0 + 1 })
      .then(
        accepted(create),
        {
          type: 'VmRequested',
          vmId,
          owner: erin.key,
          requestId: create.payloadId,
          name: 'web',
          spec: small,
          image: 'blank',
          sshKeys: ['ssh-ed25519 AAAA erin'],
          userData: '#cloud-config',
        },
        {
          type: 'VmOperationRequested',
          vmId,
          requestId: create.payloadId,
          operation: 'create',
          hostId: 'h2',
          operator: bob.key,
          spec: small,
          deadline: T0 + 1 + 300_000_000,
        },
        {
          type: 'VmStatusChanged',
          vmId,
          requestId: create.payloadId,
          status: 'scheduled',
          statusReason: 'scheduled on h2',
          hostId: 'h2',
          addresses: [],
        },
      );
  });

  it('uses the given vmId', () => {
    given()
      .when(createVm(erin, { vmId: 'my-vm' }))
      .thenMatch({ type: 'PayloadAccepted' }, { type: 'VmRequested', vmId: 'my-vm' }, {}, {});
  });

  it('best fit: the host left with the least memory, then vCPUs, then disk, then the smallest id', () => {
    // 6 GiB fits only... both; h2 leaves 2 GiB, h1 leaves 10 GiB.
    given()
      .when(createVm(erin, { vcpus: 2, memoryMiB: 6144, diskGiB: 10 }))
      .thenMatch({}, {}, { hostId: 'h2' }, {});
    // Too much memory for h2: h1.
    given()
      .when(createVm(erin, { vcpus: 2, memoryMiB: 9000, diskGiB: 10 }))
      .thenMatch({}, {}, { hostId: 'h1' }, {});
    // Equal room everywhere: the smaller host id.
    const twin = { hostId: 'h0', operator: alice.key, libvirtUri: 'x', capacity: H2 };
    given({ type: 'HostRegistered', ...twin })
      .when(createVm(erin))
      .thenMatch({}, {}, { hostId: 'h0' }, {});
  });

  it('given the id is taken (even by a destroyed VM), it is rejected VM_EXISTS', () => {
    const first = createVm(erin, { vmId: 'taken' });
    given(first)
      .when(createVm(frank, { vmId: 'taken' }))
      .thenRejected('VM_EXISTS');
    given(first, erin.sign({ type: 'vm.destroy', vmId: 'taken' }), {
      type: 'VmStatusChanged',
      vmId: 'taken',
      requestId: 'r',
      status: 'destroyed',
      statusReason: '',
      hostId: null,
      addresses: [],
    })
      .when(createVm(erin, { vmId: 'taken' }))
      .thenRejected('VM_EXISTS');
  });

  it('counts the quota over VMs that are not destroyed: maxVms, then maxVcpus', () => {
    const three = [createVm(erin), createVm(erin), createVm(erin)];
    given(...three)
      .when(createVm(erin))
      .thenRejected('QUOTA_EXCEEDED', /3 of 3 VMs/);
    given()
      .when(createVm(erin, { vcpus: 9 }))
      .thenRejected('QUOTA_EXCEEDED', /vCPUs/);
    given(createVm(erin, { vcpus: 4, memoryMiB: 512 }))
      .when(createVm(erin, { vcpus: 5, memoryMiB: 512 }))
      .thenRejected('QUOTA_EXCEEDED');
    // A configured account quota overrides the default.
    given()
      .when(createVm(frank, { vcpus: 9, memoryMiB: 512 }))
      .thenMatch({ type: 'PayloadAccepted' }, {}, { status: 'blocked' });
    // Destroying frees quota.
    const a = createVm(erin, { vmId: 'a' });
    given(
      a,
      createVm(erin),
      createVm(erin),
      {
        type: 'VmStatusChanged',
        vmId: 'a',
        requestId: a.payloadId,
        status: 'blocked',
        statusReason: '',
        hostId: null,
        addresses: [],
      },
      erin.sign({ type: 'vm.destroy', vmId: 'a' }),
    )
      .when(createVm(erin))
      .thenMatch({ type: 'PayloadAccepted' }, {}, {}, {});
  });

  it('given no host fits, the VM is blocked with the reason', () => {
    const big = createVm(frank, { vcpus: 16, memoryMiB: 1024, diskGiB: 1 });
    given()
      .when(big)
      .then(
        accepted(big),
        {
          type: 'VmRequested',
          vmId: vmIdOf(big),
          owner: frank.key,
          requestId: big.payloadId,
          name: 'web',
          spec: { vcpus: 16, memoryMiB: 1024, diskGiB: 1 },
          image: 'blank',
          sshKeys: [],
          userData: null,
        },
        {
          type: 'VmStatusChanged',
          vmId: vmIdOf(big),
          requestId: big.payloadId,
          status: 'blocked',
          statusReason: 'no host has capacity for 16 vCPUs, 1024 MiB memory, 1 GiB disk',
          hostId: null,
          addresses: [],
        },
      );
  });

  it('counts what earlier VMs hold: the third 4-vCPU VM no longer fits', () => {
    const c = (id: string) => createVm(frank, { vmId: id, vcpus: 4, memoryMiB: 1024, diskGiB: 1 });
    given(c('a'), c('b'), c('c'))
      .when(c('d'))
      .thenMatch({}, {}, { type: 'VmStatusChanged', status: 'blocked' });
  });

  it('skips draining hosts and hosts whose operator is not a current member', () => {
    given(bob.sign({ type: 'host.drain', hostId: 'h2' }))
      .when(createVm(erin))
      .thenMatch({}, {}, { hostId: 'h1' }, {});
    given({ type: 'HostRegistered', hostId: 'h9', operator: newcomer.key, libvirtUri: 'x', capacity: H2 })
      .when(createVm(erin))
      .thenMatch({}, {}, { hostId: 'h2' }, {});
  });

  it('concurrent requests from one key with different nonces all work', () => {
    const [a, b] = [createVm(erin), createVm(erin)];
    given(a).when(b).thenMatch({ type: 'PayloadAccepted' }, {}, {}, {});
  });
});
