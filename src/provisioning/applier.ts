import type { VmOperation } from '../../domain/processor/events.js';
import type { CompiledPlan, HostPlanInput, VmPlanInput } from '../../infra/plans/index.js';

/** What an operation leaves the VM as, reported on the ledger as a vm.report status. */
export type AppliedStatus = 'running' | 'stopped' | 'destroyed' | 'blocked' | 'failed';

export interface ApplyResult {
  readonly status: AppliedStatus;
  /** Becomes the VM's statusReason on the ledger (at most 1024 characters are kept). */
  readonly detail: string;
  readonly addresses: readonly string[];
}

/** The VM as the operation wants it, and the host it is on. */
export interface AppliedVm extends VmPlanInput {
  readonly host: HostPlanInput;
}

/** What is on the host now, whatever the ledger says. */
export interface ActualState {
  readonly vmId: string;
  /** `absent`: nothing of the VM exists; `planned`: only its plan (no libvirt objects). */
  readonly state: 'absent' | 'planned' | 'running' | 'stopped';
  readonly addresses: readonly string[];
}

/**
 * The port between the saga and a host. Contract, for every adapter:
 * - `apply` reads the actual state first and does only what is missing, so calling it again
 *   with the same arguments (a retry, or a restart after a crash mid-apply) converges on the
 *   same result without a duplicate domain or volume;
 * - it resolves with the final status for a finished operation, `blocked` when this host
 *   cannot run VMs at all (the detail says why), and throws ApplierError(APPLY_TRANSIENT) for
 *   what a retry may fix or ApplierError(APPLY_PERMANENT) for what it cannot;
 * - `compensate` removes whatever a failed create left behind (idempotent, absent is fine);
 * - `inspect` only reads.
 * A destroy of a VM that is already absent resolves `destroyed`.
 */
export interface Applier {
  apply(plan: CompiledPlan, operation: VmOperation, vm: AppliedVm): Promise<ApplyResult>;
  compensate(plan: CompiledPlan, vm: AppliedVm): Promise<void>;
  inspect(vmId: string): Promise<ActualState>;
  /**
   * The host as this applier's plans must be compiled (its URI, pool, pool path, network and
   * domain type); absent = the host as the ledger has it.
   */
  planInput?(host: HostPlanInput): HostPlanInput;
}

/** The applier for a host, as this node is configured. */
export type ApplierFor = (host: HostPlanInput) => Applier;
