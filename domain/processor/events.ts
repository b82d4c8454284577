import { canonicalText } from '../canonical/jcs.js';
import type { PayloadErrorCode } from '../payloads/envelope.js';
import type { Capacity, VmStatus } from '../payloads/schemas.js';

/**
 * The ledger: what the Payload Processor decides from the consensus order. Appended to stream
 * `ledger`; read by the projections, the provisioning saga and the auditor. Every field is a
 * string, an integer, a boolean, null or an array/object of those, so the encoding is canonical.
 */

/** Refusals after ordering. Stable codes: clients and tests match on them. */
export type RejectionCode =
  | PayloadErrorCode
  | 'EXPIRED'
  | 'EXPIRY_TOO_FAR'
  | 'REPLAY'
  | 'NOT_OWNER'
  | 'NOT_OPERATOR'
  | 'VM_NOT_FOUND'
  | 'VM_EXISTS'
  | 'INVALID_TRANSITION'
  | 'QUOTA_EXCEEDED'
  | 'HOST_NOT_FOUND'
  | 'HOST_EXISTS'
  | 'STALE_REPORT'
  | 'PROPOSAL_NOT_FOUND'
  | 'PROPOSAL_CLOSED'
  | 'ALREADY_VOTED'
  | 'ALREADY_MEMBER'
  | 'NOT_MEMBER'
  | 'STAKE_TOO_HIGH'
  /** A resize needs more than its host has free. */
  | 'INSUFFICIENT_CAPACITY'
  /** The removal would leave no member. */
  | 'LAST_MEMBER';

export interface VmSpec {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
}

export type VmOperation = 'create' | 'resize' | 'stop' | 'start' | 'destroy';

export type LedgerEvent =
  | {
      readonly type: 'PayloadAccepted';
      readonly payloadId: string;
      readonly payloadType: string;
      readonly signer: string;
      /** The payload's `expiresAt` (ms): its id is kept for replay protection until then. */
      readonly expiresAt: number;
    }
  | {
      readonly type: 'PayloadRejected';
      readonly payloadId: string;
      /** null when the bytes were not a readable envelope. */
      readonly payloadType: string | null;
      readonly signer: string | null;
      readonly code: RejectionCode;
      readonly reason: string;
    }
  | {
      readonly type: 'VmRequested';
      readonly vmId: string;
      readonly owner: string;
      readonly requestId: string;
      readonly name: string;
      readonly spec: VmSpec;
      readonly image: string;
      readonly sshKeys: readonly string[];
      readonly userData: string | null;
    }
  | {
      /** A request the chosen host's operator must carry out and report on before `deadline`. */
      readonly type: 'VmOperationRequested';
      readonly vmId: string;
      readonly requestId: string;
      readonly operation: VmOperation;
      readonly hostId: string;
      readonly operator: string;
      /** The spec the VM must have once the operation is done. */
      readonly spec: VmSpec;
      /** Consensus time (µs) by which a report must be ordered. */
      readonly deadline: number;
    }
  | {
      readonly type: 'VmStatusChanged';
      readonly vmId: string;
      readonly requestId: string;
      readonly status: VmStatus;
      readonly statusReason: string;
      readonly hostId: string | null;
      readonly addresses: readonly string[];
    }
  | {
      readonly type: 'HostRegistered';
      readonly hostId: string;
      readonly operator: string;
      readonly libvirtUri: string;
      readonly capacity: Capacity;
    }
  | {
      readonly type: 'HostUpdated';
      readonly hostId: string;
      readonly libvirtUri: string;
      readonly capacity: Capacity;
    }
  | { readonly type: 'HostDrained'; readonly hostId: string }
  | {
      readonly type: 'ProposalOpened';
      readonly proposalId: string;
      readonly kind: 'admit' | 'remove';
      readonly operatorKey: string;
      readonly stake: number;
      readonly endpoint: string;
      readonly proposer: string;
    }
  | {
      readonly type: 'ProposalVoted';
      readonly proposalId: string;
      readonly voter: string;
      readonly approve: boolean;
    }
  | {
      readonly type: 'OperatorAdmitted';
      readonly proposalId: string;
      readonly operatorKey: string;
      readonly stake: number;
      readonly endpoint: string;
      /** The round from which the new member's stake counts (decided round + membership delay). */
      readonly effectiveRound: number;
    }
  | {
      readonly type: 'OperatorRemoved';
      readonly proposalId: string;
      readonly operatorKey: string;
      readonly effectiveRound: number;
    }
  | {
      /** After a decided round: forgets the payload ids with `expiresAt * 1000 < before`. */
      readonly type: 'PayloadIdsPruned';
      /** Consensus time (µs) of the round. */
      readonly before: number;
      readonly count: number;
    }
  | {
      /** After each decided round: sha256 over the canonical encoding of the whole state. */
      readonly type: 'StateRootComputed';
      readonly round: number;
      readonly root: string;
    };

export type LedgerEventType = LedgerEvent['type'];

/** Where in the consensus order a ledger event came from. */
export interface LedgerPosition {
  /** Order index (from 0) of the ShadowGraph event that carried the payload, or of the round's last event. */
  readonly consensusIndex: number;
  /** The payload's place within that event; -1 for events of a decided round (timeouts, roots). */
  readonly payloadIndex: number;
  readonly round: number;
  /** Microseconds since the epoch: the consensus timestamp. */
  readonly consensusTimestamp: number;
}

export interface LedgerRecord {
  /** Position in stream `ledger`, from 0. */
  readonly ledgerIndex: number;
  readonly at: LedgerPosition;
  readonly event: LedgerEvent;
}

/** A record's canonical text (RFC 8785), as stream `ledger` stores it. */
export function ledgerRecordText(record: LedgerRecord): string {
  return canonicalText(record) ?? '';
}
