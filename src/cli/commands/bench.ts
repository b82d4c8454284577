import { Option, type Command } from 'commander';
import type { BenchProgress, BenchReport } from '../../bench/consensus.js';
import type { StoreBenchCliOptions, StoreBenchProgress } from '../../bench/store.js';
import type { CliIo } from '../io.js';
import { intInRange, positiveNumber } from '../parse.js';

export interface BenchCliOptions {
  readonly nodes: number;
  readonly payloads: number;
  readonly mode: 'consensus' | 'end-to-end';
  readonly rate?: number;
  readonly duration?: number;
  readonly json?: boolean;
}

export function formatBenchReport(r: BenchReport): string {
  const ms = (x: number | null): string => (x === null ? '-' : `${x} ms`);
  const lines = [
    `mode                   ${r.mode}`,
    `nodes                  ${r.nodes}`,
    `cores                  ${r.cores}`,
    `payloads               ${r.payloads} (ordered by every node)`,
    `payloads/s             ${r.payloadsPerSec}`,
    `finality p50 / p99     ${ms(r.finalityMs.p50)} / ${ms(r.finalityMs.p99)}`,
    `verify/s per core      ${r.verifyPerSecPerCore} (${r.mode === 'end-to-end' ? 'payload envelopes' : 'event signatures'})`,
    `bound payloads/s       ${r.boundPayloadsPerSec ?? '-'}`,
    `ratio to bound         ${r.ratioToBound ?? '-'}`,
    `RSS start / end / peak ${r.rssStartMiB} / ${r.rssEndMiB} / ${r.peakRssMiB} MiB`,
  ];
  return `${lines.join('\n')}\n`;
}

function progressLine(p: BenchProgress): string {
  const of = p.target !== null ? `/${p.target}` : '';
  const time =
    p.durationSec !== null ? `${p.elapsedSec.toFixed(1)}/${p.durationSec}s` : `${p.elapsedSec.toFixed(1)}s`;
  return `bench ${time} | submitted ${p.submitted} | ordered by all ${p.finalized}${of} | ${Math.round(p.recentPerSec)} payloads/s | rss ${p.rssMiB} MiB`;
}

export function registerBench(program: Command, io: CliIo): void {
  const bench = program.command('bench').description('benchmarks');
  bench
    .command('cluster')
    .description(
      'order 256-byte payloads on N real nodes (processes on Kafka, in-process on memory) and report throughput and finality',
    )
    .option('--nodes <n>', 'nodes (2..16)', intInRange(2, 16), 4)
    .addOption(new Option('--bus <bus>', 'comms bus').choices(['memory', 'kafka']).default('kafka'))
    .addOption(
      new Option('--store <store>', 'event store').choices(['sqlite', 'postgres']).default('postgres'),
    )
    .option('--payloads <p>', 'payloads to order on every node', intInRange(1, 10_000_000), 50_000)
    .option(
      '--rate <r>',
      'open-loop arrival rate in payloads/s (default: as fast as the bus takes them)',
      positiveNumber(1e9),
    )
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action(
      async (opts: {
        nodes: number;
        bus: 'memory' | 'kafka';
        store: 'sqlite' | 'postgres';
        payloads: number;
        rate?: number;
        json?: boolean;
      }) => {
        const { runClusterBench } = await import('../../bench/cluster.js');
        const tty = io.stderrIsTTY;
        const report = await runClusterBench({
          nodes: opts.nodes,
          bus: opts.bus,
          store: opts.store,
          payloads: opts.payloads,
          rate: opts.rate ?? 0,
          ...(tty
            ? {
                onProgress: (done: number, total: number) =>
                  io.err(`\r\x1b[2Kordered on every node: ${done}/${total}`),
              }
            : {}),
        });
        if (tty) io.err('\r\x1b[2K');
        io.out(opts.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
      },
    );
  bench
    .command('consensus')
    .description('order 256-byte payloads on N in-process nodes and report throughput, finality and memory')
    // The bench measures gossip and voting between members, so it needs at least two.
    .option('--nodes <n>', 'members (2..64)', intInRange(2, 64), 4)
    .option('--payloads <p>', 'payloads to order on every node', intInRange(1, 100_000_000), 100_000)
    .addOption(
      new Option(
        '--mode <mode>',
        'consensus: opaque payloads, event signatures verified; end-to-end: every node verifies every payload signature',
      )
        .choices(['consensus', 'end-to-end'])
        .default('consensus'),
    )
    .option(
      '--rate <r>',
      'open-loop arrival rate in payloads/s (default: as fast as intake takes them)',
      positiveNumber(1e9),
    )
    .option('--duration <s>', 'run for S seconds instead of --payloads', positiveNumber(86_400))
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action(async (opts: BenchCliOptions) => {
      const { runConsensusBench } = await import('../../bench/consensus.js');
      const tty = io.stderrIsTTY;
      const report = await runConsensusBench({
        mode: opts.mode,
        nodes: opts.nodes,
        payloads: opts.payloads,
        ...(opts.duration !== undefined ? { durationSec: opts.duration } : {}),
        ...(opts.rate !== undefined ? { rate: opts.rate } : {}),
        ...(tty ? { onProgress: (p: BenchProgress) => io.err(`\r\x1b[2K${progressLine(p)}`) } : {}),
      });
      if (tty) io.err('\r\x1b[2K');
      io.out(opts.json ? `${JSON.stringify(report)}\n` : formatBenchReport(report));
    });
  bench
    .command('api')
    .description(
      "one node's HTTP intake in-process (SQLite outbox): POST pre-signed envelopes with C keep-alive clients",
    )
    .addOption(
      new Option(
        '--target <target>',
        'intake: the API with a publisher that only counts; one-node: a one-node network behind it (reports projection lag)',
      )
        .choices(['intake', 'one-node'])
        .default('intake'),
    )
    .option('--payloads <n>', 'envelopes to POST', intInRange(1, 10_000_000), 20_000)
    .option('--concurrency <c>', 'concurrent keep-alive clients', intInRange(1, 10_000), 64)
    .option('--signers <s>', 'distinct signing keys', intInRange(1, 100_000), 64)
    .option(
      '--judge-threads <t>',
      'worker threads judging bodies (0: on the event loop)',
      intInRange(0, 64),
      1,
    )
    .addOption(
      new Option('--store <store>', 'outbox store: a SQLite file (durable) or SQLite in memory (no fsync)')
        .choices(['sqlite', 'sqlite-memory'])
        .default('sqlite'),
    )
    .addOption(
      new Option(
        '--outbox-writer <where>',
        'intake: the outbox appends in a SQLite writer thread or on the event loop',
      )
        .choices(['thread', 'inline'])
        .default('thread'),
    )
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action(
      async (opts: {
        payloads: number;
        concurrency: number;
        signers: number;
        judgeThreads: number;
        store: 'sqlite' | 'sqlite-memory';
        target: 'intake' | 'one-node';
        outboxWriter: 'thread' | 'inline';
        json?: boolean;
      }) => {
        const { runApiBench } = await import('../../bench/api.js');
        const tty = io.stderrIsTTY;
        const report = await runApiBench({
          target: opts.target,
          outboxWriter: opts.outboxWriter,
          payloads: opts.payloads,
          concurrency: opts.concurrency,
          signers: opts.signers,
          store: opts.store,
          judgeThreads: opts.judgeThreads,
          ...(tty
            ? { onProgress: (done: number, total: number) => io.err(`\r\x1b[2Kposted ${done}/${total}`) }
            : {}),
        });
        if (tty) io.err('\r\x1b[2K');
        io.out(opts.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
      },
    );
  bench
    .command('store')
    .description('append events in batches to a fresh event store, then read them back with readAll')
    .addOption(
      new Option('--store <kind>', 'sqlite: a temporary file; postgres: a fresh schema at DAGGER_PG_URL')
        .choices(['sqlite', 'postgres'])
        .default('sqlite'),
    )
    .option('--events <n>', 'events to append', intInRange(1, 100_000_000), 100_000)
    .option('--batch <b>', 'events per append', intInRange(1, 100_000), 1000)
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action(async (opts: StoreBenchCliOptions) => {
      const { runStoreBench, formatStoreBenchReport, storeProgressLine } =
        await import('../../bench/store.js');
      const tty = io.stderrIsTTY;
      const report = await runStoreBench({
        store: opts.store,
        events: opts.events,
        batch: opts.batch,
        ...(tty ? { onProgress: (p: StoreBenchProgress) => io.err(`\r\x1b[2K${storeProgressLine(p)}`) } : {}),
      });
      if (tty) io.err('\r\x1b[2K');
      io.out(opts.json ? `${JSON.stringify(report)}\n` : formatStoreBenchReport(report));
    });
  bench
    .command('provision')
    .description(
      'plan compile time per VM, then create -> running on a real libvirt: one VM, then --vms at once on one host',
    )
    .option('--vms <n>', 'VMs created at once (64 MiB, 1 GiB, blank disk)', intInRange(1, 100), 20)
    .option('--nodes <n>', 'in-process nodes (memory bus, SQLite)', intInRange(1, 16), 4)
    .option('--port <port>', 'first API port; node i listens on port+i', intInRange(1, 65_535), 31_500)
    .option('--libvirt-uri <uri>', 'libvirt to run the VMs on (DAGGER_LIBVIRT_URI, default qemu:///system)')
    .option('--libvirt-pool <name>', 'storage pool (DAGGER_LIBVIRT_POOL, default dagger)')
    .option('--libvirt-network <name>', 'VM network (DAGGER_LIBVIRT_NETWORK, default default)')
    .addOption(
      new Option('--libvirt-domain-type <type>', 'kvm or qemu (DAGGER_LIBVIRT_DOMAIN_TYPE)').choices([
        'kvm',
        'qemu',
      ]),
    )
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action(
      async (
        opts: {
          vms: number;
          nodes: number;
          port: number;
          libvirtUri?: string;
          libvirtPool?: string;
          libvirtNetwork?: string;
          libvirtDomainType?: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const { libvirtSettings, LibvirtSettingsError } = await import('../../devnet/libvirt-settings.js');
        const { libvirtDefaults } = await import('../../provisioning/index.js');
        let libvirt;
        try {
          libvirt = libvirtSettings(opts.libvirtUri ?? libvirtDefaults().uri, {
            pool: opts.libvirtPool,
            network: opts.libvirtNetwork,
            domainType: opts.libvirtDomainType,
          });
        } catch (err) {
          if (err instanceof LibvirtSettingsError) return cmd.error(`error: ${err.message}`);
          throw err;
        }
        const { runProvisionBench, formatProvisionReport } = await import('../../bench/provision.js');
        const tty = io.stderrIsTTY;
        const report = await runProvisionBench({
          vms: opts.vms,
          nodes: opts.nodes,
          port: opts.port,
          libvirt,
          ...(tty
            ? {
                onProgress: (p: { phase: string; running: number; total: number; elapsedSec: number }) =>
                  io.err(
                    `\r\x1b[2K${p.phase}: running ${p.running}/${p.total} after ${p.elapsedSec.toFixed(1)} s`,
                  ),
              }
            : {}),
        });
        if (tty) io.err('\r\x1b[2K');
        io.out(opts.json ? `${JSON.stringify(report)}\n` : formatProvisionReport(report));
      },
    );
}
