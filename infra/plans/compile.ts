import { newStack, synthesize, TerraformOutput, type TerraformJson } from './cdk.js';
import { BLANK_IMAGE, checkVm, type HostPlanInput, resolveHost, type VmPlanInput } from './input.js';
import { LibvirtCloudinitDisk, LibvirtDomain, LibvirtProvider, LibvirtVolume } from './libvirt.js';

export interface CompiledPlan {
  /** `dagger-<vmId>`: the stack, the domain and the prefix of every volume it creates. */
  readonly stackName: string;
  readonly json: TerraformJson;
  /** `json` as canonical text: keys sorted, two-space indent, a final newline. */
  readonly text: string;
}

const GiB = 1024 * 1024 * 1024;

/**
 * One VM on one host → one Terraform stack. Pure and deterministic: no clock, no randomness,
 * no I/O; the same input gives the same bytes. Throws PlanError on input the vm.create rules
 * would refuse.
 *
 * The stack holds: the root volume `dagger-<vmId>-root` (qcow2; empty for image `blank`, else an
 * overlay on the base image volume named `<image>` in the host's pool), the cloud-init seed
 * (`dagger-<vmId>-cloudinit`, uploaded as volume `dagger-<vmId>-cloudinit.iso`) and the domain
 * `dagger-<vmId>`. The pool and the network must exist on the host.
 */
export function compilePlan(vm: VmPlanInput, hostInput: HostPlanInput): CompiledPlan {
  checkVm(vm);
  const host = resolveHost(hostInput);
  const stackName = `dagger-${vm.vmId}`;
  const stack = newStack(stackName);

  new LibvirtProvider(stack, 'libvirt', { uri: host.libvirtUri });

  const root = new LibvirtVolume(stack, 'root', {
    name: `${stackName}-root`,
    pool: host.pool,
    capacity: vm.diskGiB * GiB,
    target: { format: { type: 'qcow2' } },
    backingStore:
      vm.image === BLANK_IMAGE
        ? undefined
        : { path: `${host.poolPath}/${vm.image}`, format: { type: 'qcow2' } },
  });

  const seed = new LibvirtCloudinitDisk(stack, 'cloudinit', {
    name: `${stackName}-cloudinit`,
    userData: vm.userData ?? '#cloud-config\n',
    metaData: metaData(vm),
  });
  const seedVolume = new LibvirtVolume(stack, 'cloudinit_volume', {
    name: `${stackName}-cloudinit.iso`,
    pool: host.pool,
    target: { format: { type: 'raw' } },
    create: { content: { url: seed.path } },
  });

  const domain = new LibvirtDomain(stack, 'vm', {
    name: stackName,
    description: `DAGGER VM ${vm.vmId} (${vm.name}) on host ${host.hostId}`,
    type: host.domainType,
    vcpu: vm.vcpus,
    memory: vm.memoryMiB,
    memoryUnit: 'MiB',
    running: true,
    os: { type: 'hvm' },
    devices: {
      disks: [
        {
          device: 'disk',
          driver: { name: 'qemu', type: 'qcow2' },
          source: { volume: { pool: host.pool, volume: root.name } },
          target: { dev: 'vda', bus: 'virtio' },
        },
        {
          device: 'cdrom',
          driver: { name: 'qemu', type: 'raw' },
          source: { volume: { pool: host.pool, volume: seedVolume.name } },
          target: { dev: 'sda', bus: 'sata' },
        },
      ],
      interfaces: [{ model: { type: 'virtio' }, source: { network: { network: host.network } } }],
    },
    // Names are literal (no interpolation) so a direct-libvirt applier can read them as is.
    dependsOn: [root, seedVolume],
  });

  new TerraformOutput(stack, 'domain_id', { value: domain.id });
  new TerraformOutput(stack, 'root_volume_path', { value: root.path });

  const json = synthesize(stack);
  return { stackName, json, text: canonicalJson(json) };
}

/**
 * NoCloud meta-data. SSH keys go here as `public-keys` (cloud-init reads them from NoCloud
 * meta-data) so that user data stays exactly what the requester signed. JSON is valid YAML.
 */
function metaData(vm: VmPlanInput): string {
  return (
    JSON.stringify({
      'instance-id': `dagger-${vm.vmId}`,
      'local-hostname': hostname(vm),
      'public-keys': [...vm.sshKeys],
    }) + '\n'
  );
}

/** The VM's name as an RFC 1123 label (`_` and `.` become `-`), or `dagger-<vmId>`. */
function hostname(vm: VmPlanInput): string {
  const label = vm.name
    .toLowerCase()
    .replace(/[_.]/g, '-')
    .replace(/^-+|-+$/g, '');
  return label === '' ? `dagger-${vm.vmId}` : label;
}

/**
 * Sorted keys (by UTF-16 code units), two-space indent, objects one key a line, arrays of
 * scalars on one line (as prettier prints them, so golden files survive `npm run format`),
 * a final newline.
 */
export function canonicalJson(value: unknown): string {
  return print(value, '') + '\n';
}

function print(value: unknown, indent: string): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object'))
      return '[' + value.map((v) => JSON.stringify(v)).join(', ') + ']';
    return '[\n' + value.map((v) => inner + print(v, inner)).join(',\n') + '\n' + indent + ']';
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return '{}';
  const record = value as Record<string, unknown>;
  const lines = keys.map((k) => inner + JSON.stringify(k) + ': ' + print(record[k], inner));
  return '{\n' + lines.join(',\n') + '\n' + indent + '}';
}
