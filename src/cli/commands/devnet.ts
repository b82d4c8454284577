import { statSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { NodeDevnetOptions } from '../../devnet/node-devnet.js';
import type { CliIo } from '../io.js';
import { intInRange, nonEmpty } from '../parse.js';
import {
  addLibvirtOptions,
  type LibvirtCliOptions,
  libvirtOf,
  withoutLibvirtFlags,
} from './libvirt-options.js';

export interface DevnetCliOptions extends Omit<NodeDevnetOptions, 'libvirt'>, LibvirtCliOptions {}

/** The devnet's options, or what is wrong with them; libvirt settings from the flags, then DAGGER_LIBVIRT_*. */
export function devnetOptionsOf(
  opts: DevnetCliOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): NodeDevnetOptions | string {
  const libvirt = libvirtOf(opts, env);
  return typeof libvirt === 'string' ? libvirt : { ...withoutLibvirtFlags(opts), ...libvirt };
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100_000)
    throw new InvalidArgumentError('expected a number from 0 to 100000.');
  return n;
}

/** Checks what commander's per-option parsers cannot: combinations and what is not available yet. */
export function validateDevnetOptions(opts: DevnetCliOptions): string | null {
  if (opts.port + opts.nodes - 1 > 65_535)
    return `--port ${opts.port} with --nodes ${opts.nodes} needs ports up to ${opts.port + opts.nodes - 1}, above 65535.`;
  if (opts.store === 'eventstoredb' && !process.env.EVENTSTORE_URL)
    return '--store eventstoredb needs EVENTSTORE_URL (e.g. esdb://127.0.0.1:2113?tls=false).';
  try {
    if (!statSync(opts.data).isDirectory()) return `--data ${opts.data} exists and is not a directory.`;
  } catch {
    // Absent is fine: the node runtime creates it.
  }
  return null;
}

export function registerDevnet(program: Command, io: CliIo): void {
  const command = program
    .command('devnet')
    .description('run a local network of N nodes with a live view (until Ctrl-C)')
    .option('--nodes <n>', 'members (1..64)', intInRange(1, 64), 4)
    .option('--port <port>', 'first API port; node i listens on port+i (*)', intInRange(1, 65_535), 3000)
    .option('--data <dir>', 'data directory; node i keeps <dir>/node-<i>/ (*)', nonEmpty('--data'), './data')
    .addOption(
      new Option('--bus <bus>', 'comms bus: in-process, or Kafka at DAGGER_KAFKA_BROKERS')
        .choices(['memory', 'kafka'])
        .default('memory'),
    )
    .addOption(
      new Option(
        '--store <store>',
        'event store: SQLite files, PostgreSQL at DAGGER_PG_URL, or EVENTSTORE_URL',
      )
        .choices(['sqlite', 'postgres', 'eventstoredb'])
        .default('sqlite'),
    )
    .option(
      '--rate <r>',
      'synthetic signed vm.create requests per second from throwaway tenants (0: none)',
      nonNegative,
      5,
    );
  addLibvirtOptions(command)
    .addHelpText(
      'after',
      '\nThe network in --data is reused when it exists, so a restart continues the same ledger.\n' +
        'Without --libvirt-uri nothing touches libvirt: VMs are reported blocked with their plan written.\n' +
        'With it, --rate defaults to 0 (every synthetic request would boot a real VM).',
    )
    .action(async (cli: DevnetCliOptions, cmd: Command) => {
      const problem = validateDevnetOptions(cli);
      if (problem) cmd.error(`error: ${problem}`);
      const opts = devnetOptionsOf(
        cli.libvirtUri !== undefined && cmd.getOptionValueSource('rate') === 'default'
          ? { ...cli, rate: 0 }
          : cli,
      );
      if (typeof opts === 'string') return cmd.error(`error: ${opts}`);
      const { runNodeDevnet, DevnetError } = await import('../../devnet/node-devnet.js');
      const summary = await runNodeDevnet(
        opts,
        { tty: io.stderrIsTTY, write: (t) => io.err(t) },
        io.interrupted(),
      ).catch((err: unknown) => {
        if (err instanceof DevnetError) cmd.error(`error: ${err.message}`);
        throw err;
      });
      const decided = summary.heads.map((h) => h.lastDecidedRound).join(',');
      io.err(
        `devnet stopped after ${summary.seconds.toFixed(1)} s: decided rounds [${decided}], ` +
          `${summary.agree ? 'all nodes agree' : 'NODES DISAGREE'}\n`,
      );
      if (!summary.agree) io.setExitCode(1);
    });
}
