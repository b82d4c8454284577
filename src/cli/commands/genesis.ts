import { Option, type Command } from 'commander';
import type { CliIo } from '../io.js';
import { intInRange, nonEmpty } from '../parse.js';
import {
  addLibvirtOptions,
  type LibvirtCliOptions,
  libvirtOf,
  withoutLibvirtFlags,
} from './libvirt-options.js';

interface GenesisCliOptions extends LibvirtCliOptions {
  readonly nodes: number;
  readonly out: string;
  readonly network: string;
  readonly host: string;
  readonly port: number;
  readonly store: 'sqlite' | 'postgres' | 'eventstoredb';
  readonly bus: 'memory' | 'kafka';
  readonly json?: boolean;
}

export function registerGenesis(program: Command, io: CliIo): void {
  const command = program
    .command('genesis')
    .description(
      'write node keys, per-node configs and a genesis file (members, stakes, quotas, consensus settings)',
    )
    .requiredOption('--nodes <n>', 'operators in the genesis (1..64)', intInRange(1, 64))
    .requiredOption('--out <dir>', 'directory to write; node i gets <dir>/node-<i>/', nonEmpty('--out'))
    .option('--network <name>', 'network name', nonEmpty('--network'), 'dagger-local')
    .option('--host <host>', 'API host of every node', nonEmpty('--host'), '127.0.0.1')
    .option('--port <port>', 'first API port; node i listens on port+i', intInRange(1, 65_535), 3000)
    .addOption(
      new Option('--store <store>', 'event store of the nodes')
        .choices(['sqlite', 'postgres', 'eventstoredb'])
        .default('sqlite'),
    )
    .addOption(
      new Option('--bus <bus>', 'comms bus of the nodes').choices(['memory', 'kafka']).default('kafka'),
    );
  addLibvirtOptions(command)
    .addHelpText(
      'after',
      '\nWith --libvirt-uri every host gets that URI and every node config applies plans to it;\n' +
        'without it nothing touches libvirt: VMs are reported blocked with their plan written.',
    )
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action(async (opts: GenesisCliOptions, cmd: Command) => {
      const libvirt = libvirtOf(opts);
      if (typeof libvirt === 'string') return cmd.error(`error: ${libvirt}`);
      const { writeNetwork } = await import('../../node/network-files.js');
      const { genesisHash, networkPrefix } = await import('../../node/genesis.js');
      const layout = writeNetwork(opts.out, { ...withoutLibvirtFlags(opts), ...libvirt });
      const summary = {
        genesis: `${opts.out}/genesis.json`,
        genesisHash: genesisHash(layout.genesis),
        prefix: networkPrefix(layout.genesis),
        configs: layout.configFiles,
        members: layout.keys.map((k) => k.publicKey),
      };
      if (opts.json) io.out(`${JSON.stringify(summary)}\n`);
      else
        io.out(
          `genesis ${summary.genesisHash} (prefix ${summary.prefix})\n` +
            summary.configs.map((c) => `  dagger node --config ${c}\n`).join(''),
        );
    });
}
