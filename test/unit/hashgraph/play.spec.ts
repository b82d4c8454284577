import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import { encodeBody, toHex } from '../../../domain/shadowgraph/event.js';
import { Hashgraph } from '../../../domain/shadowgraph/hashgraph.js';
import { gossipEvents, topologicalShuffle } from '../../../domain/shadowgraph/testing/gossip.js';
import {
  buildPlay,
  cachingVerifier,
  coinBit,
  defaultVerify,
  playGraph,
  testMember,
  testMembers,
  whitenedSignature,
} from '../../../domain/shadowgraph/testing/play.js';

describe('play fixture builder', () => {
  test('members: keys from sha256("dagger-test-key:" + name), sorted by name, indexed', () => {
    const members = testMembers(['carol', 'alice', 'bob']);
    expect(members.map((m) => [m.name, m.index])).toEqual([
      ['alice', 0],
      ['bob', 1],
      ['carol', 2],
    ]);
    const seed = sha256(new TextEncoder().encode('dagger-test-key:alice'));
    expect(toHex(members[0]!.secretKey)).toBe(toHex(seed));
    expect(members[0]!.key).toBe(toHex(signerFromSecretKey(seed).publicKey));
    expect(testMember('alice').key).toBe(members[0]!.key);
    expect(new Set(members.map((m) => m.key)).size).toBe(3);
    expect(() => testMembers(['a', 'a'])).toThrow('duplicate');
  });

  test('rows become signed events: seq, parents, default timestamps, payloads', () => {
    const play = buildPlay(
      ['A', 'B'],
      [
        ['a0', 'A', null, null],
        ['b0', 'B', null, 'a0', 10],
        ['a1', 'A', 'a0', 'b0', undefined, ['x', 'yz']],
        ['b1', 'B', 'b0', 'a1'],
      ],
    );
    expect(play.labels).toEqual(['a0', 'b0', 'a1', 'b1']);
    const [a0, b0, a1, b1] = play.labels.map((l) => play.event(l));
    expect([a0!.body.seq, b0!.body.seq, a1!.body.seq, b1!.body.seq]).toEqual([0, 0, 1, 1]);
    // Default timestamp: one more than the largest so far (1, then 10 given, then 11, 12).
    expect([a0, b0, a1, b1].map((e) => e!.body.timestamp)).toEqual([1, 10, 11, 12]);
    expect(a1!.body.selfParent).toEqual(a0!.id);
    expect(a1!.body.otherParent).toEqual(b0!.id);
    expect(b0!.body.selfParent).toBeNull();
    expect(a1!.body.payloads.map((p) => new TextDecoder().decode(p))).toEqual(['x', 'yz']);
    expect(toHex(a1!.body.creator)).toBe(play.member('A').key);
    for (const e of [a0, b0, a1, b1]) {
      expect(toHex(sha256(encodeBody(e!.body)))).toBe(e!.idHex);
      expect(strictVerifier.verify(e!.signature, e!.id, e!.body.creator)).toBe(true);
    }
    expect(play.labelOf(a1!.idHex)).toBe('a1');
    expect(play.id('b1')).toBe(b1!.idHex);
  });

  test('the same play twice gives byte-identical events (so coin bits are stable)', () => {
    const rows = [
      ['a0', 'A', null, null],
      ['b0', 'B', null, 'a0'],
    ] as const;
    const one = buildPlay(['A', 'B'], rows);
    const two = buildPlay(['B', 'A'], rows);
    expect(toHex(two.event('b0').bytes)).toBe(toHex(one.event('b0').bytes));
    expect(coinBit(one.event('b0'))).toBe((one.event('b0').signature[32]! & 1) === 1);
  });

  test('two rows on one self-parent are a fork at one seq', () => {
    const play = buildPlay(
      ['A', 'B'],
      [
        ['a0', 'A', null, null],
        ['a1', 'A', 'a0', null],
        ['a1x', 'A', 'a0', null],
      ],
    );
    expect(play.event('a1').body.seq).toBe(1);
    expect(play.event('a1x').body.seq).toBe(1);
    expect(play.id('a1')).not.toBe(play.id('a1x'));
    const pg = playGraph(play);
    expect(pg.inserted.get('a1x')).toMatchObject({ status: 'inserted', fork: { seq: 1 } });
  });

  test('bad rows are refused', () => {
    expect(() => buildPlay(['A'], [['a0', 'Z', null, null]])).toThrow('unknown creator');
    expect(() => buildPlay(['A'], [['a1', 'A', 'a0', null]])).toThrow('not defined above');
    expect(() =>
      buildPlay(
        ['A'],
        [
          ['a0', 'A', null, null],
          ['a0', 'A', null, null],
        ],
      ),
    ).toThrow('duplicate label');
    expect(() =>
      buildPlay(
        ['A', 'B'],
        [
          ['b0', 'B', null, null],
          ['a1', 'A', 'b0', null],
        ],
      ),
    ).toThrow('another creator');
  });

  test('playGraph: stakes, insertion order, describe and witnesses by label', () => {
    const play = buildPlay(
      ['A', 'B'],
      [
        ['a0', 'A', null, null],
        ['b0', 'B', null, 'a0'],
      ],
    );
    const pg = playGraph(play, { stakes: { A: 5 }, order: ['a0'] });
    expect(pg.graph.size).toBe(1);
    expect(pg.describe('a0')).toEqual({ round: 0, witness: true, famous: null, roundReceived: null });
    expect(() => pg.describe('b0')).toThrow('not in the graph');
    expect(pg.witnesses(0)).toEqual(['a0']);
    expect(pg.graph.schedule.at(0).stakeOf(play.member('A').key)).toBe(5);
    expect(pg.graph.schedule.at(0).stakeOf(play.member('B').key)).toBe(1);
  });

  test('whitenedSignature is the signature XOR the witnesses signatures', () => {
    const play = buildPlay(
      ['A', 'B'],
      [
        ['a0', 'A', null, null],
        ['b0', 'B', null, null],
      ],
    );
    const a = play.event('a0');
    const b = play.event('b0');
    const w = whitenedSignature(a, [b]);
    for (let i = 0; i < 64; i++) expect(w[i]).toBe(a.signature[i]! ^ b.signature[i]!);
    expect(toHex(whitenedSignature(a, [b, b]))).toBe(toHex(a.signature));
  });

  test('cachingVerifier answers as the verifier it wraps', () => {
    let calls = 0;
    const v = cachingVerifier((s, m, k) => {
      calls++;
      return s[0] === m[0] && k.length === 1;
    });
    const one = Uint8Array.of(1);
    expect(v(one, one, one)).toBe(true);
    expect(v(one, one, one)).toBe(true);
    expect(v(one, Uint8Array.of(2), one)).toBe(false);
    expect(calls).toBe(2);
  });
});

describe('gossip generator and topological shuffle', () => {
  const members = testMembers(['p', 'q', 'r', 's']);

  test('events follow the steps: creator, other-parent tip, seq, increasing timestamps', () => {
    const events = gossipEvents(members, [
      { creator: 0, other: 0 },
      { creator: 1, other: 2 }, // other = member (1 + 1 + 2 % 3) % 4 = 0
      { creator: 0, other: 0 }, // other = member 1
    ]);
    expect(events.map((e) => members.findIndex((m) => m.key === toHex(e.body.creator)))).toEqual([0, 1, 0]);
    expect(events[0]!.body.otherParent).toBeNull();
    expect(events[1]!.body.otherParent).toEqual(events[0]!.id);
    expect(events[2]!.body.selfParent).toEqual(events[0]!.id);
    expect(events[2]!.body.otherParent).toEqual(events[1]!.id);
    expect(events.map((e) => e.body.seq)).toEqual([0, 0, 1]);
    expect(events.map((e) => e.body.timestamp)).toEqual([1000, 1010, 1020]);
  });

  test('the forker forks on a fork step; honest members ignore the flag', () => {
    const events = gossipEvents(
      members,
      [
        { creator: 0, other: 0 },
        { creator: 0, other: 0, fork: true },
        { creator: 1, other: 0, fork: true },
        { creator: 1, other: 0 },
      ],
      { forker: 0 },
    );
    expect(events[1]!.body.seq).toBe(0); // a second seq-0 event of member 0
    expect(events[1]!.idHex).not.toBe(events[0]!.idHex);
    expect(events[3]!.body.seq).toBe(1); // member 1 did not fork
    const graph = new Hashgraph({
      genesis: members.map((m) => ({ key: m.key, stake: 1 })),
      verify: defaultVerify,
    });
    for (const e of events) expect(graph.insert(e).status).toBe('inserted');
    expect(graph.forkEvidence).toHaveLength(1);
  });

  test('topologicalShuffle: a permutation with parents first, steered by the choices', () => {
    const events = gossipEvents(
      members,
      Array.from({ length: 40 }, (_, i) => ({ creator: (i * 7) % 4, other: i % 3 })),
    );
    const ids = (es: readonly { idHex: string }[]) => es.map((e) => e.idHex);
    expect(ids(topologicalShuffle(events, []))).toEqual(ids(events));
    const shuffled = topologicalShuffle(events, [5, 3, 8, 1, 9, 2]);
    expect([...ids(shuffled)].sort()).toEqual([...ids(events)].sort());
    expect(ids(shuffled)).not.toEqual(ids(events));
    const seen = new Set<string>();
    for (const e of shuffled) {
      for (const p of [e.body.selfParent, e.body.otherParent]) if (p) expect(seen.has(toHex(p))).toBe(true);
      seen.add(e.idHex);
    }
    expect(() => topologicalShuffle(events.slice(1), [])).toThrow('not closed under parents');
  });
});
