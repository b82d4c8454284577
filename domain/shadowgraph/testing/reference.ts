import { compareBytes, type Hex, type SignedEvent, toHex } from '../event.js';

/**
 * A deliberately naive transcription of the definitions of Baird, SWIRLDS-TR-2016-01 (with stake,
 * rounds from 0 and the project's coin and median conventions), for checking the core against.
 * No incremental state and no shortcuts: every relation is computed from the ancestor sets (pure
 * results are memoised, nothing else). Quadratic and slow; for small test DAGs only.
 *
 * Conventions shared with the core (see hashgraph.ts): thresholds are 3·s > 2·total; the coin is
 * the lowest bit of signature byte 32; a round counts as decided only when all its witnesses are
 * decided and at least one is famous; consensus timestamp is the stake-weighted upper median,
 * ties broken by whitened signature, then made strictly increasing.
 */

export interface ReferenceConfig {
  readonly stakes: ReadonlyMap<Hex, number>;
  readonly coinRoundFrequency: number;
}

export interface ReferenceOrdered {
  readonly id: Hex;
  readonly roundReceived: number;
  readonly consensusTimestamp: number;
}

interface Ev {
  readonly i: number;
  readonly e: SignedEvent;
  readonly creator: Hex;
  readonly seq: number;
  readonly sp: number;
  readonly op: number;
}

export class ReferenceHashgraph {
  private readonly evs: Ev[] = [];
  private readonly index = new Map<Hex, number>();
  private readonly anc: bigint[] = [];
  private readonly selfAnc: bigint[] = [];
  private readonly forkMemo = new Map<string, boolean>();
  private readonly strongMemo = new Map<string, boolean>();
  private readonly total: number;
  readonly rounds: number[] = [];
  readonly witness: boolean[] = [];
  /** Per event index: true, false, or null (undecided / not a witness). */
  readonly famous: (boolean | null)[] = [];
  readonly roundReceived: (number | null)[] = [];
  readonly order: ReferenceOrdered[] = [];
  readonly decidedRounds: number[] = [];

  /** events: parents before children. */
  constructor(
    events: readonly SignedEvent[],
    private readonly config: ReferenceConfig,
  ) {
    this.total = [...config.stakes.values()].reduce((a, b) => a + b, 0);
    for (const e of events) {
      const i = this.evs.length;
      const sp = e.body.selfParent ? this.index.get(toHex(e.body.selfParent)) : -1;
      const op = e.body.otherParent ? this.index.get(toHex(e.body.otherParent)) : -1;
      if (sp === undefined || op === undefined) throw new Error('reference: parents must come first');
      this.evs.push({ i, e, creator: toHex(e.body.creator), seq: e.body.seq, sp, op });
      this.index.set(e.idHex, i);
      const bit = 1n << BigInt(i);
      this.anc.push(bit | (sp >= 0 ? this.anc[sp]! : 0n) | (op >= 0 ? this.anc[op]! : 0n));
      this.selfAnc.push(bit | (sp >= 0 ? this.selfAnc[sp]! : 0n));
    }
    this.divideRounds();
    this.decideFame();
    this.findOrder();
  }

  idx(id: Hex): number {
    const i = this.index.get(id);
    if (i === undefined) throw new Error(`reference: unknown ${id}`);
    return i;
  }

  private stake(creator: Hex): number {
    return this.config.stakes.get(creator) ?? 0;
  }

  private supermajority(s: number): boolean {
    return 3 * s > 2 * this.total;
  }

  /** y is an ancestor of x (x itself included). */
  isAncestor(y: number, x: number): boolean {
    return ((this.anc[x]! >> BigInt(y)) & 1n) === 1n;
  }

  /** y is a self-ancestor of x (x itself included). */
  isSelfAncestor(y: number, x: number): boolean {
    return ((this.selfAnc[x]! >> BigInt(y)) & 1n) === 1n;
  }

  /** The ancestors of x include a fork by c: two events by c, neither a self-ancestor of the other. */
  forkInAncestry(x: number, c: Hex): boolean {
    const k = `${x}:${c}`;
    const memo = this.forkMemo.get(k);
    if (memo !== undefined) return memo;
    const byC = this.evs.filter((v) => v.creator === c && this.isAncestor(v.i, x));
    let fork = false;
    for (let a = 0; a < byC.length && !fork; a++)
      for (let b = a + 1; b < byC.length && !fork; b++) {
        const p = byC[a]!.i;
        const q = byC[b]!.i;
        if (!this.isSelfAncestor(p, q) && !this.isSelfAncestor(q, p)) fork = true;
      }
    this.forkMemo.set(k, fork);
    return fork;
  }

  /** x sees y: y is an ancestor of x and the ancestors of x hold no fork by y's creator. */
  sees(x: number, y: number): boolean {
    return this.isAncestor(y, x) && !this.forkInAncestry(x, this.evs[y]!.creator);
  }

  /** Stake of the creators having an event z with x sees z and z sees y. */
  supportStake(x: number, y: number): number {
    const creators = new Set<Hex>();
    for (const z of this.evs) {
      if (z.i > x) break;
      if (this.sees(x, z.i) && this.sees(z.i, y)) creators.add(z.creator);
    }
    let s = 0;
    for (const c of creators) s += this.stake(c);
    return s;
  }

  stronglySees(x: number, y: number): boolean {
    const k = `${x}:${y}`;
    let v = this.strongMemo.get(k);
    if (v === undefined) {
      v = this.sees(x, y) && this.supermajority(this.supportStake(x, y));
      this.strongMemo.set(k, v);
    }
    return v;
  }

  private witnessesOf(r: number): number[] {
    return this.evs.filter((v) => this.witness[v.i] && this.rounds[v.i] === r).map((v) => v.i);
  }

  private divideRounds(): void {
    for (const v of this.evs) {
      const parents = [v.sp, v.op].filter((p) => p >= 0);
      const r = parents.length === 0 ? 0 : Math.max(...parents.map((p) => this.rounds[p]!));
      let seen = 0;
      if (parents.length > 0)
        for (const w of this.witnessesOf(r))
          if (this.stronglySees(v.i, w)) seen += this.stake(this.evs[w]!.creator);
      const round = parents.length > 0 && this.supermajority(seen) ? r + 1 : r;
      this.rounds[v.i] = round;
      this.witness[v.i] = (v.sp < 0 || round > this.rounds[v.sp]!) && this.stake(v.creator) > 0;
      this.famous[v.i] = null;
      this.roundReceived[v.i] = null;
    }
  }

  /** The paper's decideFame loop, literally: votes kept per (voter, candidate). */
  private decideFame(): void {
    const votes = new Map<string, boolean>();
    const maxRound = Math.max(0, ...this.rounds);
    const c = this.config.coinRoundFrequency;
    for (let rx = 0; rx <= maxRound; rx++) {
      for (const x of this.witnessesOf(rx)) {
        outer: for (let ry = rx + 1; ry <= maxRound; ry++) {
          for (const y of this.witnessesOf(ry)) {
            const d = ry - rx;
            if (d === 1) {
              votes.set(`${y}:${x}`, this.sees(y, x));
              continue;
            }
            let yes = 0;
            let no = 0;
            for (const w of this.witnessesOf(ry - 1)) {
              if (!this.stronglySees(y, w)) continue;
              if (votes.get(`${w}:${x}`)!) yes += this.stake(this.evs[w]!.creator);
              else no += this.stake(this.evs[w]!.creator);
            }
            const v = yes >= no;
            const t = v ? yes : no;
            if (d % c > 0) {
              votes.set(`${y}:${x}`, v);
              if (this.supermajority(t)) {
                this.famous[x] = v;
                break outer;
              }
            } else {
              votes.set(`${y}:${x}`, this.supermajority(t) ? v : (this.evs[y]!.e.signature[32]! & 1) === 1);
            }
          }
        }
      }
    }
  }

  private findOrder(): void {
    const maxRound = Math.max(0, ...this.rounds);
    const received: { i: number; rr: number; median: number; whitened: Uint8Array }[] = [];
    for (let r = 0; r <= maxRound; r++) {
      const ws = this.witnessesOf(r);
      if (ws.length === 0 || ws.some((w) => this.famous[w] === null) || !ws.some((w) => this.famous[w]))
        break;
      this.decidedRounds.push(r);
      const famous = ws.filter((w) => this.famous[w]);
      const ufw = famous.filter(
        (w) => famous.filter((u) => this.evs[u]!.creator === this.evs[w]!.creator).length === 1,
      );
      let whitener: Uint8Array = new Uint8Array(64);
      for (const w of ufw) whitener = xor(whitener, this.evs[w]!.e.signature);
      for (const x of this.evs) {
        if (this.roundReceived[x.i] !== null) continue;
        if (!ufw.every((w) => this.isAncestor(x.i, w))) continue;
        this.roundReceived[x.i] = r;
        // For each ufw: the z on its self-chain with x an ancestor of z but not of z's self-parent.
        const stamps = ufw.map((w) => {
          let z = w;
          while (this.evs[z]!.sp >= 0 && this.isAncestor(x.i, this.evs[z]!.sp)) z = this.evs[z]!.sp;
          return { ts: this.evs[z]!.e.body.timestamp, stake: this.stake(this.evs[w]!.creator) };
        });
        received.push({ i: x.i, rr: r, median: upperMedian(stamps), whitened: xor(x.e.signature, whitener) });
      }
    }
    received.sort((a, b) => a.rr - b.rr || a.median - b.median || compareBytes(a.whitened, b.whitened));
    let last = -1;
    for (const x of received) {
      last = Math.max(x.median, last + 1);
      this.order.push({ id: this.evs[x.i]!.e.idHex, roundReceived: x.rr, consensusTimestamp: last });
    }
  }
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** Smallest timestamp at which the stake counted from below passes half of the total. */
function upperMedian(stamps: readonly { ts: number; stake: number }[]): number {
  const sorted = [...stamps].sort((a, b) => a.ts - b.ts);
  const total = sorted.reduce((s, x) => s + x.stake, 0);
  let acc = 0;
  for (const s of sorted) {
    acc += s.stake;
    if (2 * acc > total) return s.ts;
  }
  return 0;
}
