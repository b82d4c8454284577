import fc from 'fast-check';
import { topologicalShuffle } from '../../../domain/shadowgraph/testing/gossip.js';
import { ReferenceHashgraph } from '../../../domain/shadowgraph/testing/reference.js';
import { Hashgraph } from '../../../domain/shadowgraph/hashgraph.js';
import { build, type Outcome, run, scenarios, verify } from './gossip-scenarios.js';

/*
 * Consensus is a function of the DAG alone: random gossip among 4-7 members (optionally one forking
 * member with stake 1, always below a third of the total; optionally one member that joins late,
 * hanging its first event off an old one so it becomes a late witness), inserted into fresh graphs
 * in different topological orders, with consensus run at different moments.
 */

const choices = fc.array(fc.nat(1_000_000), { minLength: 1, maxLength: 64 });

function expectSameConclusions(a: Outcome, b: Outcome): void {
  expect(b.ordered).toEqual(a.ordered);
  expect(b.decided).toEqual(a.decided);
  expect(b.graph.lastDecidedRound).toBe(a.graph.lastDecidedRound);
  for (const [id, d] of a.described) expect([id, b.described.get(id)]).toEqual([id, d]);
}

/** Consensus indexes count from 0, timestamps strictly increase, decided rounds are 0, 1, 2, ... */
function expectWellFormed(a: Outcome): void {
  const fields = a.ordered.map((o) => o.split(':'));
  expect(fields.map((f) => Number(f[0]))).toEqual(fields.map((_f, i) => i));
  const stamps = fields.map((f) => Number(f[4]));
  for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
  const received = fields.map((f) => Number(f[3]));
  for (let i = 1; i < received.length; i++) expect(received[i]!).toBeGreaterThanOrEqual(received[i - 1]!);
  expect(a.decided).toEqual(a.decided.map((_r, i) => i));
}

describe('consensus does not depend on insertion order', () => {
  test.each([
    ['honest members', false],
    ['one forking member', true],
  ])('%s: shuffled insertions and interleaved runConsensus agree on everything', (_, forks) => {
    fc.assert(
      fc.property(
        scenarios({ forks }),
        fc.array(choices, { minLength: 2, maxLength: 2 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (s, shuffles, runPoints) => {
          const built = build(s);
          const base = run(built, built.events, s.coinRoundFrequency);
          expectWellFormed(base);
          for (const c of shuffles) {
            const order = topologicalShuffle(built.events, c);
            expectSameConclusions(base, run(built, order, s.coinRoundFrequency));
          }
          // Creation order with consensus run after many insertions: late witnesses then arrive
          // after their round is decided.
          const every = new Set(built.events.map((_e, i) => i).filter((i) => i % 3 === 0));
          expectSameConclusions(base, run(built, built.events, s.coinRoundFrequency, every));
          // A shuffled order with consensus run at arbitrary points.
          const order = topologicalShuffle(built.events, shuffles[0]!);
          const points = new Set(runPoints.map((p) => p % built.events.length));
          expectSameConclusions(base, run(built, order, s.coinRoundFrequency, points));
        },
      ),
      { numRuns: 25 },
    );
  });

  test('the generator really produces decided rounds, forks, late witnesses and new orders', () => {
    let ordered = 0;
    let forks = 0;
    let late = 0;
    let reordered = 0;
    fc.assert(
      fc.property(scenarios({ forks: true, minSteps: 120 }), choices, (s, c) => {
        const built = build({ ...s, lateJoinPercent: 50 });
        const out = run(built, built.events, s.coinRoundFrequency, new Set(built.events.map((_e, i) => i)));
        ordered += out.ordered.length;
        forks += out.graph.forkEvidence.length;
        late += out.lateWitnesses;
        if (topologicalShuffle(built.events, c).some((e, i) => e !== built.events[i])) reordered++;
      }),
      { numRuns: 10, seed: 7 },
    );
    expect(ordered).toBeGreaterThan(100);
    expect(forks).toBeGreaterThan(5);
    expect(late).toBeGreaterThan(0);
    expect(reordered).toBeGreaterThan(5);
  });
});

describe('a prefix-closed subset orders a prefix of the full order', () => {
  test('events of a topological prefix: their consensus order is a prefix of the full one', () => {
    fc.assert(
      fc.property(
        scenarios({ forks: true }),
        choices,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (s, c, share) => {
          const built = build(s);
          const full = run(built, built.events, s.coinRoundFrequency);
          const order = topologicalShuffle(built.events, c);
          const prefix = order.slice(0, Math.floor(order.length * share));
          const part = run(built, prefix, s.coinRoundFrequency);
          expect(part.ordered).toEqual(full.ordered.slice(0, part.ordered.length));
          expect(full.decided.slice(0, part.decided.length)).toEqual(part.decided);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('the core agrees with the naive transcription of the paper', () => {
  test.each([
    ['honest members', false],
    ['one forking member', true],
  ])('%s: round, witness, fame and round received of every event', (_, forks) => {
    fc.assert(
      fc.property(scenarios({ forks, maxSteps: 120 }), (s) => {
        const built = build(s);
        const core = run(built, built.events, s.coinRoundFrequency);
        const ref = new ReferenceHashgraph(built.events, {
          stakes: new Map(built.genesis.map((g) => [g.key, g.stake])),
          coinRoundFrequency: s.coinRoundFrequency,
        });
        for (const e of built.events) {
          const i = ref.idx(e.idHex);
          const expected = {
            round: ref.rounds[i],
            witness: ref.witness[i],
            famous: ref.famous[i],
            roundReceived: ref.roundReceived[i],
          };
          expect([i, JSON.parse(core.described.get(e.idHex)!)]).toEqual([i, expected]);
        }
        expect(core.decided).toEqual(ref.decidedRounds);
      }),
      { numRuns: 20 },
    );
  });

  test('honest members: the same total order and consensus timestamps', () => {
    fc.assert(
      fc.property(scenarios({ forks: false, maxSteps: 120 }), (s) => {
        const built = build(s);
        const core = run(built, built.events, s.coinRoundFrequency);
        const ref = new ReferenceHashgraph(built.events, {
          stakes: new Map(built.genesis.map((g) => [g.key, g.stake])),
          coinRoundFrequency: s.coinRoundFrequency,
        });
        expect(
          core.ordered.map((o) =>
            o
              .split(':')
              .filter((_x, k) => k !== 2)
              .join(':'),
          ),
        ).toEqual(ref.order.map((o, k) => `${k}:${o.id}:${o.roundReceived}:${o.consensusTimestamp}`));
      }),
      { numRuns: 20 },
    );
  });

  test('one forking member: the same total order and consensus timestamps', () => {
    fc.assert(
      fc.property(scenarios({ forks: true, maxSteps: 160 }), (s) => {
        const built = build(s);
        const core = run(built, built.events, s.coinRoundFrequency);
        const ref = new ReferenceHashgraph(built.events, {
          stakes: new Map(built.genesis.map((g) => [g.key, g.stake])),
          coinRoundFrequency: s.coinRoundFrequency,
        });
        expect(
          core.ordered.map((o) =>
            o
              .split(':')
              .filter((_x, k) => k !== 2)
              .join(':'),
          ),
        ).toEqual(ref.order.map((o, k) => `${k}:${o.id}:${o.roundReceived}:${o.consensusTimestamp}`));
      }),
      { numRuns: 30 },
    );
  });

  test.each(['threshold-half', 'no-fork-exclusion', 'first-branch-wins'] as const)(
    'the comparison is not vacuous: it tells the %s mutant of the core from the paper',
    (mutant) => {
      let caught = 0;
      fc.assert(
        fc.property(scenarios({ forks: true, maxSteps: 160 }), (s) => {
          const built = build(s);
          const graph = new Hashgraph({
            genesis: built.genesis,
            verify,
            coinRoundFrequency: s.coinRoundFrequency,
            mutant,
          });
          for (const e of built.events) graph.insert(e);
          graph.runConsensus();
          const ref = new ReferenceHashgraph(built.events, {
            stakes: new Map(built.genesis.map((g) => [g.key, g.stake])),
            coinRoundFrequency: s.coinRoundFrequency,
          });
          const differs = built.events.some((e) => {
            const d = graph.describe(e.idHex)!;
            const i = ref.idx(e.idHex);
            return d.round !== ref.rounds[i] || d.witness !== ref.witness[i] || d.famous !== ref.famous[i];
          });
          if (differs) caught++;
        }),
        { numRuns: 6, seed: 1 },
      );
      expect(caught).toBeGreaterThan(0);
    },
  );
});
