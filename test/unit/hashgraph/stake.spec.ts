import { weightedUpperMedian } from '../../../domain/shadowgraph/hashgraph.js';
import {
  buildPlay,
  byWhitenedSignature,
  playGraph,
  playReference,
  type PlayRow,
} from '../../../domain/shadowgraph/testing/play.js';

const STAKES = { A: 1, B: 1, C: 1, D: 3 };

/*
 * Strongly seeing with unequal stakes: A, B, C have stake 1, D has stake 3 (total 6).
 * Supermajority: 3·s > 2·6, i.e. s >= 5. Exactly two thirds (s = 4: D plus one small member) is
 * NOT enough, and A+B+C together (3) are not either: every supermajority is D plus two others.
 *
 *   ts   A         B         C         D (stake 3)
 *   11   |         B3<A2     |         |
 *   10   A2<D1     |         |         |
 *    9   |         |         |         D1<B2
 *    8   |         B2<A1     |         |
 *    7   A1<C1     |         |         |
 *    6   |         |         C1<B1     |
 *    5   |         B1<A0     |         |
 *    4   |         |         |         D0
 *    3   |         |         C0
 *    2   |         B0
 *    1   A0
 *
 * Ancestors: B1 {A0 B0}; C1 {A0 B0 B1 C0}; A1 {A0 B0 B1 C0 C1}; B2 = A1's + B2; D1 = B2's + D0 D1;
 * A2 = D1's + A1 A2; B3 = everything. No forks, so "sees" = "is an ancestor of".
 * "Support" of y for x = stake of the members whose latest event below x sees y.
 *
 *   B2: latest A1 B2 C1 (no D). A0, B0 and C0 are each seen by all three: support 3 < 5. B2
 *       strongly sees nothing: round 0. (With equal stakes, 3 of 4 members: it would strongly see
 *       A0 B0 C0 and be a round-1 witness.)
 *   D1: latest A1 B2 C1 D1. A0, B0, C0: support 1+1+1+3 = 6: strongly seen. D0: only D1 (3).
 *       Strongly sees A0 B0 C0: three of the four round-0 witnesses, but their stake is 3 < 5:
 *       round 0, and not a witness.
 *   A2: latest A2 B2 C1 D1. A0 B0 C0 as for D1. D0: seen by A2 and D1: 1 + 3 = 4, exactly 2/3:
 *       NOT strongly seen. Stake 3: round 0.
 *   B3: latest A2 B3 C1 D1. D0: seen by A2, B3, D1: 1 + 1 + 3 = 5: strongly seen (C1 does not have
 *       D0; without D1's 3 the support would be 2). All four round-0 witnesses: stake 6, round 1,
 *       witness.
 *   B1, C1, A1 have no event of D below them, so no support exceeds A+B+C = 3: they strongly see
 *   nothing and stay in round 0. Round-0 witnesses: A0 B0 C0 D0; the only round-1 event is B3.
 */
const ROWS: PlayRow[] = [
  ['A0', 'A', null, null],
  ['B0', 'B', null, null],
  ['C0', 'C', null, null],
  ['D0', 'D', null, null],
  ['B1', 'B', 'B0', 'A0'],
  ['C1', 'C', 'C0', 'B1'],
  ['A1', 'A', 'A0', 'C1'],
  ['B2', 'B', 'B1', 'A1'],
  ['D1', 'D', 'D0', 'B2'],
  ['A2', 'A', 'A1', 'D1'],
  ['B3', 'B', 'B2', 'A2'],
];
const play = buildPlay(['A', 'B', 'C', 'D'], ROWS);

describe('strongly seeing with stakes 1, 1, 1, 3', () => {
  const weighted: Record<string, [number, boolean]> = {
    A0: [0, true],
    B0: [0, true],
    C0: [0, true],
    D0: [0, true],
    B1: [0, false],
    C1: [0, false],
    A1: [0, false],
    B2: [0, false],
    D1: [0, false],
    A2: [0, false],
    B3: [1, true],
  };

  test('rounds: three small witnesses are not enough, the big member decides promotion', () => {
    const pg = playGraph(play, { stakes: STAKES });
    for (const label of play.labels)
      expect([label, pg.describe(label).round, pg.describe(label).witness]).toEqual([
        label,
        ...weighted[label]!,
      ]);
    expect(pg.witnesses(1)).toEqual(['B3']);
  });

  test('the same DAG with equal stakes: B2 (3 of 4 members) is already a round-1 witness', () => {
    /*
     * Equal stakes, supermajority >= 3 members. B2 strongly sees A0 B0 C0 (support A1 B2 C1 = 3):
     * round 1, witness. D1: parents D0 (round 0), B2 (round 1); B2 is seen only by D1 and B2:
     * round 1, witness (D0 is round 0). A2: B2 supported by A2 B2 D1 (3), D1 only by A2 D1: round
     * 1, witness. B3: B2 and D1 (B3, A2, D1) but not A2: 2 of 4, round 1, not a witness.
     */
    const pg = playGraph(play);
    const equal: Record<string, [number, boolean]> = {
      ...weighted,
      B2: [1, true],
      D1: [1, true],
      A2: [1, true],
      B3: [1, false],
    };
    for (const label of play.labels)
      expect([label, pg.describe(label).round, pg.describe(label).witness]).toEqual([
        label,
        ...equal[label]!,
      ]);
  });

  test('support stakes, from the paper transcription', () => {
    const r = playReference(play, { stakes: STAKES }).reference;
    const i = (l: string) => r.idx(play.id(l));
    expect(r.supportStake(i('B2'), i('A0'))).toBe(3);
    expect(r.stronglySees(i('B2'), i('A0'))).toBe(false);
    expect(r.supportStake(i('D1'), i('A0'))).toBe(6);
    expect(r.supportStake(i('D1'), i('D0'))).toBe(3);
    expect(r.supportStake(i('A2'), i('D0'))).toBe(4);
    expect(r.stronglySees(i('A2'), i('D0'))).toBe(false); // exactly two thirds
    expect(r.supportStake(i('B3'), i('D0'))).toBe(5);
    expect(r.stronglySees(i('B3'), i('D0'))).toBe(true);
    for (const l of play.labels) expect([l, r.rounds[i(l)]]).toEqual([l, weighted[l]![0]]);
  });

  test('a "more than half" threshold would promote A2, whose D0 support is exactly 2/3', () => {
    // threshold-half: 2·s > 6, i.e. s >= 4. A2's support for D0 is 4, so A2 would strongly see all
    // four round-0 witnesses. D1 still would not (D0's support there is 3, and A0 B0 C0 weigh 3).
    const pg = playGraph(play, { stakes: STAKES, config: { mutant: 'threshold-half' } });
    expect(pg.describe('D1').round).toBe(0);
    expect(pg.describe('A2')).toMatchObject({ round: 1, witness: true });
  });
});

/*
 * Fame and the stake-weighted median. Same stakes (A, B, C: 1; D: 3). A round robin where every
 * event's other-parent is the event just before it, so each event has every earlier event as an
 * ancestor. A B C keep time by the row number; D's clock runs 100 ahead.
 *
 *   pos  ts    A         B         C         D
 *   21   22    |         B5<A5     |         |
 *   20   21    A5<D4     |         |         |
 *   19   120   |         |         |         D4<C4
 *   18   19    |         |         C4<B4     |
 *   17   18    |         B4<A4     |         |
 *   16   17    A4<D3     |         |         |
 *   15   116   |         |         |         D3<C3
 *   14   15    |         |         C3<B3     |
 *   13   14    |         B3<A3     |         |
 *   12   13    A3<D2     |         |         |
 *   11   112   |         |         |         D2<C2
 *   10   11    |         |         C2<B2     |
 *    9   10    |         B2<A2     |         |
 *    8    9    A2<D1     |         |         |
 *    7   108   |         |         |         D1<C1
 *    6    7    |         |         C1<B1     |
 *    5    6    |         B1<A1     |         |
 *    4    5    A1<D0     |         |         |
 *    3   104   |         |         |         D0<C0
 *    2    3    |         |         C0<B0
 *    1    2    |         B0<A0
 *    0    1    A0
 *
 * Strongly seeing: x strongly sees an earlier y iff the creators of the events from y to x weigh
 * >= 5: D and two others (any 3 consecutive positions containing a D), or all four.
 *   Round 0 witnesses A0 B0 C0 D0. A1 (pos 4): windows from A0, B0 (4+ positions) and C0 (C D A:
 *   5) qualify; from D0 (D A: 4) not: strongly sees A0 B0 C0, stake 3 < 5: round 0, not a witness
 *   (with equal stakes it would be a round-1 witness). B1: D0..B1 = D A B (5): all four: round 1.
 *   Then C1, D1, A2 round 1 (each strongly sees at most B1 and C1: stake <= 2). B2 strongly sees
 *   B1, C1 and D1 (D A B: 5): stake 1 + 1 + 3 = 5: round 2. The pattern repeats every 4 positions:
 *   round r >= 1 witnesses at positions 4r+1 .. 4r+4 (B C D A), every event from B1 on a witness.
 * Fame: every round-(r+1) witness descends from every round-r witness and votes yes; the B event
 * opening round r+2 strongly sees B, C and D of round r+1 (stake 5, all yes): famous. Rounds 0-3
 * are decided (by B2, B3, B4, B5); round 4 is not.
 * Round received: the unique famous witnesses of round r >= 1 are at positions 4r+1 .. 4r+4, so x
 * at position q is an ancestor of all of them iff q <= 4r+1: A0 (q = 0, and an ancestor of all of
 * round 0) in round 0; positions 1-5 in round 1; 6-9 in round 2; 10-13 in round 3; later: none.
 * Median: for x at q, the earliest event per famous witness's chain that descends from x are the
 * four events at positions q..q+3. Weighted upper median = first timestamp (ascending) where the
 * stake counted reaches more than half of 6, i.e. >= 4: D's timestamp unless D's is the smallest
 * (never: D's clock is ahead). So every median is the timestamp of the next D event at or after x:
 *   A0 -> 104 | B0 C0 D0 -> 104, A1 B1 -> 108 | C1 D1 -> 108, A2 B2 -> 112 | C2 D2 -> 112,
 *   A3 B3 -> 116. (Equal stakes would take the 3rd of 4 and never pick D's clock.)
 * Strictly increasing, ties by whitened signature: 104 | 105 106 107, 108 109 | 110 111, 112 113
 * | 114 115, 116 117.
 */
const CREATORS = ['A', 'B', 'C', 'D'];
const ROBIN: PlayRow[] = Array.from({ length: 22 }, (_, pos) => {
  const creator = CREATORS[pos % 4]!;
  const seq = Math.floor(pos / 4);
  const label = `${creator}${seq}`;
  const selfParent = seq === 0 ? null : `${creator}${seq - 1}`;
  const prev = pos === 0 ? null : `${CREATORS[(pos - 1) % 4]!}${Math.floor((pos - 1) / 4)}`;
  return [label, creator, selfParent, prev, creator === 'D' ? pos + 101 : pos + 1] as const;
});
const robin = buildPlay(CREATORS, ROBIN);
const ROBIN_ROUND: Record<string, number> = { A0: 0, B0: 0, C0: 0, D0: 0, A1: 0 };
ROBIN.forEach(([label], pos) => {
  if (pos >= 5) ROBIN_ROUND[label] = Math.floor((pos - 1) / 4);
});

describe('fame and consensus timestamps with stakes 1, 1, 1, 3', () => {
  test('the table above is the DAG that is built', () => {
    expect(ROBIN.slice(0, 6).map((r) => r.slice(0, 5))).toEqual([
      ['A0', 'A', null, null, 1],
      ['B0', 'B', null, 'A0', 2],
      ['C0', 'C', null, 'B0', 3],
      ['D0', 'D', null, 'C0', 104],
      ['A1', 'A', 'A0', 'D0', 5],
      ['B1', 'B', 'B0', 'A1', 6],
    ]);
    expect(ROBIN_ROUND).toMatchObject({ B1: 1, A2: 1, B2: 2, A3: 2, B3: 3, A4: 3, B4: 4, A5: 4, B5: 5 });
  });

  test('rounds, witnesses, fame, round received', () => {
    const pg = playGraph(robin, { stakes: STAKES });
    expect(pg.consensus().decidedRounds).toEqual([0, 1, 2, 3]);
    ROBIN.forEach(([label], pos) => {
      const round = ROBIN_ROUND[label]!;
      const witness = label !== 'A1';
      const famous = witness ? (round <= 3 ? true : null) : null;
      const roundReceived = pos === 0 ? 0 : pos <= 5 ? 1 : pos <= 9 ? 2 : pos <= 13 ? 3 : null;
      expect({ label, ...pg.describe(label) }).toEqual({ label, round, witness, famous, roundReceived });
    });
  });

  test('consensus timestamps follow D, the member with half the stake', () => {
    const { ordered } = playGraph(robin, { stakes: STAKES }).consensus();
    const w = (labels: string[], ufw: string[]) => byWhitenedSignature(robin, labels, ufw);
    const r1 = ['B1', 'C1', 'D1', 'A2'];
    const r2 = ['B2', 'C2', 'D2', 'A3'];
    const r3 = ['B3', 'C3', 'D3', 'A4'];
    const expected = [
      ...['A0'].map((l) => [l, 0]),
      ...w(['B0', 'C0', 'D0'], r1).map((l) => [l, 1]),
      ...w(['A1', 'B1'], r1).map((l) => [l, 1]),
      ...w(['C1', 'D1'], r2).map((l) => [l, 2]),
      ...w(['A2', 'B2'], r2).map((l) => [l, 2]),
      ...w(['C2', 'D2'], r3).map((l) => [l, 3]),
      ...w(['A3', 'B3'], r3).map((l) => [l, 3]),
    ];
    const stamps = [104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117];
    expect(ordered.map((o) => [o.label, o.roundReceived, o.consensusTimestamp])).toEqual(
      expected.map(([l, r], k) => [l, r, stamps[k]]),
    );
  });

  test('the paper transcription agrees', () => {
    const core = playGraph(robin, { stakes: STAKES }).consensus().ordered;
    expect(core.map((o) => [o.label, o.consensusTimestamp])).toEqual(
      playReference(robin, { stakes: STAKES }).ordered.map((o) => [o.label, o.consensusTimestamp]),
    );
  });

  test('weightedUpperMedian on hand-picked inputs', () => {
    const m = (pairs: [number, number][]) => weightedUpperMedian(pairs.map(([ts, stake]) => ({ ts, stake })));
    expect(
      m([
        [10, 1],
        [20, 1],
        [30, 1],
      ]),
    ).toBe(20); // middle of three
    expect(
      m([
        [40, 1],
        [10, 1],
        [30, 1],
        [20, 1],
      ]),
    ).toBe(30); // upper middle of four, input order irrelevant
    expect(
      m([
        [10, 1],
        [20, 1],
        [30, 1],
        [40, 3],
      ]),
    ).toBe(40); // 1+1+1 = 3 is not more than half of 6
    expect(
      m([
        [10, 3],
        [20, 1],
        [30, 1],
        [40, 1],
      ]),
    ).toBe(20); // 3 alone is not more than half either
    expect(
      m([
        [10, 1],
        [20, 4],
        [30, 1],
      ]),
    ).toBe(20);
  });
});
