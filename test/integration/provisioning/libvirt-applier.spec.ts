import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePlan, type VmPlanInput } from '../../../infra/plans/index.js';
import {
  type AppliedVm,
  ApplierError,
  LibvirtApplier,
  libvirtDefaults,
} from '../../../src/provisioning/index.js';

/**
 * LibvirtApplier against the real libvirtd that `npm run services:up` starts (scripts/services/
 * libvirt.sh). It starts nothing itself; without a reachable libvirtd every test fails, loudly.
 * Every VM id starts with PREFIX; afterEach removes every domain and volume with it.
 */
const settings = libvirtDefaults();
const PREFIX = `it-lv-${randomBytes(3).toString('hex')}`;
const GiB = 1024 ** 3;

function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-q', '-c', settings.uri, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
const tryVirsh = (...args: string[]): string | null => {
  try {
    return virsh(...args);
  } catch {
    return null;
  }
};
const domains = (): string[] =>
  virsh('list', '--all', '--name')
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(`dagger-${PREFIX}`))
    .sort();
const volumes = (): string[] =>
  virsh('vol-list', '--pool', settings.pool)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(`dagger-${PREFIX}`) || n.startsWith(PREFIX))
    .sort();
const domstate = (name: string): string | null => tryVirsh('domstate', name)?.trim() ?? null;
const capacityOf = (vol: string): number =>
  Number(/^Capacity:\s+(\d+)/m.exec(virsh('vol-info', '--pool', settings.pool, vol, '--bytes'))![1]);

function removeEverything(): void {
  for (const d of domains()) {
    tryVirsh('destroy', d);
    tryVirsh('undefine', d);
  }
  for (const v of volumes()) tryVirsh('vol-delete', '--pool', settings.pool, v);
}

let workDir: string;
let applier: LibvirtApplier;
let reachable: string | null = null;

beforeAll(() => {
  try {
    virsh('version');
    reachable = null;
  } catch (err) {
    reachable = `virsh cannot reach ${settings.uri} (${String(err).split('\n')[0]}). Run \`npm run services:up\` (scripts/services/libvirt.sh start) first.`;
  }
  workDir = mkdtempSync(join(tmpdir(), 'dagger-libvirt-it-'));
  applier = new LibvirtApplier({ ...settings, workDir, shutdownWaitMs: 1_000 });
});

beforeEach(() => {
  if (reachable) throw new Error(reachable);
});

afterEach(() => {
  if (!reachable) removeEverything();
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  // QEMU's per-domain logs (local URIs only).
  const logs = '/var/log/libvirt/qemu';
  if (existsSync(logs))
    for (const f of readdirSync(logs))
      if (f.startsWith(`dagger-${PREFIX}`)) rmSync(join(logs, f), { force: true });
});

function vmOf(suffix: string, overrides: Partial<VmPlanInput> = {}): AppliedVm {
  const base: VmPlanInput = {
    vmId: `${PREFIX}-${suffix}`,
    name: `it-${suffix}`,
    vcpus: 1,
    memoryMiB: 64,
    diskGiB: 1,
    image: 'blank',
    sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvG test@dagger'],
    userData: '#cloud-config\nhostname: it\n',
    ...overrides,
  };
  return { ...base, host: applier.planInput({ hostId: 'host-it', libvirtUri: settings.uri }) };
}
const planOf = (vm: AppliedVm) => compilePlan(vm, vm.host);

async function expectCode(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplierError);
  expect((err as ApplierError).code).toBe(code);
  expect((err as ApplierError).message).toMatch(message);
}

const T = 120_000;

describe(`LibvirtApplier on ${settings.uri} (pool ${settings.pool}, network ${settings.network}, ${settings.domainType})`, () => {
  test(
    'create, create again, resize running, stop, resize stopped, start, destroy',
    async () => {
      const vm = vmOf('life');
      const name = `dagger-${vm.vmId}`;
      expect(await applier.inspect(vm.vmId)).toEqual({ vmId: vm.vmId, state: 'absent', addresses: [] });

      const t0 = performance.now();
      const created = await applier.apply(planOf(vm), 'create', vm);
      const createMs = performance.now() - t0;
      expect(created.status).toBe('running');
      expect(domstate(name)).toBe('running');
      const vols = [`${name}-cloudinit.iso`, `${name}-root`];
      expect(volumes()).toEqual(vols);
      expect(capacityOf(`${name}-root`)).toBe(GiB);
      const uuid = virsh('domuuid', name).trim();
      const xml = virsh('dumpxml', name);
      expect(xml).toContain(`<description>DAGGER VM ${vm.vmId} (it-life) on host host-it</description>`);
      expect(xml).toMatch(new RegExp(`<domain type='${settings.domainType}'`));
      expect(xml).toContain(`<source network='${settings.network}'`);
      expect((await applier.inspect(vm.vmId)).state).toBe('running');

      const t1 = performance.now();
      const again = await applier.apply(planOf(vm), 'create', vm);
      console.info(
        `${settings.domainType}: create -> running ${createMs.toFixed(0)} ms; create again (nothing to do) ${(performance.now() - t1).toFixed(0)} ms`,
      );
      expect(again.status).toBe('running');
      expect(domains()).toEqual([name]);
      expect(volumes()).toEqual(vols);
      expect(virsh('domuuid', name).trim()).toBe(uuid);

      const bigger = vmOf('life', { vcpus: 2, memoryMiB: 128, diskGiB: 2 });
      const resized = await applier.apply(planOf(bigger), 'resize', bigger);
      expect(resized.status).toBe('running');
      expect(domstate(name)).toBe('running');
      const live = virsh('dumpxml', name);
      expect(live).toMatch(/<vcpu[^>]*>2<\/vcpu>/);
      expect(live).toContain(`<memory unit='KiB'>${128 * 1024}</memory>`);
      expect(capacityOf(`${name}-root`)).toBe(2 * GiB);
      expect(virsh('domuuid', name).trim()).toBe(uuid);

      await expectCode(applier.apply(planOf(vm), 'resize', vm), 'APPLY_PERMANENT', /shrinking/);
      expect(capacityOf(`${name}-root`)).toBe(2 * GiB);

      const stopped = await applier.apply(planOf(bigger), 'stop', bigger);
      expect(stopped.status).toBe('stopped');
      expect(domstate(name)).toBe('shut off');
      expect((await applier.inspect(vm.vmId)).state).toBe('stopped');
      expect((await applier.apply(planOf(bigger), 'stop', bigger)).status).toBe('stopped');

      const smaller = vmOf('life', { vcpus: 1, memoryMiB: 96, diskGiB: 3 });
      const resizedStopped = await applier.apply(planOf(smaller), 'resize', smaller);
      expect(resizedStopped.status).toBe('stopped');
      expect(domstate(name)).toBe('shut off');
      const inactive = virsh('dumpxml', '--inactive', name);
      expect(inactive).toMatch(/<vcpu[^>]*>1<\/vcpu>/);
      expect(inactive).toContain(`<memory unit='KiB'>${96 * 1024}</memory>`);
      expect(capacityOf(`${name}-root`)).toBe(3 * GiB);

      const started = await applier.apply(planOf(smaller), 'start', smaller);
      expect(started.status).toBe('running');
      expect(domstate(name)).toBe('running');
      expect(virsh('dumpxml', name)).toContain(`<memory unit='KiB'>${96 * 1024}</memory>`);

      const destroyed = await applier.apply(planOf(smaller), 'destroy', smaller);
      expect(destroyed.status).toBe('destroyed');
      expect(domains()).toEqual([]);
      expect(volumes()).toEqual([]);
      expect((await applier.apply(planOf(smaller), 'destroy', smaller)).status).toBe('destroyed');
      expect((await applier.inspect(vm.vmId)).state).toBe('absent');
    },
    T,
  );

  test(
    'a VM on a base image gets a qcow2 overlay on it',
    async () => {
      const base = `${PREFIX}-base`;
      virsh('vol-create-as', settings.pool, base, String(GiB), '--format', 'qcow2');
      const vm = vmOf('img', { image: base });
      const name = `dagger-${vm.vmId}`;
      expect((await applier.apply(planOf(vm), 'create', vm)).status).toBe('running');
      const volXml = virsh('vol-dumpxml', '--pool', settings.pool, `${name}-root`);
      expect(volXml).toContain(`<path>${settings.poolPath}/${base}</path>`);
      expect(domstate(name)).toBe('running');
    },
    T,
  );

  test(
    'a missing base image is APPLY_PERMANENT and leaves nothing behind',
    async () => {
      const vm = vmOf('noimg', { image: `${PREFIX}-no-such-image` });
      await expectCode(
        applier.apply(planOf(vm), 'create', vm),
        'APPLY_PERMANENT',
        /base image .* is not a volume/,
      );
      expect(domains()).toEqual([]);
      expect(volumes()).toEqual([]);
      await applier.compensate(planOf(vm), vm);
      expect(domains()).toEqual([]);
      expect(volumes()).toEqual([]);
    },
    T,
  );

  test(
    "a disk larger than the pool's free space is APPLY_PERMANENT and leaves nothing behind",
    async () => {
      const available = Number(/^Available:\s+(\d+)/m.exec(virsh('pool-info', settings.pool, '--bytes'))![1]);
      const diskGiB = Math.min(65_536, Math.floor(available / GiB) + 1);
      expect(diskGiB * GiB).toBeGreaterThan(available);
      const vm = vmOf('huge', { diskGiB });
      await expectCode(applier.apply(planOf(vm), 'create', vm), 'APPLY_PERMANENT', /bytes available/);
      await applier.compensate(planOf(vm), vm);
      expect(domains()).toEqual([]);
      expect(volumes()).toEqual([]);
    },
    T,
  );

  test(
    'an interrupted create converges: volumes without a domain, an empty seed, a domain defined but not started',
    async () => {
      const vm = vmOf('resume');
      const name = `dagger-${vm.vmId}`;
      // Volumes left by a crash before define: the root made, the seed volume created but not uploaded.
      virsh('vol-create-as', settings.pool, `${name}-root`, String(GiB), '--format', 'qcow2');
      virsh('vol-create-as', settings.pool, `${name}-cloudinit.iso`, '4096', '--format', 'raw');
      expect((await applier.apply(planOf(vm), 'create', vm)).status).toBe('running');
      expect(domains()).toEqual([name]);
      expect(volumes()).toEqual([`${name}-cloudinit.iso`, `${name}-root`]);
      expect(capacityOf(`${name}-cloudinit.iso`)).toBeGreaterThan(4096);

      // A crash after define, before start.
      virsh('destroy', name);
      expect(domstate(name)).toBe('shut off');
      const uuid = virsh('domuuid', name).trim();
      expect((await applier.apply(planOf(vm), 'create', vm)).status).toBe('running');
      expect(domstate(name)).toBe('running');
      expect(domains()).toEqual([name]);
      expect(virsh('domuuid', name).trim()).toBe(uuid);

      // A crash of the domain alone: its volumes are kept and reused.
      virsh('destroy', name);
      virsh('undefine', name);
      expect((await applier.apply(planOf(vm), 'create', vm)).status).toBe('running');
      expect(domains()).toEqual([name]);
      expect(volumes()).toEqual([`${name}-cloudinit.iso`, `${name}-root`]);

      await applier.compensate(planOf(vm), vm);
      expect(domains()).toEqual([]);
      expect(volumes()).toEqual([]);
    },
    T,
  );

  test(
    'stop, start and resize of a VM that does not exist are APPLY_PERMANENT; compensate of nothing is fine',
    async () => {
      const vm = vmOf('ghost');
      for (const op of ['stop', 'start', 'resize'] as const)
        await expectCode(applier.apply(planOf(vm), op, vm), 'APPLY_PERMANENT', /does not exist/);
      await applier.compensate(planOf(vm), vm);
      expect(domains()).toEqual([]);
    },
    T,
  );

  test(
    'six VMs created at once all run; destroyed at once, nothing is left',
    async () => {
      const vms = Array.from({ length: 6 }, (_, i) => vmOf(`many-${i}`));
      const t0 = performance.now();
      const results = await Promise.all(vms.map((vm) => applier.apply(planOf(vm), 'create', vm)));
      console.info(`6 VMs at once: create -> running ${(performance.now() - t0).toFixed(0)} ms for all`);
      expect(results.map((r) => r.status)).toEqual(Array(6).fill('running'));
      expect(domains()).toEqual(vms.map((vm) => `dagger-${vm.vmId}`).sort());
      for (const vm of vms) expect(domstate(`dagger-${vm.vmId}`)).toBe('running');
      expect(volumes()).toHaveLength(12);
      const gone = await Promise.all(vms.map((vm) => applier.apply(planOf(vm), 'destroy', vm)));
      expect(gone.map((r) => r.status)).toEqual(Array(6).fill('destroyed'));
      expect(domains()).toEqual([]);
      expect(volumes()).toEqual([]);
    },
    T,
  );

  test(
    'domain type qemu (TCG) runs too',
    async () => {
      const tcg = new LibvirtApplier({ ...settings, domainType: 'qemu', workDir, shutdownWaitMs: 1_000 });
      const vm = { ...vmOf('tcg'), host: tcg.planInput({ hostId: 'host-it', libvirtUri: settings.uri }) };
      expect((await tcg.apply(planOf(vm), 'create', vm)).status).toBe('running');
      expect(virsh('dumpxml', `dagger-${vm.vmId}`)).toMatch(/<domain type='qemu'/);
      expect((await tcg.apply(planOf(vm), 'stop', vm)).status).toBe('stopped');
      expect(domstate(`dagger-${vm.vmId}`)).toBe('shut off');
    },
    T,
  );

  test(
    'an unreachable libvirt URI is APPLY_TRANSIENT',
    async () => {
      const away = new LibvirtApplier({
        ...settings,
        uri: 'qemu+tcp://127.0.0.1:1/system',
        workDir,
        commandTimeoutMs: 20_000,
      });
      const vm = vmOf('away');
      await expectCode(away.apply(planOf(vm), 'create', vm), 'APPLY_TRANSIENT', /connect/i);
    },
    T,
  );
});
