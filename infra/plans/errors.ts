/** Stable codes: callers match on `code` and `field`, never on the message. */
export type PlanErrorCode =
  /** vmId is not 1-63 characters of a-z, 0-9 and -, starting with a letter or digit. */
  | 'INVALID_VM_ID'
  /** name is not 1-63 characters of A-Z a-z 0-9 _ . - (the vm.create rule). */
  | 'INVALID_NAME'
  /** vcpus, memoryMiB or diskGiB is not an integer within the vm.create limits (zero included). */
  | 'INVALID_SIZE'
  /** image is not 1-63 characters of a-z 0-9 . _ -, starting with a letter or digit. */
  | 'INVALID_IMAGE'
  /** An SSH key is empty, longer than 8 KiB or spans lines, or there are more than 16. */
  | 'INVALID_SSH_KEY'
  /** userData is neither null nor a string of at most 16 KiB UTF-8. */
  | 'INVALID_USER_DATA'
  /** A host field (hostId, libvirtUri, pool, poolPath, network, domainType) is unusable. */
  | 'INVALID_HOST';

export class PlanError extends Error {
  constructor(
    readonly code: PlanErrorCode,
    /** The input field at fault, e.g. `vm.diskGiB` or `host.libvirtUri`. */
    readonly field: string,
    message: string,
  ) {
    super(`${code}: ${field} ${message}`);
    this.name = 'PlanError';
  }
}
