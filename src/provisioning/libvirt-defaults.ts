import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostPlanInput } from '../../infra/plans/index.js';

/** What the libvirt applier talks to on a host. */
export interface LibvirtSettings {
  /** libvirt connection URI, e.g. `qemu:///system`. */
  readonly uri: string;
  /** A started dir storage pool for the VM volumes and the base images. */
  readonly pool: string;
  /** The pool's target directory (base images are referenced by `<poolPath>/<image>`). */
  readonly poolPath: string;
  /** A started libvirt network the VM interfaces join. */
  readonly network: string;
  /** `kvm` where /dev/kvm is usable, `qemu` (TCG) otherwise. */
  readonly domainType: 'kvm' | 'qemu';
}

/** The host as plans for an applier with these settings are compiled: their URI, pool, network, type. */
export function hostWithSettings(settings: LibvirtSettings, host: HostPlanInput): HostPlanInput {
  return {
    hostId: host.hostId,
    libvirtUri: settings.uri,
    pool: settings.pool,
    poolPath: settings.poolPath,
    network: settings.network,
    domainType: settings.domainType,
  };
}

/** The repository root: the nearest directory above this module with a package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/**
 * The settings `scripts/services/libvirt.sh` sets up, with the same defaults and the same
 * environment overrides (its `env` prints them), so code and tests that do not eval the
 * script's output still agree with it.
 */
export function libvirtDefaults(env: NodeJS.ProcessEnv = process.env): LibvirtSettings {
  const servicesDir = env.DAGGER_SERVICES_DIR ?? join(repoRoot(), '.services');
  const domainType = env.DAGGER_LIBVIRT_DOMAIN_TYPE ?? (existsSync('/dev/kvm') ? 'kvm' : 'qemu');
  return {
    uri: env.DAGGER_LIBVIRT_URI ?? 'qemu:///system',
    pool: env.DAGGER_LIBVIRT_POOL ?? 'dagger',
    poolPath: resolve(
      env.DAGGER_LIBVIRT_POOL_PATH ??
        recorded(servicesDir, 'pool-path') ??
        join(servicesDir, 'libvirt', 'pool'),
    ),
    network: env.DAGGER_LIBVIRT_NETWORK ?? recorded(servicesDir, 'network') ?? 'default',
    domainType: domainType === 'qemu' ? 'qemu' : 'kvm',
  };
}

/**
 * A fallback the script chose and recorded: `network` when libvirt's NAT network cannot run here,
 * `pool-path` when QEMU cannot reach the clone's .services directory.
 */
function recorded(servicesDir: string, name: 'network' | 'pool-path'): string | undefined {
  try {
    return readFileSync(join(servicesDir, 'libvirt', name), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
