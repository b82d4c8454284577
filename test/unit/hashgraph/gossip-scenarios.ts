import fc from 'fast-check';
import type { SignedEvent } from '../../../domain/shadowgraph/event.js';
import { Hashgraph } from '../../../domain/shadowgraph/hashgraph.js';
import { type GossipStep, gossipEvents } from '../../../domain/shadowgraph/testing/gossip.js';
import { cachingVerifier, type PlayMember, testMembers } from '../../../domain/shadowgraph/testing/play.js';

/** Shared by the property specs: random gossip scenarios and what a graph concluded from them. */

export const MEMBERS: readonly PlayMember[] = testMembers(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
export const verify = cachingVerifier();

export interface Scenario {
  readonly n: number;
  /** Index of the forking member (stake 1, so always below a third of the total), or undefined. */
  readonly forker: number | undefined;
  readonly stakes: readonly number[];
  readonly skew: readonly number[];
  readonly coinRoundFrequency: number;
  /** Member n-1 stays silent for this share (percent) of the steps, then joins from old events. */
  readonly lateJoinPercent: number;
  readonly steps: readonly GossipStep[];
}

const step: fc.Arbitrary<GossipStep> = fc.record({
  creator: fc.nat(6),
  other: fc.nat(5),
  fork: fc.nat(9).map((k) => k === 0),
  branch: fc.nat(3),
  lag: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.nat(3), weight: 1 }),
});

export function scenarios(options: {
  forks: boolean;
  minSteps?: number;
  maxSteps?: number;
}): fc.Arbitrary<Scenario> {
  return fc.record({
    n: fc.integer({ min: 4, max: 7 }),
    forker: options.forks ? fc.nat(6) : fc.constant(undefined),
    stakes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 7, maxLength: 7 }),
    skew: fc.array(fc.nat(9), { minLength: 7, maxLength: 7 }),
    coinRoundFrequency: fc.constantFrom(3, 4, 10),
    lateJoinPercent: fc.oneof(fc.constant(0), fc.integer({ min: 10, max: 70 })),
    steps: fc.array(step, { minLength: options.minSteps ?? 120, maxLength: options.maxSteps ?? 300 }),
  });
}

export interface Built {
  readonly events: SignedEvent[];
  readonly genesis: { key: string; stake: number }[];
  readonly forker: number | undefined;
}

export function build(s: Scenario): Built {
  const members = MEMBERS.slice(0, s.n);
  const forker = s.forker === undefined ? undefined : s.forker % s.n;
  const late = s.n - 1;
  const silentUntil = Math.floor((s.steps.length * s.lateJoinPercent) / 100);
  let joined = false;
  const steps = s.steps.map((st, t) => {
    if (s.lateJoinPercent === 0 || st.creator % s.n !== late) return st;
    if (t < silentUntil) return { ...st, creator: (late + 1 + (st.other % (s.n - 1))) % s.n };
    if (joined) return st;
    joined = true;
    return { ...st, lag: 1000 }; // its first event hangs off an old event: a late witness
  });
  const events = gossipEvents(members, steps, { forker, skew: s.skew });
  const genesis = members.map((m, i) => ({ key: m.key, stake: i === forker ? 1 : s.stakes[i]! }));
  return { events, genesis, forker };
}

export interface Outcome {
  readonly ordered: string[];
  readonly decided: number[];
  readonly described: Map<string, string>;
  readonly graph: Hashgraph;
  /** Witnesses inserted into a round that was already decided. */
  readonly lateWitnesses: number;
}

/**
 * Inserts events in the given order (all must be accepted); runs consensus after the insertions
 * named in `runAfter` (indexes) and once at the end.
 */
export function run(
  built: Built,
  order: readonly SignedEvent[],
  coinRoundFrequency: number,
  runAfter: ReadonlySet<number> = new Set(),
): Outcome {
  const graph = new Hashgraph({ genesis: built.genesis, verify, coinRoundFrequency });
  const ordered: string[] = [];
  const decided: number[] = [];
  const collect = () => {
    const r = graph.runConsensus();
    decided.push(...r.decidedRounds);
    for (const o of r.ordered)
      ordered.push(
        `${o.consensusIndex}:${o.event.idHex}:${o.round}:${o.roundReceived}:${o.consensusTimestamp}`,
      );
  };
  let lateWitnesses = 0;
  order.forEach((e, i) => {
    const decidedBefore = graph.lastDecidedRound;
    const res = graph.insert(e);
    if (res.status !== 'inserted') throw new Error(`event ${i} not inserted: ${JSON.stringify(res)}`);
    if (res.witness && res.round <= decidedBefore) lateWitnesses++;
    if (runAfter.has(i)) collect();
  });
  collect();
  const described = new Map<string, string>();
  for (const e of order) described.set(e.idHex, JSON.stringify(graph.describe(e.idHex)));
  return { ordered, decided, described, graph, lateWitnesses };
}
