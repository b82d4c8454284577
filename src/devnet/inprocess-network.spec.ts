import { InProcessNetwork, deriveSecretKey } from './inprocess-network.js';

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

describe('InProcessNetwork', () => {
  it('derives the same keys from the same seed and different keys per index', () => {
    expect(deriveSecretKey('s', 0)).toEqual(deriveSecretKey('s', 0));
    expect(deriveSecretKey('s', 0)).not.toEqual(deriveSecretKey('s', 1));
    expect(deriveSecretKey('s', 0)).not.toEqual(deriveSecretKey('t', 0));
    const a = new InProcessNetwork({ nodes: 4, seed: 'x' });
    const b = new InProcessNetwork({ nodes: 4, seed: 'x' });
    expect(a.genesis).toEqual(b.genesis);
  });

  it('rejects a bad node count', () => {
    expect(() => new InProcessNetwork({ nodes: 0 })).toThrow(RangeError);
    expect(() => new InProcessNetwork({ nodes: 2.5 })).toThrow(RangeError);
  });

  it('orders the same events on all four nodes and every payload once', async () => {
    const net = new InProcessNetwork({
      nodes: 4,
      seed: 'spec',
      tickMs: 2,
      pullMs: 50,
      heartbeat: { activeMicros: 5_000, idleMicros: 50_000, eagerMicros: 2_000 },
    });
    const orders: string[][] = [[], [], [], []];
    const payloads: string[][] = [[], [], [], []];
    for (let i = 0; i < 4; i++)
      net.onOrdered(i, (batch) => {
        for (const o of batch) {
          orders[i]!.push(o.event.idHex);
          for (const p of o.event.body.payloads) payloads[i]!.push(Buffer.from(p).toString());
        }
      });
    net.start();
    const submitted: string[] = [];
    for (let k = 0; k < 40; k++) {
      const text = `payload-${k}`;
      submitted.push(text);
      net.submit(k % 4, [new TextEncoder().encode(text)]);
      await new Promise((r) => setTimeout(r, 2));
    }
    const done = await until(() => payloads.every((p) => p.length >= submitted.length), 15_000);
    await net.stop();
    expect(done).toBe(true);
    const len = Math.min(...orders.map((o) => o.length));
    expect(len).toBeGreaterThan(0);
    for (const o of orders) expect(o.slice(0, len)).toEqual(orders[0]!.slice(0, len));
    for (const p of payloads) expect([...p].sort()).toEqual([...submitted].sort());
    const agreement = net.agreement();
    expect(agreement.agree).toBe(true);
    for (const s of net.allStats()) {
      expect(s.rejected).toBe(0);
      expect(s.forks).toBe(0);
    }
  }, 30_000);
});
