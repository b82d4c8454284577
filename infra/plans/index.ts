export { compilePlan, canonicalJson, type CompiledPlan } from './compile.js';
export {
  BLANK_IMAGE,
  DEFAULT_NETWORK,
  DEFAULT_POOL,
  LIBVIRT_NAME,
  type HostPlan,
  type HostPlanInput,
  type VmPlanInput,
} from './input.js';
export { PlanError, type PlanErrorCode } from './errors.js';
export type { TerraformJson } from './cdk.js';
export * from './libvirt.js';
