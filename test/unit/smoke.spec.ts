import { createHash, generateKeyPairSync, sign, verify, createPublicKey } from 'node:crypto';
import { ShadowGraphNode } from '../../domain/shadowgraph/node.js';
import { toHex } from '../../domain/shadowgraph/event.js';

const sha = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest());
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
function mk() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
  return { publicKey: raw, sign: (m: Uint8Array) => new Uint8Array(sign(null, m, privateKey)) };
}
const verifyFn = (s: Uint8Array, m: Uint8Array, pk: Uint8Array) =>
  verify(null, m, createPublicKey({ key: Buffer.concat([SPKI, pk]), format: 'der', type: 'spki' }), s);

test('smoke', () => {
  const n = 4;
  const signers = Array.from({ length: n }, mk);
  const genesis = signers.map((s) => ({ key: toHex(s.publicKey), stake: 1 }));
  const nodes = signers.map((s) => new ShadowGraphNode({ genesis, verify: verifyFn, signer: s, hash: sha }));
  const orders: string[][] = nodes.map(() => []);
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
  let now = 0;
  for (let step = 0; step < 2000; step++) {
    now += 1000;
    const i = Math.floor(rnd() * n);
    const j = (i + 1 + Math.floor(rnd() * (n - 1))) % n;
    if (rnd() < 0.3) nodes[i]!.submit([new TextEncoder().encode(`p${step}`)]);
    // i pulls from j
    const diff = nodes[j]!.graph.diff(nodes[i]!.graph.knownVector());
    const r1 = nodes[i]!.receive(diff);
    const r2 = nodes[i]!.tick(now * 100);
    for (const o of [...r1.ordered, ...r2.ordered]) orders[i]!.push(o.event.idHex);
  }
  const len = Math.min(...orders.map((o) => o.length));
  console.log(orders.map((o) => o.length), nodes.map((x) => [x.graph.lastDecidedRound, x.graph.highestRound, x.graph.size]));
  expect(len).toBeGreaterThan(50);
  for (const o of orders) expect(o.slice(0, len)).toEqual(orders[0]!.slice(0, len));
});
