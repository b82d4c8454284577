import { strictVerifier } from '../../domain/crypto/index.js';

/**
 * What the audit's workers compute (audit-worker.ts), or the main thread inline, by the same
 * function: one strict verdict per signature item. Items are packed back to back, item i being
 * data[offsets[i], offsets[i+1]) (the VerifyPool protocol): signature (64) | public key (32) |
 * message; anything shorter is an empty item, which does not verify. Nothing else is loaded here
 * (no payload schemas), so a worker starts fast.
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
