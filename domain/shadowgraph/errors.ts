/** Stable codes: callers and logs match on `code`, never on the message. */
export type ShadowGraphErrorCode =
  | 'MALFORMED_EVENT'
  | 'EVENT_TOO_LARGE'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_PARENT'
  | 'SELF_PARENT_MISMATCH'
  | 'BAD_SEQ'
  | 'TIMESTAMP_NOT_INCREASING'
  | 'DUPLICATE_EVENT'
  | 'ANCIENT_EVENT'
  | 'BAD_MEMBERSHIP';

export class ShadowGraphError extends Error {
  constructor(
    readonly code: ShadowGraphErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ShadowGraphError';
  }
}
