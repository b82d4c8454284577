import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmOperation } from '../../domain/processor/events.js';
import type { CompiledPlan, HostPlanInput } from '../../infra/plans/index.js';
import type { ActualState, Applier, AppliedVm, ApplyResult } from './applier.js';

/** A host with no libvirt to talk to says so with this URI (the devnet default). */
export const NO_LIBVIRT = 'none';
/** The URI a plan names when its host has none: what a libvirt host would use by default. */
export const PLAN_ONLY_URI = 'qemu:///system';

/** The host as the plan compiler takes it: `none` becomes PLAN_ONLY_URI. */
export function planHost(host: HostPlanInput): HostPlanInput {
  return host.libvirtUri === NO_LIBVIRT ? { ...host, libvirtUri: PLAN_ONLY_URI } : host;
}

export const planFileOf = (plansDir: string, vmId: string): string =>
  join(plansDir, `dagger-${vmId}.tf.json`);

/**
 * For hosts nothing here can apply to: writes the plan to `<plansDir>/dagger-<vmId>.tf.json` and
 * answers `blocked` (a create) or `failed` (resize, stop, start), with the reason and the path.
 * A destroy removes the plan and answers `destroyed`: nothing was created.
 */
export class PlanOnlyApplier implements Applier {
  constructor(private readonly plansDir: string) {}

  pathOf(vmId: string): string {
    return planFileOf(this.plansDir, vmId);
  }

  async apply(plan: CompiledPlan, operation: VmOperation, vm: AppliedVm): Promise<ApplyResult> {
    const path = this.pathOf(vm.vmId);
    if (operation === 'destroy') {
      await rm(path, { force: true });
      return { status: 'destroyed', detail: `destroyed; plan ${path} removed`, addresses: [] };
    }
    await mkdir(this.plansDir, { recursive: true });
    const partial = `${path}.partial`;
    await writeFile(partial, plan.text);
    await rename(partial, path);
    const why =
      vm.host.libvirtUri === NO_LIBVIRT
        ? `no libvirt URI for host ${vm.host.hostId}`
        : `no libvirt applier on this node for host ${vm.host.hostId} (${vm.host.libvirtUri})`;
    return {
      status: operation === 'create' ? 'blocked' : 'failed',
      detail: `${why}: plan written to ${path}`,
      addresses: [],
    };
  }

  async compensate(_plan: CompiledPlan, vm: AppliedVm): Promise<void> {
    await rm(this.pathOf(vm.vmId), { force: true });
    await rm(`${this.pathOf(vm.vmId)}.partial`, { force: true });
  }

  inspect(vmId: string): Promise<ActualState> {
    return Promise.resolve({
      vmId,
      state: existsSync(this.pathOf(vmId)) ? 'planned' : 'absent',
      addresses: [],
    });
  }
}
