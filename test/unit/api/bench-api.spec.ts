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
  });
});
