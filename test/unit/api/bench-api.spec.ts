import { jest } from '@jest/globals';
import { runApiBench } from '../../../src/bench/api.js';

jest.setTimeout(60_000);

describe('dagger bench api', () => {
  it('posts every pre-signed envelope to a node on SQLite and finds each durable once', async () => {
    const r = await runApiBench({ payloads: 300, concurrency: 16, signers: 4, clients: 'inline' });
    expect(r).toMatchObject({ accepted: 300, refused: 0, durable: 300, published: 300, payloads: 300 });
    expect(r.appends).toBeGreaterThan(0);
    expect(r.appends).toBeLessThan(300);
    expect(r.p50Ms).not.toBeNull();
    expect(r.perSecond).toBeGreaterThan(0);
    expect(r.node).toBeUndefined();
    // Under ts-jest there is no compiled writer thread: the outbox says it appended inline.
    expect(r.outboxWriter).toBe('inline');
  });

  it('one-node: a node orders, decides and projects every accepted envelope, and the projection lag is measured', async () => {
    const r = await runApiBench({
      target: 'one-node',
      payloads: 200,
      concurrency: 8,
      signers: 4,
      clients: 'inline',
    });
    expect(r).toMatchObject({ target: 'one-node', accepted: 200, refused: 0, durable: 200 });
    const node = r.node!;
    expect(node.decided).toBe(200);
    expect(node.settledSeconds).not.toBeNull();
    // Each accepted payload leaves at least one ledger record (its acceptance or its rejection).
    expect(node.ledgerRecords).toBeGreaterThanOrEqual(200);
    expect(node.projectionLagP99Ms).not.toBeNull();
    expect(node.projectionLagP99Ms!).toBeGreaterThanOrEqual(node.projectionLagP50Ms!);
    expect(node.projectionLagMaxMs!).toBeGreaterThanOrEqual(node.projectionLagP99Ms!);
  });
});
