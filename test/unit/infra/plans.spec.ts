import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compilePlan,
  PlanError,
  type HostPlanInput,
  type PlanErrorCode,
  type VmPlanInput,
} from '../../../infra/plans/index.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');
/** `UPDATE_GOLDEN=1 npx jest test/unit/infra` rewrites the files; review the diff before committing. */
const update = process.env.UPDATE_GOLDEN === '1';

const host: HostPlanInput = { hostId: 'host-a', libvirtUri: 'qemu:///system' };
const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDaggerTestKeyAlphaAlphaAlphaAlphaAlpha alice@example';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDaggerTestKeyBravoBravoBravoBravoBravo bob@example';

const vms: Record<string, [VmPlanInput, HostPlanInput]> = {
  'blank-no-user-data': [
    {
      vmId: 'vm-blank',
      name: 'scratch',
      vcpus: 1,
      memoryMiB: 128,
      diskGiB: 1,
      image: 'blank',
      sshKeys: [],
      userData: null,
    },
    host,
  ],
  'named-image-keys-user-data': [
    {
      vmId: 'vm-0123abcd',
      name: 'web_1.prod',
      vcpus: 4,
      memoryMiB: 4096,
      diskGiB: 40,
      image: 'debian-12',
      sshKeys: [KEY_A, KEY_B],
      userData: '#cloud-config\npackages:\n  - nginx\nruncmd:\n  - [systemctl, enable, --now, nginx]\n',
    },
    host,
  ],
  'named-image-keys-no-user-data': [
    {
      vmId: 'vm-ssh-only',
      name: 'Bastion',
      vcpus: 2,
      memoryMiB: 1024,
      diskGiB: 10,
      image: 'alpine-3.22',
      sshKeys: [KEY_A],
      userData: null,
    },
    host,
  ],
  'tcg-host-custom-pool': [
    {
      vmId: 'vm-tcg',
      name: 'tiny',
      vcpus: 1,
      memoryMiB: 64,
      diskGiB: 2,
      image: 'blank',
      sshKeys: [],
      userData: '#!/bin/sh\necho "héllo" > /etc/motd\n',
    },
    {
      hostId: 'host-b',
      libvirtUri: 'qemu+ssh://ops@10.0.0.7/system?keyfile=/etc/dagger/id_ed25519',
      pool: 'vms',
      poolPath: '/srv/dagger/vms/',
      network: 'dagger-net',
      domainType: 'qemu',
    },
  ],
};

describe('compilePlan: golden Terraform JSON', () => {
  for (const [name, [vm, h]] of Object.entries(vms)) {
    it(`${name} matches golden/${name}.json byte for byte`, () => {
      const plan = compilePlan(vm, h);
      const file = join(GOLDEN, `${name}.json`);
      if (update) writeFileSync(file, plan.text);
      expect(plan.text).toBe(readFileSync(file, 'utf8'));
      expect(plan.stackName).toBe(`dagger-${vm.vmId}`);
      expect(JSON.parse(plan.text)).toEqual(plan.json);
    });
  }
});

describe('compilePlan: shape', () => {
  const [vm] = vms['named-image-keys-user-data']!;
  const json = compilePlan(vm, host).json as any; // eslint-disable-line @typescript-eslint/no-explicit-any

  it('puts the host URI into the provider block and pins the provider line', () => {
    expect(json.provider.libvirt).toEqual([{ uri: 'qemu:///system' }]);
    expect(json.terraform.required_providers.libvirt).toEqual({
      source: 'dmacvicar/libvirt',
      version: '~> 0.9.1',
    });
  });

  it('maps the spec to the domain and the root volume', () => {
    const domain = json.resource.libvirt_domain.vm;
    expect(domain).toMatchObject({ name: 'dagger-vm-0123abcd', vcpu: 4, memory: 4096, memory_unit: 'MiB' });
    const root = json.resource.libvirt_volume.root;
    expect(root).toMatchObject({ name: 'dagger-vm-0123abcd-root', pool: 'dagger', capacity: 40 * 2 ** 30 });
    expect(root.backing_store.path).toBe('/var/lib/libvirt/pools/dagger/debian-12');
  });

  it('names every libvirt object dagger-<vmId>…', () => {
    const names = [
      json.resource.libvirt_domain.vm.name,
      ...Object.values(json.resource.libvirt_volume).map((v: any) => v.name), // eslint-disable-line @typescript-eslint/no-explicit-any
      json.resource.libvirt_cloudinit_disk.cloudinit.name,
    ];
    for (const n of names) expect(n.startsWith('dagger-vm-0123abcd')).toBe(true);
  });

  it('keeps user data as signed and passes SSH keys as NoCloud public-keys', () => {
    const seed = json.resource.libvirt_cloudinit_disk.cloudinit;
    expect(seed.user_data).toBe(vm.userData);
    expect(JSON.parse(seed.meta_data)).toEqual({
      'instance-id': 'dagger-vm-0123abcd',
      'local-hostname': 'web-1-prod',
      'public-keys': [KEY_A, KEY_B],
    });
  });

  it('gives a blank image an empty volume with no backing store', () => {
    const blank = compilePlan(vms['blank-no-user-data']![0], host).json as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(blank.resource.libvirt_volume.root.backing_store).toBeUndefined();
    expect(blank.resource.libvirt_volume.root.capacity).toBe(2 ** 30);
    expect(blank.resource.libvirt_cloudinit_disk.cloudinit.user_data).toBe('#cloud-config\n');
  });

  it('carries no cdktn metadata (no // blocks, paths or versions)', () => {
    const text = compilePlan(vm, host).text;
    expect(text).not.toContain('"//"');
    expect(text).not.toContain('0.24');
  });
});

describe('compilePlan: determinism', () => {
  it('compiles the same input to the same bytes twice', () => {
    for (const [vm, h] of Object.values(vms)) expect(compilePlan(vm, h).text).toBe(compilePlan(vm, h).text);
  });

  it('ignores the key order of its input', () => {
    const [vm, h] = vms['tcg-host-custom-pool']!;
    const reversed = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    expect(compilePlan(reversed(vm), reversed(h)).text).toBe(compilePlan(vm, h).text);
  });

  it('does not change its input', () => {
    const [vm, h] = vms['named-image-keys-user-data']!;
    const before = JSON.stringify([vm, h]);
    compilePlan(vm, h);
    expect(JSON.stringify([vm, h])).toBe(before);
  });
});

describe('compilePlan: validation', () => {
  const [good] = vms['named-image-keys-user-data']!;
  const cases: [string, Partial<VmPlanInput>, Partial<HostPlanInput>, PlanErrorCode, string][] = [
    ['upper-case vmId', { vmId: 'VM-1' }, {}, 'INVALID_VM_ID', 'vm.vmId'],
    ['vmId with a slash', { vmId: 'vm/../x' }, {}, 'INVALID_VM_ID', 'vm.vmId'],
    ['vmId with an underscore', { vmId: 'vm_1' }, {}, 'INVALID_VM_ID', 'vm.vmId'],
    ['empty vmId', { vmId: '' }, {}, 'INVALID_VM_ID', 'vm.vmId'],
    ['64-character vmId', { vmId: 'a'.repeat(64) }, {}, 'INVALID_VM_ID', 'vm.vmId'],
    ['name with a space', { name: 'my vm' }, {}, 'INVALID_NAME', 'vm.name'],
    ['zero vcpus', { vcpus: 0 }, {}, 'INVALID_SIZE', 'vm.vcpus'],
    ['zero memory', { memoryMiB: 0 }, {}, 'INVALID_SIZE', 'vm.memoryMiB'],
    ['zero disk', { diskGiB: 0 }, {}, 'INVALID_SIZE', 'vm.diskGiB'],
    ['fractional disk', { diskGiB: 1.5 }, {}, 'INVALID_SIZE', 'vm.diskGiB'],
    ['negative vcpus', { vcpus: -1 }, {}, 'INVALID_SIZE', 'vm.vcpus'],
    ['image with a slash', { image: '../etc/passwd' }, {}, 'INVALID_IMAGE', 'vm.image'],
    ['two-line SSH key', { sshKeys: ['ssh-ed25519 A\nssh-rsa B'] }, {}, 'INVALID_SSH_KEY', 'vm.sshKeys[0]'],
    ['17 SSH keys', { sshKeys: Array(17).fill(KEY_A) }, {}, 'INVALID_SSH_KEY', 'vm.sshKeys'],
    ['user data over 16 KiB', { userData: 'é'.repeat(8193) }, {}, 'INVALID_USER_DATA', 'vm.userData'],
    ['bad hostId', {}, { hostId: 'Host A' }, 'INVALID_HOST', 'host.hostId'],
    ['URI without a scheme', {}, { libvirtUri: '/var/run/libvirt' }, 'INVALID_HOST', 'host.libvirtUri'],
    ['URI with a space', {}, { libvirtUri: 'qemu:///system x' }, 'INVALID_HOST', 'host.libvirtUri'],
    ['relative pool path', {}, { poolPath: 'pools/x' }, 'INVALID_HOST', 'host.poolPath'],
    ['pool path with ..', {}, { poolPath: '/srv/../etc' }, 'INVALID_HOST', 'host.poolPath'],
    ['pool with a slash', {}, { pool: 'a/b' }, 'INVALID_HOST', 'host.pool'],
    ['unknown domain type', {}, { domainType: 'xen' as 'kvm' }, 'INVALID_HOST', 'host.domainType'],
  ];
  it.each(cases)('refuses %s', (_label, vmPatch, hostPatch, code, field) => {
    let caught: unknown;
    try {
      compilePlan({ ...good, ...vmPatch }, { ...host, ...hostPatch });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PlanError);
    expect((caught as PlanError).code).toBe(code);
    expect((caught as PlanError).field).toBe(field);
  });
});
