import { buildPlay, playGraph, type PlayRow, coinBit } from '../../../domain/shadowgraph/testing/play.js';
import { ReferenceHashgraph } from '../../../domain/shadowgraph/testing/reference.js';

function dump(name: string, members: string[], rows: PlayRow[], stakes: Record<string, number> = {}, c = 10) {
  const play = buildPlay(members, rows);
  const pg = playGraph(play, { stakes, config: { coinRoundFrequency: c } });
  const res = pg.consensus();
  const ref = new ReferenceHashgraph([...play.events.values()], {
    stakes: new Map(play.members.map((m) => [m.key, stakes[m.name] ?? 1])),
    coinRoundFrequency: c,
  });
  const lines = [name];
  for (const l of play.labels) {
    const d = pg.describe(l);
    const i = ref.idx(play.id(l));
    lines.push(`${l.padEnd(4)} core r${d.round} w${+d.witness} f${d.famous} rr${d.roundReceived} | ref r${ref.rounds[i]} w${+ref.witness[i]!} f${ref.famous[i]} rr${ref.roundReceived[i]} coin${+coinBit(play.event(l))} ins=${pg.inserted.get(l)!.status}`);
  }
  lines.push('core order ' + res.ordered.map((o) => `${o.label}@${o.roundReceived}:${o.consensusTimestamp}`).join(' '));
  lines.push('ref  order ' + ref.order.map((o) => `${play.labelOf(o.id)}@${o.roundReceived}:${o.consensusTimestamp}`).join(' '));
  console.log(lines.join('\n'));
}

const main: PlayRow[] = [
  ['A0', 'A', null, null], ['B0', 'B', null, 'A0'], ['C0', 'C', null, 'B0'], ['A1', 'A', 'A0', 'C0'],
  ['B1', 'B', 'B0', 'A1'], ['C1', 'C', 'C0', 'B1'], ['D0', 'D', null, 'A0'], ['A2', 'A', 'A1', 'C1'],
  ['B2', 'B', 'B1', 'A2'], ['C2', 'C', 'C1', 'B2'], ['D1', 'D', 'D0', 'C2'], ['A3', 'A', 'A2', 'D1'],
  ['B3', 'B', 'B2', 'A3'], ['C3', 'C', 'C2', 'B3'], ['D2', 'D', 'D1', 'C3'], ['A4', 'A', 'A3', 'D2'],
  ['B4', 'B', 'B3', 'A4'], ['C4', 'C', 'C3', 'B4'], ['D3', 'D', 'D2', 'C4'], ['A5', 'A', 'A4', 'D3'],
  ['B5', 'B', 'B4', 'A5'], ['C5', 'C', 'C4', 'B5'],
];
const fork: PlayRow[] = [
  ['A0', 'A', null, null], ['B0', 'B', null, null], ['C0', 'C', null, null], ['D0', 'D', null, null],
  ['D1a', 'D', 'D0', 'A0'], ['D1b', 'D', 'D0', 'B0'], ['B1', 'B', 'B0', 'D1a'], ['C1', 'C', 'C0', 'D1b'],
  ['A1', 'A', 'A0', 'B1'], ['A2', 'A', 'A1', 'C1'], ['B2', 'B', 'B1', 'A2'], ['C2', 'C', 'C1', 'B2'],
  ['A3', 'A', 'A2', 'C2'], ['B3', 'B', 'B2', 'A3'], ['C3', 'C', 'C2', 'B3'], ['A4', 'A', 'A3', 'C3'],
  ['B4', 'B', 'B3', 'A4'], ['C4', 'C', 'C3', 'B4'], ['A5', 'A', 'A4', 'C4'], ['B5', 'B', 'B4', 'A5'],
];
const stake: PlayRow[] = [
  ['A0', 'A', null, null], ['B0', 'B', null, null], ['C0', 'C', null, null], ['D0', 'D', null, null],
  ['B1', 'B', 'B0', 'A0'], ['C1', 'C', 'C0', 'B1'], ['A1', 'A', 'A0', 'C1'], ['B2', 'B', 'B1', 'A1'],
  ['D1', 'D', 'D0', 'B2'], ['A2', 'A', 'A1', 'D1'], ['B3', 'B', 'B2', 'A2'],
];
const coin: PlayRow[] = [
  ['A0', 'A', null, null], ['B0', 'B', null, 'A0'], ['C0', 'C', null, 'B0'], ['A1', 'A', 'A0', 'C0'],
  ['B1', 'B', 'B0', 'A1'], ['C1', 'C', 'C0', 'B1'], ['D0', 'D', null, null], ['D1', 'D', 'D0', 'C1'],
  ['A2', 'A', 'A1', 'D1'], ['B2', 'B', 'B1', 'A2'], ['C2', 'C', 'C1', 'A2'], ['D2', 'D', 'D1', 'B2'],
  ['A3', 'A', 'A2', 'D2'], ['B3', 'B', 'B2', 'A3'], ['C3', 'C', 'C2', 'B3'], ['D3', 'D', 'D2', 'C3'],
  ['A4', 'A', 'A3', 'D3'], ['B4', 'B', 'B3', 'A4'], ['C4', 'C', 'C3', 'B4'],
];
test('dump', () => {
  dump('MAIN', ['A', 'B', 'C', 'D'], main);
  dump('FORK', ['A', 'B', 'C', 'D'], fork);
  dump('STAKE', ['A', 'B', 'C', 'D'], stake, { D: 3 });
  dump('STAKE-eq', ['A', 'B', 'C', 'D'], stake);
  dump('COIN3', ['A', 'B', 'C', 'D'], coin, {}, 3);
  dump('COIN10', ['A', 'B', 'C', 'D'], coin, {}, 10);
});
