/**
 * The one module that imports CDK Terrain (`cdktn`, the continuation of cdktf) and `constructs`
 * (checked by `npm run depcheck`). Everything else in infra/ builds stacks through these names.
 */
import { Construct } from 'constructs';
import { TerraformOutput, TerraformProvider, TerraformResource, TerraformStack } from 'cdktn';

export { Construct, TerraformOutput, TerraformProvider, TerraformResource, TerraformStack };
export type { TerraformResourceConfig, TerraformProviderConfig, ITerraformDependable } from 'cdktn';

/** Terraform JSON as `terraform`/`tofu` read it (`*.tf.json`). */
export type TerraformJson = { readonly [key: string]: unknown };

/**
 * A fresh stack under a bare construct root. Not an `App`: its constructor creates an output
 * directory and reads CDKTF_* environment variables, and a plan compiles without I/O.
 */
export function newStack(stackName: string): TerraformStack {
  const root = new Construct(undefined as unknown as Construct, '');
  root.node.setContext('@cdktf/disable_stack_trace_in_metadata', true);
  return new TerraformStack(root, stackName);
}

/**
 * The stack's Terraform JSON without the `//` metadata blocks cdktn adds (construct paths,
 * backend and version notes): Terraform ignores them, and they would tie a plan's bytes to
 * the cdktn version.
 */
export function synthesize(stack: TerraformStack): TerraformJson {
  return stripMetadata(stack.toTerraform()) as TerraformJson;
}

function stripMetadata(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripMetadata);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '//' || v === undefined) continue;
    out[k] = stripMetadata(v);
  }
  return out;
}
