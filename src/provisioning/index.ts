import { join } from 'node:path';
import type { ApplierFor } from './applier.js';
import { PlanOnlyApplier } from './plan-only-applier.js';

export * from './applier.js';
export * from './errors.js';
export * from './plan-only-applier.js';
export * from './saga.js';

/** A node's provisioning settings (NodeConfig.provisioning). */
export interface ProvisioningConfig {
  /** The libvirt URI this node's appliers talk to, overriding its hosts' (for the libvirt applier). */
  readonly libvirtUri?: string;
  /** Where plans are written. Default `<dataDir>/plans`. */
  readonly plansDir?: string;
}

/**
 * The applier for each host. Only the plan-only applier exists so far: every host gets its plan
 * written and its VMs reported blocked. A libvirt applier plugs in here for hosts with a URI.
 */
export function appliersFor(config: ProvisioningConfig | undefined, dataDir: string): ApplierFor {
  const planOnly = new PlanOnlyApplier(config?.plansDir ?? join(dataDir, 'plans'));
  return () => planOnly;
}
