import { Option, type Command } from 'commander';
import {
  libvirtSettings,
  LibvirtSettingsError,
  type LibvirtSettings,
} from '../../devnet/libvirt-settings.js';

/** The libvirt flags as commander parses them (devnet and genesis). */
export interface LibvirtCliOptions {
  readonly libvirtUri?: string;
  readonly libvirtPool?: string;
  readonly libvirtPoolPath?: string;
  readonly libvirtNetwork?: string;
  readonly libvirtDomainType?: string;
}

export function addLibvirtOptions(command: Command): Command {
  return command
    .option('--libvirt-uri <uri>', 'run the VMs on this libvirt (e.g. qemu:///system); default: none')
    .option('--libvirt-pool <name>', 'storage pool (DAGGER_LIBVIRT_POOL, default dagger)')
    .option(
      '--libvirt-pool-path <dir>',
      "the pool's directory (DAGGER_LIBVIRT_POOL_PATH, default .services/libvirt/pool)",
    )
    .option('--libvirt-network <name>', 'VM network (DAGGER_LIBVIRT_NETWORK, default default)')
    .addOption(
      new Option(
        '--libvirt-domain-type <type>',
        'kvm, or qemu (TCG) (DAGGER_LIBVIRT_DOMAIN_TYPE, default kvm where /dev/kvm exists)',
      ).choices(['kvm', 'qemu']),
    );
}

/**
 * The libvirt settings the flags ask for (none without --libvirt-uri), or what is wrong with
 * them; the rest from the flags, then DAGGER_LIBVIRT_*.
 */
export function libvirtOf(
  opts: LibvirtCliOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): { readonly libvirt?: LibvirtSettings } | string {
  const { libvirtUri, libvirtPool, libvirtPoolPath, libvirtNetwork, libvirtDomainType } = opts;
  if (libvirtUri === undefined) {
    const stray = [
      [libvirtPool, '--libvirt-pool'],
      [libvirtPoolPath, '--libvirt-pool-path'],
      [libvirtNetwork, '--libvirt-network'],
      [libvirtDomainType, '--libvirt-domain-type'],
    ].find(([v]) => v !== undefined);
    return stray ? `${stray[1]} needs --libvirt-uri.` : {};
  }
  try {
    return {
      libvirt: libvirtSettings(
        libvirtUri,
        {
          pool: libvirtPool,
          poolPath: libvirtPoolPath,
          network: libvirtNetwork,
          domainType: libvirtDomainType,
        },
        env,
      ),
    };
  } catch (err) {
    if (err instanceof LibvirtSettingsError) return err.message;
    throw err;
  }
}

/** The options without the libvirt flags. */
export function withoutLibvirtFlags<T extends LibvirtCliOptions>(opts: T): Omit<T, keyof LibvirtCliOptions> {
  const { libvirtUri, libvirtPool, libvirtPoolPath, libvirtNetwork, libvirtDomainType, ...rest } = opts;
  void [libvirtUri, libvirtPool, libvirtPoolPath, libvirtNetwork, libvirtDomainType];
  return rest;
}
