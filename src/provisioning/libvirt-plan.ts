import type { TerraformJson } from '../../infra/plans/index.js';
import { ApplierError } from './errors.js';

/** A volume the plan asks for (`libvirt_volume`). */
export interface PlannedVolume {
  readonly name: string;
  readonly pool: string;
  readonly format: 'qcow2' | 'raw';
  /** Bytes; absent for a volume whose size is its uploaded content. */
  readonly capacity: number | null;
  readonly backing: { readonly path: string; readonly format: 'qcow2' | 'raw' } | null;
  /** The cloud-init seed whose ISO is this volume's content. */
  readonly seed: PlannedSeed | null;
}

/** A NoCloud seed (`libvirt_cloudinit_disk`). */
export interface PlannedSeed {
  readonly name: string;
  readonly userData: string;
  readonly metaData: string;
}

export interface PlannedDisk {
  readonly device: 'disk' | 'cdrom';
  readonly format: 'qcow2' | 'raw';
  readonly pool: string;
  readonly volume: string;
  readonly dev: string;
  readonly bus: string;
}

/** The domain the plan asks for (`libvirt_domain`). */
export interface PlannedDomain {
  readonly name: string;
  readonly description: string;
  readonly type: 'kvm' | 'qemu';
  readonly vcpu: number;
  readonly memoryMiB: number;
  readonly osType: string;
  readonly disks: readonly PlannedDisk[];
  readonly networks: readonly { readonly network: string; readonly model: string }[];
}

/** What one compiled plan asks of libvirt, volumes in creation order. */
export interface LibvirtPlan {
  readonly volumes: readonly PlannedVolume[];
  readonly domain: PlannedDomain;
}

type Obj = Record<string, unknown>;

const invalid = (what: string): ApplierError => new ApplierError('APPLY_PERMANENT', `invalid plan: ${what}`);

function obj(v: unknown, what: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${what} is not an object`);
  return v as Obj;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw invalid(`${what} is not a string`);
  return v;
}
function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
    throw invalid(`${what} is not a positive integer`);
  return v;
}
function format(v: unknown, what: string): 'qcow2' | 'raw' {
  const t = obj(v, what).type;
  if (t !== 'qcow2' && t !== 'raw') throw invalid(`${what}.type is not qcow2 or raw`);
  return t;
}
const LIBVIRT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
function name(v: unknown, what: string): string {
  const s = str(v, what);
  if (!LIBVIRT_NAME.test(s)) throw invalid(`${what} ${JSON.stringify(s)} is not a plain libvirt name`);
  return s;
}

/** `${libvirt_cloudinit_disk.<id>.path}` → `<id>`. */
const SEED_REF = /^\$\{libvirt_cloudinit_disk\.([A-Za-z0-9_-]+)\.path\}$/;

/**
 * Reads the resource blocks of a compiled plan (infra/plans compilePlan) as the libvirt objects
 * they stand for. Pure. Throws ApplierError(APPLY_PERMANENT) on a plan it cannot read.
 */
export function readPlan(json: TerraformJson): LibvirtPlan {
  const resource = obj((json as Obj).resource, 'resource');
  const seeds = obj(resource.libvirt_cloudinit_disk ?? {}, 'libvirt_cloudinit_disk');
  const volumeBlocks = obj(resource.libvirt_volume ?? {}, 'libvirt_volume');
  const domainBlocks = Object.entries(obj(resource.libvirt_domain ?? {}, 'libvirt_domain'));
  if (domainBlocks.length !== 1) throw invalid(`expected one libvirt_domain, found ${domainBlocks.length}`);

  const volumes = Object.entries(volumeBlocks).map(([id, raw]): PlannedVolume => {
    const v = obj(raw, `libvirt_volume.${id}`);
    const what = `libvirt_volume.${id}`;
    const target = obj(v.target, `${what}.target`);
    const url = v.create === undefined ? undefined : obj(obj(v.create, `${what}.create`).content, what).url;
    let seed: PlannedSeed | null = null;
    if (url !== undefined) {
      const ref = SEED_REF.exec(str(url, `${what}.create.content.url`));
      if (!ref) throw invalid(`${what} content must be a libvirt_cloudinit_disk path`);
      const s = obj(seeds[ref[1]!], `libvirt_cloudinit_disk.${ref[1]}`);
      seed = {
        name: name(s.name, `libvirt_cloudinit_disk.${ref[1]}.name`),
        userData: typeof s.user_data === 'string' ? s.user_data : '',
        metaData: typeof s.meta_data === 'string' ? s.meta_data : '',
      };
    }
    const backing =
      v.backing_store === undefined
        ? null
        : (() => {
            const b = obj(v.backing_store, `${what}.backing_store`);
            const path = str(b.path, `${what}.backing_store.path`);
            if (!path.startsWith('/') || path.split('/').includes('..'))
              throw invalid(`${what}.backing_store.path must be absolute`);
            return { path, format: format(b.format, `${what}.backing_store.format`) };
          })();
    if (seed === null && v.capacity === undefined) throw invalid(`${what} has neither capacity nor content`);
    return {
      name: name(v.name, `${what}.name`),
      pool: name(v.pool, `${what}.pool`),
      format: format(target.format, `${what}.target.format`),
      capacity: v.capacity === undefined ? null : int(v.capacity, `${what}.capacity`),
      backing,
      seed,
    };
  });

  const [domainId, rawDomain] = domainBlocks[0]!;
  const d = obj(rawDomain, `libvirt_domain.${domainId}`);
  const what = `libvirt_domain.${domainId}`;
  const type = d.type;
  if (type !== 'kvm' && type !== 'qemu') throw invalid(`${what}.type is not kvm or qemu`);
  const unit = d.memory_unit ?? 'KiB';
  const memory = int(d.memory, `${what}.memory`);
  const memoryMiB = unit === 'MiB' ? memory : unit === 'GiB' ? memory * 1024 : null;
  if (memoryMiB === null) throw invalid(`${what}.memory_unit ${String(unit)} is not MiB or GiB`);
  const devices = obj(d.devices, `${what}.devices`);
  const disks = (Array.isArray(devices.disks) ? devices.disks : []).map((raw, i): PlannedDisk => {
    const k = obj(raw, `${what}.devices.disks[${i}]`);
    const w = `${what}.devices.disks[${i}]`;
    const device = k.device ?? 'disk';
    if (device !== 'disk' && device !== 'cdrom') throw invalid(`${w}.device is not disk or cdrom`);
    const source = obj(obj(k.source, `${w}.source`).volume, `${w}.source.volume`);
    const target = obj(k.target, `${w}.target`);
    const driverType = obj(k.driver, `${w}.driver`).type;
    if (driverType !== 'qcow2' && driverType !== 'raw') throw invalid(`${w}.driver.type is not qcow2 or raw`);
    return {
      device,
      format: driverType,
      pool: name(source.pool, `${w}.source.volume.pool`),
      volume: name(source.volume, `${w}.source.volume.volume`),
      dev: name(target.dev, `${w}.target.dev`),
      bus: name(target.bus, `${w}.target.bus`),
    };
  });
  const networks = (Array.isArray(devices.interfaces) ? devices.interfaces : []).map((raw, i) => {
    const w = `${what}.devices.interfaces[${i}]`;
    const n = obj(raw, w);
    const network = name(obj(obj(n.source, `${w}.source`).network, `${w}.source.network`).network, w);
    const model = n.model === undefined ? 'virtio' : name(obj(n.model, `${w}.model`).type, `${w}.model`);
    return { network, model };
  });
  const planned = new Set(volumes.map((v) => `${v.pool}/${v.name}`));
  for (const k of disks)
    if (!planned.has(`${k.pool}/${k.volume}`))
      throw invalid(`${what} uses volume ${k.pool}/${k.volume} that the plan does not create`);
  return {
    volumes,
    domain: {
      name: name(d.name, `${what}.name`),
      description: typeof d.description === 'string' ? d.description : '',
      type,
      vcpu: int(d.vcpu, `${what}.vcpu`),
      memoryMiB,
      osType: d.os === undefined ? 'hvm' : name(obj(d.os, `${what}.os`).type, `${what}.os.type`),
      disks,
      networks,
    },
  };
}

const escapeXml = (s: string): string =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/**
 * The domain XML for `virsh define`. `uuid` keeps an existing domain's identity when its config
 * is redefined. Blank disks have no OS to boot, so the domain powers off on its own only when told.
 */
export function domainXml(d: PlannedDomain, uuid?: string): string {
  const x = escapeXml;
  const lines = [
    `<domain type='${x(d.type)}'>`,
    `  <name>${x(d.name)}</name>`,
    ...(uuid ? [`  <uuid>${x(uuid)}</uuid>`] : []),
    `  <description>${x(d.description)}</description>`,
    `  <memory unit='MiB'>${d.memoryMiB}</memory>`,
    `  <currentMemory unit='MiB'>${d.memoryMiB}</currentMemory>`,
    `  <vcpu placement='static'>${d.vcpu}</vcpu>`,
    `  <os>`,
    `    <type>${x(d.osType)}</type>`,
    `    <boot dev='hd'/>`,
    `  </os>`,
    `  <features><acpi/><apic/></features>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
  ];
  for (const k of d.disks) {
    lines.push(
      `    <disk type='volume' device='${k.device}'>`,
      `      <driver name='qemu' type='${k.format}'/>`,
      `      <source pool='${x(k.pool)}' volume='${x(k.volume)}'/>`,
      `      <target dev='${x(k.dev)}' bus='${x(k.bus)}'/>`,
      ...(k.device === 'cdrom' ? ['      <readonly/>'] : []),
      `    </disk>`,
    );
  }
  for (const n of d.networks) {
    lines.push(
      `    <interface type='network'>`,
      `      <source network='${x(n.network)}'/>`,
      `      <model type='${x(n.model)}'/>`,
      `    </interface>`,
    );
  }
  lines.push(
    `    <serial type='pty'/>`,
    `    <console type='pty'/>`,
    `    <memballoon model='none'/>`,
    `  </devices>`,
    `</domain>`,
    '',
  );
  return lines.join('\n');
}

/** The volume XML for `virsh vol-create`. */
export function volumeXml(v: PlannedVolume, capacity: number): string {
  const x = escapeXml;
  return [
    `<volume>`,
    `  <name>${x(v.name)}</name>`,
    `  <capacity unit='bytes'>${capacity}</capacity>`,
    `  <allocation unit='bytes'>0</allocation>`,
    `  <target><format type='${v.format}'/></target>`,
    ...(v.backing
      ? [
          `  <backingStore>`,
          `    <path>${x(v.backing.path)}</path>`,
          `    <format type='${v.backing.format}'/>`,
          `  </backingStore>`,
        ]
      : []),
    `</volume>`,
    '',
  ].join('\n');
}

/** vcpu and memory (MiB) of a domain XML as `virsh dumpxml` prints it. */
export function sizesOfDomainXml(xml: string): { vcpu: number; memoryMiB: number } {
  const vcpu = /<vcpu\b[^>]*>(\d+)<\/vcpu>/.exec(xml);
  const memory = /<memory\b([^>]*)>(\d+)<\/memory>/.exec(xml);
  if (!vcpu || !memory)
    throw new ApplierError('APPLY_TRANSIENT', 'cannot read vcpu and memory of the domain');
  const unit = /unit=['"](\w+)['"]/.exec(memory[1]!)?.[1] ?? 'KiB';
  const n = Number(memory[2]);
  const kib = unit === 'KiB' || unit === 'k' ? n : unit === 'MiB' || unit === 'M' ? n * 1024 : n / 1024;
  return { vcpu: Number(vcpu[1]), memoryMiB: Math.floor(kib / 1024) };
}
