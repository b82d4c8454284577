import type { SignatureVerifier, Signer } from '../../domain/crypto/index.js';

/**
 * The compact signed envelope of `dagger bench consensus --mode end-to-end`, 256 bytes:
 *
 * | offset | bytes | field |
 * |---|---|---|
 * | 0 | 32 | signer: ed25519 public key |
 * | 32 | 64 | signature: ed25519 over bytes 96..256 (the body) |
 * | 96 | 8 | body: seq, u64 big-endian (the bench's payload identity) |
 * | 104 | 152 | body: filler derived from seq |
 *
 * It stands in for the JSON envelope of the API (DESIGN.md, Intake) with the same cost that matters
 * here: one strict RFC 8032 verification per payload per node.
 */
export const BENCH_ENVELOPE_BYTES = 256;
export const ENVELOPE_KEY_OFFSET = 0;
export const ENVELOPE_SIGNATURE_OFFSET = 32;
export const ENVELOPE_BODY_OFFSET = 96;
export const ENVELOPE_BODY_BYTES = BENCH_ENVELOPE_BYTES - ENVELOPE_BODY_OFFSET;

/** Writes the envelope of `seq` signed by `signer` into out[offset, offset+256). */
export function encodeBenchEnvelope(signer: Signer, seq: number, out?: Uint8Array, offset = 0): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError('seq must be a non-negative safe integer');
  const target = out ?? new Uint8Array(BENCH_ENVELOPE_BYTES);
  if (offset < 0 || offset + BENCH_ENVELOPE_BYTES > target.length)
    throw new RangeError('envelope out of bounds');
  const env = target.subarray(offset, offset + BENCH_ENVELOPE_BYTES);
  const body = env.subarray(ENVELOPE_BODY_OFFSET);
  new DataView(body.buffer, body.byteOffset, 8).setBigUint64(0, BigInt(seq));
  for (let i = 8; i < ENVELOPE_BODY_BYTES; i++) body[i] = (seq * 31 + i * 7) & 0xff;
  env.set(signer.publicKey, ENVELOPE_KEY_OFFSET);
  env.set(signer.sign(body), ENVELOPE_SIGNATURE_OFFSET);
  return env;
}

/** True when `envelope` is well-formed and its signature verifies under the strict rule. */
export function verifyBenchEnvelope(envelope: Uint8Array, verifier: SignatureVerifier): boolean {
  if (envelope.length !== BENCH_ENVELOPE_BYTES) return false;
  return verifier.verify(
    envelope.subarray(ENVELOPE_SIGNATURE_OFFSET, ENVELOPE_BODY_OFFSET),
    envelope.subarray(ENVELOPE_BODY_OFFSET),
    envelope.subarray(ENVELOPE_KEY_OFFSET, ENVELOPE_SIGNATURE_OFFSET),
  );
}

/** The seq of an envelope (no verification). */
export function benchEnvelopeSeq(envelope: Uint8Array): number {
  return readSeq(envelope, ENVELOPE_BODY_OFFSET);
}

/** Reads a u64 big-endian seq at `offset` as a number (bench seqs stay far below 2^53). */
export function readSeq(bytes: Uint8Array, offset: number): number {
  const hi =
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0;
  const lo =
    ((bytes[offset + 4]! << 24) |
      (bytes[offset + 5]! << 16) |
      (bytes[offset + 6]! << 8) |
      bytes[offset + 7]!) >>>
    0;
  return hi * 0x1_0000_0000 + lo;
}

/** Writes a u64 big-endian seq at `offset`. */
export function writeSeq(bytes: Uint8Array, offset: number, seq: number): void {
  const hi = Math.floor(seq / 0x1_0000_0000);
  const lo = seq >>> 0;
  bytes[offset] = hi >>> 24;
  bytes[offset + 1] = (hi >>> 16) & 0xff;
  bytes[offset + 2] = (hi >>> 8) & 0xff;
  bytes[offset + 3] = hi & 0xff;
  bytes[offset + 4] = lo >>> 24;
  bytes[offset + 5] = (lo >>> 16) & 0xff;
  bytes[offset + 6] = (lo >>> 8) & 0xff;
  bytes[offset + 7] = lo & 0xff;
}
