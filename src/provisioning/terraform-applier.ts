import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmOperation } from '../../domain/processor/events.js';
import {
  canonicalJson,
  type CompiledPlan,
  type HostPlanInput,
  LIBVIRT_PROVIDER_SOURCE,
} from '../../infra/plans/index.js';
import type { ActualState, Applier, AppliedVm, ApplyResult } from './applier.js';
import { ApplierError } from './errors.js';
import { hostWithSettings, type LibvirtSettings } from './libvirt-defaults.js';

/** The node's terraform settings (ProvisioningConfig.terraform, defaults filled in). */
export interface TerraformApplierConfig extends LibvirtSettings {
  /** One directory per VM, `<workDir>/dagger-<vmId>/`, holding its plan and its own state. */
  readonly workDir: string;
  /** `terraform` or `tofu`. Default `terraform` on PATH. */
  readonly terraformPath?: string;
  /**
   * A directory holding a locally built terraform-provider-libvirt: terraform is pointed at it
   * with dev_overrides (and `init` is skipped). Without it, `init` installs the provider the
   * usual way, which needs a reachable provider registry or mirror.
   */
  readonly providerDir?: string;
  /** Time limit of one terraform call. Default 10 minutes. */
  readonly commandTimeoutMs?: number;
}

class TerraformFailure extends Error {
  constructor(
    readonly args: readonly string[],
    readonly output: string,
    readonly timedOut: boolean,
    readonly missingBinary: boolean,
  ) {
    super(`${args.join(' ')}: ${timedOut ? 'timed out' : lastLines(output) || 'failed'}`);
  }
}

const lastLines = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^[│╷╵]\s*$/.test(l))
    .slice(-6)
    .join(' ')
    .slice(0, 900);

const TRANSIENT =
  /Error acquiring the state lock|failed to connect|Cannot recv data|connection reset|timed out/i;
const PROVIDER_MISSING =
  /Failed to query available provider packages|Failed to install provider|Inconsistent dependency lock file|Missing required provider|provider registry|could not connect to registry|Failed to load plugin schemas|Failed to obtain provider schema|could not find executable file starting with terraform-provider/i;

function classify(err: unknown, doing: string): ApplierError {
  if (err instanceof ApplierError) return err;
  if (err instanceof TerraformFailure) {
    if (err.missingBinary)
      return new ApplierError('APPLY_PERMANENT', `${doing}: no terraform binary at ${err.args[0] ?? ''}`);
    if (PROVIDER_MISSING.test(err.output))
      return new ApplierError(
        'APPLY_PERMANENT',
        `${doing}: provider ${LIBVIRT_PROVIDER_SOURCE} unavailable (set provisioning.terraform.providerDir): ${err.message}`,
      );
    const transient = err.timedOut || TRANSIENT.test(err.output);
    return new ApplierError(transient ? 'APPLY_TRANSIENT' : 'APPLY_PERMANENT', `${doing}: ${err.message}`);
  }
  return new ApplierError('APPLY_TRANSIENT', `${doing}: ${String(err)}`);
}

/**
 * The plan with the domain's `running` set as the operation wants it. The compiler plans a
 * running VM; stop (and a resize of a stopped VM) apply the same plan with `running = false`.
 */
export function planWithRunning(plan: CompiledPlan, running: boolean): string {
  const json = structuredClone(plan.json) as {
    resource?: { libvirt_domain?: Record<string, { running?: boolean }> };
  };
  const domains = json.resource?.libvirt_domain ?? {};
  if (Object.keys(domains).length !== 1)
    throw new ApplierError('APPLY_PERMANENT', `plan ${plan.stackName} has no single libvirt_domain`);
  for (const d of Object.values(domains)) d.running = running;
  return canonicalJson(json);
}

/**
 * Applies compiled plans with the terraform (or tofu) CLI: one working directory and one state
 * per VM, `apply -auto-approve` for create, start, stop and resize, `destroy -auto-approve` for
 * destroy and compensation, outputs read back with `output -json`. Terraform reads the actual
 * state itself (refresh) and changes only what differs, so a retry converges.
 */
export class TerraformApplier implements Applier {
  private readonly terraform: string;
  private readonly timeoutMs: number;

  constructor(readonly config: TerraformApplierConfig) {
    this.terraform = config.terraformPath ?? 'terraform';
    this.timeoutMs = config.commandTimeoutMs ?? 600_000;
  }

  planInput(host: HostPlanInput): HostPlanInput {
    return hostWithSettings(this.config, host);
  }

  dirOf(stackName: string): string {
    return join(this.config.workDir, stackName);
  }

  async apply(plan: CompiledPlan, operation: VmOperation, vm: AppliedVm): Promise<ApplyResult> {
    const dir = this.dirOf(plan.stackName);
    try {
      if (operation === 'destroy') {
        await this.destroy(dir);
        return { status: 'destroyed', detail: `destroyed with terraform (${plan.stackName})`, addresses: [] };
      }
      const running =
        operation === 'stop'
          ? false
          : operation === 'resize'
            ? (await this.inspect(vm.vmId)).state !== 'stopped'
            : true;
      await this.ready(dir, planWithRunning(plan, running));
      await this.run(dir, ['apply', '-auto-approve', '-input=false', '-no-color', '-lock-timeout=30s']);
      const outputs = await this.outputs(dir);
      return {
        status: running ? 'running' : 'stopped',
        detail: `applied with terraform: domain ${outputs.domain_id ?? plan.stackName}`,
        addresses: [],
      };
    } catch (err) {
      throw classify(err, `terraform ${operation} ${plan.stackName}`);
    }
  }

  async compensate(plan: CompiledPlan): Promise<void> {
    try {
      await this.destroy(this.dirOf(plan.stackName));
    } catch (err) {
      throw classify(err, `terraform compensate ${plan.stackName}`);
    }
  }

  async inspect(vmId: string): Promise<ActualState> {
    const dir = this.dirOf(`dagger-${vmId}`);
    let state: { resources?: { type: string; instances?: { attributes?: { running?: boolean } }[] }[] };
    try {
      state = JSON.parse(await readFile(join(dir, 'terraform.tfstate'), 'utf8'));
    } catch {
      return { vmId, state: 'absent', addresses: [] };
    }
    const domain = state.resources?.find((r) => r.type === 'libvirt_domain')?.instances?.[0];
    if (!domain) return { vmId, state: 'absent', addresses: [] };
    return { vmId, state: domain.attributes?.running === false ? 'stopped' : 'running', addresses: [] };
  }

  /** Writes the plan and, without a provider override, installs the provider once. */
  private async ready(dir: string, planText: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'main.tf.json'), planText);
    if (this.config.providerDir === undefined)
      await this.run(dir, ['init', '-input=false', '-no-color', '-lock-timeout=30s']);
  }

  private async destroy(dir: string): Promise<void> {
    let hasState = true;
    try {
      await readFile(join(dir, 'terraform.tfstate'));
    } catch {
      hasState = false;
    }
    if (hasState)
      await this.run(dir, ['destroy', '-auto-approve', '-input=false', '-no-color', '-lock-timeout=30s']);
    await rm(dir, { recursive: true, force: true });
  }

  private async outputs(dir: string): Promise<Record<string, string>> {
    const raw = JSON.parse(await this.run(dir, ['output', '-json', '-no-color'])) as Record<
      string,
      { value: unknown }
    >;
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v.value)]));
  }

  private async cliConfig(dir: string): Promise<string | undefined> {
    if (this.config.providerDir === undefined) return undefined;
    const path = join(dir, '.terraformrc');
    const text = [
      'provider_installation {',
      '  dev_overrides {',
      `    ${JSON.stringify(LIBVIRT_PROVIDER_SOURCE)} = ${JSON.stringify(this.config.providerDir)}`,
      '  }',
      '  direct {}',
      '}',
      '',
    ].join('\n');
    await writeFile(path, text);
    return path;
  }

  private async run(dir: string, args: string[]): Promise<string> {
    const cliConfig = await this.cliConfig(dir);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      ...(cliConfig ? { TF_CLI_CONFIG_FILE: cliConfig } : {}),
    };
    return new Promise((resolve, reject) => {
      execFile(
        this.terraform,
        args,
        { cwd: dir, env, timeout: this.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          reject(
            new TerraformFailure(
              [this.terraform, ...args],
              `${stdout}\n${stderr}`,
              e.killed === true,
              e.code === 'ENOENT',
            ),
          );
        },
      );
    });
  }
}
