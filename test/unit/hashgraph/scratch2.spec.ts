import { buildPlay, type PlayRow, coinBit } from '../../../domain/shadowgraph/testing/play.js';
const base: PlayRow[] = [
  ['A0', 'A', null, null], ['B0', 'B', null, 'A0'], ['C0', 'C', null, 'B0'], ['A1', 'A', 'A0', 'C0'],
  ['B1', 'B', 'B0', 'A1'], ['C1', 'C', 'C0', 'B1'], ['D0', 'D', null, null], ['D1', 'D', 'D0', 'C1'],
  ['A2', 'A', 'A1', 'D1'], ['B2', 'B', 'B1', 'A2'], ['C2', 'C', 'C1', 'A2'], ['D2', 'D', 'D1', 'B2'],
  ['A3', 'A', 'A2', 'D2'], ['B3', 'B', 'B2', 'A3'], ['C3', 'C', 'C2', 'B3'], ['D3', 'D', 'D2', 'C3'],
  ['A4', 'A', 'A3', 'D3'], ['B4', 'B', 'B3', 'A4'], ['C4', 'C', 'C3', 'B4'],
];
function search(want: boolean) {
  const rows = base.map((r) => [...r] as unknown as PlayRow[]) as unknown as PlayRow[];
  const nonces: Record<string, number> = {};
  for (const label of ['C3', 'D3', 'A4', 'B4']) {
    const i = rows.findIndex((r) => r[0] === label);
    for (let k = 0; ; k++) {
      const r = base[i]!;
      (rows as PlayRow[])[i] = [r[0], r[1], r[2], r[3], undefined, [`coin-nonce:${k}`]];
      const play = buildPlay(['A', 'B', 'C', 'D'], rows);
      if (coinBit(play.event(label)) === want) { nonces[label] = k; break; }
    }
  }
  return nonces;
}
test('n', () => { console.log(JSON.stringify(search(false)), JSON.stringify(search(true))); });
