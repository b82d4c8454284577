import { testMembers, cachingVerifier } from '../../../domain/shadowgraph/testing/play.js';
import { gossipEvents, topologicalShuffle, type GossipStep } from '../../../domain/shadowgraph/testing/gossip.js';
import { ReferenceHashgraph } from '../../../domain/shadowgraph/testing/reference.js';
import { Hashgraph } from '../../../domain/shadowgraph/hashgraph.js';
import type { SignedEvent } from '../../../domain/shadowgraph/event.js';

let seed = 4242;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
const ri = (n: number) => Math.floor(rnd() * n);
const verify = cachingVerifier();

let lateCount = 0;
let patch: ReferenceHashgraph | null = null;
function run(events: SignedEvent[], genesis: { key: string; stake: number }[], c: number, incremental: boolean) {
  const g = new Hashgraph({ genesis, verify, coinRoundFrequency: c });
  if (patch) { const ref = patch; (g as any).isAncestor = (a: any, b: any) => ref.isAncestor(ref.idx(a.event.idHex), ref.idx(b.event.idHex)); }
  const ordered: string[] = [];
  for (const e of events) {
    const before = g.lastDecidedRound;
    const r = g.insert(e);
    if (r.status === 'inserted' && r.witness && r.round <= before) lateCount++;
    if (r.status !== 'inserted') throw new Error(JSON.stringify(r));
    if (incremental) for (const o of g.runConsensus().ordered) ordered.push(`${o.event.idHex.slice(0, 6)}@${o.roundReceived}:${o.consensusTimestamp}`);
  }
  for (const o of g.runConsensus().ordered) ordered.push(`${o.event.idHex.slice(0, 6)}@${o.roundReceived}:${o.consensusTimestamp}`);
  return { g, ordered };
}

test('explore', () => {
  let mism = 0;
  for (let trial = 0; trial < 400; trial++) {
    const n = 4 + ri(4);
    const members = testMembers(Array.from({ length: n }, (_, i) => `m${i}`));
    const forker = rnd() < 0.5 ? ri(n) : undefined;
    const stakes = members.map((_, i) => (i === forker ? 1 : 1 + ri(3)));
    const total = stakes.reduce((a, b) => a + b, 0);
    if (forker !== undefined && 3 * stakes[forker]! >= total) continue;
    const steps: GossipStep[] = Array.from({ length: 60 + ri(200) }, () => ({ creator: ri(n), other: ri(n), fork: rnd() < 0.3, branch: ri(3), lag: rnd() < 0.15 ? ri(40) : 0 }));
    const late = n - 1;
    const half = Math.floor(steps.length * rnd());
    let first = true;
    for (let q = 0; q < steps.length; q++) {
      const st = steps[q]!;
      if (st.creator % n === late) {
        if (q < half) steps[q] = { ...st, creator: (late + 1 + ri(n - 1)) % n };
        else if (first) { first = false; steps[q] = { ...st, lag: 100 }; }
      }
    }
    const events = gossipEvents(members, steps, { forker, skew: members.map(() => ri(30)) });
    const genesis = members.map((m, i) => ({ key: m.key, stake: stakes[i]! }));
    const c = 3 + ri(2);
    const ref = new ReferenceHashgraph(events, { stakes: new Map(genesis.map((g) => [g.key, g.stake])), coinRoundFrequency: c });
    patch = process.env.PATCH ? ref : null;
    const base = run(events, genesis, c, false);
    const refOrder = ref.order.map((o) => `${o.id.slice(0, 6)}@${o.roundReceived}:${o.consensusTimestamp}`);
    let bad = '';
    events.forEach((e) => {
      const d = base.g.describe(e.idHex)!;
      const i = ref.idx(e.idHex);
      if (d.round !== ref.rounds[i] || d.witness !== ref.witness[i] || d.famous !== ref.famous[i] || d.roundReceived !== ref.roundReceived[i])
        bad += ` ev${i}: core ${JSON.stringify(d)} ref r${ref.rounds[i]} w${ref.witness[i]} f${ref.famous[i]} rr${ref.roundReceived[i]};`;
    });
    if (JSON.stringify(refOrder) !== JSON.stringify(base.ordered)) {
      const j = refOrder.findIndex((x, q) => x !== base.ordered[q]);
      bad += ` ORDER differs at ${j}: ref ${refOrder.slice(j, j + 3).join(' ')} core ${base.ordered.slice(j, j + 3).join(' ')}`;
    }
    const shuffled = run(topologicalShuffle(events, Array.from({ length: 50 }, () => ri(1000))), genesis, c, false);
    if (JSON.stringify(shuffled.ordered) !== JSON.stringify(base.ordered)) bad += ' SHUFFLE differs';
    const inc = run(events, genesis, c, true);
    if (JSON.stringify(inc.ordered) !== JSON.stringify(base.ordered)) bad += ` INCREMENTAL differs (${inc.ordered.length} vs ${base.ordered.length})`;
    for (const e of events) {
      const a = JSON.stringify(base.g.describe(e.idHex)); const b = JSON.stringify(inc.g.describe(e.idHex));
      if (a !== b) { bad += ` DESCRIBE ${a} vs inc ${b}`; break; }
    }
    const k = ri(events.length);
    const pre = run(events.slice(0, k), genesis, c, false);
    if (JSON.stringify(pre.ordered) !== JSON.stringify(base.ordered.slice(0, pre.ordered.length))) bad += ' PREFIX not prefix';
    if (bad) {
      const ev = events.find((e) => e.idHex.startsWith(bad.split('ref ')[1]!.slice(0, 6)))!;
      const x = ref.idx(ev.idHex);
      const anyG = base.g as any;
      const vx = anyG.byId.get(ev.idHex);
      // every pair: ref isAncestor vs core isAncestor
      let diffs = 0;
      for (const e2 of events) {
        const y = ref.idx(e2.idHex);
        const vy = anyG.byId.get(e2.idHex);
        const r1 = ref.isAncestor(x, y);
        const r2 = anyG.isAncestor(vx, vy);
        if (r1 !== r2 && diffs++ < 5) console.log(`isAncestor(${x} -> ${y}) ref ${r1} core ${r2}; y creator ${vy.creator} seq ${vy.seq} x creator ${vx.creator} seq ${vx.seq} forkSeen ${vy.forkSeen?.[vx.creator]}`);
      }
      console.log('ancestor diffs', diffs);
    }
    if (bad) console.log(`trial ${trial} n=${n} forker=${forker} N=${events.length} c=${c} decided=${base.g.lastDecidedRound} max=${base.g.highestRound} ordered=${base.ordered.length} forks=${base.g.forkEvidence.length}${bad}`);
    if (bad) mism++;
  }
  console.log('mismatches', mism, 'late witnesses', lateCount);
});
