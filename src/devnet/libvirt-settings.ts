import { LIBVIRT_NAME } from '../../infra/plans/index.js';
import { libvirtDefaults, type LibvirtSettings, type ProvisioningConfig } from '../provisioning/index.js';

export type { LibvirtSettings };

export type LibvirtEnv = Readonly<Record<string, string | undefined>>;

/** A libvirt connection URI: `driver[+transport]://[host]/path` (qemu:///system, test:///default). */
const LIBVIRT_URI = /^[a-z][a-z0-9]*(\+[a-z0-9]+)?:\/\/[^\s]*\/[^\s]*$/;

export class LibvirtSettingsError extends Error {
  readonly code = 'BAD_LIBVIRT_SETTINGS';
  constructor(message: string) {
    super(message);
    this.name = 'LibvirtSettingsError';
  }
}

/**
 * A devnet's libvirt: the URI from --libvirt-uri only (nothing touches libvirt unless asked),
 * the rest from the flags, else DAGGER_LIBVIRT_* and the defaults of scripts/services/libvirt.sh.
 */
export function libvirtSettings(
  uri: string,
  flags: { pool?: string; poolPath?: string; network?: string; domainType?: string },
  env: LibvirtEnv = process.env,
): LibvirtSettings {
  const defaults = libvirtDefaults({ ...env, DAGGER_LIBVIRT_URI: uri });
  const pool = flags.pool ?? defaults.pool;
  const network = flags.network ?? defaults.network;
  const domainType = flags.domainType ?? (env.DAGGER_LIBVIRT_DOMAIN_TYPE || defaults.domainType);
  if (uri === 'none' || !LIBVIRT_URI.test(uri))
    throw new LibvirtSettingsError(
      `--libvirt-uri ${uri} is not a libvirt URI (e.g. qemu:///system, qemu+ssh://host/system).`,
    );
  if (!LIBVIRT_NAME.test(pool)) throw new LibvirtSettingsError(`libvirt pool ${pool} is not a valid name.`);
  if (!LIBVIRT_NAME.test(network))
    throw new LibvirtSettingsError(`libvirt network ${network} is not a valid name.`);
  if (flags.poolPath !== undefined && !flags.poolPath.startsWith('/'))
    throw new LibvirtSettingsError(`libvirt pool path ${flags.poolPath} must be absolute.`);
  if (domainType !== 'kvm' && domainType !== 'qemu')
    throw new LibvirtSettingsError(`libvirt domain type ${domainType} must be kvm or qemu.`);
  return { uri, pool, poolPath: flags.poolPath ?? defaults.poolPath, network, domainType };
}

/** The `provisioning` section of a node config that applies plans to this libvirt. */
export function provisioningConfigOf(s: LibvirtSettings): ProvisioningConfig {
  return {
    libvirt: { uri: s.uri, pool: s.pool, poolPath: s.poolPath, network: s.network, domainType: s.domainType },
  };
}
