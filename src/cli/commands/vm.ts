import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { VmView } from '../../../projections/read-models.js';
import type { CliIo } from '../io.js';
import { intInRange, nonEmpty } from '../parse.js';
import {
  addApiOptions,
  addPageOptions,
  addSendOptions,
  type ApiCliOptions,
  CliFailure,
  client,
  collect,
  fetchList,
  loadSigner,
  type PageCliOptions,
  printJson,
  printList,
  runCommand,
  sendPayload,
  type SendCliOptions,
} from './api-common.js';
import { toHex } from '../../../domain/crypto/index.js';
import { REPORTED_STATUSES } from '../../../domain/payloads/schemas.js';

/** The processor names a VM created without --vm-id after its request: `vm-` + 16 hex of the payload id. */
const defaultVmId = (payloadId: string): string => `vm-${payloadId.slice(0, 16)}`;

const vcpus = intInRange(1, 128);
const memoryMiB = intInRange(64, 1_048_576);
const diskGiB = intInRange(1, 65_536);

interface CreateOptions extends SendCliOptions {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMib: number;
  readonly diskGib: number;
  readonly image?: string;
  readonly sshKey?: string[];
  readonly userDataFile?: string;
  readonly vmId?: string;
}

interface ResizeOptions extends SendCliOptions {
  readonly vcpus?: number;
  readonly memoryMib?: number;
  readonly diskGib?: number;
}

interface ReportOptions extends SendCliOptions {
  readonly requestId: string;
  readonly status: string;
  readonly detail?: string;
  readonly address?: string[];
}

interface ListOptions extends PageCliOptions {
  readonly owner?: string;
  readonly mine?: boolean;
  readonly key?: string;
  readonly hostId?: string;
}

function formatVm(v: VmView): string {
  return [
    v.vmId.padEnd(24),
    v.status.padEnd(12),
    (v.hostId ?? '-').padEnd(16),
    `${v.vcpus} vCPU ${v.memoryMiB} MiB ${v.diskGiB} GiB`.padEnd(28),
    v.name,
  ].join(' ');
}

export function registerVm(program: Command, io: CliIo): void {
  const vm = program.command('vm').description('create, change and inspect VMs through a node API');

  addSendOptions(
    vm
      .command('create')
      .description('sign and submit a vm.create request; prints {"payloadId","vmId"}')
      .requiredOption('--name <name>', 'VM name (1-63 of A-Z a-z 0-9 _ . -)', nonEmpty('--name'))
      .requiredOption('--vcpus <n>', 'virtual CPUs (1..128)', vcpus)
      .requiredOption('--memory-mib <m>', 'memory in MiB (64..1048576)', memoryMiB)
      .requiredOption('--disk-gib <d>', 'disk in GiB (1..65536)', diskGiB)
      .option('--image <image>', 'base image (default: blank)')
      .option('--ssh-key <key>', 'an authorized SSH public key; repeatable', collect)
      .option('--user-data-file <file>', 'cloud-init user data (at most 16 KiB)')
      .option('--vm-id <id>', 'choose the VM id (default: vm- + 16 hex of the payload id)'),
  ).action((opts: CreateOptions) =>
    runCommand(io, opts.json, async () => {
      let userData: string | undefined;
      if (opts.userDataFile !== undefined) {
        try {
          userData = readFileSync(opts.userDataFile, 'utf8');
        } catch (error) {
          throw new CliFailure('BAD_FILE', `cannot read ${opts.userDataFile}: ${(error as Error).message}`);
        }
      }
      await sendPayload(
        io,
        opts,
        {
          type: 'vm.create',
          name: opts.name,
          vcpus: opts.vcpus,
          memoryMiB: opts.memoryMib,
          diskGiB: opts.diskGib,
          ...(opts.image !== undefined ? { image: opts.image } : {}),
          ...(opts.sshKey !== undefined ? { sshKeys: opts.sshKey } : {}),
          ...(userData !== undefined ? { userData } : {}),
          ...(opts.vmId !== undefined ? { vmId: opts.vmId } : {}),
        },
        (payloadId) => ({ vmId: opts.vmId ?? defaultVmId(payloadId) }),
      );
    }),
  );

  addSendOptions(
    vm
      .command('resize')
      .description('sign and submit a vm.resize request (give at least one size)')
      .argument('<vmId>', 'the VM')
      .option('--vcpus <n>', 'virtual CPUs (1..128)', vcpus)
      .option('--memory-mib <m>', 'memory in MiB', memoryMiB)
      .option('--disk-gib <d>', 'disk in GiB', diskGiB),
  ).action((vmId: string, opts: ResizeOptions) =>
    runCommand(io, opts.json, async () => {
      if (opts.vcpus === undefined && opts.memoryMib === undefined && opts.diskGib === undefined)
        throw new CliFailure('BAD_ARGUMENTS', 'give at least one of --vcpus, --memory-mib, --disk-gib');
      await sendPayload(
        io,
        opts,
        {
          type: 'vm.resize',
          vmId,
          ...(opts.vcpus !== undefined ? { vcpus: opts.vcpus } : {}),
          ...(opts.memoryMib !== undefined ? { memoryMiB: opts.memoryMib } : {}),
          ...(opts.diskGib !== undefined ? { diskGiB: opts.diskGib } : {}),
        },
        () => ({ vmId }),
      );
    }),
  );

  for (const verb of ['stop', 'start', 'destroy'] as const)
    addSendOptions(
      vm.command(verb).description(`sign and submit a vm.${verb} request`).argument('<vmId>', 'the VM'),
    ).action((vmId: string, opts: SendCliOptions) =>
      runCommand(io, opts.json, () => sendPayload(io, opts, { type: `vm.${verb}`, vmId }, () => ({ vmId }))),
    );

  addSendOptions(
    vm
      .command('report')
      .description("an operator's report on the request it carried out (signed with the operator key)")
      .argument('<vmId>', 'the VM')
      .requiredOption('--request-id <id>', 'payload id of the request this report answers')
      .addOption(
        new Option('--status <status>', 'what became of the VM')
          .choices(REPORTED_STATUSES)
          .makeOptionMandatory(),
      )
      .option('--detail <text>', 'a short explanation')
      .option('--address <addr>', 'an address of the VM; repeatable', collect),
  ).action((vmId: string, opts: ReportOptions) =>
    runCommand(io, opts.json, () =>
      sendPayload(
        io,
        opts,
        {
          type: 'vm.report',
          vmId,
          requestId: opts.requestId,
          status: opts.status,
          ...(opts.detail !== undefined ? { detail: opts.detail } : {}),
          ...(opts.address !== undefined ? { addresses: opts.address } : {}),
        },
        () => ({ vmId }),
      ),
    ),
  );

  addApiOptions(vm.command('get').description('show one VM').argument('<vmId>', 'the VM')).action(
    (vmId: string, opts: ApiCliOptions) =>
      runCommand(io, opts.json, async () => {
        const v = await client(opts).vm(vmId);
        if (opts.json) printJson(io, v);
        else io.out(`${JSON.stringify(v, null, 2)}\n`);
      }),
  );

  addPageOptions(
    vm
      .command('list')
      .description('list VMs by id')
      .option('--owner <key>', 'only VMs of this public key (hex)')
      .option('--mine', 'only VMs of the key in --key')
      .option('--key <file>', 'key file (for --mine)')
      .option('--host-id <id>', 'only VMs on this host'),
  ).action((opts: ListOptions) =>
    runCommand(io, opts.json, async () => {
      let owner = opts.owner;
      if (opts.mine) {
        if (opts.key === undefined) throw new CliFailure('BAD_ARGUMENTS', '--mine needs --key FILE');
        owner = toHex(loadSigner(opts.key).publicKey);
      }
      const api = client(opts);
      const filter = {
        ...(owner !== undefined ? { owner } : {}),
        ...(opts.hostId !== undefined ? { hostId: opts.hostId } : {}),
      };
      const page = await fetchList(api, opts, (q) => api.vms({ ...filter, ...q }));
      printList(io, opts.json, page, formatVm);
      if (!opts.json && page.next !== undefined) io.err(`more: --after ${page.next}\n`);
    }),
  );
}
