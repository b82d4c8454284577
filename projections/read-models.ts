import type { LedgerRecord, RejectionCode } from '../domain/processor/events.js';
import type { Capacity, VmStatus } from '../domain/payloads/schemas.js';

/**
 * The query side's contract: what the API serves from the read models. Rows are plain JSON.
 * Lists are ordered by id and paged by an opaque `next` cursor.
 */

export interface VmView {
  readonly vmId: string;
  readonly owner: string;
  readonly name: string;
  readonly hostId: string | null;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
  readonly image: string;
  readonly status: VmStatus;
  readonly statusReason: string;
  /** The payload id of the request the VM is currently answering. */
  readonly requestId: string;
  readonly addresses: readonly string[];
  /** Ledger index of the last change. */
  readonly updatedAt: number;
}

export interface HostView {
  readonly hostId: string;
  readonly operator: string;
  readonly libvirtUri: string;
  readonly capacity: Capacity;
  readonly used: Capacity;
  readonly draining: boolean;
}

export interface OperatorView {
  readonly operatorKey: string;
  readonly stake: number;
  readonly endpoint: string;
  readonly status: 'member' | 'removed';
  /** Round from which the current status counts; 0 for genesis members. */
  readonly sinceRound: number;
}

export interface ProposalView {
  readonly proposalId: string;
  readonly kind: 'admit' | 'remove';
  readonly operatorKey: string;
  readonly stake: number;
  readonly endpoint: string;
  readonly proposer: string;
  readonly status: 'open' | 'admitted' | 'removed';
  readonly approvals: readonly string[];
  readonly rejections: readonly string[];
}

export interface AccountView {
  readonly key: string;
  readonly vms: number;
  readonly vcpus: number;
  readonly maxVms: number;
  readonly maxVcpus: number;
}

/** What the ledger says about one payload; `pending` and `ordered` are the node's to add. */
export interface PayloadStatusView {
  readonly payloadId: string;
  readonly status: 'accepted' | 'rejected';
  readonly payloadType: string | null;
  readonly signer: string | null;
  readonly code?: RejectionCode;
  readonly reason?: string;
  readonly round: number;
  readonly consensusIndex: number;
}

export interface RoundView {
  readonly round: number;
  readonly stateRoot: string;
  readonly consensusTimestamp: number;
  readonly consensusIndex: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

export interface PageRequest {
  readonly limit?: number;
  readonly after?: string;
}

export interface ReadModelQueries {
  vm(vmId: string): Promise<VmView | null>;
  vms(page?: PageRequest & { owner?: string; hostId?: string }): Promise<Page<VmView>>;
  hosts(page?: PageRequest): Promise<Page<HostView>>;
  operators(page?: PageRequest): Promise<Page<OperatorView>>;
  proposals(page?: PageRequest): Promise<Page<ProposalView>>;
  account(key: string): Promise<AccountView | null>;
  payload(payloadId: string): Promise<PayloadStatusView | null>;
  rounds(page?: PageRequest & { fromRound?: number }): Promise<Page<RoundView>>;
  /** The ledger index the read models reflect (-1 before the first record). */
  checkpoint(): Promise<number>;
}

export interface Projector {
  /** Applies ledger records in order, in one transaction with the checkpoint; skips what it has. */
  project(records: readonly LedgerRecord[]): Promise<void>;
}

/** What the query side and the projector hold open: both ports on one database. */
export interface ReadModels extends ReadModelQueries, Projector {
  /**
   * Clears every row and the checkpoint, re-seeds genesis, then projects `ledger` from its start in
   * batches. Resolves to the checkpoint reached. Not atomic: a crash leaves a consistent prefix.
   */
  rebuild(ledger: AsyncIterable<LedgerRecord>, options?: { readonly batchSize?: number }): Promise<number>;
  close(): Promise<void>;
}

export type ReadModelErrorCode =
  /** A bad argument: cursor, limit, ledger index, schema name. */
  | 'BAD_REQUEST'
  /** A batch does not continue from the checkpoint (a record is missing). */
  | 'LEDGER_GAP'
  /** A record refers to what the read models do not have, or re-creates what they do. */
  | 'LEDGER_INCONSISTENT'
  /** The database cannot be reached or opened. */
  | 'STORE_UNAVAILABLE'
  /** A statement failed; the transaction rolled back. */
  | 'STORE_FAILED'
  | 'CLOSED';

export class ReadModelError extends Error {
  constructor(
    readonly code: ReadModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'ReadModelError';
  }
}
