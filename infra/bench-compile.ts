/**
 * Plan compile time per VM: `npx tsx infra/bench-compile.ts [--count 1000] [--warmup 200]`, or
 * `runCompileBench` (used by `dagger bench provision`). Each compile is a fresh stack for a
 * different VM (blank and named images, keys, user data); mean, p50, p99 and max in milliseconds.
 */
import { pathToFileURL } from 'node:url';
import { compilePlan, type HostPlanInput, type VmPlanInput } from './plans/index.js';

export interface CompileBenchReport {
  readonly benchmark: 'plan-compile';
  readonly count: number;
  readonly warmup: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly targetMs: 20;
  readonly meanPlanBytes: number;
  readonly node: string;
}

const host: HostPlanInput = { hostId: 'bench-host', libvirtUri: 'qemu:///system' };
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyBenchKeyBenchKeyBenchKeyBenchKey bench@example';

function vm(i: number): VmPlanInput {
  return {
    vmId: `vm-${i.toString(16).padStart(8, '0')}`,
    name: `bench-${i}`,
    vcpus: 1 + (i % 8),
    memoryMiB: 512 * (1 + (i % 4)),
    diskGiB: 10 + (i % 50),
    image: i % 2 === 0 ? 'blank' : 'debian-12',
    sshKeys: i % 3 === 0 ? [] : [key],
    userData: i % 4 === 0 ? null : `#cloud-config\nhostname: bench-${i}\n`,
  };
}

export function runCompileBench(count = 1000, warmup = 200): CompileBenchReport {
  let bytes = 0;
  for (let i = 0; i < warmup; i++) bytes += compilePlan(vm(i), host).text.length;
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const input = vm(warmup + i);
    const t0 = performance.now();
    const plan = compilePlan(input, host);
    ms.push(performance.now() - t0);
    bytes += plan.text.length;
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)]!;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    benchmark: 'plan-compile',
    count,
    warmup,
    meanMs: round(ms.reduce((a, b) => a + b, 0) / ms.length),
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(ms[ms.length - 1]!),
    targetMs: 20,
    meanPlanBytes: Math.round(bytes / (count + warmup)),
    node: process.version,
  };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  console.log(JSON.stringify(runCompileBench(arg('count', 1000), arg('warmup', 200))));
