/**
 * Typed bindings for the Terraform provider dmacvicar/libvirt 0.9.x (the rewrite whose schema
 * mirrors libvirt's XML; Go module github.com/dmacvicar/terraform-provider-libvirt/v2), written
 * as `cdktn get` would generate them: camelCase config interfaces, `synthesizeAttributes()`
 * mapping to the provider's snake_case attributes, getters for computed attributes.
 * Only the attributes DAGGER uses are modelled; docs/provisioning.md lists them and the sources.
 */
import { type Construct, type ITerraformDependable, TerraformProvider, TerraformResource } from './cdk.js';

export const LIBVIRT_PROVIDER_SOURCE = 'dmacvicar/libvirt';
/** 0.9.1 changed the volume and disk schema (issues #1241, #1243); 0.10 may change it again. */
export const LIBVIRT_PROVIDER_VERSION = '~> 0.9.1';

const generatorMetadata = {
  providerName: 'libvirt',
  providerVersionConstraint: LIBVIRT_PROVIDER_VERSION,
} as const;

type Attributes = { [name: string]: unknown };

/** The meta-arguments the generated classes accept that DAGGER uses. */
export interface LibvirtResourceMeta {
  readonly dependsOn?: ITerraformDependable[];
  readonly provider?: TerraformProvider;
}

function meta(type: string, config: LibvirtResourceMeta) {
  return {
    terraformResourceType: type,
    terraformGeneratorMetadata: generatorMetadata,
    dependsOn: config.dependsOn,
    provider: config.provider,
  };
}

// ---- provider "libvirt" ----

export interface LibvirtProviderConfig {
  /** libvirt connection URI, e.g. `qemu:///system` or `qemu+ssh://user@host/system`. */
  readonly uri: string;
  readonly alias?: string;
}

export class LibvirtProvider extends TerraformProvider {
  static readonly tfResourceType = 'libvirt';
  readonly uri: string;

  constructor(scope: Construct, id: string, config: LibvirtProviderConfig) {
    super(scope, id, {
      terraformResourceType: LibvirtProvider.tfResourceType,
      terraformGeneratorMetadata: generatorMetadata,
      terraformProviderSource: LIBVIRT_PROVIDER_SOURCE,
    });
    this.uri = config.uri;
    if (config.alias !== undefined) this.alias = config.alias;
  }

  protected override synthesizeAttributes(): Attributes {
    return { uri: this.uri, alias: this.alias };
  }
}

// ---- libvirt_pool ----

export interface LibvirtPermissions {
  readonly owner?: string;
  readonly group?: string;
  readonly mode?: string;
  readonly label?: string;
}

export interface LibvirtPoolConfig extends LibvirtResourceMeta {
  readonly name: string;
  /** `dir` or `logical`. */
  readonly type: string;
  readonly target: { readonly path: string; readonly permissions?: LibvirtPermissions };
}

export class LibvirtPool extends TerraformResource {
  static readonly tfResourceType = 'libvirt_pool';
  private readonly config: LibvirtPoolConfig;

  constructor(scope: Construct, id: string, config: LibvirtPoolConfig) {
    super(scope, id, meta(LibvirtPool.tfResourceType, config));
    this.config = config;
  }

  get name(): string {
    return this.config.name;
  }

  get uuid(): string {
    return this.getStringAttribute('uuid');
  }

  protected override synthesizeAttributes(): Attributes {
    const c = this.config;
    return {
      name: c.name,
      type: c.type,
      target: { path: c.target.path, permissions: c.target.permissions },
    };
  }
}

// ---- libvirt_network ----

export interface LibvirtNetworkIp {
  readonly address?: string;
  readonly prefix?: number;
  readonly dhcp?: { readonly ranges?: readonly { readonly start: string; readonly end: string }[] };
}

export interface LibvirtNetworkConfig extends LibvirtResourceMeta {
  readonly name: string;
  readonly autostart?: boolean;
  /** `<forward mode=…>`: nat, route, open, bridge; absent = isolated. */
  readonly forward?: { readonly mode: string };
  readonly bridge?: { readonly name: string };
  readonly ips?: readonly LibvirtNetworkIp[];
}

export class LibvirtNetwork extends TerraformResource {
  static readonly tfResourceType = 'libvirt_network';
  private readonly config: LibvirtNetworkConfig;

  constructor(scope: Construct, id: string, config: LibvirtNetworkConfig) {
    super(scope, id, meta(LibvirtNetwork.tfResourceType, config));
    this.config = config;
  }

  protected override synthesizeAttributes(): Attributes {
    const c = this.config;
    return {
      name: c.name,
      autostart: c.autostart,
      forward: c.forward && { mode: c.forward.mode },
      bridge: c.bridge && { name: c.bridge.name },
      ips: c.ips?.map((ip) => ({
        address: ip.address,
        prefix: ip.prefix,
        dhcp: ip.dhcp && { ranges: ip.dhcp.ranges?.map((r) => ({ start: r.start, end: r.end })) },
      })),
    };
  }
}

// ---- libvirt_volume ----

export interface LibvirtVolumeFormat {
  /** qcow2, raw, iso, … */
  readonly type: string;
}

export interface LibvirtVolumeConfig extends LibvirtResourceMeta {
  readonly name: string;
  readonly pool: string;
  /** Bytes unless `capacityUnit` says otherwise; optional when `create.content` sets it. */
  readonly capacity?: number;
  readonly capacityUnit?: string;
  readonly target?: { readonly format?: LibvirtVolumeFormat; readonly permissions?: LibvirtPermissions };
  /** Copy-on-write overlay over the volume at `path`. */
  readonly backingStore?: { readonly path: string; readonly format?: LibvirtVolumeFormat };
  /** Initial content uploaded from a URL or local path. */
  readonly create?: { readonly content: { readonly url: string } };
}

export class LibvirtVolume extends TerraformResource {
  static readonly tfResourceType = 'libvirt_volume';
  private readonly config: LibvirtVolumeConfig;

  constructor(scope: Construct, id: string, config: LibvirtVolumeConfig) {
    super(scope, id, meta(LibvirtVolume.tfResourceType, config));
    this.config = config;
  }

  get name(): string {
    return this.config.name;
  }

  get pool(): string {
    return this.config.pool;
  }

  /** Computed: the volume's path on the host. */
  get path(): string {
    return this.getStringAttribute('path');
  }

  get key(): string {
    return this.getStringAttribute('key');
  }

  protected override synthesizeAttributes(): Attributes {
    const c = this.config;
    return {
      name: c.name,
      pool: c.pool,
      capacity: c.capacity,
      capacity_unit: c.capacityUnit,
      target: c.target && {
        format: c.target.format && { type: c.target.format.type },
        permissions: c.target.permissions,
      },
      backing_store: c.backingStore && {
        path: c.backingStore.path,
        format: c.backingStore.format && { type: c.backingStore.format.type },
      },
      create: c.create && { content: { url: c.create.content.url } },
    };
  }
}

// ---- libvirt_cloudinit_disk ----

export interface LibvirtCloudinitDiskConfig extends LibvirtResourceMeta {
  readonly name: string;
  readonly userData: string;
  readonly metaData: string;
  readonly networkConfig?: string;
}

/** A NoCloud seed ISO (volume label `cidata`) written on the machine that runs terraform. */
export class LibvirtCloudinitDisk extends TerraformResource {
  static readonly tfResourceType = 'libvirt_cloudinit_disk';
  private readonly config: LibvirtCloudinitDiskConfig;

  constructor(scope: Construct, id: string, config: LibvirtCloudinitDiskConfig) {
    super(scope, id, meta(LibvirtCloudinitDisk.tfResourceType, config));
    this.config = config;
  }

  /** Computed: the generated ISO's path, to upload with a volume's `create.content.url`. */
  get path(): string {
    return this.getStringAttribute('path');
  }

  protected override synthesizeAttributes(): Attributes {
    const c = this.config;
    return {
      name: c.name,
      user_data: c.userData,
      meta_data: c.metaData,
      network_config: c.networkConfig,
    };
  }
}

// ---- libvirt_domain ----

export interface LibvirtDomainDisk {
  /** disk, cdrom, floppy, lun. */
  readonly device?: string;
  /** `<driver name type>`: set type=qcow2 for qcow2 volumes, or libvirt assumes raw (issue #1238). */
  readonly driver?: { readonly name?: string; readonly type?: string };
  readonly source?: {
    readonly volume?: { readonly pool: string; readonly volume: string };
    readonly file?: { readonly file: string };
  };
  readonly target: { readonly dev: string; readonly bus?: string };
}

export interface LibvirtDomainInterface {
  readonly model?: { readonly type: string };
  readonly mac?: { readonly address: string };
  readonly source?: {
    readonly network?: { readonly network: string };
    readonly bridge?: { readonly bridge: string };
  };
}

export interface LibvirtDomainConfig extends LibvirtResourceMeta {
  readonly name: string;
  /** kvm, qemu (TCG). */
  readonly type?: string;
  readonly vcpu: number;
  readonly memory: number;
  /** KiB (libvirt's default), MiB, GiB. */
  readonly memoryUnit?: string;
  readonly description?: string;
  readonly running?: boolean;
  readonly autostart?: boolean;
  readonly os?: {
    readonly type: string;
    readonly typeArch?: string;
    readonly typeMachine?: string;
  };
  readonly cpu?: { readonly mode: string };
  readonly devices?: {
    readonly disks?: readonly LibvirtDomainDisk[];
    readonly interfaces?: readonly LibvirtDomainInterface[];
  };
}

export class LibvirtDomain extends TerraformResource {
  static readonly tfResourceType = 'libvirt_domain';
  private readonly config: LibvirtDomainConfig;

  constructor(scope: Construct, id: string, config: LibvirtDomainConfig) {
    super(scope, id, meta(LibvirtDomain.tfResourceType, config));
    this.config = config;
  }

  get name(): string {
    return this.config.name;
  }

  /** Computed: the domain's UUID. */
  get id(): string {
    return this.getStringAttribute('id');
  }

  protected override synthesizeAttributes(): Attributes {
    const c = this.config;
    return {
      name: c.name,
      type: c.type,
      vcpu: c.vcpu,
      memory: c.memory,
      memory_unit: c.memoryUnit,
      description: c.description,
      running: c.running,
      autostart: c.autostart,
      os: c.os && { type: c.os.type, type_arch: c.os.typeArch, type_machine: c.os.typeMachine },
      cpu: c.cpu && { mode: c.cpu.mode },
      devices: c.devices && {
        disks: c.devices.disks?.map(diskToTerraform),
        interfaces: c.devices.interfaces?.map(interfaceToTerraform),
      },
    };
  }
}

function diskToTerraform(d: LibvirtDomainDisk): Attributes {
  return {
    device: d.device,
    driver: d.driver && { name: d.driver.name, type: d.driver.type },
    source: d.source && {
      volume: d.source.volume && { pool: d.source.volume.pool, volume: d.source.volume.volume },
      file: d.source.file && { file: d.source.file.file },
    },
    target: { dev: d.target.dev, bus: d.target.bus },
  };
}

function interfaceToTerraform(i: LibvirtDomainInterface): Attributes {
  return {
    model: i.model && { type: i.model.type },
    mac: i.mac && { address: i.mac.address },
    source: i.source && {
      network: i.source.network && { network: i.source.network.network },
      bridge: i.source.bridge && { bridge: i.source.bridge.bridge },
    },
  };
}
