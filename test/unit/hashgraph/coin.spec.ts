import {
  buildPlay,
  coinBit,
  playGraph,
  playReference,
  type PlayRow,
} from '../../../domain/shadowgraph/testing/play.js';

/*
 * A split vote that reaches a coin round. 4 members, stake 1 each (supermajority >= 3).
 * coinRoundFrequency 3: in the election of a round-r witness, voters of round r+1 vote "sees",
 * round r+2 is a normal round, round r+3 a coin round, r+4 normal again.
 *
 *   ts   A         B         C         D
 *   19   |         |         C4<B4     |
 *   18   |         B4<A4 *   |         |
 *   17   A4<D3 *   |         |         |
 *   16   |         |         |         D3<C3 *
 *   15   |         |         C3<B3 *   |
 *   14   |         B3<A3     |         |
 *   13   A3<D2     |         |         |
 *   12   |         |         |         D2<B2
 *   11   |         |         C2<A2     |
 *   10   |         B2<A2     |         |
 *    9   A2<D1     |         |         |
 *    8   |         |         |         D1<C1
 *    7   |         |         |         D0           <- no parents: seen only through D1
 *    6   |         |         C1<B1
 *    5   |         B1<A1     |
 *    4   A1<C0     |         |
 *    3   |         |         C0<B0
 *    2   |         B0<A0
 *    1   A0
 *   (* = may carry a payload "coin-nonce:k", which changes only that event's bytes and signature)
 *
 * Ancestors: A0 B0 C0 A1 B1 C1 form a chain (each on the previous one). D1 = C1's + D0. A2 = all of
 * the above. B2 = A2's + B2. C2 = A2's + C2 (not B2). D2 = B2's + D2 (not C2). A3, B3: D2's plus
 * themselves (not C2). C3 and everything after: all earlier events. No forks: "sees" = ancestor.
 *
 * divideRounds (support = members whose latest event below x sees the witness; >= 3 needed):
 *   A1: strongly sees A0, B0 (not C0: only A1, C0): round 0. B1: A0 B0 C0: round 1. C1: round 1.
 *   D0: round 0 witness. D1: parents D0 (round 0) and C1 (round 1); B1 (D1, C1, B1) yes, C1 (D1, C1)
 *   no: round 1, witness. A2: B1 and C1 (A2, C1, D1), not D1 (A2, D1): round 1, witness.
 *   B2: B1, C1, D1 (B2, A2, D1), not A2 (B2, A2): round 2, witness.
 *   C2: B1, C1, D1 (C2, A2, D1), not A2: round 2, witness.
 *   D2: round-2 witnesses below it: B2 only (C2 is not an ancestor), seen by D2, B2: round 2,
 *   witness. A3: B2 (A3, D2, B2), not D2: round 2, witness. B3: B2, D2, not A3: round 2, not
 *   a witness. C3: B2, D2 (C3, B3, A3, D2), A3 (C3, B3, A3); C2 is seen only by C3 (B3, A3, D2
 *   do not have it): stake 3, round 3, witness. D3: round 3, witness. A4: C3 only: round 3,
 *   witness. B4: C3, D3, not A4: round 3, witness. C4: C3, D3 (C4, B4, A4, D3), A4 (C4, B4, A4):
 *   round 4, witness.
 *
 * The election of D0 (round 0):
 *   d=1 (round 1, vote = sees D0): B1 no, C1 no (D0 is not their ancestor), D1 yes, A2 yes.
 *   d=2 (round 2, normal): each votes the majority of the round-1 witnesses it strongly sees
 *     (yes on a tie) and decides only with stake >= 3 on one side:
 *       B2 strongly sees B1 C1 D1 -> 1 yes / 2 no -> votes NO, undecided
 *       C2 strongly sees B1 C1 D1 -> NO, undecided
 *       D2 strongly sees B1 C1 D1 A2 (A2 via D2, B2, A2) -> 2/2 -> YES, undecided
 *       A3 strongly sees B1 C1 D1 A2 -> 2/2 -> YES, undecided
 *   d=3 (round 3, coin round): with round-2 votes 2 no / 2 yes, no round-3 witness can strongly
 *     see 3 alike (C3 and D3 strongly see B2 D2 A3: 2 yes / 1 no; A4 and B4 see all four:
 *     2 / 2), so each of C3, D3, A4, B4 votes its coin: lowest bit of signature byte 32.
 *     (With coinRoundFrequency 10, round 3 is normal: C3 D3 A4 B4 all vote the majority, YES.)
 *   d=4 (round 4, normal): C4 strongly sees C3, D3 and A4 (not B4). If their three votes agree it
 *     decides that value; otherwise it votes the majority and D0 stays undecided.
 * Other elections are not split: every round-1 witness sees A0 B0 C0 (famous at d=2 by B2);
 * every round-2 witness has B1 C1 D1 A2 below it (famous at d=2 by C3); every round-3 witness has
 * B2 C2 D2 A3 below it (famous at d=2 by C4). So rounds 1 and 2 are decided by C4, and round 0 is
 * decided exactly when D0 is.
 * Round received once round 0 is decided:
 *   D0 famous: ufw A0 B0 C0 D0 have no common ancestor: nothing in round 0. Round 1 (ufw B1 C1 D1
 *     A2, all above B1): A0 B0 C0 A1 B1. Round 2 (ufw B2 C2 D2 A3: common part = A2's ancestors):
 *     C1 D0 D1 A2.
 *   D0 not famous: ufw A0 B0 C0: A0 is an ancestor of B0 and C0: A0 in round 0. Round 1: B0 C0 A1
 *     B1. Round 2: C1 D0 D1 A2 (D0 is ordered although not famous).
 */

const BASE: PlayRow[] = [
  ['A0', 'A', null, null],
  ['B0', 'B', null, 'A0'],
  ['C0', 'C', null, 'B0'],
  ['A1', 'A', 'A0', 'C0'],
  ['B1', 'B', 'B0', 'A1'],
  ['C1', 'C', 'C0', 'B1'],
  ['D0', 'D', null, null],
  ['D1', 'D', 'D0', 'C1'],
  ['A2', 'A', 'A1', 'D1'],
  ['B2', 'B', 'B1', 'A2'],
  ['C2', 'C', 'C1', 'A2'],
  ['D2', 'D', 'D1', 'B2'],
  ['A3', 'A', 'A2', 'D2'],
  ['B3', 'B', 'B2', 'A3'],
  ['C3', 'C', 'C2', 'B3'],
  ['D3', 'D', 'D2', 'C3'],
  ['A4', 'A', 'A3', 'D3'],
  ['B4', 'B', 'B3', 'A4'],
  ['C4', 'C', 'C3', 'B4'],
];

/** The DAG above with payload nonces on the round-3 witnesses (k per label; none if absent). */
function withNonces(nonces: Record<string, number>) {
  return buildPlay(
    ['A', 'B', 'C', 'D'],
    BASE.map(([label, creator, sp, op]) =>
      label in nonces
        ? ([label, creator, sp, op, undefined, [`coin-nonce:${nonces[label]}`]] as const)
        : ([label, creator, sp, op] as const),
    ),
  );
}

// prettier-ignore
const ROUNDS: Record<string, [number, boolean]> = {
  A0: [0, true], B0: [0, true], C0: [0, true], A1: [0, false], B1: [1, true], C1: [1, true],
  D0: [0, true], D1: [1, true], A2: [1, true], B2: [2, true], C2: [2, true], D2: [2, true],
  A3: [2, true], B3: [2, false], C3: [3, true], D3: [3, true], A4: [3, true], B4: [3, true],
  C4: [4, true],
};

const VOTERS = ['C3', 'D3', 'A4'] as const; // the round-3 witnesses C4 strongly sees

/** Nonces found by trying k = 0, 1, 2, ... in row order (each event's bytes depend on its parents'). */
const ALL_TAILS = { C3: 4, D3: 0, A4: 0, B4: 0 };
const ALL_HEADS = { C3: 0, D3: 3, A4: 0, B4: 0 };

describe('a split election that goes to a coin round (coinRoundFrequency 3)', () => {
  test('rounds and witnesses are as worked out (and do not depend on the nonces)', () => {
    for (const nonces of [{}, ALL_TAILS, ALL_HEADS]) {
      const pg = playGraph(withNonces(nonces), { config: { coinRoundFrequency: 3 } });
      for (const [label, [round, witness]] of Object.entries(ROUNDS))
        expect([label, pg.describe(label).round, pg.describe(label).witness]).toEqual([
          label,
          round,
          witness,
        ]);
    }
  });

  test('no decision on D0 before round 4: d=2 is split, d=3 is a coin round', () => {
    for (const c of [3, 10]) {
      const play = withNonces(ALL_TAILS);
      const pg = playGraph(play, {
        order: play.labels.filter((l) => l !== 'C4'),
        config: { coinRoundFrequency: c },
      });
      pg.consensus();
      expect([c, pg.describe('D0').famous]).toEqual([c, null]);
      expect([c, pg.describe('A0').famous, pg.describe('B0').famous, pg.describe('C0').famous]).toEqual([
        c,
        true,
        true,
        true,
      ]);
      expect(pg.graph.lastDecidedRound).toBe(-1); // round 0 waits for D0
    }
  });

  test('coins all 0: C4 decides D0 NOT famous, although the majority was heading for yes', () => {
    const play = withNonces(ALL_TAILS);
    expect(VOTERS.map((l) => coinBit(play.event(l)))).toEqual([false, false, false]);
    const pg = playGraph(play, { config: { coinRoundFrequency: 3 } });
    const { decidedRounds, ordered } = pg.consensus();
    expect(pg.describe('D0').famous).toBe(false);
    expect(decidedRounds).toEqual([0, 1, 2]);
    for (const l of ['A0', 'B0', 'C0', 'B1', 'C1', 'D1', 'A2', 'B2', 'C2', 'D2', 'A3'])
      expect([l, pg.describe(l).famous]).toEqual([l, true]);
    const received = Object.fromEntries(ordered.map((o) => [o.label, o.roundReceived]));
    expect(received).toEqual({ A0: 0, B0: 1, C0: 1, A1: 1, B1: 1, C1: 2, D0: 2, D1: 2, A2: 2 });
  });

  test('the same events with coinRoundFrequency 10: round 3 is normal and D0 is famous', () => {
    const pg = playGraph(withNonces(ALL_TAILS), { config: { coinRoundFrequency: 10 } });
    const { decidedRounds, ordered } = pg.consensus();
    expect(pg.describe('D0').famous).toBe(true);
    expect(decidedRounds).toEqual([0, 1, 2]);
    const received = Object.fromEntries(ordered.map((o) => [o.label, o.roundReceived]));
    expect(received).toEqual({ A0: 1, B0: 1, C0: 1, A1: 1, B1: 1, C1: 2, D0: 2, D1: 2, A2: 2 });
  });

  test('coins all 1: C4 decides D0 famous, by the coin', () => {
    const play = withNonces(ALL_HEADS);
    expect(VOTERS.map((l) => coinBit(play.event(l)))).toEqual([true, true, true]);
    const pg = playGraph(play, { config: { coinRoundFrequency: 3 } });
    const { ordered } = pg.consensus();
    expect(pg.describe('D0').famous).toBe(true);
    expect(ordered.map((o) => o.label).sort()).toEqual([
      'A0',
      'A1',
      'A2',
      'B0',
      'B1',
      'C0',
      'C1',
      'D0',
      'D1',
    ]);
    expect(ordered.find((o) => o.label === 'A0')!.roundReceived).toBe(1);
  });

  test('coins that disagree: C4 cannot decide, and nothing is ordered', () => {
    const play = withNonces({});
    const coins = VOTERS.map((l) => coinBit(play.event(l)));
    // Without nonces the signatures give C3: 0, D3: 1, A4: 0: a 2-1 split, no supermajority.
    expect(coins).toEqual([false, true, false]);
    const pg = playGraph(play, { config: { coinRoundFrequency: 3 } });
    const { decidedRounds, ordered } = pg.consensus();
    expect(pg.describe('D0').famous).toBeNull();
    expect(decidedRounds).toEqual([]);
    expect(ordered).toEqual([]);
    // Rounds 1 and 2 are decided in themselves; they wait for round 0.
    expect(pg.describe('B1').famous).toBe(true);
    expect(pg.describe('B2').famous).toBe(true);
  });

  test('the paper transcription reaches the same verdicts', () => {
    const cases: [Record<string, number>, number, boolean | null][] = [
      [ALL_TAILS, 3, false],
      [ALL_TAILS, 10, true],
      [ALL_HEADS, 3, true],
      [{}, 3, null],
    ];
    for (const [nonces, c, famous] of cases) {
      const ref = playReference(withNonces(nonces), { coinRoundFrequency: c });
      expect([c, ref.describe('D0').famous]).toEqual([c, famous]);
    }
  });
});
