import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import {
  createVerifyPool,
  packBatch,
  verifyBatch,
  VerifyPool,
  type VerifyWorker,
} from '../../../src/api/verify-pool.js';

/** An in-thread stand-in for a worker thread: answers each batch on a later turn, in order. */
class FakeWorker implements VerifyWorker {
  readonly batches: number[] = [];
  private onMessage: ((ok: Uint8Array) => void) | null = null;
  private onError: ((e: Error) => void) | null = null;
  crashNext = false;
  terminated = false;
  postMessage(batch: Uint8Array): void {
    const copy = batch.slice();
    this.batches.push(verifyBatch(copy, strictVerifier).length);
    setTimeout(() => {
      if (this.crashNext) this.onError?.(new Error('worker died'));
      else this.onMessage?.(verifyBatch(copy, strictVerifier));
    }, 2);
  }
  on(event: 'message' | 'error', listener: ((ok: Uint8Array) => void) & ((e: Error) => void)): void {
    if (event === 'message') this.onMessage = listener;
    else this.onError = listener;
  }
  async terminate(): Promise<number> {
    this.terminated = true;
    return 0;
  }
}

const signer = signerFromSecretKey(sha256(new TextEncoder().encode('verify-pool')));
const jobs = Array.from({ length: 40 }, (_, i) => {
  const msg = new TextEncoder().encode(`message ${i}`);
  const sig = signer.sign(msg);
  if (i % 3 === 0) sig[5]! ^= 1;
  return { sig, msg, key: signer.publicKey, good: i % 3 !== 0 };
});

describe('VerifyPool', () => {
  it('packs jobs so that verifyBatch gives the strict verdicts', () => {
    expect(Array.from(verifyBatch(packBatch(jobs), strictVerifier))).toEqual(
      jobs.map((j) => (j.good ? 1 : 0)),
    );
  });

  it('sends the jobs of one turn as one batch per worker and answers each in order', async () => {
    const workers = [new FakeWorker(), new FakeWorker()];
    const pool = new VerifyPool(workers);
    const verdicts = await Promise.all(jobs.map((j) => pool.verify(j.sig, j.msg, j.key)));
    expect(verdicts).toEqual(jobs.map((j) => j.good));
    expect(workers.map((w) => w.batches)).toEqual([[20], [20]]);
    await pool.close();
    expect(workers.every((w) => w.terminated)).toBe(true);
  });

  it('refuses wrong lengths without a worker and verifies inline once a worker dies', async () => {
    const worker = new FakeWorker();
    const pool = new VerifyPool([worker]);
    await expect(pool.verify(new Uint8Array(63), jobs[1]!.msg, jobs[1]!.key)).resolves.toBe(false);
    worker.crashNext = true;
    const verdicts = await Promise.all(jobs.slice(0, 6).map((j) => pool.verify(j.sig, j.msg, j.key)));
    expect(verdicts).toEqual(jobs.slice(0, 6).map((j) => j.good));
    const after = worker.batches.length;
    await expect(pool.verify(jobs[1]!.sig, jobs[1]!.msg, jobs[1]!.key)).resolves.toBe(true);
    expect(worker.batches.length).toBe(after);
    await pool.close();
  });

  it('verifies inline when no compiled worker is there (as under ts-jest) or threads is 0', async () => {
    for (const threads of [0, 2]) {
      const pool = createVerifyPool(threads);
      const verdicts = await Promise.all(jobs.map((j) => pool.verify(j.sig, j.msg, j.key)));
      expect(verdicts).toEqual(jobs.map((j) => j.good));
      await pool.close();
    }
  });
});
