import { sha256 } from '../../crypto/index.js';
import { assembleEvent, type SignedEvent } from '../event.js';
import type { PlayMember } from './play.js';

/**
 * Random-gossip DAGs for property tests, driven entirely by the step list (no randomness of its
 * own), so fast-check can generate and shrink them. Each step: one member creates an event whose
 * other-parent is the tip of another member. One member may be a forker: on a `fork` step it
 * creates a sibling of one of its branch tips (same self-parent, so same seq), and from then on
 * extends whichever branch a step names; other members reference whichever branch a step names.
 */

export interface GossipStep {
  /** Creator: index into the members (taken modulo their count). */
  readonly creator: number;
  /** Other-parent creator, as an offset from the creator (never the creator itself). */
  readonly other: number;
  /** The forker forks instead of extending (ignored for honest members). */
  readonly fork?: boolean;
  /** Which branch of the forker to extend or reference (taken modulo the branch count). */
  readonly branch?: number;
  /** Reference an older event of the other member: this many self-parent steps below its tip. */
  readonly lag?: number;
}

export interface GossipOptions {
  /** Index of the forking member, if any. */
  readonly forker?: number;
  /** Per member clock offset added to every timestamp (default 0); keeps clocks unequal. */
  readonly skew?: readonly number[];
}

export function gossipEvents(
  members: readonly PlayMember[],
  steps: readonly GossipStep[],
  options: GossipOptions = {},
): SignedEvent[] {
  const n = members.length;
  if (n < 2) throw new Error('gossip needs two members');
  /** Per member: branch tips (honest members have at most one). */
  const tips: SignedEvent[][] = members.map(() => []);
  const out: SignedEvent[] = [];
  steps.forEach((step, t) => {
    const c = step.creator % n;
    const o = (c + 1 + (step.other % (n - 1))) % n;
    const own = tips[c]!;
    const others = tips[o]!;
    let otherParent = others.length > 0 ? others[(step.branch ?? 0) % others.length]! : null;
    for (let k = 0; k < (step.lag ?? 0) && otherParent?.body.selfParent; k++) {
      const sp = otherParent.body.selfParent;
      otherParent = out.find((e) => equal(e.id, sp)) ?? otherParent;
    }
    const forking = options.forker === c && step.fork === true && own.length > 0;
    let selfParent: SignedEvent | null;
    if (forking) {
      // A sibling of a branch tip: same self-parent as that tip (or none, for seq 0). It differs
      // from the tip at least by its timestamp, so it is a distinct event at the same seq.
      const tip = own[(step.branch ?? 0) % own.length]!;
      const sp = tip.body.selfParent;
      selfParent = sp ? (out.find((e) => equal(e.id, sp)) ?? null) : null;
    } else {
      selfParent = own.length > 0 ? own[(step.branch ?? 0) % own.length]! : null;
    }
    const m = members[c]!;
    const event = assembleEvent(
      {
        creator: m.publicKey,
        seq: selfParent ? selfParent.body.seq + 1 : 0,
        selfParent: selfParent ? selfParent.id : null,
        otherParent: otherParent ? otherParent.id : null,
        // Later steps have later times on every clock, so each self-chain's timestamps increase.
        timestamp: 1000 + t * 10 + (options.skew?.[c] ?? 0),
        payloads: [],
        stateRoot: new Uint8Array(0),
      },
      (id) => m.sign(id),
      sha256,
    );
    out.push(event);
    if (forking) own.push(event);
    else if (own.length === 0) own.push(event);
    else own[(step.branch ?? 0) % own.length] = event;
  });
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A topological order of `events` (parents first), choosing among the ready events with the
 * given choice numbers (reused cyclically; an empty list keeps the original order).
 */
export function topologicalShuffle(
  events: readonly SignedEvent[],
  choices: readonly number[],
): SignedEvent[] {
  const index = new Map(events.map((e, i) => [key(e.id), i]));
  const parents = events.map((e) =>
    [e.body.selfParent, e.body.otherParent]
      .filter((p): p is Uint8Array => p !== null)
      .map((p) => {
        const i = index.get(key(p));
        if (i === undefined) throw new Error('events are not closed under parents');
        return i;
      }),
  );
  const children: number[][] = events.map(() => []);
  const waiting = parents.map((ps) => ps.length);
  parents.forEach((ps, i) => ps.forEach((p) => children[p]!.push(i)));
  const ready: number[] = [];
  waiting.forEach((w, i) => {
    if (w === 0) ready.push(i);
  });
  const out: SignedEvent[] = [];
  let k = 0;
  while (ready.length > 0) {
    const pick = choices.length === 0 ? 0 : choices[k++ % choices.length]! % ready.length;
    const i = ready.splice(pick, 1)[0]!;
    out.push(events[i]!);
    for (const ch of children[i]!) if (--waiting[ch]! === 0) ready.push(ch);
  }
  if (out.length !== events.length) throw new Error('the parent relation has a cycle');
  return out;
}

function key(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}
