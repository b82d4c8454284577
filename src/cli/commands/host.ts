import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { intInRange, nonEmpty } from '../parse.js';
import {
  addApiOptions,
  addSendOptions,
  type ApiCliOptions,
  CliFailure,
  client,
  fetchList,
  printList,
  runCommand,
  sendPayload,
  type SendCliOptions,
} from './api-common.js';

interface HostOptions extends SendCliOptions {
  readonly libvirtUri?: string;
  readonly vcpus?: number;
  readonly memoryMib?: number;
  readonly diskGib?: number;
}

const vcpus = intInRange(0, 1_000_000);
const memoryMiB = intInRange(0, 1_000_000_000);
const diskGiB = intInRange(0, 1_000_000_000);

function capacityOf(opts: HostOptions): { vcpus: number; memoryMiB: number; diskGiB: number } | undefined {
  const given = [opts.vcpus, opts.memoryMib, opts.diskGib].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3)
    throw new CliFailure('BAD_ARGUMENTS', 'capacity needs all of --vcpus, --memory-mib, --disk-gib');
  return { vcpus: opts.vcpus!, memoryMiB: opts.memoryMib!, diskGiB: opts.diskGib! };
}

export function registerHost(program: Command, io: CliIo): void {
  const host = program
    .command('host')
    .description("an operator's libvirt hosts: register, update, drain, list");

  addSendOptions(
    host
      .command('register')
      .description('register a host of the operator in --key')
      .argument('<hostId>', 'host id (1-63 of a-z 0-9 -)')
      .requiredOption('--libvirt-uri <uri>', 'libvirt connection URI', nonEmpty('--libvirt-uri'))
      .requiredOption('--vcpus <n>', 'vCPUs offered', vcpus)
      .requiredOption('--memory-mib <m>', 'memory offered in MiB', memoryMiB)
      .requiredOption('--disk-gib <d>', 'disk offered in GiB', diskGiB),
  ).action((hostId: string, opts: HostOptions) =>
    runCommand(io, opts.json, () =>
      sendPayload(
        io,
        opts,
        { type: 'host.register', hostId, libvirtUri: opts.libvirtUri!, capacity: capacityOf(opts)! },
        () => ({ hostId }),
      ),
    ),
  );

  addSendOptions(
    host
      .command('update')
      .description("change a host's libvirt URI or capacity")
      .argument('<hostId>', 'the host')
      .option('--libvirt-uri <uri>', 'libvirt connection URI', nonEmpty('--libvirt-uri'))
      .option('--vcpus <n>', 'vCPUs offered', vcpus)
      .option('--memory-mib <m>', 'memory offered in MiB', memoryMiB)
      .option('--disk-gib <d>', 'disk offered in GiB', diskGiB),
  ).action((hostId: string, opts: HostOptions) =>
    runCommand(io, opts.json, async () => {
      const capacity = capacityOf(opts);
      if (capacity === undefined && opts.libvirtUri === undefined)
        throw new CliFailure('BAD_ARGUMENTS', 'give --libvirt-uri or the capacity');
      await sendPayload(
        io,
        opts,
        {
          type: 'host.update',
          hostId,
          ...(opts.libvirtUri !== undefined ? { libvirtUri: opts.libvirtUri } : {}),
          ...(capacity !== undefined ? { capacity } : {}),
        },
        () => ({ hostId }),
      );
    }),
  );

  addSendOptions(
    host.command('drain').description('stop scheduling new VMs on a host').argument('<hostId>', 'the host'),
  ).action((hostId: string, opts: SendCliOptions) =>
    runCommand(io, opts.json, () =>
      sendPayload(io, opts, { type: 'host.drain', hostId }, () => ({ hostId })),
    ),
  );

  addApiOptions(host.command('list').description('list hosts').option('--all', 'every page')).action(
    (opts: ApiCliOptions & { all?: boolean }) =>
      runCommand(io, opts.json, async () => {
        const api = client(opts);
        printList(
          io,
          opts.json,
          await fetchList(api, opts, (q) => api.hosts(q)),
          (h) =>
            `${h.hostId.padEnd(20)} ${h.draining ? 'draining' : 'active  '} ` +
            `${h.used.vcpus}/${h.capacity.vcpus} vCPU ${h.used.memoryMiB}/${h.capacity.memoryMiB} MiB ` +
            `${h.used.diskGiB}/${h.capacity.diskGiB} GiB ${h.libvirtUri}`,
        );
      }),
  );
}
