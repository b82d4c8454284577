import { strictVerifier } from '../../domain/crypto/index.js';

/**
 * Signature verdicts computed ahead of consensus, in worker threads (audit-worker.ts) or inline,
 * by the same function. A job is a list of items back to back (item i is data[offsets[i],
 * offsets[i+1])), the VerifyPool protocol; an item is signature (64) | public key (32) | message,
 * and its answer is 1 when the strict verifier accepts it, 0 when not.
 */
export function judgeItems(data: Uint8Array, offsets: Uint32Array, verifier = strictVerifier): Uint8Array {
  const count = offsets.length - 1;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const item = data.subarray(offsets[i]!, offsets[i + 1]!);
    out[i] =
      item.length >= 96 && verifier.verify(item.subarray(0, 64), item.subarray(96), item.subarray(64, 96))
        ? 1
        : 0;
  }
  return out;
}
