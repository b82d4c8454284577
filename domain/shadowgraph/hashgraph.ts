import { fromHex } from '../crypto/index.js';
import { ShadowGraphError } from './errors.js';
import { compareBytes, type Hex, type SignedEvent, toHex } from './event.js';
import {
  isSupermajority,
  Membership,
  type MembershipChange,
  MembershipSchedule,
  type MemberStake,
} from './membership.js';

/**
 * The hashgraph of Baird (SWIRLDS-TR-2016-01), named as the paper names it: divideRounds,
 * decideFame, findOrder. Pure and deterministic: no clock, no randomness, no I/O, no iteration
 * over unsorted maps in anything that decides. Time comes in with events; effects go out as values.
 */

/** Test-only defects, so the simulator can show it catches a wrong core. */
export type ConsensusMutant = 'threshold-half' | 'no-fork-exclusion' | 'first-branch-wins';

export type VerifySignature = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

export interface HashgraphConfig {
  readonly genesis: readonly MemberStake[];
  readonly verify: VerifySignature;
  /** Every c-th round of an election is a coin round. */
  readonly coinRoundFrequency?: number;
  /** k: a change ordered in round r takes effect at round r + k. */
  readonly membershipDelay?: number;
  /** Rounds kept below the last decided round; events received later than this are stale. */
  readonly pruneHorizon?: number;
  /** Port: the membership changes that the ordered events of a decided round carry. Must be pure. */
  readonly membershipChanges?: (
    roundReceived: number,
    ordered: readonly OrderedEvent[],
  ) => MembershipChange[];
  readonly mutant?: ConsensusMutant;
}

export interface OrderedEvent {
  readonly event: SignedEvent;
  readonly round: number;
  readonly roundReceived: number;
  /** Integer microseconds, strictly increasing along the order. */
  readonly consensusTimestamp: number;
  /** Position in the total order, from 0. */
  readonly consensusIndex: number;
}

export interface ForkEvidence {
  readonly creator: Hex;
  readonly seq: number;
  /** The two events by one creator at one seq, in byte order of their ids. */
  readonly eventIds: readonly [Hex, Hex];
}

export type InsertResult =
  | {
      readonly status: 'inserted';
      readonly round: number;
      readonly witness: boolean;
      readonly fork?: ForkEvidence;
    }
  | { readonly status: 'duplicate' }
  | { readonly status: 'missing-parents'; readonly missing: readonly Hex[] }
  | { readonly status: 'rejected'; readonly code: ShadowGraphError['code']; readonly reason: string };

export interface ConsensusResult {
  readonly ordered: readonly OrderedEvent[];
  readonly decidedRounds: readonly number[];
  /** Events whose round received came more than pruneHorizon rounds after their round: never ordered. */
  readonly stale: readonly SignedEvent[];
}

const UNDECIDED = 0;
const FAMOUS = 1;
const NOT_FAMOUS = 2;
const NONE = -1;

interface Vertex {
  readonly event: SignedEvent;
  readonly idx: number;
  readonly creator: number;
  readonly seq: number;
  readonly selfParent: number;
  readonly otherParent: number;
  readonly timestamp: number;
  /** Per creator index: highest seq among this vertex's ancestors (itself included), or -1. */
  readonly lastSeq: Int32Array;
  /** Per creator index: the vertex idx holding lastSeq. */
  readonly lastIdx: Int32Array;
  /** Per creator index: 1 when the ancestry holds a fork by that creator. null: no fork at all. */
  readonly forkSeen: Uint8Array | null;
  /** first-branch-wins mutant only: this vertex lies on a branch seen second. */
  readonly shadowed: boolean;
  round: number;
  witness: boolean;
  famous: number;
  roundReceived: number;
  ordered: boolean;
  /** Witnesses of round-1 that this witness strongly sees, memoised per membership version. */
  stronglySeen: Vertex[] | null;
  stronglySeenVersion: number;
  votes: Map<number, boolean> | null;
}

interface Tombstone {
  readonly creator: number;
  readonly seq: number;
  readonly timestamp: number;
  readonly round: number;
  readonly prunedAtRound: number;
}

interface RoundInfo {
  readonly witnesses: Vertex[];
  readonly events: Vertex[];
}

export class Hashgraph {
  private readonly verify: VerifySignature;
  private readonly coinFrequency: number;
  readonly membershipDelay: number;
  private readonly pruneHorizon: number;
  private readonly membershipPort: HashgraphConfig['membershipChanges'];
  private readonly mutant: ConsensusMutant | undefined;
  readonly schedule: MembershipSchedule;

  private readonly byId = new Map<Hex, Vertex>();
  private readonly byIdx = new Map<number, Vertex>();
  private readonly tombstones = new Map<Hex, Tombstone>();
  private readonly creatorKeys: Hex[] = [];
  private readonly creatorBytes: Uint8Array[] = [];
  private readonly creatorIndex = new Map<Hex, number>();
  /** Per creator: seq -> vertex idxs at that seq (two or more means a fork). */
  private readonly bySeq: Map<number, number[]>[] = [];
  /** Per creator: highest seq ever inserted (pruning does not lower it). */
  private readonly maxSeq: number[] = [];
  /** Per creator: lowest seq at which a fork is known, or Infinity. */
  private readonly forkFrom: number[] = [];
  private readonly rounds = new Map<number, RoundInfo>();
  private readonly weightCache = new WeakMap<Membership, Float64Array>();
  private nextIdx = 0;
  private maxRound = 0;
  private lastDecided = -1;
  private lastConsensusTimestamp = -1;
  private consensusCount = 0;
  private pendingOrder: Vertex[] = [];
  /** Deepest election so far: rounds between a witness and the voter that decided it. */
  private deepestElection = 0;
  private readonly forks: ForkEvidence[] = [];

  constructor(config: HashgraphConfig) {
    this.verify = config.verify;
    this.coinFrequency = config.coinRoundFrequency ?? 10;
    this.membershipDelay = config.membershipDelay ?? 6;
    this.pruneHorizon = config.pruneHorizon ?? 32;
    this.membershipPort = config.membershipChanges;
    this.mutant = config.mutant;
    if (this.coinFrequency < 3)
      throw new ShadowGraphError('BAD_MEMBERSHIP', 'coin round frequency must be >= 3');
    if (this.membershipDelay < 1)
      throw new ShadowGraphError('BAD_MEMBERSHIP', 'membership delay must be >= 1');
    this.schedule = new MembershipSchedule(new Membership(config.genesis));
    for (const m of this.schedule.at(0).members()) this.creatorOf(m.key);
  }

  // ---------------------------------------------------------------- queries

  get lastDecidedRound(): number {
    return this.lastDecided;
  }
  get highestRound(): number {
    return this.maxRound;
  }
  get size(): number {
    return this.byId.size;
  }
  get orderedCount(): number {
    return this.consensusCount;
  }
  /** Rounds the slowest fame decision took (2 is the fastest possible; coin rounds make it longer). */
  get deepestFameDecision(): number {
    return this.deepestElection;
  }
  get forkEvidence(): readonly ForkEvidence[] {
    return this.forks;
  }

  has(id: Hex): boolean {
    return this.byId.has(id) || this.tombstones.has(id);
  }

  get(id: Hex): SignedEvent | undefined {
    return this.byId.get(id)?.event;
  }

  /** Round, witness and fame of an event, for explorers and tests. */
  describe(
    id: Hex,
  ): { round: number; witness: boolean; famous: boolean | null; roundReceived: number | null } | null {
    const v = this.byId.get(id);
    if (!v) return null;
    return {
      round: v.round,
      witness: v.witness,
      famous: v.famous === UNDECIDED ? null : v.famous === FAMOUS,
      roundReceived: v.roundReceived === NONE ? null : v.roundReceived,
    };
  }

  /** Ids of the events still in memory whose round is in [fromRound, fromRound + rounds), in insertion order. */
  eventsOfRounds(fromRound: number, rounds: number): Hex[] {
    const out: Hex[] = [];
    for (let r = Math.max(0, fromRound); r < fromRound + rounds && r <= this.maxRound; r++)
      for (const v of this.rounds.get(r)?.events ?? []) out.push(v.event.idHex);
    return out;
  }

  witnessesOf(round: number): Hex[] {
    return (this.rounds.get(round)?.witnesses ?? []).map((w) => w.event.idHex).sort();
  }

  /** creator -> highest seq held (over all branches). */
  knownVector(): Map<Hex, number> {
    const out = new Map<Hex, number>();
    for (let c = 0; c < this.creatorKeys.length; c++)
      if (this.maxSeq[c]! >= 0) out.set(this.creatorKeys[c]!, this.maxSeq[c]!);
    return out;
  }

  /** Highest-seq event of a creator (the first branch held at that seq), or undefined. */
  tipOf(creator: Hex): SignedEvent | undefined {
    const c = this.creatorIndex.get(creator);
    if (c === undefined) return undefined;
    const idxs = this.bySeq[c]!.get(this.maxSeq[c]!);
    return idxs ? this.byIdx.get(idxs[0]!)?.event : undefined;
  }

  /** The events a peer with this known vector lacks, parents before children. */
  diff(peerKnown: ReadonlyMap<Hex, number>, limit = Number.MAX_SAFE_INTEGER): SignedEvent[] {
    const picked: Vertex[] = [];
    for (let c = 0; c < this.creatorKeys.length; c++) {
      const seqs = this.bySeq[c]!;
      for (let seq = (peerKnown.get(this.creatorKeys[c]!) ?? NONE) + 1; seq <= this.maxSeq[c]!; seq++) {
        for (const i of seqs.get(seq) ?? []) {
          const v = this.byIdx.get(i);
          if (v) picked.push(v);
        }
      }
    }
    picked.sort((a, b) => a.idx - b.idx);
    return picked.slice(0, limit).map((v) => v.event);
  }

  /**
   * Fetch by hash: the requested events and the ancestry a peer with this known vector may lack,
   * parents first. Below a creator's known seq the peer may hold another branch of a fork, so the
   * walk goes on through every creator that has forked at or below that seq.
   */
  ancestryFor(ids: readonly Hex[], peerKnown: ReadonlyMap<Hex, number>, limit = 1024): SignedEvent[] {
    const picked = new Map<number, Vertex>();
    const stack: Vertex[] = [];
    for (const id of ids) {
      const v = this.byId.get(id);
      if (v && !picked.has(v.idx)) {
        picked.set(v.idx, v);
        stack.push(v);
      }
    }
    while (stack.length > 0 && picked.size < 4 * limit) {
      const v = stack.pop()!;
      for (const p of [v.selfParent, v.otherParent]) {
        const pv = p === NONE ? undefined : this.byIdx.get(p);
        if (!pv || picked.has(pv.idx)) continue;
        const known = peerKnown.get(this.creatorKeys[pv.creator]!) ?? NONE;
        if (pv.seq <= known && pv.seq < this.forkFrom[pv.creator]!) continue;
        picked.set(pv.idx, pv);
        stack.push(pv);
      }
    }
    return [...picked.values()]
      .sort((a, b) => a.idx - b.idx)
      .slice(0, limit)
      .map((v) => v.event);
  }

  // ---------------------------------------------------------------- insert

  /** Validates and inserts one event. Never throws for bad input: the result says why. */
  insert(event: SignedEvent): InsertResult {
    if (this.byId.has(event.idHex) || this.tombstones.has(event.idHex)) return { status: 'duplicate' };
    const b = event.body;
    const missing: Hex[] = [];
    const sp = b.selfParent ? this.parentOf(toHex(b.selfParent), missing) : null;
    const op = b.otherParent ? this.parentOf(toHex(b.otherParent), missing) : null;
    if (missing.length > 0) return { status: 'missing-parents', missing };
    if (!this.verify(event.signature, event.id, b.creator))
      return { status: 'rejected', code: 'BAD_SIGNATURE', reason: 'event signature does not verify' };
    const creatorKey = toHex(b.creator);
    if (sp) {
      if (this.creatorKeys[sp.creator] !== creatorKey)
        return {
          status: 'rejected',
          code: 'SELF_PARENT_MISMATCH',
          reason: 'self-parent has another creator',
        };
      if (b.seq !== sp.seq + 1)
        return {
          status: 'rejected',
          code: 'BAD_SEQ',
          reason: `seq ${b.seq} after self-parent seq ${sp.seq}`,
        };
      if (b.timestamp <= sp.timestamp)
        return {
          status: 'rejected',
          code: 'TIMESTAMP_NOT_INCREASING',
          reason: 'timestamp not after self-parent',
        };
    }
    return { status: 'inserted', ...this.attach(event, this.creatorOf(creatorKey), sp, op) };
  }

  private parentOf(id: Hex, missing: Hex[]): Vertex | Tombstone | null {
    const v = this.byId.get(id) ?? this.tombstones.get(id);
    if (!v) missing.push(id);
    return v ?? null;
  }

  private creatorOf(key: Hex): number {
    let c = this.creatorIndex.get(key);
    if (c === undefined) {
      c = this.creatorKeys.length;
      this.creatorKeys.push(key);
      this.creatorBytes.push(fromHex(key));
      this.creatorIndex.set(key, c);
      this.bySeq.push(new Map());
      this.maxSeq.push(NONE);
      this.forkFrom.push(Infinity);
    }
    return c;
  }

  private attach(
    event: SignedEvent,
    creator: number,
    spRef: Vertex | Tombstone | null,
    opRef: Vertex | Tombstone | null,
  ): { round: number; witness: boolean; fork?: ForkEvidence } {
    const n = this.creatorKeys.length;
    const idx = this.nextIdx++;
    const seq = event.body.seq;
    // Tombstoned (pruned) parents count for round and seq only; their ancestry is gone.
    const sp = spRef && 'event' in spRef ? spRef : null;
    const op = opRef && 'event' in opRef ? opRef : null;

    const atSeq = this.bySeq[creator]!.get(seq);
    let fork: ForkEvidence | undefined;
    if (atSeq && atSeq.length > 0) {
      const other = this.byIdx.get(atSeq[0]!);
      const ids = [other ? other.event.idHex : '', event.idHex].sort() as [Hex, Hex];
      fork = { creator: this.creatorKeys[creator]!, seq, eventIds: ids };
      this.forks.push(fork);
      this.forkFrom[creator] = Math.min(this.forkFrom[creator]!, seq);
    }
    const shadowed =
      this.mutant === 'first-branch-wins' &&
      ((sp !== null && sp.shadowed) || (atSeq !== undefined && atSeq.length > 0));

    const lastSeq = new Int32Array(n).fill(NONE);
    const lastIdx = new Int32Array(n).fill(NONE);
    let forkSeen: Uint8Array | null = null;
    const markFork = (c: number) => {
      if (!forkSeen) forkSeen = new Uint8Array(n);
      forkSeen[c] = 1;
    };
    for (const parent of [sp, op]) {
      if (!parent) continue;
      for (let c = 0; c < parent.lastSeq.length; c++) {
        const s = parent.lastSeq[c]!;
        if (s === NONE) continue;
        if (parent.forkSeen && parent.forkSeen[c]) markFork(c);
        if (s > lastSeq[c]!) {
          lastSeq[c] = s;
          lastIdx[c] = parent.lastIdx[c]!;
        }
      }
    }
    if (this.mutant !== 'first-branch-wins' && sp && op) {
      for (let c = 0; c < n; c++) {
        if (forkSeen && (forkSeen as Uint8Array)[c]) continue;
        const a = get(sp.lastIdx, c);
        const b = get(op.lastIdx, c);
        if (a === NONE || b === NONE || a === b) continue;
        if (c === creator) continue;
        if (!this.sameChain(a, b)) markFork(c);
      }
    }
    if (this.mutant !== 'first-branch-wins' && op) {
      // The creator's own chain: anything of ours in the other-parent's ancestry must lie below us.
      const b = this.byIdx.get(get(op.lastIdx, creator));
      if (b && !(sp !== null && b.seq <= sp.seq && this.sameChain(b.idx, sp.idx))) markFork(creator);
    }
    if (this.mutant === 'first-branch-wins') {
      // The defect: a second branch is ignored, never marked as a fork, and the first one keeps its weight.
      forkSeen = null;
      if (shadowed) {
        lastSeq[creator] = sp ? get(sp.lastSeq, creator) : NONE;
        lastIdx[creator] = sp ? get(sp.lastIdx, creator) : NONE;
      }
    }
    // lastSeq stays the highest seq in the ancestry: a fork may put a higher seq of ours below us.
    if (!shadowed && seq >= lastSeq[creator]!) {
      lastSeq[creator] = seq;
      lastIdx[creator] = idx;
    }

    const v: Vertex = {
      event,
      idx,
      creator,
      seq,
      selfParent: sp ? sp.idx : NONE,
      otherParent: op ? op.idx : NONE,
      timestamp: event.body.timestamp,
      lastSeq,
      lastIdx,
      forkSeen,
      shadowed,
      round: 0,
      witness: false,
      famous: UNDECIDED,
      roundReceived: NONE,
      ordered: false,
      stronglySeen: null,
      stronglySeenVersion: -1,
      votes: null,
    };
    this.byId.set(event.idHex, v);
    this.byIdx.set(idx, v);
    if (atSeq) atSeq.push(idx);
    else this.bySeq[creator]!.set(seq, [idx]);
    if (seq > this.maxSeq[creator]!) this.maxSeq[creator] = seq;
    this.divideRounds(v, spRef, opRef);
    this.pendingOrder.push(v);
    return fork ? { round: v.round, witness: v.witness, fork } : { round: v.round, witness: v.witness };
  }

  /** True when a and b (same creator) lie on one self-parent chain. Pruned history counts as one chain. */
  private sameChain(a: number, b: number): boolean {
    let lo = this.byIdx.get(a);
    let hi = this.byIdx.get(b);
    if (!lo || !hi) return true;
    if (lo.seq > hi.seq) [lo, hi] = [hi, lo];
    if (lo.seq === hi.seq) return lo.idx === hi.idx;
    if (lo.seq < this.forkFrom[lo.creator]!) return true;
    let cur: Vertex | undefined = hi;
    while (cur && cur.seq > lo.seq) cur = this.byIdx.get(cur.selfParent);
    return cur === undefined || cur.idx === lo.idx;
  }

  // ---------------------------------------------------------------- divideRounds

  private weights(round: number): { weights: Float64Array; total: number } {
    const membership = this.schedule.at(round);
    let w = this.weightCache.get(membership);
    if (!w || w.length !== this.creatorKeys.length) {
      w = new Float64Array(this.creatorKeys.length);
      for (let c = 0; c < w.length; c++) w[c] = membership.stakeOf(this.creatorKeys[c]!);
      this.weightCache.set(membership, w);
    }
    return { weights: w, total: membership.total };
  }

  private divideRounds(v: Vertex, sp: Vertex | Tombstone | null, op: Vertex | Tombstone | null): void {
    const parentRound = Math.max(sp ? sp.round : -1, op ? op.round : -1);
    let round = Math.max(parentRound, 0);
    if (parentRound >= 0) {
      const { weights, total } = this.weights(parentRound);
      let seen = 0;
      for (const w of this.rounds.get(parentRound)?.witnesses ?? []) {
        if (this.stronglySees(v, w, weights, total)) seen += weights[w.creator]!;
      }
      if (this.reaches(seen, total)) round = parentRound + 1;
    }
    v.round = round;
    v.witness =
      !v.shadowed && (sp === null || round > sp.round) && this.weights(round).weights[v.creator]! > 0;
    if (v.witness && round <= this.lastDecided) v.famous = NOT_FAMOUS;
    this.roundInfo(round).events.push(v);
    if (v.witness) this.roundInfo(round).witnesses.push(v);
    if (round > this.maxRound) this.maxRound = round;
  }

  private roundInfo(round: number): RoundInfo {
    let r = this.rounds.get(round);
    if (!r) {
      r = { witnesses: [], events: [] };
      this.rounds.set(round, r);
    }
    return r;
  }

  private reaches(stake: number, total: number): boolean {
    return this.mutant === 'threshold-half' ? 2 * stake > total : isSupermajority(stake, total);
  }

  /** x sees y: y is an ancestor of x and x's ancestry holds no fork by y's creator. */
  private sees(x: Vertex, y: Vertex): boolean {
    const cy = y.creator;
    // The defect: the plain lastAncestor test, blind to forks (what a fork-unaware core does).
    if (this.mutant === 'no-fork-exclusion') return get(x.lastSeq, cy) >= y.seq;
    if (x.forkSeen && x.forkSeen[cy]) return false;
    if (get(x.lastSeq, cy) < y.seq) return false;
    const tip = get(x.lastIdx, cy);
    return tip === y.idx || this.sameChain(y.idx, tip);
  }

  /**
   * x strongly sees y: x sees y, and events by creators of more than 2/3 of the stake are seen
   * by x and see y. Since x sees y, every ancestor of x holds y's creator's chain unforked, so the
   * latest event by m that x sees sees y exactly when its lastSeq for y's creator reaches y.seq.
   */
  private stronglySees(x: Vertex, y: Vertex, weights: Float64Array, total: number): boolean {
    if (!this.sees(x, y)) return false;
    const cy = y.creator;
    let stake = 0;
    const n = Math.min(x.lastIdx.length, weights.length);
    for (let m = 0; m < n; m++) {
      const w = weights[m]!;
      if (w === 0) continue;
      if (x.forkSeen && x.forkSeen[m] && this.mutant !== 'no-fork-exclusion') continue;
      const zi = x.lastIdx[m]!;
      if (zi === NONE) continue;
      const z = zi === x.idx ? x : this.byIdx.get(zi);
      if (z && get(z.lastSeq, cy) >= y.seq) stake += w;
    }
    return this.reaches(stake, total);
  }

  /** Exact ancestry (forks included), for the rare paths where chains are ambiguous. */
  private isAncestor(a: Vertex, b: Vertex): boolean {
    if (a.idx === b.idx) return true;
    if (a.idx > b.idx || get(b.lastSeq, a.creator) < a.seq) return false;
    if (!(b.forkSeen && b.forkSeen[a.creator])) {
      const tip = get(b.lastIdx, a.creator);
      return tip === a.idx || this.sameChain(a.idx, tip);
    }
    const stack = [b];
    const visited = new Set<number>([b.idx]);
    while (stack.length > 0) {
      const v = stack.pop()!;
      for (const p of [v.selfParent, v.otherParent]) {
        if (p === a.idx) return true;
        if (p === NONE || p < a.idx || visited.has(p)) continue;
        const pv = this.byIdx.get(p);
        if (!pv || get(pv.lastSeq, a.creator) < a.seq) continue;
        visited.add(p);
        stack.push(pv);
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- decideFame

  private stronglySeenWitnesses(y: Vertex): Vertex[] {
    if (y.stronglySeen && y.stronglySeenVersion === this.schedule.version) return y.stronglySeen;
    const prev = y.round - 1;
    const { weights, total } = this.weights(prev);
    const out: Vertex[] = [];
    for (const w of this.rounds.get(prev)?.witnesses ?? [])
      if (weights[w.creator]! > 0 && this.stronglySees(y, w, weights, total)) out.push(w);
    y.stronglySeen = out;
    y.stronglySeenVersion = this.schedule.version;
    return out;
  }

  /** y's vote on the fame of x, computed round by round; decides x when a normal round has a supermajority. */
  private vote(y: Vertex, x: Vertex): boolean {
    const memo = y.votes?.get(x.idx);
    if (memo !== undefined) return memo;
    const d = y.round - x.round;
    let v: boolean;
    if (d === 1) {
      v = this.sees(y, x);
    } else {
      const { weights, total } = this.weights(y.round - 1);
      let yes = 0;
      let no = 0;
      for (const s of this.stronglySeenWitnesses(y)) {
        if (this.vote(s, x)) yes += weights[s.creator]!;
        else no += weights[s.creator]!;
      }
      const majority = yes >= no;
      const t = majority ? yes : no;
      if (d % this.coinFrequency !== 0) {
        v = majority;
        if (this.reaches(t, total) && x.famous === UNDECIDED) {
          x.famous = majority ? FAMOUS : NOT_FAMOUS;
          if (d > this.deepestElection) this.deepestElection = d;
        }
      } else {
        v = this.reaches(t, total) ? majority : coinBit(y.event.signature);
      }
    }
    if (!y.votes) y.votes = new Map();
    y.votes.set(x.idx, v);
    return v;
  }

  private decideFame(): void {
    for (let r = this.lastDecided + 1; r < this.maxRound; r++) {
      const info = this.rounds.get(r);
      if (!info) continue;
      for (const x of info.witnesses) {
        if (x.famous !== UNDECIDED) continue;
        for (let j = r + 1; j <= this.maxRound && x.famous === UNDECIDED; j++) {
          for (const y of this.rounds.get(j)?.witnesses ?? []) {
            this.vote(y, x);
            if (x.famous !== UNDECIDED) break;
          }
        }
      }
    }
  }

  private roundIsDecided(r: number): boolean {
    const info = this.rounds.get(r);
    if (!info || info.witnesses.length === 0) return false;
    let anyFamous = false;
    for (const w of info.witnesses) {
      if (w.famous === UNDECIDED) return false;
      if (w.famous === FAMOUS) anyFamous = true;
    }
    return anyFamous;
  }

  // ---------------------------------------------------------------- findOrder

  /** Runs decideFame and findOrder on what has been inserted; returns what became ordered. */
  runConsensus(): ConsensusResult {
    const ordered: OrderedEvent[] = [];
    const decidedRounds: number[] = [];
    const stale: SignedEvent[] = [];
    for (;;) {
      this.decideFame();
      const r = this.lastDecided + 1;
      if (!this.roundIsDecided(r)) break;
      this.lastDecided = r;
      decidedRounds.push(r);
      const received = this.findOrder(r, stale);
      ordered.push(...received);
      const changes = this.membershipPort ? this.membershipPort(r, received) : [];
      if (changes.length > 0) this.scheduleMembership(r + this.membershipDelay, changes);
    }
    if (decidedRounds.length > 0) this.prune();
    return { ordered, decidedRounds, stale };
  }

  private uniqueFamousWitnesses(r: number): Vertex[] {
    const famous = this.rounds.get(r)!.witnesses.filter((w) => w.famous === FAMOUS);
    const count = new Map<number, number>();
    for (const w of famous) count.set(w.creator, (count.get(w.creator) ?? 0) + 1);
    return famous
      .filter((w) => count.get(w.creator) === 1)
      .sort((a, b) => compareBytes(this.creatorBytes[a.creator]!, this.creatorBytes[b.creator]!));
  }

  private findOrder(r: number, stale: SignedEvent[]): OrderedEvent[] {
    const ufw = this.uniqueFamousWitnesses(r);
    if (ufw.length === 0) return [];
    // Round received r: every unique famous witness of r descends from the event.
    const hits = new Map<number, number>();
    for (const w of ufw) {
      const stack = [w];
      const visited = new Set<number>([w.idx]);
      while (stack.length > 0) {
        const v = stack.pop()!;
        hits.set(v.idx, (hits.get(v.idx) ?? 0) + 1);
        for (const p of [v.selfParent, v.otherParent]) {
          if (p === NONE || visited.has(p)) continue;
          const pv = this.byIdx.get(p);
          if (!pv || pv.ordered) continue;
          visited.add(p);
          stack.push(pv);
        }
      }
    }
    const received: Vertex[] = [];
    const remaining: Vertex[] = [];
    for (const v of this.pendingOrder) {
      if (hits.get(v.idx) === ufw.length) received.push(v);
      else remaining.push(v);
    }
    this.pendingOrder = remaining;

    const { weights } = this.weights(r);
    let whitener: Uint8Array = new Uint8Array(64);
    for (const w of ufw) whitener = xor(whitener, w.event.signature);
    const keyed = received.map((x) => {
      x.ordered = true;
      x.roundReceived = r;
      const stamps: { ts: number; stake: number }[] = [];
      for (const w of ufw) {
        let z = w;
        for (;;) {
          const p = this.byIdx.get(z.selfParent);
          if (!p || !this.isAncestor(x, p)) break;
          z = p;
        }
        stamps.push({ ts: z.timestamp, stake: weights[w.creator]! });
      }
      return { x, median: weightedUpperMedian(stamps), whitened: xor(x.event.signature, whitener) };
    });
    keyed.sort((a, b) => a.median - b.median || compareBytes(a.whitened, b.whitened));

    const out: OrderedEvent[] = [];
    for (const { x, median } of keyed) {
      if (r - x.round > this.pruneHorizon) {
        stale.push(x.event);
        continue;
      }
      if (this.weights(x.round).weights[x.creator]! === 0) continue;
      const ts = Math.max(median, this.lastConsensusTimestamp + 1);
      this.lastConsensusTimestamp = ts;
      out.push({
        event: x.event,
        round: x.round,
        roundReceived: r,
        consensusTimestamp: ts,
        consensusIndex: this.consensusCount++,
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- membership

  /**
   * Rounds above lastDecided + k were computed with the membership then known. When a decided
   * round changes the membership of round e, every event of round >= e is recomputed in
   * insertion (topological) order, and votes above the last decided round are forgotten.
   */
  private scheduleMembership(effectiveRound: number, changes: readonly MembershipChange[]): void {
    this.schedule.schedule(effectiveRound, changes);
    const affected: Vertex[] = [];
    for (const [round, info] of this.rounds) {
      if (round < effectiveRound) continue;
      affected.push(...info.events);
      this.rounds.delete(round);
    }
    affected.sort((a, b) => a.idx - b.idx);
    this.maxRound = 0;
    for (const round of this.rounds.keys()) if (round > this.maxRound) this.maxRound = round;
    // Fame above the last decided round may have used votes from the rounds now changed.
    for (const [round, info] of this.rounds) {
      if (round <= this.lastDecided) continue;
      for (const w of info.witnesses) {
        w.votes = null;
        w.stronglySeen = null;
        w.famous = UNDECIDED;
      }
    }
    for (const v of affected) {
      v.votes = null;
      v.stronglySeen = null;
      v.famous = UNDECIDED;
      this.divideRounds(v, this.parentRef(v.selfParent), this.parentRef(v.otherParent));
    }
  }

  private parentRef(idx: number): Vertex | null {
    return idx === NONE ? null : (this.byIdx.get(idx) ?? null);
  }

  /** Applies changes decided outside this graph's port (e.g. replayed from a store). */
  applyMembershipChanges(decidedRound: number, changes: readonly MembershipChange[]): void {
    if (changes.length > 0) this.scheduleMembership(decidedRound + this.membershipDelay, changes);
  }

  // ---------------------------------------------------------------- pruning

  /** Forgets rounds more than pruneHorizon below the last decided round; keeps tombstones a while longer. */
  private prune(): void {
    const floor = this.lastDecided - this.pruneHorizon;
    for (const [round, info] of this.rounds) {
      if (round >= floor) continue;
      for (const v of info.events) {
        this.byId.delete(v.event.idHex);
        this.byIdx.delete(v.idx);
        const seqs = this.bySeq[v.creator]!;
        const at = seqs.get(v.seq);
        if (at) {
          const rest = at.filter((i) => i !== v.idx);
          if (rest.length > 0) seqs.set(v.seq, rest);
          else seqs.delete(v.seq);
        }
        this.tombstones.set(v.event.idHex, {
          creator: v.creator,
          seq: v.seq,
          timestamp: v.timestamp,
          round: v.round,
          prunedAtRound: this.lastDecided,
        });
      }
      this.rounds.delete(round);
    }
    if (this.pendingOrder.some((v) => v.round < floor))
      this.pendingOrder = this.pendingOrder.filter((v) => v.round >= floor);
    for (const [id, t] of this.tombstones) {
      if (t.prunedAtRound >= this.lastDecided - this.pruneHorizon) break;
      this.tombstones.delete(id);
    }
    this.schedule.compact(floor);
  }

  /** Keys of every creator ever seen, by creator index. */
  creators(): readonly Hex[] {
    return this.creatorKeys;
  }
}

function get(arr: Int32Array, i: number): number {
  return i < arr.length ? arr[i]! : NONE;
}

function coinBit(signature: Uint8Array): boolean {
  return (signature[32]! & 1) === 1;
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** Smallest timestamp whose cumulative stake (ascending) exceeds half the total: the upper middle for equal stakes. */
export function weightedUpperMedian(stamps: readonly { ts: number; stake: number }[]): number {
  const sorted = [...stamps].sort((a, b) => a.ts - b.ts);
  const total = sorted.reduce((s, x) => s + x.stake, 0);
  let acc = 0;
  for (const s of sorted) {
    acc += s.stake;
    if (2 * acc > total) return s.ts;
  }
  return sorted[sorted.length - 1]?.ts ?? 0;
}
