import { nobleVerifier, signerFromSecretKey, strictVerifier } from '../../domain/crypto/index.js';
import {
  BENCH_ENVELOPE_BYTES,
  benchEnvelopeSeq,
  encodeBenchEnvelope,
  ENVELOPE_BODY_OFFSET,
  ENVELOPE_SIGNATURE_OFFSET,
  readSeq,
  verifyBenchEnvelope,
  writeSeq,
} from './envelope.js';
import { LatencyHistogram } from './histogram.js';

const signer = signerFromSecretKey(new Uint8Array(32).fill(3));

describe('bench envelope', () => {
  it('is 256 bytes: key, signature over the body, body starting with the seq', () => {
    const env = encodeBenchEnvelope(signer, 123_456_789_012);
    expect(env.length).toBe(BENCH_ENVELOPE_BYTES);
    expect(env.subarray(0, 32)).toEqual(signer.publicKey);
    expect(benchEnvelopeSeq(env)).toBe(123_456_789_012);
    expect(verifyBenchEnvelope(env, strictVerifier)).toBe(true);
    expect(verifyBenchEnvelope(env, nobleVerifier)).toBe(true);
  });

  it('is deterministic and writes in place at an offset', () => {
    const buf = new Uint8Array(3 * BENCH_ENVELOPE_BYTES);
    encodeBenchEnvelope(signer, 7, buf, BENCH_ENVELOPE_BYTES);
    expect(buf.subarray(BENCH_ENVELOPE_BYTES, 2 * BENCH_ENVELOPE_BYTES)).toEqual(
      encodeBenchEnvelope(signer, 7),
    );
    expect(buf.subarray(0, BENCH_ENVELOPE_BYTES).every((b) => b === 0)).toBe(true);
    expect(() => encodeBenchEnvelope(signer, 1, buf, 2 * BENCH_ENVELOPE_BYTES + 1)).toThrow(RangeError);
    expect(() => encodeBenchEnvelope(signer, -1)).toThrow(RangeError);
  });

  it('fails verification when any byte of body, signature or key changes, or the size is wrong', () => {
    const env = encodeBenchEnvelope(signer, 42);
    for (const at of [0, 31, ENVELOPE_SIGNATURE_OFFSET, 95, ENVELOPE_BODY_OFFSET, 200, 255]) {
      const bad = env.slice();
      bad[at]! ^= 1;
      expect(verifyBenchEnvelope(bad, strictVerifier)).toBe(false);
    }
    expect(verifyBenchEnvelope(env.subarray(0, 255), strictVerifier)).toBe(false);
    const longer = new Uint8Array(257);
    longer.set(env);
    expect(verifyBenchEnvelope(longer, strictVerifier)).toBe(false);
  });

  it('refuses a non-canonical signature scalar (S >= L) like the strict rule says', () => {
    const env = encodeBenchEnvelope(signer, 9);
    const bad = env.slice();
    bad.fill(0xff, ENVELOPE_SIGNATURE_OFFSET + 32, ENVELOPE_BODY_OFFSET);
    expect(verifyBenchEnvelope(bad, strictVerifier)).toBe(false);
    expect(verifyBenchEnvelope(bad, nobleVerifier)).toBe(false);
  });

  it('round-trips u64 seqs up to 2^53', () => {
    const buf = new Uint8Array(8);
    for (const seq of [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      writeSeq(buf, 0, seq);
      expect(readSeq(buf, 0)).toBe(seq);
      expect(new DataView(buf.buffer).getBigUint64(0)).toBe(BigInt(seq));
    }
  });
});

describe('LatencyHistogram', () => {
  it('reports null when empty and percentiles at 0.1 ms resolution', () => {
    const h = new LatencyHistogram(1000);
    expect(h.percentile(0.5)).toBeNull();
    for (let i = 1; i <= 100; i++) h.record(i);
    expect(h.count).toBe(100);
    expect(h.percentile(0.5)).toBe(50);
    expect(h.percentile(0.99)).toBe(99);
    expect(h.percentile(1)).toBe(100);
  });

  it('keeps samples beyond its range in an overflow bucket that reports the maximum', () => {
    const h = new LatencyHistogram(10);
    h.record(5);
    h.record(5000);
    expect(h.percentile(1)).toBe(5000);
  });
});
