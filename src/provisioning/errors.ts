/** Stable codes: the saga and tests match on `code`, never on the message. */
export type ProvisioningErrorCode =
  /** The applier failed in a way a retry may fix (a host unreachable, a lock held). */
  | 'APPLY_TRANSIENT'
  /** The applier failed in a way no retry fixes (a missing base image, a host out of disk). */
  | 'APPLY_PERMANENT'
  /** The ledger names a VM or host the saga never saw. */
  | 'UNKNOWN_RESOURCE'
  /** A saga stream holds an event this version cannot read. */
  | 'CORRUPT_SAGA';

export class ProvisioningError extends Error {
  constructor(
    readonly code: ProvisioningErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ProvisioningError';
  }
}

/** Thrown by appliers; anything else an applier throws counts as transient. */
export class ApplierError extends ProvisioningError {
  constructor(code: 'APPLY_TRANSIENT' | 'APPLY_PERMANENT', message: string) {
    super(code, message);
    this.name = 'ApplierError';
  }
}

export const isPermanent = (err: unknown): boolean =>
  err instanceof ProvisioningError && err.code === 'APPLY_PERMANENT';
