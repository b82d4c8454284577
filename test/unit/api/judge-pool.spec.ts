import { sha256, signerFromSecretKey } from '../../../domain/crypto/index.js';
import { signPayload } from '../../../domain/payloads/envelope.js';
import {
  createJudgePool,
  judgeBody,
  JudgePool,
  type JudgedBody,
  type JudgeWorker,
  packVerdicts,
  type PackedVerdicts,
} from '../../../src/api/judge-pool.js';
import { type PackedBytes, unpackBytes } from '../../../src/shared/packed-bytes.js';
import { vmCreate } from './fakes.js';
import { tsWorker } from './ts-thread.js';

/** An in-thread stand-in for a worker thread: answers each batch on a later turn, in order. */
class FakeWorker implements JudgeWorker {
  readonly batches: number[] = [];
  private onMessage: ((r: PackedVerdicts) => void) | null = null;
  private onError: ((e: Error) => void) | null = null;
  crashNext = false;
  terminated = false;
  postMessage(packed: PackedBytes): void {
    const batch = unpackBytes(packed);
    this.batches.push(batch.length);
    const copies = batch.map((b) => b.slice());
    setTimeout(() => {
      if (this.crashNext) this.onError?.(new Error('worker died'));
      else this.onMessage?.(packVerdicts(copies.map(judgeBody)));
    }, 2);
  }
  on(event: 'message' | 'error', listener: ((r: PackedVerdicts) => void) & ((e: Error) => void)): void {
    if (event === 'message') this.onMessage = listener;
    else this.onError = listener;
  }
  async terminate(): Promise<number> {
    this.terminated = true;
    return 0;
  }
}

const enc = new TextEncoder();
const signer = signerFromSecretKey(sha256(enc.encode('judge-pool')));
const bodies = Array.from({ length: 40 }, (_, i) => {
  const s = signPayload(vmCreate(), signer, sha256);
  const envelope = i % 3 === 0 ? { ...s.envelope, payload: { ...s.envelope.payload, vcpus: 3 } } : s.envelope;
  return { raw: enc.encode(JSON.stringify(envelope)), payloadId: s.payloadId, good: i % 3 !== 0 };
});
const expected = (b: (typeof bodies)[number]) => (b.good ? b.payloadId : 'BAD_SIGNATURE');
const outcome = (r: JudgedBody) => (r.ok ? r.payloadId : r.error.code);

describe('judgeBody', () => {
  it.each([
    ['', 'INVALID_ENVELOPE'],
    ['  ', 'INVALID_ENVELOPE'],
    ['{', 'MALFORMED_JSON'],
    ['"str"', 'MALFORMED_JSON'],
    ['42', 'MALFORMED_JSON'],
    ['[]', 'INVALID_ENVELOPE'],
    ['{"payload":{}}', 'INVALID_ENVELOPE'],
  ])('judges %j as %s', (text, code) => {
    const r = judgeBody(enc.encode(text));
    expect(r.ok ? 'ok' : r.error.code).toBe(code);
  });

  it('gives the payload id and the canonical bytes of a good envelope', () => {
    const s = signPayload(vmCreate(), signer, sha256);
    const r = judgeBody(enc.encode(` ${JSON.stringify(s.envelope, null, 2)} `));
    expect(r).toEqual({ ok: true, payloadId: s.payloadId, bytes: s.bytes });
  });
});

describe('JudgePool', () => {
  it('sends the bodies of one turn as one batch per worker and answers each in order', async () => {
    const workers = [new FakeWorker(), new FakeWorker()];
    const pool = new JudgePool(workers);
    const results = await Promise.all(bodies.map((b) => pool.judge(b.raw)));
    expect(results.map(outcome)).toEqual(bodies.map(expected));
    expect(workers.map((w) => w.batches)).toEqual([[20], [20]]);
    await pool.close();
    expect(workers.every((w) => w.terminated)).toBe(true);
  });

  it('judges inline once a worker dies, including what it held', async () => {
    const worker = new FakeWorker();
    const pool = new JudgePool([worker]);
    worker.crashNext = true;
    const results = await Promise.all(bodies.slice(0, 6).map((b) => pool.judge(b.raw)));
    expect(results.map(outcome)).toEqual(bodies.slice(0, 6).map(expected));
    const sent = worker.batches.length;
    expect(outcome(await pool.judge(bodies[1]!.raw))).toBe(bodies[1]!.payloadId);
    expect(worker.batches.length).toBe(sent);
    await pool.close();
  });

  it('real worker threads: the packed bodies and verdicts cross intact, bytes included', async () => {
    const threads = [
      tsWorker('src/api/judge-worker.ts', undefined),
      tsWorker('src/api/judge-worker.ts', undefined),
    ];
    const pool = new JudgePool(threads as unknown as JudgeWorker[]);
    const answered = [0, 0];
    threads.forEach((t, i) => t.on('message', () => answered[i]!++));
    const results = await Promise.all(bodies.map((b) => pool.judge(b.raw)));
    expect(answered).toEqual([1, 1]);
    expect(results.map(outcome)).toEqual(bodies.map(expected));
    expect(results.map((r) => (r.ok ? [...r.bytes] : r.error))).toEqual(
      bodies.map((b) => {
        const r = judgeBody(b.raw);
        return r.ok ? [...r.bytes] : r.error;
      }),
    );
    await pool.close();
  }, 30_000);

  it('judges inline when no compiled worker is there (as under ts-jest) or threads is 0', async () => {
    for (const threads of [0, 2]) {
      const pool = createJudgePool(threads);
      const results = await Promise.all(bodies.map((b) => pool.judge(b.raw)));
      expect(results.map(outcome)).toEqual(bodies.map(expected));
      await pool.close();
    }
  });
});
