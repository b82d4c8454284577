import { toHex } from '../../../domain/shadowgraph/event.js';
import {
  buildPlay,
  byWhitenedSignature,
  type Described,
  playGraph,
  playReference,
  type PlayRow,
} from '../../../domain/shadowgraph/testing/play.js';

/*
 * A fork: D creates two events at seq 1, D1a and D1b, both on self-parent D0.
 * 4 members A B C D, stake 1 each; supermajority = stake >= 3. Timestamps = row number.
 *
 *   ts   A         B         C         D (branch a)  D (branch b)
 *   20   |         B5<A5     |
 *   19   A5<C4     |         |
 *   18   |         |         C4<B4
 *   17   |         B4<A4     |
 *   16   A4<C3     |         |
 *   15   |         |         C3<B3
 *   14   |         B3<A3     |
 *   13   A3<C2     |         |
 *   12   |         |         C2<B2
 *   11   |         B2<A2     |
 *   10   A2<C1     |         |                           <- A2: first event with BOTH D1a and D1b below
 *    9   A1<B1     |         |
 *    8   |         |         C1<D1b                      <- C1 learns branch b only
 *    7   |         B1<D1a    |                           <- B1 learns branch a only
 *    6   |         |         |                   D1b<B0
 *    5   |         |         |         D1a<A0    |
 *    4   |         |         |         D0 -------+       (D1a and D1b both have self-parent D0)
 *    3   |         |         C0
 *    2   |         B0
 *    1   A0
 *
 * Ancestors (for the events that matter):
 *   D1a: D0 A0.            D1b: D0 B0.
 *   B1:  B0 D1a D0 A0.     C1: C0 D1b D0 B0.
 *   A1:  A0 B1 B0 D1a D0.  (one branch only: no fork below A1)
 *   A2:  A1 C1 + their ancestors = everything up to C1: D1a AND D1b, a fork. So A2 sees no event
 *        of D (not D0, D1a, D1b), and no event of D counts towards what A2 strongly sees.
 *   From A2 on, A B C alternate A2 B2 C2 A3 B3 C3 A4 ..., each on the previous one: every later event
 *   has the fork below it, and has all earlier events as ancestors.
 *
 * divideRounds. Round-0 witnesses: A0 B0 C0 D0 (no self-parent). With D excluded, strongly seeing
 * anything needs A, B and C all to have an event that sees it (3 of the remaining stake 3).
 *   D1a, D1b: strongly see nothing (A0 is seen by A0 and D1a only): round 0, not witnesses.
 *   B1: A0 is seen by A0, D1a, B1 (A, D, B: stake 3): strongly seen. B0 only by B, D0 by D, B:
 *       stake 1: round 0.
 *   C1: B0 by B0, D1b, C1 (stake 3); D0 by D, C: stake 1: round 0.
 *   A1: A0 by A1, B1, D1a (3) and D0 by A1, B1, D1a (3); B0 by A1, B1 only (D1a does not have B0):
 *       stake 2: round 0.
 *   A2 (the point of this fixture): its latest events per member are A2, B1, C1, and for D both
 *       D1a and D1b. Per round-0 witness:
 *         A0: seen by A2 and B1; C1 does not have A0. D1a sees A0, but A2 does not see D1a.
 *             Stake 2 with fork exclusion; 3 (A, B, D) if D1a were counted.
 *         B0: A2, B1, C1: stake 3. Strongly seen.
 *         C0: A2, C1 (B1 does not have C0): stake 2.
 *         D0: not seen by A2 at all (fork). Ignoring the fork, A2, B1, C1, D1a/D1b all see it: 4.
 *       With fork exclusion A2 strongly sees B0 only: stake 1, round 0, not a witness. Counting the
 *       forker, it would strongly see A0, B0, D0 (stake 3) and be a round-1 witness.
 *   B2: its ancestors are A2's plus B2. A0: A2, B2, but C1 does not have A0: 2. B0: 3. C0: A2, B2,
 *       C1: 3. Strongly sees B0, C0: stake 2, round 0.
 *   C2: latest A2, B2, C2, all of which have A0, B0, C0: strongly sees A0 B0 C0 (stake 3):
 *       round 1, witness.
 *   A3: the only round-1 witness below it is C2; only A3 and C2 see C2: round 1, witness.
 *   B3: C2 (seen by B3, A3, C2: 3) but not A3 (B3, A3: 2): stake 1, round 1, witness.
 *   C3: C2 and A3 (C3, B3, A3) but not B3: stake 2, round 1, not a witness.
 *   A4: C2, A3, B3 (A4, C3, B3): stake 3, round 2, witness. B4: only A4 below it in round 2 and
 *   not strongly: round 2, witness. C4: A4 (C4, B4, A4) but not B4: round 2, witness.
 *   A5: A4, B4 but not C4: round 2, not a witness. B5: A4, B4, C4: round 3, witness.
 *
 * decideFame. Round-1 witnesses C2, A3, B3 all have the fork below them: each sees A0, B0, C0 and
 * none sees D0, although D0 is an ancestor of all three. A4 (round 2) strongly sees C2, A3, B3
 * (stake 3): A0, B0, C0 famous; D0 not famous. Round 1: B5 strongly sees A4, B4, C4, which all
 * have C2, A3, B3 below them: famous. Round 2 has no round-4 witness: undecided.
 *
 * findOrder. Round 0 (ufw A0 B0 C0): three parentless events have no common ancestor: nothing is
 * received. Round 1 (ufw C2 A3 B3): A3 and B3 descend from C2, so the common ancestors are C2's:
 * A0 B0 C0 D0 D1a D1b B1 C1 A1 A2 B2 C2, both branches of the fork included.
 * Medians (earliest event per ufw self-chain that descends from x; C2's chain C0 C1 C2, A3's
 * chain A0..A3, B3's chain B0..B3; timestamps = ts column):
 *   A0: C2 A0 B1 -> {12,1,7} -> 7      B0: C1 A1 B0 -> {8,9,2} -> 8     D0: C1 A1 B1 -> {8,9,7} -> 8
 *   D1a: C2 A1 B1 -> {12,9,7} -> 9     B1: C2 A1 B1 -> 9
 *   C0: C0 A2 B2 -> {3,10,11} -> 10    D1b: C1 A2 B2 -> {8,10,11} -> 10  C1: C1 A2 B2 -> 10
 *   A1: C2 A1 B2 -> {12,9,11} -> 11    A2: C2 A2 B2 -> 11
 *   B2: C2 A3 B2 -> {12,13,11} -> 12   C2: C2 A3 B3 -> 13
 * Ties are ordered by whitened signature; with max(median, previous + 1) the twelve consensus
 * timestamps come out as 7, 8, 9, ..., 18.
 */

const ROWS: PlayRow[] = [
  ['A0', 'A', null, null],
  ['B0', 'B', null, null],
  ['C0', 'C', null, null],
  ['D0', 'D', null, null],
  ['D1a', 'D', 'D0', 'A0'],
  ['D1b', 'D', 'D0', 'B0'],
  ['B1', 'B', 'B0', 'D1a'],
  ['C1', 'C', 'C0', 'D1b'],
  ['A1', 'A', 'A0', 'B1'],
  ['A2', 'A', 'A1', 'C1'],
  ['B2', 'B', 'B1', 'A2'],
  ['C2', 'C', 'C1', 'B2'],
  ['A3', 'A', 'A2', 'C2'],
  ['B3', 'B', 'B2', 'A3'],
  ['C3', 'C', 'C2', 'B3'],
  ['A4', 'A', 'A3', 'C3'],
  ['B4', 'B', 'B3', 'A4'],
  ['C4', 'C', 'C3', 'B4'],
  ['A5', 'A', 'A4', 'C4'],
  ['B5', 'B', 'B4', 'A5'],
];
const play = buildPlay(['A', 'B', 'C', 'D'], ROWS);
const D = play.member('D').key;

const EXPECTED: Record<string, [number, boolean, boolean | null, number | null]> = {
  A0: [0, true, true, 1],
  B0: [0, true, true, 1],
  C0: [0, true, true, 1],
  D0: [0, true, false, 1],
  D1a: [0, false, null, 1],
  D1b: [0, false, null, 1],
  B1: [0, false, null, 1],
  C1: [0, false, null, 1],
  A1: [0, false, null, 1],
  A2: [0, false, null, 1],
  B2: [0, false, null, 1],
  C2: [1, true, true, 1],
  A3: [1, true, true, null],
  B3: [1, true, true, null],
  C3: [1, false, null, null],
  A4: [2, true, null, null],
  B4: [2, true, null, null],
  C4: [2, true, null, null],
  A5: [2, false, null, null],
  B5: [3, true, null, null],
};
const expectedOf = (label: string): Described => {
  const [round, witness, famous, roundReceived] = EXPECTED[label]!;
  return { round, witness, famous, roundReceived };
};

describe('a fork by D (two events at seq 1)', () => {
  test('both branches are stored and the fork is reported once, with both ids in byte order', () => {
    const pg = playGraph(play);
    const ids = [play.id('D1a'), play.id('D1b')].sort();
    const evidence = { creator: D, seq: 1, eventIds: ids };
    expect(pg.inserted.get('D1a')).toEqual({ status: 'inserted', round: 0, witness: false });
    expect(pg.inserted.get('D1b')).toEqual({ status: 'inserted', round: 0, witness: false, fork: evidence });
    expect(pg.graph.forkEvidence).toEqual([evidence]);
    expect(toHex(pg.graph.get(play.id('D1a'))!.id)).toBe(play.id('D1a'));
    expect(toHex(pg.graph.get(play.id('D1b'))!.id)).toBe(play.id('D1b'));
    expect(pg.graph.knownVector().get(D)).toBe(1);
    // Whichever branch arrives second is the one that reveals the fork; the evidence is the same.
    const swapped = ['A0', 'B0', 'C0', 'D0', 'D1b', 'D1a'];
    const pg2 = playGraph(play, { order: swapped });
    expect(pg2.inserted.get('D1b')).toEqual({ status: 'inserted', round: 0, witness: false });
    expect(pg2.inserted.get('D1a')).toMatchObject({ status: 'inserted', fork: evidence });
  });

  test('a peer that knows D only up to seq 0 is sent both branches', () => {
    const pg = playGraph(play);
    const peer = new Map(pg.graph.knownVector());
    peer.set(D, 0);
    expect(
      pg.graph
        .diff(peer)
        .map((e) => play.labelOf(e.idHex))
        .sort(),
    ).toEqual(['D1a', 'D1b']);
  });

  test('rounds and witnesses: A2, with both branches below it, is NOT promoted', () => {
    const pg = playGraph(play);
    for (const label of play.labels) {
      const { round, witness } = expectedOf(label);
      expect({ label, round: pg.describe(label).round, witness: pg.describe(label).witness }).toEqual({
        label,
        round,
        witness,
      });
    }
    expect(pg.witnesses(0)).toEqual(['A0', 'B0', 'C0', 'D0']);
    expect(pg.witnesses(1)).toEqual(['A3', 'B3', 'C2']);
  });

  test('the same DAG without fork exclusion would promote A2 (so the fixture really depends on it)', () => {
    const pg = playGraph(play, { config: { mutant: 'no-fork-exclusion' } });
    expect(pg.describe('A2')).toMatchObject({ round: 1, witness: true });
  });

  test('fame: D0 is an ancestor of every round-1 witness but seen by none, so it is not famous', () => {
    const pg = playGraph(play);
    expect(pg.consensus().decidedRounds).toEqual([0, 1]);
    for (const label of play.labels)
      expect({ label, ...pg.describe(label) }).toEqual({ label, ...expectedOf(label) });
  });

  test('the paper transcription: see / strongly see around the fork', () => {
    const ref = playReference(play);
    for (const label of play.labels)
      expect({ label, ...ref.describe(label) }).toEqual({ label, ...expectedOf(label) });
    const r = ref.reference;
    const i = (l: string) => r.idx(play.id(l));
    expect(r.forkInAncestry(i('A1'), D)).toBe(false);
    expect(r.sees(i('A1'), i('D1a'))).toBe(true);
    expect(r.forkInAncestry(i('A2'), D)).toBe(true);
    for (const d of ['D0', 'D1a', 'D1b']) {
      expect([d, r.isAncestor(i(d), i('A2')), r.sees(i('A2'), i(d)), r.stronglySees(i('A2'), i(d))]).toEqual([
        d,
        true,
        false,
        false,
      ]);
    }
    expect(r.supportStake(i('A2'), i('A0'))).toBe(2);
    expect(r.stronglySees(i('A2'), i('B0'))).toBe(true);
    expect(r.stronglySees(i('A1'), i('D0'))).toBe(true); // before the fork is below it, D counts
  });

  test('total order: both branches ordered in round 1, ties by whitened signature', () => {
    const { ordered } = playGraph(play).consensus();
    const ufw = ['C2', 'A3', 'B3'];
    const groups: [string[], number][] = [
      [['A0'], 7],
      [['B0', 'D0'], 8],
      [['D1a', 'B1'], 9],
      [['C0', 'D1b', 'C1'], 10],
      [['A1', 'A2'], 11],
      [['B2'], 12],
      [['C2'], 13],
    ];
    const expected = groups.flatMap(([labels]) => byWhitenedSignature(play, labels, ufw));
    expect(ordered.map((o) => o.label)).toEqual(expected);
    expect(ordered.map((o) => o.roundReceived)).toEqual(expected.map(() => 1));
    // Medians 7, 8, 8, 9, 9, 10, 10, 10, 11, 11, 12, 13 made strictly increasing: 7..18.
    expect(ordered.map((o) => o.consensusTimestamp)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
  });
});
