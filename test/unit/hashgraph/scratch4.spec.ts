import fc from 'fast-check';
import { build, run, scenarios } from './gossip-scenarios.js';
test('stats', () => {
  const rows: string[] = [];
  fc.assert(fc.property(scenarios({ forks: true }), (s) => {
    const b = build(s); const o = run(b, b.events, s.coinRoundFrequency, new Set(b.events.map((_e, i) => i)));
    rows.push(`n=${s.n} N=${b.events.length} decided=${o.graph.lastDecidedRound} ordered=${o.ordered.length} forks=${o.graph.forkEvidence.length} late=${o.lateWitnesses} lj=${s.lateJoinPercent}`);
  }), { numRuns: 25, seed: 3 });
  console.log(rows.join('\n'));
});
