import { Buffer } from 'node:buffer';
import {
  createPrivateKey,
  createPublicKey,
  sign as opensslSign,
  verify as opensslVerify,
  hash as oneShotHash,
  type KeyObject,
} from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

/** Stable codes: callers match on `code`, never on the message. */
export type CryptoErrorCode = 'BAD_HEX' | 'BAD_SECRET_KEY';

export class CryptoError extends Error {
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'CryptoError';
  }
}

/** Consensus rule: strict RFC 8032, exactly as @noble/ed25519 with `{ zip215: false }`. Never throws. */
export interface SignatureVerifier {
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

const SIGNATURE_LENGTH = 64;
const KEY_LENGTH = 32;
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const L_LE = numberTo32BytesLE(ed.Point.CURVE().n);

function numberTo32BytesLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

/** Reads any byte view (Uint8Array, Buffer, other realms) as plain bytes; anything else is null. */
function bytesOf(value: unknown): Uint8Array | null {
  if (!ArrayBuffer.isView(value) || (value as Uint8Array).BYTES_PER_ELEMENT !== 1) return null;
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function scalarBelowL(signature: Uint8Array): boolean {
  for (let i = KEY_LENGTH - 1; i >= 0; i--) {
    const s = signature[KEY_LENGTH + i]!;
    const l = L_LE[i]!;
    if (s !== l) return s < l;
  }
  return false;
}

export const nobleVerifier: SignatureVerifier = {
  verify(signature, message, publicKey) {
    const sig = bytesOf(signature);
    const msg = bytesOf(message);
    const key = bytesOf(publicKey);
    if (!sig || !msg || !key || sig.length !== SIGNATURE_LENGTH || key.length !== KEY_LENGTH) return false;
    try {
      return ed.verify(sig, msg, key, { zip215: false });
    } catch {
      return false;
    }
  },
};

interface KeyVerdict {
  readonly acceptable: boolean;
  /** Undefined when OpenSSL refuses the key: noble then decides alone. */
  readonly keyObject: KeyObject | undefined;
}

function judgeKey(publicKey: Uint8Array): KeyVerdict {
  try {
    if (ed.Point.fromBytes(publicKey, false).isSmallOrder())
      return { acceptable: false, keyObject: undefined };
  } catch {
    return { acceptable: false, keyObject: undefined };
  }
  try {
    const der = Buffer.concat([SPKI_PREFIX, publicKey]);
    return { acceptable: true, keyObject: createPublicKey({ key: der, format: 'der', type: 'spki' }) };
  } catch {
    return { acceptable: true, keyObject: undefined };
  }
}

/** Same verdicts as nobleVerifier; caches one verdict per public key, evicting the oldest beyond the bound. */
export function createStrictVerifier(maxCachedKeys = 4096): SignatureVerifier {
  if (!Number.isSafeInteger(maxCachedKeys) || maxCachedKeys < 1) {
    throw new RangeError('maxCachedKeys must be a positive integer');
  }
  const cache = new Map<string, KeyVerdict>();
  const verdictFor = (publicKey: Uint8Array): KeyVerdict => {
    const id = toHex(publicKey);
    const cached = cache.get(id);
    if (cached) return cached;
    const verdict = judgeKey(publicKey);
    if (cache.size >= maxCachedKeys) cache.delete(cache.keys().next().value as string);
    cache.set(id, verdict);
    return verdict;
  };
  // OpenSSL checks [S]B == R + [k]A byte-for-byte against canonical R, which implies noble's cofactored
  // equation once A is canonical, not small-order, and S < L: all checked here before OpenSSL runs.
  // The converse fails (e.g. R with a torsion component passes only the cofactored equation), so an
  // OpenSSL "false" is re-decided by noble; that path is reached only by invalid or adversarial input.
  return {
    verify(signature, message, publicKey) {
      const sig = bytesOf(signature);
      const msg = bytesOf(message);
      const key = bytesOf(publicKey);
      if (!sig || !msg || !key || sig.length !== SIGNATURE_LENGTH || key.length !== KEY_LENGTH) return false;
      if (!scalarBelowL(sig)) return false;
      const verdict = verdictFor(key);
      if (!verdict.acceptable) return false;
      if (verdict.keyObject) {
        try {
          if (opensslVerify(null, msg, verdict.keyObject, sig)) return true;
        } catch {
          // fall through to noble
        }
      }
      return nobleVerifier.verify(sig, msg, key);
    },
  };
}

export const strictVerifier: SignatureVerifier = createStrictVerifier();

/** Deterministic RFC 8032 signer over a 32-byte seed; throws CryptoError('BAD_SECRET_KEY') on a wrong length. */
export function signerFromSecretKey(secretKey32: Uint8Array): Signer {
  const seed = bytesOf(secretKey32);
  if (!seed || seed.length !== KEY_LENGTH) {
    throw new CryptoError('BAD_SECRET_KEY', `secret key must be ${KEY_LENGTH} bytes`);
  }
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Uint8Array.from(spki.subarray(SPKI_PREFIX.length));
  return {
    get publicKey() {
      return publicKey.slice();
    },
    sign: (message) => Uint8Array.from(opensslSign(null, message, privateKey)),
  };
}

export function publicKeyOf(secretKey32: Uint8Array): Uint8Array {
  return signerFromSecretKey(secretKey32).publicKey;
}

/** A plain Uint8Array over the digest's own 32-byte memory (never a pooled slab). */
export function sha256(data: Uint8Array): Uint8Array {
  // A binary (latin1) string and a copy cost about half what a fresh Buffer per digest does.
  const digest = oneShotHash('sha256', data, 'binary');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = digest.charCodeAt(i);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The value of each lowercase hex digit by char code; -1 for every other ASCII character. */
const NIBBLE = Int8Array.from({ length: 128 }, (_, c) =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1,
);

/** Lowercase only, so toHex(fromHex(s)) === s; throws CryptoError('BAD_HEX') otherwise. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex === 'string' && hex.length % 2 === 0) {
    const out = new Uint8Array(hex.length / 2);
    // One pass decodes and checks: a non-digit reads as -1, which sets the sign bit of `bad`.
    let bad = 0;
    for (let i = 0; i < out.length; i++) {
      const high = NIBBLE[hex.charCodeAt(2 * i)] ?? -1;
      const low = NIBBLE[hex.charCodeAt(2 * i + 1)] ?? -1;
      bad |= high | low;
      out[i] = (high << 4) | low;
    }
    if (bad >= 0) return out;
  }
  throw new CryptoError('BAD_HEX', `not even-length lowercase hex (length ${String(hex?.length)})`);
}
