import { LIMITS } from '../../domain/payloads/schemas.js';
import { PlanError } from './errors.js';

/** What a plan needs of a VM: the fields of the ledger's VmRequested event and its VmSpec. */
export interface VmPlanInput {
  readonly vmId: string;
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
  /** `blank` = an empty disk; anything else names a base image volume in the host's pool. */
  readonly image: string;
  readonly sshKeys: readonly string[];
  readonly userData: string | null;
}

/** What a plan needs of the host the scheduler chose (HostRegistered + operator settings). */
export interface HostPlanInput {
  readonly hostId: string;
  readonly libvirtUri: string;
  /** Storage pool for the VM's volumes and the base images. Default `dagger`. */
  readonly pool?: string;
  /** The pool's target directory on the host. Default `/var/lib/libvirt/pools/<pool>`. */
  readonly poolPath?: string;
  /** libvirt network the VM's interface joins. Default `default`. */
  readonly network?: string;
  /** `kvm` where /dev/kvm is usable, `qemu` (TCG) otherwise. Default `kvm`. */
  readonly domainType?: 'kvm' | 'qemu';
}

export const BLANK_IMAGE = 'blank';
export const DEFAULT_POOL = 'dagger';
export const DEFAULT_NETWORK = 'default';

/** HostPlanInput with its defaults filled in. */
export interface HostPlan {
  readonly hostId: string;
  readonly libvirtUri: string;
  readonly pool: string;
  readonly poolPath: string;
  readonly network: string;
  readonly domainType: 'kvm' | 'qemu';
}

// The same rules as the vm.create payload (domain/payloads/schemas.ts): a VM in the ledger
// always compiles; these checks guard callers that build inputs by hand.
const RESOURCE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const IMAGE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** A pool or network name a host may give (1-63 characters of A-Z a-z 0-9 _ . -). */
export const LIBVIRT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SIZES = {
  vcpus: [1, 128],
  memoryMiB: [64, 1_048_576],
  diskGiB: [1, 65_536],
} as const;

export function checkVm(vm: VmPlanInput): void {
  if (typeof vm.vmId !== 'string' || !RESOURCE_ID.test(vm.vmId))
    throw new PlanError(
      'INVALID_VM_ID',
      'vm.vmId',
      'must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit',
    );
  if (typeof vm.name !== 'string' || !VM_NAME.test(vm.name))
    throw new PlanError('INVALID_NAME', 'vm.name', 'must be 1-63 characters of A-Z a-z 0-9 _ . -');
  for (const field of ['vcpus', 'memoryMiB', 'diskGiB'] as const) {
    const [min, max] = SIZES[field];
    const n = vm[field];
    if (!Number.isInteger(n) || n < min || n > max)
      throw new PlanError('INVALID_SIZE', `vm.${field}`, `must be an integer from ${min} to ${max}`);
  }
  if (typeof vm.image !== 'string' || !IMAGE.test(vm.image))
    throw new PlanError('INVALID_IMAGE', 'vm.image', 'must be 1-63 characters of a-z 0-9 . _ -');
  if (!Array.isArray(vm.sshKeys) || vm.sshKeys.length > LIMITS.sshKeys)
    throw new PlanError('INVALID_SSH_KEY', 'vm.sshKeys', `must be a list of at most ${LIMITS.sshKeys} keys`);
  vm.sshKeys.forEach((key, i) => {
    if (typeof key !== 'string' || key.length === 0 || key.length > LIMITS.sshKeyChars || /[\r\n]/.test(key))
      throw new PlanError(
        'INVALID_SSH_KEY',
        `vm.sshKeys[${i}]`,
        `must be one line of 1-${LIMITS.sshKeyChars} characters`,
      );
  });
  if (
    vm.userData !== null &&
    (typeof vm.userData !== 'string' || Buffer.byteLength(vm.userData, 'utf8') > LIMITS.userDataBytes)
  )
    throw new PlanError(
      'INVALID_USER_DATA',
      'vm.userData',
      `must be null or at most ${LIMITS.userDataBytes} UTF-8 bytes`,
    );
}

export function resolveHost(host: HostPlanInput): HostPlan {
  if (typeof host.hostId !== 'string' || !RESOURCE_ID.test(host.hostId))
    throw new PlanError('INVALID_HOST', 'host.hostId', 'must be 1-63 characters of a-z, 0-9 and -');
  const uri = host.libvirtUri;
  if (
    typeof uri !== 'string' ||
    uri.length > LIMITS.libvirtUriChars ||
    !/^[a-z][a-z0-9+.-]*:\/\/[^\s]*$/.test(uri)
  )
    throw new PlanError('INVALID_HOST', 'host.libvirtUri', 'must be a libvirt URI such as qemu:///system');
  const pool = host.pool ?? DEFAULT_POOL;
  if (typeof pool !== 'string' || !LIBVIRT_NAME.test(pool))
    throw new PlanError('INVALID_HOST', 'host.pool', 'must be 1-63 characters of A-Z a-z 0-9 _ . -');
  const network = host.network ?? DEFAULT_NETWORK;
  if (typeof network !== 'string' || !LIBVIRT_NAME.test(network))
    throw new PlanError('INVALID_HOST', 'host.network', 'must be 1-63 characters of A-Z a-z 0-9 _ . -');
  const poolPath = host.poolPath ?? `/var/lib/libvirt/pools/${pool}`;
  if (
    typeof poolPath !== 'string' ||
    !/^(\/[A-Za-z0-9_.-]+)+\/?$/.test(poolPath) ||
    poolPath.split('/').some((part) => part === '..' || part === '.')
  )
    throw new PlanError('INVALID_HOST', 'host.poolPath', 'must be an absolute path without . or .. parts');
  const domainType = host.domainType ?? 'kvm';
  if (domainType !== 'kvm' && domainType !== 'qemu')
    throw new PlanError('INVALID_HOST', 'host.domainType', 'must be kvm or qemu');
  return {
    hostId: host.hostId,
    libvirtUri: uri,
    pool,
    poolPath: poolPath.replace(/\/$/, ''),
    network,
    domainType,
  };
}
