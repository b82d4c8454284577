import {
  buildPlay,
  byWhitenedSignature,
  type Described,
  playGraph,
  playReference,
  type PlayRow,
} from '../../../domain/shadowgraph/testing/play.js';

/*
 * Rounds, witnesses, fame, round received, consensus timestamps and total order on one DAG.
 * 4 members A B C D, stake 1 each: a supermajority is stake > 2·4/3, i.e. at least 3 members.
 * Every timestamp is the default: the row number (1-based), shown in the left column.
 *
 * Each cell is `event<other-parent`; `|` links an event down to its self-parent.
 *
 *   ts   A         B         C         D
 *   22   |         |         C5<B5     |
 *   21   |         B5<A5     |         |
 *   20   A5<D3     |         |         |
 *   19   |         |         |         D3<C4
 *   18   |         |         C4<B4     |
 *   17   |         B4<A4     |         |
 *   16   A4<D2     |         |         |
 *   15   |         |         |         D2<C3
 *   14   |         |         C3<B3     |
 *   13   |         B3<A3     |         |
 *   12   A3<D1     |         |         |
 *   11   |         |         |         D1<C2
 *   10   |         |         C2<B2     |
 *    9   |         B2<A2     |         |
 *    8   A2<C1     |         |         |
 *    7   |         |         |         D0<A0     <- D0: created late, from A0 only
 *    6   |         |         C1<B1
 *    5   |         B1<A1     |
 *    4   A1<C0     |         |
 *    3   |         |         C0<B0
 *    2   |         B0<A0
 *    1   A0
 *
 * Ancestry. Every event but D0 lies on one "backbone" A0 B0 C0 A1 B1 C1 A2 B2 C2 D1 A3 B3 C3 D2 A4
 * ... in which each event's other-parent is the backbone event just before it. So the ancestors of
 * a backbone event are exactly the backbone events before it, plus D0 from D1 on (D1's self-parent).
 * D0 is an ancestor of D1 and of everything after D1, and of nothing before it: in particular it is
 * NOT an ancestor of B1, C1, A2, B2 or C2. No member forks, so "sees" = "is an ancestor of".
 *
 * Strongly seeing on the backbone. For backbone events y before x, the latest event of a member m
 * among x's ancestors sees y exactly when m has a backbone event between y and x (inclusive), so
 * x strongly sees y iff at least 3 different creators appear in the backbone from y to x. (D0 is
 * off the backbone; D has no backbone event before D1 at ts 11.)
 *
 * divideRounds (round of x = r or r+1 where r = max round of its parents; r+1 iff x strongly sees
 * witnesses of round r with stake >= 3; witness iff no self-parent or round above the self-parent's):
 *   A0 B0 C0: round 0, witnesses (no self-parent). B0, C0 strongly see at most A0 (stake 1).
 *   A1: window A0..A1 = {A,B,C} and B0..A1 = {B,C,A}, but C0..A1 = {C,A}: strongly sees A0, B0:
 *       stake 2, round 0; not a witness.
 *   B1: A0..B1, B0..B1, C0..B1 = {C,A,B} all have 3 creators: strongly sees A0 B0 C0 (stake 3;
 *       D0 is not even an ancestor): round 1, witness.
 *   C1: parents C0 (round 0) and B1 (round 1), r = 1. Round-1 witnesses below it: B1; B1..C1 = {B,C}:
 *       not strongly seen. Round 1, witness (self-parent C0 is round 0).
 *   D0: no self-parent; its parent A0 is round 0; it strongly sees nothing (only D0 and A0 see A0).
 *       Round 0, witness: a round-0 witness created after round 1 began.
 *   A2: parents A1 (round 0) and C1 (round 1): parents in different rounds, r = 1. B1..A2 =
 *       {B,C,A} (D0 is not on the backbone), C1..A2 = {C,A}: stake 1. Round 1, witness (A1 round 0).
 *   B2: strongly sees B1 and C1 (C1..B2 = {C,A,B}), not A2 (A2..B2 = {A,B}): stake 2. Round 1, and
 *       not a witness (self-parent B1 is round 1).
 *   C2: B1, C1 and A2 (A2..C2 = {A,B,C}): stake 3. Round 2, witness.
 *   D1: parents D0 (round 0) and C2 (round 2): r = 2. C2..D1 = {C,D}: stake 0. Round 2, witness
 *       (D0 is round 0). D skips round 1: it has no round-1 witness at all.
 *   A3: C2 strongly seen (C2..A3 = {C,D,A}), D1 not: round 2, witness.
 *   B3: C2 and D1 (D1..B3 = {D,A,B}), not A3: stake 2. Round 2, witness (B2 is round 1).
 *   C3: C2, D1, A3 (A3..C3 = {A,B,C}); not B3: stake 3. Round 3, witness.
 *   From C3 on the backbone cycles C D A B and every event is a witness: D2 A4 B4 round 3 (each
 *   strongly sees at most 2 of the round-3 witnesses before it), C4 round 4 (strongly sees C3 D2 A4),
 *   D3 A5 B5 round 4, C5 round 5.
 *
 * decideFame (votes in round r+1 = "sees"; a round-(r+2) witness decides when the round-(r+1)
 * witnesses it strongly sees vote one way with stake >= 3):
 *   Round 0. The round-1 witnesses B1 C1 A2 have A0 B0 C0 as ancestors and do not have D0: they vote
 *   yes for A0 B0 C0 and no for D0. C2, the first round-2 witness, strongly sees B1 C1 A2 (stake 3):
 *   A0 B0 C0 famous, D0 NOT famous, although D0 is an ancestor of every later witness from D1 on.
 *   Round 1 (B1 C1 A2): every round-2 witness descends from all three; C3 strongly sees C2 D1 A3
 *   (stake 3, all yes): famous. Round 2 (C2 D1 A3 B3): C4 strongly sees C3 D2 A4, all descend from
 *   every round-2 witness: famous. Round 3 (C3 D2 A4 B4): C5 strongly sees C4 D3 A5: famous.
 *   Round 4 has no round-6 witness above it: undecided. Rounds 0-3 are decided.
 *
 * findOrder (received in the first decided round whose unique famous witnesses all descend from x):
 *   Round 0, ufw A0 B0 C0: only A0 is an ancestor of all three (B0 = (-,A0), C0 = (-,B0)).
 *   Round 1, ufw B1 C1 A2: C1 and A2 descend from B1, so the common ancestors are B1's:
 *     B0 C0 A1 B1.
 *   Round 2, ufw C2 D1 A3 B3: common ancestors are C2's: C1 A2 B2 C2. Not D0 (not below C2).
 *   Round 3, ufw C3 D2 A4 B4: common ancestors are C3's (all rows up to ts 14): D0 D1 A3 B3 C3.
 *   D2 A4 B4 C4 D3 A5 B5 C5: no decided round yet.
 *
 * Consensus timestamp: for each unique famous witness w, take the earliest event on w's self-chain
 * that descends from x; the upper median of those timestamps (3rd of 4, 2nd of 3). Worked out:
 *   A0: A0 B0 C0 -> {1,2,3} -> 2
 *   B0: B0 C0 A1 -> {2,3,4} -> 3          C0: B1 C0 A1 -> {3,4,5} -> 4
 *   A1: B1 C1 A1 -> {4,5,6} -> 5          B1: B1 C1 A2 -> {5,6,8} -> 6
 *   C1: C1 D1 A2 B2 -> {6,8,9,11} -> 9    A2: C2 D1 A2 B2 -> {8,9,10,11} -> 10
 *   B2: C2 D1 A3 B2 -> {9,10,11,12} -> 11 C2: C2 D1 A3 B3 -> {10,11,12,13} -> 12
 *   D0: C3 D0 A3 B3 -> {7,12,13,14} -> 13 D1: C3 D1 A3 B3 -> {11,12,13,14} -> 13
 *   A3: C3 D2 A3 B3 -> {12,13,14,15} -> 14
 *   B3: C3 D2 A4 B3 -> {13,14,15,16} -> 15
 *   C3: C3 D2 A4 B4 -> {14,15,16,17} -> 16
 * Order: by round received, then median, then whitened signature (D0 and D1 tie at 13). Consensus
 * timestamps are max(median, previous + 1): the tie makes the second of D0/D1 14, which pushes A3
 * to 15, B3 to 16 and C3 to 17.
 */

const ROWS: PlayRow[] = [
  ['A0', 'A', null, null],
  ['B0', 'B', null, 'A0'],
  ['C0', 'C', null, 'B0'],
  ['A1', 'A', 'A0', 'C0'],
  ['B1', 'B', 'B0', 'A1'],
  ['C1', 'C', 'C0', 'B1'],
  ['D0', 'D', null, 'A0'],
  ['A2', 'A', 'A1', 'C1'],
  ['B2', 'B', 'B1', 'A2'],
  ['C2', 'C', 'C1', 'B2'],
  ['D1', 'D', 'D0', 'C2'],
  ['A3', 'A', 'A2', 'D1'],
  ['B3', 'B', 'B2', 'A3'],
  ['C3', 'C', 'C2', 'B3'],
  ['D2', 'D', 'D1', 'C3'],
  ['A4', 'A', 'A3', 'D2'],
  ['B4', 'B', 'B3', 'A4'],
  ['C4', 'C', 'C3', 'B4'],
  ['D3', 'D', 'D2', 'C4'],
  ['A5', 'A', 'A4', 'D3'],
  ['B5', 'B', 'B4', 'A5'],
  ['C5', 'C', 'C4', 'B5'],
];
const play = buildPlay(['A', 'B', 'C', 'D'], ROWS);

/** label: [round, witness, famous, roundReceived], all from the reasoning above. */
const EXPECTED: Record<string, [number, boolean, boolean | null, number | null]> = {
  A0: [0, true, true, 0],
  B0: [0, true, true, 1],
  C0: [0, true, true, 1],
  A1: [0, false, null, 1],
  B1: [1, true, true, 1],
  C1: [1, true, true, 2],
  D0: [0, true, false, 3],
  A2: [1, true, true, 2],
  B2: [1, false, null, 2],
  C2: [2, true, true, 2],
  D1: [2, true, true, 3],
  A3: [2, true, true, 3],
  B3: [2, true, true, 3],
  C3: [3, true, true, 3],
  D2: [3, true, true, null],
  A4: [3, true, true, null],
  B4: [3, true, true, null],
  C4: [4, true, null, null],
  D3: [4, true, null, null],
  A5: [4, true, null, null],
  B5: [4, true, null, null],
  C5: [5, true, null, null],
};
const expectedOf = (label: string): Described => {
  const [round, witness, famous, roundReceived] = EXPECTED[label]!;
  return { round, witness, famous, roundReceived };
};

describe('rounds, witnesses, fame and order on a 4-member DAG with a late witness', () => {
  test('every event is accepted', () => {
    const pg = playGraph(play);
    for (const label of play.labels)
      expect([label, pg.inserted.get(label)!.status]).toEqual([label, 'inserted']);
  });

  test('rounds and witnesses are known at insertion, before any consensus runs', () => {
    const pg = playGraph(play);
    for (const label of play.labels) {
      const { round, witness } = expectedOf(label);
      expect({ label, round: pg.describe(label).round, witness: pg.describe(label).witness }).toEqual({
        label,
        round,
        witness,
      });
      expect(pg.inserted.get(label)).toEqual({ status: 'inserted', round, witness });
    }
    expect(pg.witnesses(0)).toEqual(['A0', 'B0', 'C0', 'D0']);
    expect(pg.witnesses(1)).toEqual(['A2', 'B1', 'C1']); // D has no round-1 witness
    expect(pg.witnesses(2)).toEqual(['A3', 'B3', 'C2', 'D1']);
    expect(pg.witnesses(3)).toEqual(['A4', 'B4', 'C3', 'D2']);
    expect(pg.graph.highestRound).toBe(5);
  });

  test('fame, round received: hand-derived values for every event', () => {
    const pg = playGraph(play);
    const result = pg.consensus();
    expect(result.decidedRounds).toEqual([0, 1, 2, 3]);
    for (const label of play.labels)
      expect({ label, ...pg.describe(label) }).toEqual({ label, ...expectedOf(label) });
  });

  test('the naive paper transcription derives the same values (cross-check of the reasoning)', () => {
    const ref = playReference(play);
    for (const label of play.labels)
      expect({ label, ...ref.describe(label) }).toEqual({ label, ...expectedOf(label) });
    // D0 is an ancestor of D1 but of no round-1 witness, which is why it is not seen and not famous.
    const r = ref.reference;
    const i = (l: string) => r.idx(play.id(l));
    expect(r.isAncestor(i('D0'), i('D1'))).toBe(true);
    for (const w of ['B1', 'C1', 'A2']) expect([w, r.sees(i(w), i('D0'))]).toEqual([w, false]);
    expect(r.stronglySees(i('C2'), i('A2'))).toBe(true);
    expect(r.stronglySees(i('B2'), i('A2'))).toBe(false);
  });

  test('round 0 becomes decided exactly when its first round-2 witness (C2) arrives', () => {
    const upToB2 = play.labels.slice(0, play.labels.indexOf('C2'));
    const pg = playGraph(play, { order: upToB2 });
    expect(pg.consensus().decidedRounds).toEqual([]);
    expect(pg.describe('A0').famous).toBeNull();
    expect(pg.graph.insert(play.event('C2')).status).toBe('inserted');
    const result = pg.consensus();
    expect(result.decidedRounds).toEqual([0]);
    expect(result.ordered.map((o) => o.label)).toEqual(['A0']);
    expect(pg.describe('D0').famous).toBe(false);
    expect(pg.describe('B1').famous).toBeNull(); // round 1 needs a round-3 witness
  });

  test('total order and consensus timestamps', () => {
    const pg = playGraph(play);
    const { ordered } = pg.consensus();
    // D0 and D1 tie at median 13 in round 3; the whitened signature decides which goes first.
    const [firstD, secondD] = byWhitenedSignature(play, ['D0', 'D1'], ['C3', 'D2', 'A4', 'B4']);
    expect(ordered.map((o) => [o.label, o.roundReceived, o.consensusTimestamp])).toEqual([
      ['A0', 0, 2],
      ['B0', 1, 3],
      ['C0', 1, 4],
      ['A1', 1, 5],
      ['B1', 1, 6],
      ['C1', 2, 9],
      ['A2', 2, 10],
      ['B2', 2, 11],
      ['C2', 2, 12],
      [firstD, 3, 13],
      [secondD, 3, 14],
      ['A3', 3, 15],
      ['B3', 3, 16],
      ['C3', 3, 17],
    ]);
    expect(ordered.map((o) => o.consensusIndex)).toEqual(ordered.map((_, i) => i));
    expect(ordered.map((o) => o.round)).toEqual(ordered.map((o) => EXPECTED[o.label]![0]));
    // A second run orders nothing new and nothing twice.
    expect(pg.consensus().ordered).toEqual([]);
  });
});

/*
 * Consensus timestamps with unequal clocks: the same DAG shape, with these timestamps instead of
 * the row numbers (each self-chain still increases):
 *
 *   A (accurate):       A0 0    A1 30   A2 70   A3 110  A4 150  A5 190
 *   B (accurate):       B0 10   B1 40   B2 80   B3 120  B4 160  B5 200
 *   C (slow clock):     C0 5    C1 15   C2 25   C3 35   C4 45   C5 55
 *   D (jumps ahead):    D0 60   D1 5000 D2 5040 D3 5080
 *
 * Timestamps play no part in rounds, fame or round received, so those are as above. The z events
 * per unique famous witness are as worked out above (they depend only on the shape); only their
 * timestamps change. Upper median (2nd of 3 in round 0, 3rd of 4 from round 2):
 *   round 0 (ufw A0 B0 C0):  A0 {0,10,5} -> 5
 *   round 1 (ufw B1 C1 A2):  B0 {10,5,30} -> 10   C0 {40,5,30} -> 30   A1 {40,15,30} -> 30
 *                            B1 {40,15,70} -> 40
 *   round 2 (C2 D1 A3 B3):   C1 {15,5000,70,80} -> 80     A2 {25,5000,70,80} -> 80
 *                            B2 {25,5000,110,80} -> 110   C2 {25,5000,110,120} -> 120
 *   round 3 (C3 D2 A4 B4):   D0 {35,60,110,120} -> 110    D1 {35,5000,110,120} -> 120
 *                            A3 {35,5040,110,120} -> 120  B3 {35,5040,150,120} -> 150
 *                            C3 {35,5040,150,160} -> 160
 * D's clock, thousands ahead, is never the median; C's slow clock only in round 0, where the
 * middle of three is C0's 5. Order within a round by median, ties (C0/A1, C1/A2, D1/A3) by whitened
 * signature. Strictly increasing: C0/A1 -> 30, 31; C1/A2 -> 80, 81; and D0, whose median 110 is
 * below C2's 120 but which is received a round later, gets 121; then D1/A3 -> 122, 123.
 */
// prettier-ignore
const SKEWED: Record<string, number> = {
  A0: 0, A1: 30, A2: 70, A3: 110, A4: 150, A5: 190,
  B0: 10, B1: 40, B2: 80, B3: 120, B4: 160, B5: 200,
  C0: 5, C1: 15, C2: 25, C3: 35, C4: 45, C5: 55,
  D0: 60, D1: 5000, D2: 5040, D3: 5080,
};
const skewedPlay = buildPlay(
  ['A', 'B', 'C', 'D'],
  ROWS.map(([label, creator, sp, op]) => [label, creator, sp, op, SKEWED[label]!] as const),
);

describe('consensus timestamps: stake-weighted upper median, strictly increasing', () => {
  test('timestamps do not change rounds, fame or round received', () => {
    const pg = playGraph(skewedPlay);
    pg.consensus();
    for (const label of skewedPlay.labels) {
      expect(skewedPlay.event(label).body.timestamp).toBe(SKEWED[label]);
      expect({ label, ...pg.describe(label) }).toEqual({ label, ...expectedOf(label) });
    }
  });

  test('order and consensus timestamps follow the medians worked out above', () => {
    const { ordered } = playGraph(skewedPlay).consensus();
    const tie = (a: string, b: string, ufw: string[]) => byWhitenedSignature(skewedPlay, [a, b], ufw);
    const [r1a, r1b] = tie('C0', 'A1', ['B1', 'C1', 'A2']);
    const [r2a, r2b] = tie('C1', 'A2', ['C2', 'D1', 'A3', 'B3']);
    const [r3a, r3b] = tie('D1', 'A3', ['C3', 'D2', 'A4', 'B4']);
    expect(ordered.map((o) => [o.label, o.roundReceived, o.consensusTimestamp])).toEqual([
      ['A0', 0, 5],
      ['B0', 1, 10],
      [r1a, 1, 30],
      [r1b, 1, 31],
      ['B1', 1, 40],
      [r2a, 2, 80],
      [r2b, 2, 81],
      ['B2', 2, 110],
      ['C2', 2, 120],
      ['D0', 3, 121],
      [r3a, 3, 122],
      [r3b, 3, 123],
      ['B3', 3, 150],
      ['C3', 3, 160],
    ]);
  });

  test('the paper transcription agrees on the skewed clocks', () => {
    const core = playGraph(skewedPlay).consensus().ordered;
    const ref = playReference(skewedPlay).ordered;
    expect(core.map((o) => [o.label, o.roundReceived, o.consensusTimestamp])).toEqual(
      ref.map((o) => [o.label, o.roundReceived, o.consensusTimestamp]),
    );
  });
});
