import { renderDevnetStatus, renderDevnetView, runDevnet, type DevnetOptions } from './devnet.js';

const opts: DevnetOptions = {
  nodes: 4,
  port: 3000,
  data: './data',
  bus: 'memory',
  store: 'sqlite',
  rate: 200,
  seed: 'devnet-spec',
  heartbeat: { activeMicros: 5_000, idleMicros: 50_000, eagerMicros: 2_000 },
};

describe('devnet', () => {
  it('runs the in-process network with a synthetic stream until stopped, and the nodes agree', async () => {
    const written: string[] = [];
    const summary = await runDevnet(
      opts,
      { tty: false, write: (t) => void written.push(t) },
      new Promise((resolve) => setTimeout(resolve, 2500)),
    );
    expect(summary.stats).toHaveLength(4);
    expect(summary.agreementIndex).toBeGreaterThan(0);
    expect(summary.agree).toBe(true);
    for (const s of summary.stats) expect(s.orderedPayloads).toBeGreaterThan(0);
    expect(written.some((line) => line.startsWith('devnet t='))).toBe(true);
  }, 20_000);

  it('renders one line per node and the agreement line', () => {
    const stats = [0, 1].map((index) => ({
      index,
      publicKey: 'ab'.repeat(32),
      ownSeq: 3,
      lastDecidedRound: 7,
      highestRound: 9,
      graphSize: 20,
      pendingPayloads: 0,
      eventsCreated: 4,
      eventsReceived: 4,
      orderedEvents: 12,
      orderedPayloads: 30,
      orderHash: 'cd'.repeat(32),
      rejected: 0,
      forks: 0,
      malformed: 0,
    }));
    const agreement = { index: 12, hashes: ['cd'.repeat(32), 'cd'.repeat(32)], agree: true };
    const lines = renderDevnetView({ ...opts, nodes: 2 }, 3, stats, [1.5, 2], agreement);
    expect(lines).toHaveLength(2 + 2 + 2);
    expect(lines.join('\n')).toContain('all 2 nodes agree');
    expect(lines.join('\n')).toContain('3000..3001');
    const status = renderDevnetStatus(3, stats, [1.5, 2], {
      ...agreement,
      hashes: ['cd'.repeat(32), 'ef'.repeat(32)],
      agree: false,
    });
    expect(status).toContain('DISAGREE');
    expect(status).toContain('decided=[7,7]');
  });
});
