import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256, signerFromSecretKey } from '../../domain/crypto/index.js';
import { signPayload } from '../../domain/payloads/index.js';
import type { LedgerRecord } from '../../domain/processor/events.js';
import { type CompileBenchReport, runCompileBench } from '../../infra/bench-compile.js';
import { compilePlan } from '../../infra/plans/index.js';
import { openCommsBus } from '../bus/open.js';
import { type RunningNode, startNode } from '../node/launcher.js';
import { writeNetwork } from '../node/network-files.js';
import { type Applier, appliersFor, LibvirtApplier, type LibvirtSettings } from '../provisioning/index.js';

export interface ProvisionBenchOptions {
  /** VMs created at once in the second phase (the first creates one alone). */
  readonly vms: number;
  readonly nodes: number;
  /** First API port; node i listens on port + i. */
  readonly port: number;
  readonly libvirt: LibvirtSettings;
  /** Plans compiled for the compile figures. Default 1000 (after 200 warm-up). */
  readonly compiles?: number;
  /** Longest a phase may take before the bench gives up. Default 300 s. */
  readonly phaseTimeoutMs?: number;
  readonly onProgress?: (p: ProvisionProgress) => void;
}

export interface ProvisionProgress {
  readonly phase: string;
  readonly running: number;
  readonly total: number;
  readonly elapsedSec: number;
}

export interface Spread {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface PhaseReport {
  readonly vms: number;
  /** Hosts the VMs were placed on (the scheduler's best fit fills one host first). */
  readonly hosts: readonly string[];
  /** Consensus time from the create's VmOperationRequested to the VM's `running` in the ledger, s. */
  readonly consensusSec: Spread;
  /** Wall clock from the 202 to `running` on GET /v1/vms/:id (polled every 50 ms), s. */
  readonly wallSec: Spread;
  /** Consensus time from the create's VmOperationRequested to its `provisioning` report in the ledger, s. */
  readonly toProvisioningSec: Spread;
  /** Wall clock of the libvirt apply (the applier's create call), s. */
  readonly applySec: Spread;
  /** Wall clock from the first POST until every VM shows `running`, s. */
  readonly allRunningSec: number;
}

export interface ProvisionBenchReport {
  readonly benchmark: 'provision';
  readonly nodes: number;
  readonly libvirtUri: string;
  readonly domainType: 'kvm' | 'qemu';
  readonly vm: { readonly vcpus: 1; readonly memoryMiB: 64; readonly diskGiB: 1; readonly image: 'blank' };
  readonly cores: number;
  /** 1-minute load average at the start and the end: the figures are noisy on a shared machine. */
  readonly load: readonly [number, number];
  readonly compile: CompileBenchReport;
  readonly single: PhaseReport;
  readonly batch: PhaseReport;
  readonly targets: { readonly compileMs: 20; readonly createToRunningSec: 5 };
  /** Domains or volumes of this bench the ledger's destroy left behind and the bench removed. */
  readonly leftovers: number;
}

export class ProvisionBenchError extends Error {
  readonly code = 'PROVISION_BENCH_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionBenchError';
  }
}

const SPEC = { vcpus: 1, memoryMiB: 64, diskGiB: 1 } as const;
/** The genesis default quota is 16 VMs per account. */
const VMS_PER_TENANT = 10;

const spread = (xs: readonly number[]): Spread => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    mean: r(s.reduce((a, b) => a + b, 0) / s.length),
    p50: r(at(0.5)),
    p99: r(at(0.99)),
    max: r(s.at(-1)!),
  };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `dagger bench provision`: plan compile time per VM, then create -> running on a real libvirt for
 * one VM and for `vms` at once, on an in-process devnet whose hosts all point at `libvirt`. Every
 * VM is destroyed through the ledger afterwards; anything left is removed and counted.
 */
export async function runProvisionBench(opts: ProvisionBenchOptions): Promise<ProvisionBenchReport> {
  const loadStart = loadavg()[0]!;
  // Fails at once, with virsh's message, when the libvirt is not reachable.
  await new LibvirtApplier({ ...opts.libvirt, workDir: tmpdir() }).inspect('bench-probe');
  const compile = runCompileBench(opts.compiles ?? 1000, 200);
  const tag = `pb${Date.now().toString(36).slice(-6)}`;
  const dir = mkdtempSync(join(tmpdir(), 'dagger-bench-provision-'));
  const layout = writeNetwork(dir, {
    nodes: opts.nodes,
    network: `bench-provision-${tag}`,
    host: '127.0.0.1',
    port: opts.port,
    store: 'sqlite',
    bus: 'memory',
    libvirt: opts.libvirt,
  });
  const bus = openCommsBus('memory');
  const nodes: RunningNode[] = [];
  const created: string[] = [];
  const orderedAt = new Map<string, number>();
  const runningAt = new Map<string, number>();
  const provisioningAt = new Map<string, number>();
  const applyMs = new Map<string, number>();
  /** The configured appliers, with the create calls timed. */
  const timed = (config: (typeof layout.configs)[number]) => {
    const inner = appliersFor(config.provisioning, config.dataDir);
    return (host: Parameters<typeof inner>[0]): Applier => {
      const a = inner(host);
      const timedApplier: Applier = {
        ...(a.planInput ? { planInput: (h: Parameters<typeof inner>[0]) => a.planInput!(h) } : {}),
        compensate: (plan, vm) => a.compensate(plan, vm),
        inspect: (vmId) => a.inspect(vmId),
        async apply(plan, operation, vm) {
          const t0 = performance.now();
          const result = await a.apply(plan, operation, vm);
          if (operation === 'create') applyMs.set(vm.vmId, performance.now() - t0);
          return result;
        },
      };
      return timedApplier;
    };
  };
  const hostOf = new Map<string, string>();
  const createOf = new Map<string, string>();
  const timeoutMs = opts.phaseTimeoutMs ?? 300_000;
  let leftovers = 0;
  let report: Omit<ProvisionBenchReport, 'leftovers'>;
  try {
    for (const config of layout.configs)
      nodes.push(await startNode(config, { sharedBus: bus, applierFor: timed(config) }));
    nodes[0]!.runtime.onLedger((records: readonly LedgerRecord[]) => {
      for (const { event: e, at } of records) {
        if (e.type === 'VmOperationRequested' && e.operation === 'create') {
          orderedAt.set(e.vmId, at.consensusTimestamp);
          createOf.set(e.vmId, e.requestId);
          hostOf.set(e.vmId, e.hostId);
        } else if (e.type === 'VmStatusChanged' && createOf.get(e.vmId) === e.requestId) {
          if (e.status === 'running') runningAt.set(e.vmId, at.consensusTimestamp);
          if (e.status === 'provisioning') provisioningAt.set(e.vmId, at.consensusTimestamp);
        }
      }
    });
    const urls = nodes.map((n) => n.url);
    type Signer = ReturnType<typeof signerFromSecretKey>;
    const ownerOf = new Map<string, Signer>();
    let tenant: Signer | null = null;
    const post = async (
      url: string,
      payload: { type: string; vmId: string } & Record<string, unknown>,
    ): Promise<void> => {
      if (!ownerOf.has(payload.vmId)) {
        if (!tenant || ownerOf.size % VMS_PER_TENANT === 0)
          tenant = signerFromSecretKey(new Uint8Array(randomBytes(32)));
        ownerOf.set(payload.vmId, tenant);
      }
      const { envelope } = signPayload(
        { nonce: randomBytes(12).toString('base64url'), expiresAt: Date.now() + 600_000, ...payload },
        ownerOf.get(payload.vmId)!,
        sha256,
      );
      const res = await fetch(`${url}/v1/payloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(envelope),
      });
      if (res.status !== 202)
        throw new ProvisionBenchError(`POST ${payload.type} answered ${res.status}: ${await res.text()}`);
    };
    const vmOf = async (vmId: string): Promise<{ status: string; statusReason: string } | null> => {
      const res = await fetch(`${urls[0]}/v1/vms/${vmId}`);
      return res.ok ? ((await res.json()) as { status: string; statusReason: string }) : null;
    };

    const phase = async (label: string, count: number): Promise<PhaseReport> => {
      const ids = Array.from({ length: count }, (_, i) => `${tag}-${label}-${i}`);
      const started = performance.now();
      const accepted = new Map<string, number>();
      const running = new Map<string, number>();
      await Promise.all(
        ids.map(async (vmId, i) => {
          created.push(vmId);
          await post(urls[i % urls.length]!, { type: 'vm.create', vmId, name: vmId, ...SPEC });
          accepted.set(vmId, performance.now());
        }),
      );
      const deadline = started + timeoutMs;
      while (running.size < count) {
        if (performance.now() > deadline)
          throw new ProvisionBenchError(`${label}: ${running.size}/${count} running after ${timeoutMs} ms`);
        await Promise.all(
          ids
            // Not asked before the create is ordered: a 404 is logged by the API.
            .filter((id) => !running.has(id) && orderedAt.has(id))
            .map(async (vmId) => {
              const vm = await vmOf(vmId);
              if (vm?.status === 'running') running.set(vmId, performance.now());
              else if (vm && ['failed', 'blocked'].includes(vm.status))
                throw new ProvisionBenchError(`${vmId} is ${vm.status}: ${vm.statusReason}`);
            }),
        );
        opts.onProgress?.({
          phase: label,
          running: running.size,
          total: count,
          elapsedSec: (performance.now() - started) / 1000,
        });
        if (running.size < count) await sleep(50);
      }
      const allRunningSec = (Math.max(...running.values()) - started) / 1000;
      // The ledger listener may trail the API by a moment.
      while (ids.some((id) => !runningAt.has(id)) && performance.now() < deadline) await sleep(20);
      return {
        vms: count,
        hosts: [...new Set(ids.map((id) => hostOf.get(id) ?? '?'))].sort(),
        consensusSec: spread(ids.map((id) => (runningAt.get(id)! - orderedAt.get(id)!) / 1e6)),
        toProvisioningSec: spread(ids.map((id) => (provisioningAt.get(id)! - orderedAt.get(id)!) / 1e6)),
        applySec: spread(ids.map((id) => applyMs.get(id)! / 1000)),
        wallSec: spread(ids.map((id) => (running.get(id)! - accepted.get(id)!) / 1000)),
        allRunningSec: Math.round(allRunningSec * 1000) / 1000,
      };
    };

    const destroyAll = async (ids: readonly string[]) => {
      await Promise.all(ids.map((vmId, i) => post(urls[i % urls.length]!, { type: 'vm.destroy', vmId })));
      const deadline = performance.now() + timeoutMs;
      for (const vmId of ids)
        while ((await vmOf(vmId))?.status !== 'destroyed' && performance.now() < deadline) await sleep(100);
    };

    const single = await phase('one', 1);
    await destroyAll([...created]);
    const batch = await phase('batch', opts.vms);
    await destroyAll(created.slice(1));
    report = {
      benchmark: 'provision',
      nodes: opts.nodes,
      libvirtUri: opts.libvirt.uri,
      domainType: opts.libvirt.domainType,
      vm: { ...SPEC, image: 'blank' },
      cores: cpus().length,
      load: [Math.round(loadStart * 100) / 100, Math.round(loadavg()[0]! * 100) / 100],
      compile,
      single,
      batch,
      targets: { compileMs: 20, createToRunningSec: 5 },
    };
  } finally {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await bus.close();
    // Whatever the ledger did not destroy (a failure, a timeout) goes through the applier's compensate.
    const applier = new LibvirtApplier({ ...opts.libvirt, workDir: join(dir, 'sweep') });
    for (const vmId of created) {
      if ((await applier.inspect(vmId)).state === 'absent') continue;
      leftovers++;
      const vm = { vmId, name: vmId, image: 'blank', sshKeys: [], userData: null, ...SPEC };
      const host = applier.planInput({ hostId: 'host-0', libvirtUri: opts.libvirt.uri });
      await applier.compensate(compilePlan(vm, host), { ...vm, host });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...report, leftovers };
}

export function formatProvisionReport(r: ProvisionBenchReport): string {
  const s = (x: Spread) => `mean ${x.mean} / p50 ${x.p50} / p99 ${x.p99} / max ${x.max} s`;
  const phase = (p: PhaseReport) => [
    `  consensus create -> running   ${s(p.consensusSec)}`,
    `  wall 202 -> running (GET)     ${s(p.wallSec)}`,
    `  of which: ordered -> provisioning report ordered ${s(p.toProvisioningSec)}`,
    `            libvirt apply (wall)                   ${s(p.applySec)}`,
    `  all running after             ${p.allRunningSec} s, on ${p.hosts.join(', ')}`,
  ];
  return `${[
    `libvirt                 ${r.libvirtUri} (${r.domainType}), ${r.nodes} nodes in-process, ${r.cores} cores, load ${r.load.join(' -> ')}`,
    `plan compile per VM     mean ${r.compile.meanMs} / p99 ${r.compile.p99Ms} ms (${r.compile.count} plans; target ${r.targets.compileMs} ms)`,
    `one VM (${r.vm.memoryMiB} MiB, ${r.vm.diskGiB} GiB, blank)`,
    ...phase(r.single),
    `${r.batch.vms} VMs at once`,
    ...phase(r.batch),
    `target create -> running ${r.targets.createToRunningSec} s; leftovers removed after destroy: ${r.leftovers}`,
  ].join('\n')}\n`;
}
