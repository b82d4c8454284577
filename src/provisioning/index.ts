import { join } from 'node:path';
import type { Applier, ApplierFor } from './applier.js';
import { LibvirtApplier, type LibvirtApplierConfig } from './libvirt-applier.js';
import { libvirtDefaults } from './libvirt-defaults.js';
import { NO_LIBVIRT, PlanOnlyApplier } from './plan-only-applier.js';

export * from './applier.js';
export * from './errors.js';
export * from './libvirt-applier.js';
export * from './plan-only-applier.js';
export * from './saga.js';

/** A node's provisioning settings (NodeConfig.provisioning). */
export interface ProvisioningConfig {
  /** The libvirt URI this node's appliers talk to, overriding its hosts' (for the libvirt applier). */
  readonly libvirtUri?: string;
  /** Where plans are written. Default `<dataDir>/plans`. */
  readonly plansDir?: string;
  /**
   * Present = apply plans to libvirt for hosts whose URI is not `none`. Missing fields take
   * libvirtDefaults() (what scripts/services/libvirt.sh sets up); the URI is `uri`, else
   * `libvirtUri`, else the host's own; workDir defaults to `<dataDir>/libvirt`.
   */
  readonly libvirt?: Partial<LibvirtApplierConfig>;
}

/**
 * The applier for each host: without `provisioning.libvirt`, or for a host whose URI is `none`,
 * the plan-only applier (plan written, VM reported blocked); else a LibvirtApplier, one per URI.
 */
export function appliersFor(config: ProvisioningConfig | undefined, dataDir: string): ApplierFor {
  const planOnly = new PlanOnlyApplier(config?.plansDir ?? join(dataDir, 'plans'));
  const libvirt = config?.libvirt;
  if (!libvirt) return () => planOnly;
  const byUri = new Map<string, Applier>();
  return (host) => {
    if (host.libvirtUri === NO_LIBVIRT) return planOnly;
    const defaults = libvirtDefaults();
    const uri = libvirt.uri ?? config.libvirtUri ?? host.libvirtUri;
    let applier = byUri.get(uri);
    if (!applier) {
      const set = Object.fromEntries(Object.entries(libvirt).filter(([, v]) => v !== undefined));
      applier = new LibvirtApplier({ ...defaults, workDir: join(dataDir, 'libvirt'), ...set, uri });
      byUri.set(uri, applier);
    }
    return applier;
  };
}
