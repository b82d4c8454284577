import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { CliIo } from '../io.js';
import { intInRange, nonEmpty, positiveNumber } from '../parse.js';

export interface DevnetCliOptions {
  readonly nodes: number;
  readonly port: number;
  readonly data: string;
  readonly bus: 'memory' | 'kafka';
  readonly store: 'sqlite' | 'postgres' | 'eventstoredb';
  readonly rate: number;
  readonly seed: string;
}

/** Checks what commander's per-option parsers cannot: combinations and what is not available yet. */
export function validateDevnetOptions(opts: DevnetCliOptions): string | null {
  if (opts.port + opts.nodes - 1 > 65_535)
    return `--port ${opts.port} with --nodes ${opts.nodes} needs ports up to ${opts.port + opts.nodes - 1}, above 65535.`;
  if (opts.bus !== 'memory')
    return `--bus ${opts.bus} is not available yet: the Kafka bus arrives with the node runtime. Use --bus memory.`;
  if (opts.store !== 'sqlite')
    return `--store ${opts.store} is not available yet: it arrives with the node runtime. Use --store sqlite.`;
  try {
    if (!statSync(opts.data).isDirectory()) return `--data ${opts.data} exists and is not a directory.`;
  } catch {
    // Absent is fine: the node runtime creates it.
  }
  return null;
}

export function registerDevnet(program: Command, io: CliIo): void {
  program
    .command('devnet')
    .description('run a local network of N nodes with a live view (until Ctrl-C)')
    .option('--nodes <n>', 'members (1..64)', intInRange(1, 64), 4)
    .option('--port <port>', 'first API port; node i listens on port+i (*)', intInRange(1, 65_535), 3000)
    .option('--data <dir>', 'data directory; node i keeps <dir>/node-<i>/ (*)', nonEmpty('--data'), './data')
    .addOption(
      new Option('--bus <bus>', 'comms bus (*); only memory for now')
        .choices(['memory', 'kafka'])
        .default('memory'),
    )
    .addOption(
      new Option('--store <store>', 'event store (*); only sqlite for now')
        .choices(['sqlite', 'postgres', 'eventstoredb'])
        .default('sqlite'),
    )
    .option('--rate <r>', 'synthetic payloads per second across the network', positiveNumber(100_000), 20)
    .option('--seed <seed>', 'network seed the member keys derive from', nonEmpty('--seed'), 'dagger-devnet')
    .addHelpText(
      'after',
      '\n(*) Accepted and validated now; they take effect when the node runtime lands. Until then the\n' +
        'devnet runs the members in this process over an in-memory transport, and keeps nothing on disk.',
    )
    .action(async (opts: DevnetCliOptions, cmd: Command) => {
      const problem = validateDevnetOptions(opts);
      if (problem) cmd.error(`error: ${problem}`);
      const { runDevnet } = await import('../../devnet/devnet.js');
      const summary = await runDevnet(
        { ...opts, bus: 'memory', store: 'sqlite' },
        { tty: io.stderrIsTTY, write: (t) => io.err(t) },
        io.interrupted(),
      );
      const decided = summary.stats.map((s) => s.lastDecidedRound).join(',');
      io.err(
        `devnet stopped after ${summary.seconds.toFixed(1)} s: decided rounds [${decided}], ` +
          `${summary.agreementIndex} events in common order, ${summary.agree ? 'all nodes agree' : 'NODES DISAGREE'}\n`,
      );
      if (!summary.agree && summary.agreementIndex > 0) io.setExitCode(1);
    });
}
