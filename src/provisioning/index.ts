import { join } from 'node:path';
import type { Applier, ApplierFor } from './applier.js';
import { LibvirtApplier, type LibvirtApplierConfig } from './libvirt-applier.js';
import { libvirtDefaults } from './libvirt-defaults.js';
import { NO_LIBVIRT, PlanOnlyApplier } from './plan-only-applier.js';
import { TerraformApplier, type TerraformApplierConfig } from './terraform-applier.js';

export * from './applier.js';
export * from './errors.js';
export * from './libvirt-applier.js';
export * from './plan-only-applier.js';
export * from './saga.js';
export * from './terraform-applier.js';

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
  /**
   * Present = apply plans with the terraform (or tofu) CLI instead, for hosts whose URI is not
   * `none`; the same defaults as `libvirt`, workDir `<dataDir>/terraform`, providerDir from
   * DAGGER_TF_PROVIDER_DIR when unset. Takes precedence over `libvirt`.
   */
  readonly terraform?: Partial<TerraformApplierConfig>;
}

/**
 * The applier for each host: without `provisioning.libvirt` or `.terraform`, or for a host whose
 * URI is `none`, the plan-only applier (plan written, VM reported blocked); else a
 * TerraformApplier (when `terraform` is set) or a LibvirtApplier, one per URI.
 */
export function appliersFor(config: ProvisioningConfig | undefined, dataDir: string): ApplierFor {
  const planOnly = new PlanOnlyApplier(config?.plansDir ?? join(dataDir, 'plans'));
  const terraform = config?.terraform;
  const libvirt = terraform ?? config?.libvirt;
  if (!libvirt) return () => planOnly;
  const byUri = new Map<string, Applier>();
  return (host) => {
    if (host.libvirtUri === NO_LIBVIRT) return planOnly;
    const defaults = libvirtDefaults();
    const uri = libvirt.uri ?? config?.libvirtUri ?? host.libvirtUri;
    let applier = byUri.get(uri);
    if (!applier) {
      const set = Object.fromEntries(Object.entries(libvirt).filter(([, v]) => v !== undefined));
      const providerDir = process.env.DAGGER_TF_PROVIDER_DIR;
      applier = terraform
        ? new TerraformApplier({
            ...defaults,
            workDir: join(dataDir, 'terraform'),
            ...(providerDir ? { providerDir } : {}),
            ...set,
            uri,
          })
        : new LibvirtApplier({ ...defaults, workDir: join(dataDir, 'libvirt'), ...set, uri });
      byUri.set(uri, applier);
    }
    return applier;
  };
}
