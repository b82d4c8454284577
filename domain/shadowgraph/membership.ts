import { ShadowGraphError } from './errors.js';
import type { Hex } from './event.js';

export interface MemberStake {
  readonly key: Hex;
  readonly stake: number;
}

/** A change decided in round r takes effect at round r + k (see HashgraphConfig.membershipDelay). */
export type MembershipChange =
  | { readonly kind: 'add'; readonly key: Hex; readonly stake: number }
  | { readonly kind: 'remove'; readonly key: Hex }
  | { readonly kind: 'set-stake'; readonly key: Hex; readonly stake: number };

/** Keeps stake arithmetic exact in doubles: 3 * total must stay a safe integer. */
export const MAX_TOTAL_STAKE = 2 ** 50;

export class Membership {
  readonly total: number;
  private readonly stakes: ReadonlyMap<Hex, number>;

  constructor(members: Iterable<MemberStake>) {
    const stakes = new Map<Hex, number>();
    let total = 0;
    for (const m of members) {
      if (!Number.isSafeInteger(m.stake) || m.stake <= 0)
        throw new ShadowGraphError('BAD_MEMBERSHIP', `stake of ${m.key} must be a positive integer`);
      if (stakes.has(m.key)) throw new ShadowGraphError('BAD_MEMBERSHIP', `duplicate member ${m.key}`);
      stakes.set(m.key, m.stake);
      total += m.stake;
    }
    if (total > MAX_TOTAL_STAKE) throw new ShadowGraphError('BAD_MEMBERSHIP', 'total stake too large');
    this.stakes = stakes;
    this.total = total;
  }

  stakeOf(key: Hex): number {
    return this.stakes.get(key) ?? 0;
  }

  /** Members sorted by key: the only iteration order consensus code may use. */
  members(): MemberStake[] {
    return [...this.stakes.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, stake]) => ({ key, stake }));
  }

  apply(change: MembershipChange): Membership {
    const next = new Map(this.stakes);
    if (change.kind === 'remove') next.delete(change.key);
    else next.set(change.key, change.stake);
    return new Membership([...next.entries()].map(([key, stake]) => ({ key, stake })));
  }
}

/** Strictly more than two thirds: 3·s > 2·total. */
export function isSupermajority(stake: number, total: number): boolean {
  return 3 * stake > 2 * total;
}

/**
 * Membership per round. Round r uses the latest entry whose effective round is <= r.
 * Entries are only ever appended with increasing effective rounds.
 */
export class MembershipSchedule {
  private readonly entries: { effectiveRound: number; membership: Membership }[];
  private changes = 0;

  constructor(genesis: Membership) {
    this.entries = [{ effectiveRound: 0, membership: genesis }];
  }

  at(round: number): Membership {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.effectiveRound <= round) return e.membership;
    }
    return this.entries[0]!.membership;
  }

  /** Version stamp: changes whenever a later round's membership changes. */
  get version(): number {
    return this.changes;
  }

  schedule(effectiveRound: number, changes: readonly MembershipChange[]): void {
    const last = this.entries[this.entries.length - 1]!;
    if (effectiveRound < last.effectiveRound)
      throw new ShadowGraphError('BAD_MEMBERSHIP', 'membership changes must be scheduled in round order');
    let m = last.membership;
    for (const c of changes) m = m.apply(c);
    this.changes++;
    if (m.total === 0) throw new ShadowGraphError('BAD_MEMBERSHIP', 'membership would become empty');
    if (effectiveRound === last.effectiveRound)
      this.entries[this.entries.length - 1] = { effectiveRound, membership: m };
    else this.entries.push({ effectiveRound, membership: m });
  }

  /** Drops entries no round >= minRound can use. */
  compact(minRound: number): void {
    while (this.entries.length > 1 && this.entries[1]!.effectiveRound <= minRound) this.entries.shift();
  }
}
