/** Stable codes: callers match on `code`, never on the message. */
export type ProcessorErrorCode =
  /** The configuration (genesis) is not usable. */
  | 'BAD_CONFIG'
  /** A round or payload came at or below a round already closed. */
  | 'ROUND_ORDER'
  /** A ledger event does not fit the state it is applied to (a corrupt or foreign ledger). */
  | 'BAD_EVENT'
  /** decide() was called while another speculative decision was open. */
  | 'NESTED_DECISION'
  /** A replayed ledger's state root differs from the one recomputed. */
  | 'ROOT_MISMATCH';

export class ProcessorError extends Error {
  constructor(
    readonly code: ProcessorErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ProcessorError';
  }
}
