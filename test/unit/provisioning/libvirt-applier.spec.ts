import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePlan, type HostPlanInput, type VmPlanInput } from '../../../infra/plans/index.js';
import {
  ApplierError,
  appliersFor,
  LibvirtApplier,
  libvirtDefaults,
  PlanOnlyApplier,
} from '../../../src/provisioning/index.js';
import { domainXml, readPlan, sizesOfDomainXml, volumeXml } from '../../../src/provisioning/libvirt-plan.js';

const host: HostPlanInput = {
  hostId: 'host-a',
  libvirtUri: 'qemu:///system',
  pool: 'vms',
  poolPath: '/srv/pools/vms',
  network: 'lab',
  domainType: 'qemu',
};
const vm: VmPlanInput = {
  vmId: 'vm-1',
  name: 'web_1',
  vcpus: 2,
  memoryMiB: 256,
  diskGiB: 3,
  image: 'debian-12',
  sshKeys: ['ssh-ed25519 AAAA alice@example'],
  userData: '#cloud-config\nhostname: web\n',
};
const plan = compilePlan(vm, host);
// Tests below break the plan JSON on purpose, through paths no type describes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EditablePlan = any;

describe('readPlan: the plan resource blocks as libvirt objects', () => {
  const read = readPlan(plan.json);

  test('volumes: the seed (content from the cloud-init disk) and the root overlay', () => {
    expect([...read.volumes].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      {
        name: 'dagger-vm-1-cloudinit.iso',
        pool: 'vms',
        format: 'raw',
        capacity: null,
        backing: null,
        seed: {
          name: 'dagger-vm-1-cloudinit',
          userData: '#cloud-config\nhostname: web\n',
          metaData:
            '{"instance-id":"dagger-vm-1","local-hostname":"web-1","public-keys":["ssh-ed25519 AAAA alice@example"]}\n',
        },
      },
      {
        name: 'dagger-vm-1-root',
        pool: 'vms',
        format: 'qcow2',
        capacity: 3 * 1024 ** 3,
        backing: { path: '/srv/pools/vms/debian-12', format: 'qcow2' },
        seed: null,
      },
    ]);
  });

  test('the domain', () => {
    expect(read.domain).toEqual({
      name: 'dagger-vm-1',
      description: 'DAGGER VM vm-1 (web_1) on host host-a',
      type: 'qemu',
      vcpu: 2,
      memoryMiB: 256,
      osType: 'hvm',
      disks: [
        {
          device: 'disk',
          format: 'qcow2',
          pool: 'vms',
          volume: 'dagger-vm-1-root',
          dev: 'vda',
          bus: 'virtio',
        },
        {
          device: 'cdrom',
          format: 'raw',
          pool: 'vms',
          volume: 'dagger-vm-1-cloudinit.iso',
          dev: 'sda',
          bus: 'sata',
        },
      ],
      networks: [{ network: 'lab', model: 'virtio' }],
    });
  });

  test('a blank image has no backing store', () => {
    const blank = readPlan(compilePlan({ ...vm, name: 'b', image: 'blank' }, host).json);
    expect(blank.volumes.find((v) => v.name.endsWith('-root'))!.backing).toBeNull();
  });

  const broken = (edit: (json: EditablePlan) => void): unknown => {
    const json = JSON.parse(plan.text) as EditablePlan;
    edit(json);
    try {
      readPlan(json);
      return null;
    } catch (err) {
      return err;
    }
  };

  test.each([
    ['no resource block', (j: EditablePlan) => delete j.resource, /resource is not an object/],
    ['no domain', (j: EditablePlan) => delete j.resource.libvirt_domain, /expected one libvirt_domain/],
    [
      'a domain name that is not a plain name',
      (j: EditablePlan) => (j.resource.libvirt_domain.vm.name = '../etc'),
      /not a plain libvirt name/,
    ],
    [
      'a disk on a volume the plan does not make',
      (j: EditablePlan) => (j.resource.libvirt_domain.vm.devices.disks[0].source.volume.volume = 'other'),
      /does not create/,
    ],
    [
      'a relative backing store',
      (j: EditablePlan) => (j.resource.libvirt_volume.root.backing_store.path = 'debian-12'),
      /must be absolute/,
    ],
    [
      'a zero capacity',
      (j: EditablePlan) => (j.resource.libvirt_volume.root.capacity = 0),
      /positive integer/,
    ],
    [
      'content that is not a cloud-init disk',
      (j: EditablePlan) => (j.resource.libvirt_volume.cloudinit_volume.create.content.url = 'http://x/y'),
      /libvirt_cloudinit_disk path/,
    ],
  ])('refuses %s as APPLY_PERMANENT', (_what, edit, message) => {
    const err = broken(edit);
    expect(err).toBeInstanceOf(ApplierError);
    expect((err as ApplierError).code).toBe('APPLY_PERMANENT');
    expect((err as ApplierError).message).toMatch(message);
  });
});

describe('domainXml and volumeXml', () => {
  const read = readPlan(plan.json);

  test('the domain XML names the plan values, and escapes text', () => {
    const xml = domainXml(
      { ...read.domain, description: `a <b> & 'c'` },
      '0f6b9a34-5d0c-4c36-9d55-1f1b4e2d7a10',
    );
    expect(xml).toBe(
      [
        `<domain type='qemu'>`,
        `  <name>dagger-vm-1</name>`,
        `  <uuid>0f6b9a34-5d0c-4c36-9d55-1f1b4e2d7a10</uuid>`,
        `  <description>a &lt;b&gt; &amp; &apos;c&apos;</description>`,
        `  <memory unit='MiB'>256</memory>`,
        `  <currentMemory unit='MiB'>256</currentMemory>`,
        `  <vcpu placement='static'>2</vcpu>`,
        `  <os>`,
        `    <type>hvm</type>`,
        `    <boot dev='hd'/>`,
        `  </os>`,
        `  <features><acpi/><apic/></features>`,
        `  <on_poweroff>destroy</on_poweroff>`,
        `  <on_reboot>restart</on_reboot>`,
        `  <on_crash>destroy</on_crash>`,
        `  <devices>`,
        `    <disk type='volume' device='disk'>`,
        `      <driver name='qemu' type='qcow2'/>`,
        `      <source pool='vms' volume='dagger-vm-1-root'/>`,
        `      <target dev='vda' bus='virtio'/>`,
        `    </disk>`,
        `    <disk type='volume' device='cdrom'>`,
        `      <driver name='qemu' type='raw'/>`,
        `      <source pool='vms' volume='dagger-vm-1-cloudinit.iso'/>`,
        `      <target dev='sda' bus='sata'/>`,
        `      <readonly/>`,
        `    </disk>`,
        `    <interface type='network'>`,
        `      <source network='lab'/>`,
        `      <model type='virtio'/>`,
        `    </interface>`,
        `    <serial type='pty'/>`,
        `    <console type='pty'/>`,
        `    <memballoon model='none'/>`,
        `  </devices>`,
        `</domain>`,
        ``,
      ].join('\n'),
    );
    expect(domainXml(read.domain)).not.toContain('<uuid>');
  });

  test('the root volume XML: qcow2 overlay on the base image', () => {
    const root = read.volumes.find((v) => v.name === 'dagger-vm-1-root')!;
    expect(volumeXml(root, root.capacity!)).toBe(
      [
        `<volume>`,
        `  <name>dagger-vm-1-root</name>`,
        `  <capacity unit='bytes'>3221225472</capacity>`,
        `  <allocation unit='bytes'>0</allocation>`,
        `  <target><format type='qcow2'/></target>`,
        `  <backingStore>`,
        `    <path>/srv/pools/vms/debian-12</path>`,
        `    <format type='qcow2'/>`,
        `  </backingStore>`,
        `</volume>`,
        ``,
      ].join('\n'),
    );
  });

  test('sizesOfDomainXml reads what virsh dumpxml prints', () => {
    expect(
      sizesOfDomainXml(
        `<domain type='kvm'>\n  <memory unit='KiB'>131072</memory>\n  <vcpu placement='static'>2</vcpu>\n</domain>`,
      ),
    ).toEqual({ vcpu: 2, memoryMiB: 128 });
    expect(sizesOfDomainXml(`<memory>98304</memory><vcpu>1</vcpu>`)).toEqual({ vcpu: 1, memoryMiB: 96 });
  });
});

describe('LibvirtApplier error codes (a fake virsh)', () => {
  let dir: string;
  const applierWith = (stderr: string, virshPath?: string) => {
    const fake = join(dir, `virsh-${Math.random().toString(36).slice(2)}`);
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' ${JSON.stringify(stderr)} >&2\nexit 1\n`);
    chmodSync(fake, 0o755);
    return new LibvirtApplier({ ...libvirtDefaults({}), workDir: dir, virshPath: virshPath ?? fake });
  };
  const vmOnHost = { ...vm, name: 'web', host };
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: unknown) => (e instanceof ApplierError ? e.code : String(e)),
    );

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dagger-fake-virsh-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['error: failed to connect to the hypervisor', 'APPLY_TRANSIENT'],
    [
      'error: Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainCreate)',
      'APPLY_TRANSIENT',
    ],
    ['error: XML error: bad memory unit', 'APPLY_PERMANENT'],
    ['error: unsupported configuration: Domain requires KVM, but it is not available', 'APPLY_PERMANENT'],
    ['error: something nobody has seen', 'APPLY_TRANSIENT'],
  ])('%s → %s', async (stderr, code) => {
    expect(await codeOf(applierWith(stderr).apply(plan, 'create', vmOnHost))).toBe(code);
  });

  test('no virsh binary is APPLY_PERMANENT', async () => {
    const applier = applierWith('', join(dir, 'no-such-virsh'));
    expect(await codeOf(applier.apply(plan, 'create', vmOnHost))).toBe('APPLY_PERMANENT');
  });
});

describe('appliersFor', () => {
  const ledgerHost: HostPlanInput = { hostId: 'host-a', libvirtUri: 'qemu:///system' };
  const noneHost: HostPlanInput = { hostId: 'host-b', libvirtUri: 'none' };

  test('without provisioning.libvirt every host is plan-only', () => {
    const applierFor = appliersFor({ libvirtUri: 'qemu:///system' }, '/data');
    expect(applierFor(ledgerHost)).toBeInstanceOf(PlanOnlyApplier);
    expect(appliersFor(undefined, '/data')(noneHost)).toBeInstanceOf(PlanOnlyApplier);
  });

  test('with provisioning.libvirt: hosts with a URI get a LibvirtApplier with the defaults filled in', () => {
    const applierFor = appliersFor({ libvirt: { pool: 'vms', network: undefined } }, '/data');
    expect(applierFor(noneHost)).toBeInstanceOf(PlanOnlyApplier);
    const applier = applierFor(ledgerHost);
    expect(applier).toBeInstanceOf(LibvirtApplier);
    expect(applierFor({ ...ledgerHost, hostId: 'host-c' })).toBe(applier);
    const defaults = libvirtDefaults();
    expect((applier as LibvirtApplier).config).toEqual({
      ...defaults,
      pool: 'vms',
      uri: 'qemu:///system',
      workDir: '/data/libvirt',
    });
    expect(applier.planInput!(ledgerHost)).toEqual({
      hostId: 'host-a',
      libvirtUri: 'qemu:///system',
      pool: 'vms',
      poolPath: defaults.poolPath,
      network: defaults.network,
      domainType: defaults.domainType,
    });
  });

  test('the URI: provisioning.libvirt.uri, else provisioning.libvirtUri, else the host', () => {
    const uriOf = (config: Parameters<typeof appliersFor>[0]) =>
      (appliersFor(config, '/data')(ledgerHost) as LibvirtApplier).config.uri;
    expect(uriOf({ libvirt: {} })).toBe('qemu:///system');
    expect(uriOf({ libvirt: {}, libvirtUri: 'qemu+ssh://h/system' })).toBe('qemu+ssh://h/system');
    expect(uriOf({ libvirt: { uri: 'test:///default' }, libvirtUri: 'qemu+ssh://h/system' })).toBe(
      'test:///default',
    );
  });
});

describe('libvirtDefaults: the same values as scripts/services/libvirt.sh', () => {
  test('defaults under the services dir, overridden by DAGGER_LIBVIRT_*', () => {
    expect(libvirtDefaults({ DAGGER_SERVICES_DIR: '/s', DAGGER_LIBVIRT_DOMAIN_TYPE: 'qemu' })).toEqual({
      uri: 'qemu:///system',
      pool: 'dagger',
      poolPath: '/s/libvirt/pool',
      network: 'default',
      domainType: 'qemu',
    });
    expect(
      libvirtDefaults({
        DAGGER_LIBVIRT_URI: 'test:///default',
        DAGGER_LIBVIRT_POOL: 'p',
        DAGGER_LIBVIRT_POOL_PATH: '/p',
        DAGGER_LIBVIRT_NETWORK: 'n',
        DAGGER_LIBVIRT_DOMAIN_TYPE: 'kvm',
      }),
    ).toEqual({ uri: 'test:///default', pool: 'p', poolPath: '/p', network: 'n', domainType: 'kvm' });
  });

  test('fallbacks the script recorded under the services dir: pool-path and network', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dagger-services-'));
    try {
      mkdirSync(join(dir, 'libvirt'));
      writeFileSync(join(dir, 'libvirt', 'pool-path'), '/var/lib/dagger-libvirt/pool\n');
      writeFileSync(join(dir, 'libvirt', 'network'), 'dagger-isolated\n');
      expect(libvirtDefaults({ DAGGER_SERVICES_DIR: dir })).toMatchObject({
        poolPath: '/var/lib/dagger-libvirt/pool',
        network: 'dagger-isolated',
      });
      expect(
        libvirtDefaults({
          DAGGER_SERVICES_DIR: dir,
          DAGGER_LIBVIRT_POOL_PATH: '/p',
          DAGGER_LIBVIRT_NETWORK: 'n',
        }),
      ).toMatchObject({ poolPath: '/p', network: 'n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the pool path defaults to <repo>/.services/libvirt/pool', () => {
    expect(libvirtDefaults({}).poolPath).toBe(join(process.cwd(), '.services', 'libvirt', 'pool'));
  });
});
