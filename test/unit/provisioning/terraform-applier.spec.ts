import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePlan, type HostPlanInput, type VmPlanInput } from '../../../infra/plans/index.js';
import {
  ApplierError,
  appliersFor,
  LibvirtApplier,
  PlanOnlyApplier,
  planWithRunning,
  TerraformApplier,
} from '../../../src/provisioning/index.js';

const host: HostPlanInput = { hostId: 'host-a', libvirtUri: 'qemu:///system' };
const vm: VmPlanInput = {
  vmId: 'vm-tf',
  name: 'tf',
  vcpus: 1,
  memoryMiB: 128,
  diskGiB: 1,
  image: 'blank',
  sshKeys: [],
  userData: null,
};
const plan = compilePlan(vm, host);
const applied = { ...vm, host };
const settings = {
  uri: 'qemu:///system',
  pool: 'dagger',
  poolPath: '/srv/pool',
  network: 'default',
  domainType: 'qemu' as const,
};

/** The terraform binary on PATH, if any: the tests that run it say which one they used. */
function terraformOnPath(): string | null {
  try {
    execFileSync('terraform', ['version'], { stdio: 'ignore', timeout: 20_000 });
    return 'terraform';
  } catch {
    return null;
  }
}

async function applyError(applier: TerraformApplier): Promise<ApplierError> {
  const err = await applier.apply(plan, 'create', applied).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplierError);
  return err as ApplierError;
}

describe('TerraformApplier', () => {
  test('planWithRunning changes only the domain running flag', () => {
    const stopped = JSON.parse(planWithRunning(plan, false));
    const running = JSON.parse(planWithRunning(plan, true));
    const domain = (p: { resource: { libvirt_domain: Record<string, { running: boolean }> } }) =>
      Object.values(p.resource.libvirt_domain)[0]!;
    expect(domain(stopped).running).toBe(false);
    expect(domain(running).running).toBe(true);
    domain(stopped).running = true;
    expect(stopped).toEqual(plan.json);
  });

  test('a missing terraform binary is a permanent error that names it', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'dagger-tf-'));
    const applier = new TerraformApplier({
      ...settings,
      workDir,
      terraformPath: join(workDir, 'no-terraform'),
    });
    const err = await applyError(applier);
    expect(err.code).toBe('APPLY_PERMANENT');
    expect(err.message).toContain('no terraform binary');
  });

  test('with the real terraform and a provider directory without the provider: permanent, plan and overrides written', async () => {
    const terraform = terraformOnPath();
    if (terraform === null) {
      // No binary on this machine: the same call must then fail as a missing binary, never pass.
      console.warn('terraform is not on PATH: checking the missing-binary path instead of the provider path');
    }
    const workDir = mkdtempSync(join(tmpdir(), 'dagger-tf-'));
    const providerDir = join(workDir, 'providers');
    mkdirSync(providerDir);
    const applier = new TerraformApplier({ ...settings, workDir, providerDir });
    const err = await applyError(applier);
    expect(err.code).toBe('APPLY_PERMANENT');
    expect(err.message).toContain(
      terraform === null ? 'no terraform binary' : 'provider dmacvicar/libvirt unavailable',
    );
    const dir = applier.dirOf(plan.stackName);
    expect(readFileSync(join(dir, 'main.tf.json'), 'utf8')).toBe(planWithRunning(plan, true));
    expect(readFileSync(join(dir, '.terraformrc'), 'utf8')).toContain(
      `"dmacvicar/libvirt" = ${JSON.stringify(providerDir)}`,
    );
  });

  test('inspect reads the VM state file; destroy without a state removes the directory', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'dagger-tf-'));
    const applier = new TerraformApplier({
      ...settings,
      workDir,
      terraformPath: join(workDir, 'no-terraform'),
    });
    expect((await applier.inspect('vm-tf')).state).toBe('absent');
    const dir = applier.dirOf('dagger-vm-tf');
    mkdirSync(dir, { recursive: true });
    const state = (running: boolean) =>
      JSON.stringify({ resources: [{ type: 'libvirt_domain', instances: [{ attributes: { running } }] }] });
    writeFileSync(join(dir, 'terraform.tfstate'), state(false));
    expect((await applier.inspect('vm-tf')).state).toBe('stopped');
    writeFileSync(join(dir, 'terraform.tfstate'), state(true));
    expect((await applier.inspect('vm-tf')).state).toBe('running');
    writeFileSync(join(dir, 'terraform.tfstate'), JSON.stringify({ resources: [] }));
    expect((await applier.inspect('vm-tf')).state).toBe('absent');
    const result = await applier.apply(plan, 'destroy', applied).catch((e: unknown) => e);
    // A state file exists, so destroy must run the (missing) binary and fail permanently.
    expect(result).toBeInstanceOf(ApplierError);
    expect(existsSync(dir)).toBe(true);
    const unlinked = join(workDir, 'dagger-vm-other');
    mkdirSync(unlinked);
    const other = compilePlan({ ...vm, vmId: 'vm-other' }, host);
    expect((await applier.apply(other, 'destroy', { ...applied, vmId: 'vm-other' })).status).toBe(
      'destroyed',
    );
    expect(existsSync(unlinked)).toBe(false);
  });

  test('appliersFor: provisioning.terraform takes precedence over libvirt; a host without a URI stays plan-only', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dagger-tf-'));
    const both = appliersFor({ terraform: { providerDir: '/opt/p' }, libvirt: {} }, dataDir);
    const tf = both(host);
    expect(tf).toBeInstanceOf(TerraformApplier);
    expect((tf as TerraformApplier).config.workDir).toBe(join(dataDir, 'terraform'));
    expect((tf as TerraformApplier).config.providerDir).toBe('/opt/p');
    expect(both({ ...host, libvirtUri: 'none' })).toBeInstanceOf(PlanOnlyApplier);
    expect(appliersFor({ libvirt: {} }, dataDir)(host)).toBeInstanceOf(LibvirtApplier);
  });
});
