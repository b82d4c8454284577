import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmOperation } from '../../domain/processor/events.js';
import type { CompiledPlan, HostPlanInput } from '../../infra/plans/index.js';
import type { ActualState, Applier, AppliedVm, ApplyResult } from './applier.js';
import { ApplierError } from './errors.js';
import { hostWithSettings, type LibvirtSettings } from './libvirt-defaults.js';
import {
  domainXml,
  type LibvirtPlan,
  type PlannedVolume,
  readPlan,
  sizesOfDomainXml,
  volumeXml,
} from './libvirt-plan.js';

export { libvirtDefaults, type LibvirtSettings } from './libvirt-defaults.js';

/** The node's libvirt settings (ProvisioningConfig.libvirt, defaults filled in). */
export interface LibvirtApplierConfig extends LibvirtSettings {
  /** Scratch space for the cloud-init ISOs and XML files handed to virsh. */
  readonly workDir: string;
  readonly virshPath?: string;
  readonly genisoimagePath?: string;
  /** Time limit of one virsh call. Default 60 s. */
  readonly commandTimeoutMs?: number;
  /** How long a stop waits for an ACPI shutdown before it pulls the plug. Default 5 s. */
  readonly shutdownWaitMs?: number;
}

type DomainState = 'absent' | 'running' | 'stopped';

interface Growth {
  readonly volume: PlannedVolume;
  /** How many bytes the volume grows by. */
  readonly bytes: number;
}

interface VolumeFacts {
  readonly capacity: number;
}

class VirshFailure extends Error {
  constructor(
    readonly command: readonly string[],
    readonly stderr: string,
    readonly timedOut: boolean,
    readonly missingBinary: boolean,
  ) {
    super(`${command.join(' ')}: ${timedOut ? 'timed out' : stderr.trim() || 'failed'}`);
  }
}

const NOT_FOUND = /Domain not found|failed to get domain|Storage volume not found|failed to get vol/;
const POOL_NOT_FOUND = /Storage pool not found|failed to get pool/;
const NOT_RUNNING = /domain is not running|Domain not found/;
const TRANSIENT =
  /failed to connect|Failed to connect socket|Cannot recv data|Cannot write data|End of file while reading|state change lock|Timed out during operation|asynchronous jobs running|is locked|Resource temporarily unavailable|Device or resource busy|connection reset/i;
const PERMANENT =
  /invalid argument|XML error|XML document failed|unsupported configuration|No space left|Storage pool not found|not supported|Permission denied|cannot access storage file|KVM is not available/i;

/** What a retry cannot fix is permanent; anything else is transient (the saga's retries are bounded). */
function classify(err: unknown, doing: string): ApplierError {
  if (err instanceof ApplierError) return err;
  if (err instanceof VirshFailure) {
    const permanent =
      err.missingBinary || (!err.timedOut && !TRANSIENT.test(err.stderr) && PERMANENT.test(err.stderr));
    return new ApplierError(permanent ? 'APPLY_PERMANENT' : 'APPLY_TRANSIENT', `${doing}: ${err.message}`);
  }
  return new ApplierError('APPLY_TRANSIENT', `${doing}: ${String(err)}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Applies compiled plans straight to a libvirt URI with virsh (the only module that runs virsh
 * and genisoimage). Every operation reads what exists first and does only what is missing, so a
 * retry, or a restart in the middle of an apply, converges without a duplicate domain or volume.
 * Volumes are created before the domain and the domain is defined before it is started: a domain
 * that exists always has its volumes and its uploaded seed.
 */
export class LibvirtApplier implements Applier {
  private readonly virsh: string;
  private readonly timeoutMs: number;

  constructor(readonly config: LibvirtApplierConfig) {
    this.virsh = config.virshPath ?? 'virsh';
    this.timeoutMs = config.commandTimeoutMs ?? 60_000;
  }

  /** The host as plans for this applier are compiled: its URI, pool, network and domain type. */
  planInput(host: HostPlanInput): HostPlanInput {
    return hostWithSettings(this.config, host);
  }

  async apply(plan: CompiledPlan, operation: VmOperation, vm: AppliedVm): Promise<ApplyResult> {
    const wanted = readPlan(plan.json);
    const doing = `${operation} ${wanted.domain.name}`;
    try {
      switch (operation) {
        case 'create':
          return await this.create(wanted);
        case 'start':
          return await this.start(wanted);
        case 'stop':
          return await this.stop(wanted);
        case 'resize':
          return await this.resize(wanted);
        case 'destroy':
          await this.remove(wanted, vm.vmId);
          return {
            status: 'destroyed',
            detail: `domain ${wanted.domain.name} and its volumes removed`,
            addresses: [],
          };
      }
    } catch (err) {
      throw classify(err, doing);
    }
  }

  async compensate(plan: CompiledPlan, vm: AppliedVm): Promise<void> {
    const wanted = readPlan(plan.json);
    try {
      await this.remove(wanted, vm.vmId);
    } catch (err) {
      throw classify(err, `compensate ${wanted.domain.name}`);
    }
  }

  async inspect(vmId: string): Promise<ActualState> {
    const name = `dagger-${vmId}`;
    try {
      const state = await this.domainState(name);
      return {
        vmId,
        state,
        addresses: state === 'running' ? await this.addresses(name) : [],
      };
    } catch (err) {
      throw classify(err, `inspect ${name}`);
    }
  }

  // ---- operations ----

  private async create(wanted: LibvirtPlan): Promise<ApplyResult> {
    const { domain } = wanted;
    let state = await this.domainState(domain.name);
    if (state === 'absent') {
      await this.ensureVolumes(wanted, true);
      await this.define(wanted);
      state = 'stopped';
    } else {
      await this.ensureVolumes(wanted, false);
      await this.reconcileConfig(wanted);
    }
    if (state !== 'running') await this.virshRun(['start', domain.name]);
    return this.running(domain.name, 'created and started');
  }

  private async start(wanted: LibvirtPlan): Promise<ApplyResult> {
    const name = wanted.domain.name;
    const state = await this.existing(name);
    if (state !== 'running') await this.virshRun(['start', name]);
    return this.running(name, state === 'running' ? 'already running' : 'started');
  }

  private async stop(wanted: LibvirtPlan): Promise<ApplyResult> {
    const name = wanted.domain.name;
    const state = await this.existing(name);
    if (state === 'running') await this.powerOff(name);
    return {
      status: 'stopped',
      detail: state === 'running' ? `${name} stopped` : `${name} already stopped`,
      addresses: [],
    };
  }

  /** New sizes go to the persistent config; a running domain is restarted to take them. */
  private async resize(wanted: LibvirtPlan): Promise<ApplyResult> {
    const name = wanted.domain.name;
    const state = await this.existing(name);
    const growth = this.volumeGrowth(wanted, await this.volumeFacts(wanted));
    for (const g of growth) await this.checkRoom(g.volume.pool, g.bytes);
    const configChanged = await this.sizesDiffer(wanted, 'config');
    const liveDiffers =
      state === 'running' && (growth.length > 0 || (await this.sizesDiffer(wanted, 'live')));
    if (liveDiffers) await this.powerOff(name);
    await this.grow(growth);
    if (configChanged) await this.define(wanted, await this.uuidOf(name));
    const changed = growth.length > 0 || configChanged || liveDiffers;
    const what = `vcpu ${wanted.domain.vcpu}, memory ${wanted.domain.memoryMiB} MiB`;
    if (state !== 'running')
      return { status: 'stopped', detail: `${name} resized to ${what}; it stays stopped`, addresses: [] };
    if (liveDiffers) await this.virshRun(['start', name]);
    return this.running(name, changed ? `resized to ${what} and restarted` : `already ${what}`);
  }

  /** Removes the domain and every volume named `dagger-<vmId>-*` or in the plan; absent is fine. */
  private async remove(wanted: LibvirtPlan, vmId: string): Promise<void> {
    const name = wanted.domain.name;
    const state = await this.domainState(name);
    if (state === 'running') await this.virshUnless(NOT_RUNNING, ['destroy', name]);
    if (state !== 'absent')
      await this.virshUnless(NOT_FOUND, ['undefine', name, '--managed-save', '--snapshots-metadata']);
    const pools = new Set(wanted.volumes.map((v) => v.pool));
    for (const pool of pools) {
      const names = new Set(wanted.volumes.filter((v) => v.pool === pool).map((v) => v.name));
      for (const v of await this.volumesIn(pool)) if (v.startsWith(`dagger-${vmId}-`)) names.add(v);
      for (const v of names) await this.virshUnless(NOT_FOUND, ['vol-delete', '--pool', pool, v]);
    }
    await rm(join(this.config.workDir, name), { recursive: true, force: true });
  }

  // ---- pieces ----

  /**
   * Creates the volumes that are missing and grows those that are smaller than planned;
   * `fresh`: no domain exists, so seeds may be rewritten. Everything is checked before anything
   * is made, so a refused create leaves nothing behind.
   */
  private async ensureVolumes(wanted: LibvirtPlan, fresh: boolean): Promise<void> {
    const facts = await this.volumeFacts(wanted);
    const growth = this.volumeGrowth(wanted, facts);
    const missing = new Set(wanted.volumes.filter((v) => facts.get(v) === null));
    const needs = new Map<string, number>();
    const need = (pool: string, bytes: number) => needs.set(pool, (needs.get(pool) ?? 0) + bytes);
    for (const v of missing) if (v.capacity !== null) need(v.pool, v.capacity);
    for (const g of growth) need(g.volume.pool, g.bytes);
    for (const [pool, bytes] of needs) await this.checkRoom(pool, bytes);
    for (const v of missing) if (v.backing) await this.checkBacking(v);

    await this.grow(growth);
    for (const volume of wanted.volumes) {
      if (volume.seed) {
        if (missing.has(volume) || fresh) await this.uploadSeed(volume, facts.get(volume) ?? null);
      } else if (missing.has(volume)) {
        await this.withFile(`${volume.name}.xml`, volumeXml(volume, volume.capacity!), (file) =>
          this.virshRun(['vol-create', '--pool', volume.pool, file]),
        );
      }
    }
  }

  private async grow(growth: readonly Growth[]): Promise<void> {
    for (const { volume } of growth)
      await this.virshRun(['vol-resize', '--pool', volume.pool, volume.name, String(volume.capacity)]);
  }

  /** Sized volumes that exist and are smaller than planned; a smaller plan is refused. */
  private volumeGrowth(wanted: LibvirtPlan, facts: Map<PlannedVolume, VolumeFacts | null>): Growth[] {
    const out: Growth[] = [];
    for (const volume of wanted.volumes) {
      const have = facts.get(volume);
      if (volume.capacity === null || !have || have.capacity === volume.capacity) continue;
      if (have.capacity > volume.capacity)
        throw new ApplierError(
          'APPLY_PERMANENT',
          `volume ${volume.name} is ${have.capacity} bytes; shrinking it to ${volume.capacity} is refused`,
        );
      out.push({ volume, bytes: volume.capacity - have.capacity });
    }
    return out;
  }

  /** What exists of each planned volume (null: absent), read in parallel. */
  private async volumeFacts(wanted: LibvirtPlan): Promise<Map<PlannedVolume, VolumeFacts | null>> {
    const facts = await Promise.all(wanted.volumes.map((v) => this.volumeInfo(v.pool, v.name)));
    return new Map(wanted.volumes.map((v, i) => [v, facts[i]!]));
  }

  private async checkRoom(pool: string, bytes: number): Promise<void> {
    const info = await this.poolInfo(pool);
    if (info.available < bytes)
      throw new ApplierError(
        'APPLY_PERMANENT',
        `pool ${pool} has ${info.available} bytes available; the VM's volumes need ${bytes}`,
      );
  }

  private async checkBacking(volume: PlannedVolume): Promise<void> {
    const path = volume.backing!.path;
    const known = async () => (await this.virshUnless(NOT_FOUND, ['vol-info', path])) !== null;
    if (await known()) return;
    // A base image copied into the pool directory is known to libvirt only after a refresh.
    await this.virshRun(['pool-refresh', volume.pool]);
    if (!(await known()))
      throw new ApplierError(
        'APPLY_PERMANENT',
        `base image ${path} for volume ${volume.name} is not a volume of pool ${volume.pool}`,
      );
  }

  /** Writes the seed ISO into its volume, making the volume (again, if too small) as needed. */
  private async uploadSeed(volume: PlannedVolume, have: VolumeFacts | null): Promise<void> {
    const seed = volume.seed!;
    const dir = join(this.config.workDir, seed.name.replace(/-cloudinit$/, ''));
    await mkdir(dir, { recursive: true });
    const tmp = await mkdtemp(join(dir, 'seed-'));
    try {
      await writeFile(join(tmp, 'user-data'), seed.userData);
      await writeFile(join(tmp, 'meta-data'), seed.metaData);
      const iso = join(tmp, 'seed.iso');
      await this.exec(this.config.genisoimagePath ?? 'genisoimage', [
        '-quiet',
        '-output',
        iso,
        '-volid',
        'cidata',
        '-joliet',
        '-rock',
        join(tmp, 'user-data'),
        join(tmp, 'meta-data'),
      ]);
      const size = (await stat(iso)).size;
      if (have !== null && have.capacity < size)
        await this.virshUnless(NOT_FOUND, ['vol-delete', '--pool', volume.pool, volume.name]);
      if (have === null || have.capacity < size) {
        await this.checkRoom(volume.pool, size);
        await this.virshRun([
          'vol-create-as',
          volume.pool,
          volume.name,
          String(size),
          '--format',
          volume.format,
        ]);
      }
      await this.virshRun(['vol-upload', '--pool', volume.pool, volume.name, iso]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async define(wanted: LibvirtPlan, uuid?: string): Promise<void> {
    await this.withFile(`${wanted.domain.name}.xml`, domainXml(wanted.domain, uuid), (file) =>
      this.virshRun(['define', file]),
    );
  }

  /** Redefines an existing domain whose persistent vcpu or memory differ from the plan. */
  private async reconcileConfig(wanted: LibvirtPlan): Promise<void> {
    if (await this.sizesDiffer(wanted, 'config'))
      await this.define(wanted, await this.uuidOf(wanted.domain.name));
  }

  /** The vcpu or memory of the persistent config (`config`) or of the running domain differ from the plan. */
  private async sizesDiffer(wanted: LibvirtPlan, of: 'config' | 'live'): Promise<boolean> {
    const name = wanted.domain.name;
    const have = sizesOfDomainXml(
      await this.virshRun(of === 'config' ? ['dumpxml', '--inactive', name] : ['dumpxml', name]),
    );
    return have.vcpu !== wanted.domain.vcpu || have.memoryMiB !== wanted.domain.memoryMiB;
  }

  /** ACPI shutdown with a short wait, then destroy: a blank disk has no OS to honour ACPI. */
  private async powerOff(name: string): Promise<void> {
    await this.virshUnless(NOT_RUNNING, ['shutdown', name]);
    const until = Date.now() + (this.config.shutdownWaitMs ?? 5_000);
    while (Date.now() < until) {
      if ((await this.domainState(name)) !== 'running') return;
      await sleep(250);
    }
    await this.virshUnless(NOT_RUNNING, ['destroy', name]);
  }

  private async running(name: string, detail: string): Promise<ApplyResult> {
    return { status: 'running', detail: `${name} ${detail}`, addresses: await this.addresses(name) };
  }

  // ---- reads ----

  private async domainState(name: string): Promise<DomainState> {
    const out = await this.virshUnless(NOT_FOUND, ['domstate', name]);
    if (out === null) return 'absent';
    return /^(running|paused|idle|in shutdown|blocked)/.test(out.trim()) ? 'running' : 'stopped';
  }

  private async existing(name: string): Promise<'running' | 'stopped'> {
    const state = await this.domainState(name);
    if (state === 'absent') throw new ApplierError('APPLY_PERMANENT', `domain ${name} does not exist`);
    return state;
  }

  private async uuidOf(name: string): Promise<string> {
    return (await this.virshRun(['domuuid', name])).trim();
  }

  private async volumeInfo(pool: string, name: string): Promise<VolumeFacts | null> {
    const out = await this.virshUnless(NOT_FOUND, ['vol-info', '--pool', pool, name, '--bytes']);
    if (out === null) return null;
    const capacity = /^Capacity:\s+(\d+)/m.exec(out);
    if (!capacity) throw new ApplierError('APPLY_TRANSIENT', `cannot read the capacity of volume ${name}`);
    return { capacity: Number(capacity[1]) };
  }

  private async poolInfo(pool: string): Promise<{ available: number }> {
    const out = await this.virshUnless(POOL_NOT_FOUND, ['pool-info', pool, '--bytes']);
    if (out === null)
      throw new ApplierError('APPLY_PERMANENT', `storage pool ${pool} does not exist on ${this.config.uri}`);
    if (!/^State:\s+running/m.test(out))
      throw new ApplierError('APPLY_PERMANENT', `storage pool ${pool} on ${this.config.uri} is not running`);
    const available = /^Available:\s+(\d+)/m.exec(out);
    if (!available) throw new ApplierError('APPLY_TRANSIENT', `cannot read the free space of pool ${pool}`);
    return { available: Number(available[1]) };
  }

  private async volumesIn(pool: string): Promise<string[]> {
    const out = await this.virshUnless(POOL_NOT_FOUND, ['vol-list', '--pool', pool]);
    if (out === null) return [];
    const lines = out.split('\n');
    const rule = lines.findIndex((l) => /^-{3,}/.test(l.trim()));
    return lines
      .slice(rule + 1)
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((n) => n !== '');
  }

  private async addresses(name: string): Promise<string[]> {
    try {
      const out = await this.virshRun(['domifaddr', name, '--source', 'lease']);
      return [...out.matchAll(/\s(ipv[46])\s+(\S+?)\/\d+/g)].map((m) => m[2]!);
    } catch {
      return [];
    }
  }

  // ---- processes ----

  /** virsh's output, or null when virsh fails with a message matching `expected` (absent, say). */
  private async virshUnless(expected: RegExp, args: string[]): Promise<string | null> {
    try {
      return await this.virshRun(args);
    } catch (err) {
      if (err instanceof VirshFailure && expected.test(err.stderr)) return null;
      throw err;
    }
  }

  private async withFile<T>(fileName: string, text: string, use: (path: string) => Promise<T>): Promise<T> {
    await mkdir(this.config.workDir, { recursive: true });
    const dir = await mkdtemp(join(this.config.workDir, 'tmp-'));
    try {
      const file = join(dir, fileName);
      await writeFile(file, text);
      return await use(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private virshRun(args: string[]): Promise<string> {
    return this.exec(this.virsh, ['-q', '-c', this.config.uri, ...args]);
  }

  private exec(file: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        {
          timeout: this.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 16 * 1024 * 1024,
          env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
        },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          reject(
            new VirshFailure(
              [file, ...args],
              String(stderr || e.message),
              e.killed === true,
              e.code === 'ENOENT',
            ),
          );
        },
      );
    });
  }
}
