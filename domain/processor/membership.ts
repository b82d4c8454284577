import type { MembershipChange } from '../shadowgraph/membership.js';
import type { LedgerEvent } from './events.js';

/**
 * The membership changes a decided round's ledger events carry, in ledger order: the value of the
 * hashgraph's `membershipChanges(roundReceived, ordered)` port. The runtime implements that port
 * by running the processor over the round's ordered payloads, so membership derives from the same
 * ledger as everything else. Each change takes effect at round + membershipDelay on both sides.
 */
export function membershipChangesOf(events: readonly LedgerEvent[]): MembershipChange[] {
  const changes: MembershipChange[] = [];
  for (const e of events) {
    if (e.type === 'OperatorAdmitted') changes.push({ kind: 'add', key: e.operatorKey, stake: e.stake });
    else if (e.type === 'OperatorRemoved') changes.push({ kind: 'remove', key: e.operatorKey });
  }
  return changes;
}
