import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import { toHex } from '../../../domain/shadowgraph/event.js';
import type { OrderedEvent } from '../../../domain/shadowgraph/hashgraph.js';
import { isSupermajority, Membership, MembershipSchedule } from '../../../domain/shadowgraph/membership.js';
import { DEFAULT_HEARTBEAT, type Ready, ShadowGraphNode } from '../../../domain/shadowgraph/node.js';
import { membershipChangesFromPayloads } from '../../../src/sim/simulator.js';

describe('stake thresholds', () => {
  it('are strictly above two thirds of the total', () => {
    expect(isSupermajority(2, 3)).toBe(false);
    expect(isSupermajority(3, 4)).toBe(true);
    expect(isSupermajority(66, 99)).toBe(false);
    expect(isSupermajority(67, 99)).toBe(true);
  });

  it('refuse bad memberships with a typed error', () => {
    expect(() => new Membership([{ key: 'a', stake: 0 }])).toThrow(/BAD_MEMBERSHIP/);
    expect(() => new Membership([{ key: 'a', stake: 1.5 }])).toThrow(/BAD_MEMBERSHIP/);
    expect(
      () =>
        new Membership([
          { key: 'a', stake: 1 },
          { key: 'a', stake: 1 },
        ]),
    ).toThrow(/BAD_MEMBERSHIP/);
  });

  it('schedule changes by effective round', () => {
    const s = new MembershipSchedule(
      new Membership([
        { key: 'a', stake: 1 },
        { key: 'b', stake: 2 },
      ]),
    );
    s.schedule(7, [{ kind: 'add', key: 'c', stake: 3 }]);
    expect(s.at(6).total).toBe(3);
    expect(s.at(7).total).toBe(6);
    expect(s.at(100).stakeOf('c')).toBe(3);
    expect(() => s.schedule(5, [])).toThrow(/BAD_MEMBERSHIP/);
    expect(() =>
      s.schedule(9, [
        { kind: 'remove', key: 'a' },
        { kind: 'remove', key: 'b' },
        { kind: 'remove', key: 'c' },
      ]),
    ).toThrow(/BAD_MEMBERSHIP/);
  });
});

describe('membership per round', () => {
  const names = ['a', 'b', 'c', 'd', 'joiner'];
  const signers = names.map((n) =>
    signerFromSecretKey(sha256(new TextEncoder().encode(`membership-spec:${n}`))),
  );
  const keys = signers.map((s) => toHex(s.publicKey));
  const genesis = keys.slice(0, 4).map((key) => ({ key, stake: 1 }));
  const k = 3;

  it('a member added in round d weighs from round d + k on, on every node alike', () => {
    const nodes = signers.map(
      (signer) =>
        new ShadowGraphNode({
          genesis,
          verify: (s, m, p) => strictVerifier.verify(s, m, p),
          signer,
          hash: sha256,
          membershipDelay: k,
          membershipChanges: membershipChangesFromPayloads,
        }),
    );
    const orders: OrderedEvent[][] = nodes.map(() => []);
    const deliver = (i: number, ready: Ready) => {
      orders[i]!.push(...ready.ordered);
      return ready.gossip;
    };
    let now = 0;
    for (let step = 0; step < 120; step++) {
      now += DEFAULT_HEARTBEAT.activeMicros;
      if (step === 10)
        nodes[0]!.submit([
          new TextEncoder().encode(`MEMBER ${JSON.stringify({ kind: 'add', key: keys[4], stake: 1 })}`),
        ]);
      for (let i = 0; i < nodes.length; i++) {
        const gossip = deliver(i, nodes[i]!.tick(now + i));
        for (let j = 0; j < nodes.length; j++) if (j !== i) deliver(j, nodes[j]!.receive(gossip));
      }
    }
    const order = orders[0]!;
    const change = order.find((o) =>
      o.event.body.payloads.some((p) => new TextDecoder().decode(p).startsWith('MEMBER ')),
    );
    expect(change).toBeDefined();
    const effective = change!.roundReceived + k;

    const g = nodes[0]!.graph;
    // Before the effective round the joiner has events but no witness; from it on, it has witnesses.
    const joinerWitnessRounds = [];
    for (let r = 0; r <= g.highestRound; r++)
      if (g.witnessesOf(r).some((id) => toHex(g.get(id)!.body.creator) === keys[4]))
        joinerWitnessRounds.push(r);
    expect(joinerWitnessRounds.length).toBeGreaterThan(0);
    expect(Math.min(...joinerWitnessRounds)).toBeGreaterThanOrEqual(effective);

    // Its events are ordered only from the effective round on, and every node, the joiner too, agrees.
    const joinerOrdered = order.filter((o) => toHex(o.event.body.creator) === keys[4]);
    expect(joinerOrdered.length).toBeGreaterThan(0);
    for (const o of joinerOrdered) expect(o.round).toBeGreaterThanOrEqual(effective);
    const common = Math.min(...orders.map((o) => o.length));
    expect(common).toBeGreaterThan(order.indexOf(joinerOrdered[0]!));
    for (const o of orders)
      expect(o.slice(0, common).map((x) => x.event.idHex)).toEqual(
        order.slice(0, common).map((x) => x.event.idHex),
      );
  });
});
