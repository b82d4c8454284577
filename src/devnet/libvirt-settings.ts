import type { ProvisioningConfig } from '../provisioning/index.js';

/** Where a devnet's hosts run their VMs: one libvirt daemon, its storage pool and VM network. */
export interface LibvirtSettings {
  readonly uri: string;
  readonly pool: string;
  /** The pool's target directory; unset: the plan compiler's default for the pool. */
  readonly poolPath?: string;
  readonly network: string;
  readonly domainType: 'kvm' | 'qemu';
}

/** The defaults of scripts/services/libvirt.sh, which the DAGGER_LIBVIRT_* variables override. */
export const LIBVIRT_DEFAULTS = {
  uri: 'qemu:///system',
  pool: 'dagger',
  network: 'dagger',
  domainType: 'kvm',
} as const;

export type LibvirtEnv = Readonly<Record<string, string | undefined>>;

/** A libvirt connection URI: `driver[+transport]://[host]/path` (qemu:///system, test:///default). */
const LIBVIRT_URI = /^[a-z][a-z0-9]*(\+[a-z0-9]+)?:\/\/[^\s]*\/[^\s]*$/;
const LIBVIRT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export class LibvirtSettingsError extends Error {
  readonly code = 'BAD_LIBVIRT_SETTINGS';
  constructor(message: string) {
    super(message);
    this.name = 'LibvirtSettingsError';
  }
}

/** Flags win over DAGGER_LIBVIRT_POOL/_POOL_PATH/_NETWORK/_DOMAIN_TYPE, which win over the defaults. */
export function libvirtSettings(
  uri: string,
  flags: { pool?: string; poolPath?: string; network?: string; domainType?: string },
  env: LibvirtEnv = process.env,
): LibvirtSettings {
  const pick = (flag: string | undefined, name: string): string | undefined =>
    flag ?? (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  const pool = pick(flags.pool, 'DAGGER_LIBVIRT_POOL') ?? LIBVIRT_DEFAULTS.pool;
  const poolPath = pick(flags.poolPath, 'DAGGER_LIBVIRT_POOL_PATH');
  const network = pick(flags.network, 'DAGGER_LIBVIRT_NETWORK') ?? LIBVIRT_DEFAULTS.network;
  const domainType = pick(flags.domainType, 'DAGGER_LIBVIRT_DOMAIN_TYPE') ?? LIBVIRT_DEFAULTS.domainType;
  if (uri === 'none' || !LIBVIRT_URI.test(uri))
    throw new LibvirtSettingsError(
      `--libvirt-uri ${uri} is not a libvirt URI (e.g. qemu:///system, qemu+ssh://host/system).`,
    );
  if (!LIBVIRT_NAME.test(pool)) throw new LibvirtSettingsError(`libvirt pool ${pool} is not a valid name.`);
  if (!LIBVIRT_NAME.test(network))
    throw new LibvirtSettingsError(`libvirt network ${network} is not a valid name.`);
  if (poolPath !== undefined && !poolPath.startsWith('/'))
    throw new LibvirtSettingsError(`libvirt pool path ${poolPath} must be absolute.`);
  if (domainType !== 'kvm' && domainType !== 'qemu')
    throw new LibvirtSettingsError(`libvirt domain type ${domainType} must be kvm or qemu.`);
  return { uri, pool, ...(poolPath !== undefined ? { poolPath } : {}), network, domainType };
}

/** The `provisioning` section of a node config that applies plans to this libvirt. */
export function provisioningConfigOf(s: LibvirtSettings): ProvisioningConfig {
  return { libvirtUri: s.uri };
}
