import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import { MAX_EVENT_PAYLOAD_BYTES, toHex } from '../../../domain/shadowgraph/event.js';
import { DEFAULT_HEARTBEAT, type Ready, ShadowGraphNode } from '../../../domain/shadowgraph/node.js';

const signers = ['a', 'b', 'c', 'd'].map((n) =>
  signerFromSecretKey(sha256(new TextEncoder().encode(`node-spec:${n}`))),
);
const genesis = signers.map((s) => ({ key: toHex(s.publicKey), stake: 1 }));
const verify = (sig: Uint8Array, msg: Uint8Array, key: Uint8Array) => strictVerifier.verify(sig, msg, key);
const make = (i: number) => new ShadowGraphNode({ genesis, verify, signer: signers[i]!, hash: sha256 });
const ms = (n: number) => n * 1000;

describe('ShadowGraphNode', () => {
  it('creates its first event on the first tick and returns it to persist and to gossip', () => {
    const node = make(0);
    const ready = node.tick(ms(1));
    expect(ready.persist).toHaveLength(1);
    expect(ready.gossip).toEqual(ready.persist);
    expect(ready.persist[0]!.body.seq).toBe(0);
    expect(ready.persist[0]!.body.otherParent).toBeNull();
  });

  it('never creates an event per received event: nothing without a tick, and the heartbeat paces ticks', () => {
    const a = make(0);
    const b = make(1);
    a.tick(ms(1));
    const first = b.tick(ms(1)).gossip;
    const received = a.receive(first);
    expect(received.persist).toHaveLength(0);
    expect(received.accepted).toHaveLength(1);
    // Undecided events, no payloads: the active heartbeat (100 ms) applies.
    expect(a.tick(ms(50)).persist).toHaveLength(0);
    const next = a.tick(ms(1 + DEFAULT_HEARTBEAT.activeMicros / 1000));
    expect(next.persist).toHaveLength(1);
    expect(toHex(next.persist[0]!.body.otherParent!)).toBe(first[0]!.idHex);
  });

  it('creates sooner when payloads wait', () => {
    const a = make(0);
    a.tick(ms(1));
    a.submit([new Uint8Array([1, 2, 3])]);
    const ready = a.tick(ms(1 + DEFAULT_HEARTBEAT.eagerMicros / 1000));
    expect(ready.persist).toHaveLength(1);
    expect(ready.persist[0]!.body.payloads).toEqual([new Uint8Array([1, 2, 3])]);
  });

  it('picks as other-parent the peer referenced least recently among those with new events', () => {
    const a = make(0);
    const peers = [1, 2, 3].map(make);
    let now = ms(1);
    a.tick(now);
    const tips = peers.map((p) => p.tick(now).gossip);
    for (const t of tips) a.receive(t);
    const chosen: string[] = [];
    for (let i = 0; i < 3; i++) {
      now += DEFAULT_HEARTBEAT.activeMicros;
      const e = a.tick(now).persist[0]!;
      chosen.push(toHex(e.body.otherParent!));
    }
    // Each peer once, not the same one three times.
    expect(new Set(chosen).size).toBe(3);
    // With no new events from anyone, the heartbeat still makes an event, on its own chain only.
    now += DEFAULT_HEARTBEAT.idleMicros;
    const heartbeat = a.tick(now).persist;
    expect(heartbeat).toHaveLength(1);
    expect(heartbeat[0]!.body.otherParent).toBeNull();
  });

  it('fills an event with at most 64 KiB of payloads and carries the rest over', () => {
    const a = make(0);
    a.tick(ms(1));
    const payload = new Uint8Array(1000);
    a.submit(Array.from({ length: 100 }, () => payload));
    const e = a.tick(ms(2)).persist[0]!;
    const bytes = e.body.payloads.reduce((s, p) => s + p.length, 0);
    expect(bytes).toBeLessThanOrEqual(MAX_EVENT_PAYLOAD_BYTES);
    expect(e.body.payloads).toHaveLength(65);
    expect(a.pendingPayloads).toBe(35);
  });

  it('after a restart from its persisted events it continues its seq and re-derives the same order', () => {
    const nodes = [0, 1, 2, 3].map(make);
    const persisted: Ready['persist'][number][][] = nodes.map(() => []);
    const orders: string[][] = nodes.map(() => []);
    let now = 0;
    const step = (i: number, ready: Ready) => {
      persisted[i]!.push(...ready.persist, ...ready.accepted);
      orders[i]!.push(...ready.ordered.map((o) => o.event.idHex));
      return ready.gossip;
    };
    for (let round = 0; round < 60; round++) {
      now += DEFAULT_HEARTBEAT.activeMicros;
      for (let i = 0; i < 4; i++) {
        const gossip = step(i, nodes[i]!.tick(now + i));
        for (let j = 0; j < 4; j++) if (j !== i) step(j, nodes[j]!.receive(gossip));
      }
    }
    expect(orders[0]!.length).toBeGreaterThan(20);
    const before = nodes[0]!.ownSeq;
    const restarted = make(0);
    const replay = restarted.restore(persisted[0]!);
    expect(restarted.ownSeq).toBe(before);
    expect(replay.ordered.map((o) => o.event.idHex)).toEqual(orders[0]);
    const next = restarted.tick(now + DEFAULT_HEARTBEAT.idleMicros).persist[0];
    expect(next?.body.seq).toBe(before + 1);
  });
});

describe('a one-member network', () => {
  it('orders everything it is given with its heartbeat events alone', () => {
    const solo = new ShadowGraphNode({
      genesis: genesis.slice(0, 1),
      verify,
      signer: signers[0]!,
      hash: sha256,
    });
    const payloads = Array.from({ length: 50 }, (_, i) => new Uint8Array([i]));
    solo.submit(payloads);
    const ordered: Uint8Array[] = [];
    for (let t = 1; t <= 20; t++)
      for (const o of solo.tick(t * DEFAULT_HEARTBEAT.activeMicros).ordered)
        ordered.push(...o.event.body.payloads);
    expect(ordered).toEqual(payloads);
  });
});
