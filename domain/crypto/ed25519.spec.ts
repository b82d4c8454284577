import { Buffer } from 'node:buffer';
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import {
  CryptoError,
  createStrictVerifier,
  fromHex,
  nobleVerifier,
  publicKeyOf,
  sha256,
  signerFromSecretKey,
  strictVerifier,
  toHex,
} from './index.js';

const { Point } = ed;
type Point = InstanceType<typeof Point>;
const L = Point.CURVE().n;
const P = Point.CURVE().p;

const le32 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
};
const leToBig = (b: Uint8Array): bigint => b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const modL = (n: bigint): bigint => ((n % L) + L) % L;
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const seedOf = (label: string): Uint8Array => sha256(new TextEncoder().encode(label));

/** [strict, noble]: every assertion on the rule checks both, so they can never silently diverge. */
const both = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): [boolean, boolean] => [
  strictVerifier.verify(sig, msg, pk),
  nobleVerifier.verify(sig, msg, pk),
];
/** noble's lenient default: shows a crafted case really satisfies the cofactored equation. */
const zip215Accepts = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean => {
  try {
    return ed.verify(sig, msg, pk, { zip215: true });
  } catch {
    return false;
  }
};
const SPKI_PREFIX = hex('302a300506032b6570032100');
/** OpenSSL with no pre-check: documents what the hot path alone would accept. */
const opensslAlone = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean => {
  try {
    const key = createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, pk)), format: 'der', type: 'spki' });
    return opensslVerify(null, msg, key, sig);
  } catch {
    return false;
  }
};

interface Keypair {
  readonly seed: Uint8Array;
  readonly scalar: bigint;
  readonly publicKey: Uint8Array;
  readonly point: Point;
}
const keypair = (label: string): Keypair => {
  const seed = seedOf(label);
  const { scalar, pointBytes, point } = ed.utils.getExtendedPublicKey(seed);
  return { seed, scalar, publicKey: pointBytes, point };
};

/** Signs with the secret scalar directly so the test picks R's point and encoding and the key bytes hashed. */
const forge = (
  scalar: bigint,
  pk: Uint8Array,
  rBytes: Uint8Array,
  r: bigint,
  msg: Uint8Array,
): Uint8Array => {
  const k = modL(leToBig(sha512(concat(rBytes, pk, msg))));
  return concat(rBytes, le32(modL(r + k * scalar)));
};

const T8 = Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
const TORSION: Point[] = [Point.ZERO];
for (let i = 1; i < 8; i++) TORSION.push(TORSION[i - 1]!.add(T8));
const IDENTITY = Point.ZERO.toBytes();
const ZERO_S = new Uint8Array(32);

const firstMessage = (accept: (msg: Uint8Array) => boolean): Uint8Array | undefined => {
  for (let i = 0; i < 256; i++) {
    const msg = Uint8Array.of(i);
    if (accept(msg)) return msg;
  }
  return undefined;
};

describe('RFC 8032 section 7.1 test vectors', () => {
  const vectors = [
    {
      name: 'TEST 1 (empty message)',
      secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature:
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      name: 'TEST 2 (0x72)',
      secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature:
        '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
    {
      name: 'TEST 3 (0xaf82)',
      secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      message: 'af82',
      signature:
        '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    },
  ];

  it.each(vectors)('$name: derives the key and signs exactly', (v) => {
    const signer = signerFromSecretKey(fromHex(v.secret));
    expect(toHex(signer.publicKey)).toBe(v.publicKey);
    expect(toHex(publicKeyOf(fromHex(v.secret)))).toBe(v.publicKey);
    expect(toHex(signer.sign(fromHex(v.message)))).toBe(v.signature);
    expect(toHex(ed.sign(fromHex(v.message), fromHex(v.secret)))).toBe(v.signature);
  });

  it.each(vectors)('$name: both verifiers accept it and reject it for another message', (v) => {
    const [sig, msg, pk] = [fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey)];
    expect(both(sig, msg, pk)).toEqual([true, true]);
    expect(both(sig, concat(msg, Uint8Array.of(0)), pk)).toEqual([false, false]);
  });
});

describe('edge cases: strictVerifier and nobleVerifier agree on the expected verdict', () => {
  const alice = keypair('alice');
  const msg = new TextEncoder().encode('transfer 10 to bob');
  const sig = ed.sign(msg, alice.seed);
  const withS = (s: bigint): Uint8Array => concat(sig.subarray(0, 32), le32(s));
  const S = leToBig(sig.subarray(32));

  it('the untouched signature is valid (baseline for the cases below)', () => {
    expect(both(sig, msg, alice.publicKey)).toEqual([true, true]);
    expect(opensslAlone(sig, msg, alice.publicKey)).toBe(true);
  });

  it('rejects non-canonical S = S + L', () => {
    expect(S + L < 1n << 256n).toBe(true);
    expect(both(withS(S + L), msg, alice.publicKey)).toEqual([false, false]);
    expect(zip215Accepts(withS(S + L), msg, alice.publicKey)).toBe(false);
  });

  it.each([
    ['L', L],
    ['L + 1', L + 1n],
    ['2^253', 1n << 253n],
    ['2^256 - 1', (1n << 256n) - 1n],
  ])('rejects S = %s', (_name, s) => {
    expect(both(withS(s), msg, alice.publicKey)).toEqual([false, false]);
  });

  it('the 8 torsion points are distinct, small-order, and include identity, order 2 and order 4', () => {
    expect(T8.multiply(8n, false).is0()).toBe(true);
    expect(T8.multiply(4n, false).is0()).toBe(false);
    const encodings = TORSION.map((t) => t.toHex());
    expect(new Set(encodings).size).toBe(8);
    expect(TORSION.every((t) => t.isSmallOrder())).toBe(true);
    expect(encodings).toContain('01'.padEnd(64, '0'));
    expect(encodings).toContain('ec'.padEnd(62, 'f') + '7f');
    const y0 = Point.fromHex('00'.repeat(32));
    expect([y0.multiply(2n, false).is0(), y0.multiply(4n, false).is0()]).toEqual([false, true]);
  });

  it.each(TORSION.map((t) => [t.toHex(), t] as const))(
    'rejects small-order public key %s even where OpenSSL alone and the cofactored equation accept',
    (_hex, t) => {
      const pk = t.toBytes();
      const forged = concat(IDENTITY, ZERO_S);
      const target = firstMessage((m) => opensslAlone(forged, m, pk));
      expect(target).toBeDefined();
      expect(zip215Accepts(forged, target!, pk)).toBe(true);
      expect(both(forged, target!, pk)).toEqual([false, false]);
    },
  );

  const nonCanonicalKeys: string[] = ['0100000000000000000000000000000000000000000000000000000000000080'];
  nonCanonicalKeys.push('ec'.padEnd(64, 'f'));
  for (let y = P; y < 1n << 255n; y++) {
    nonCanonicalKeys.push(toHex(le32(y)), toHex(le32(y + (1n << 255n))));
  }

  it.each(nonCanonicalKeys)('rejects non-canonical public key encoding %s', (pkHex) => {
    const pk = fromHex(pkHex);
    const forged = concat(IDENTITY, ZERO_S);
    for (let i = 0; i < 8; i++) {
      expect(both(forged, Uint8Array.of(i), pk)).toEqual([false, false]);
    }
  });

  it('non-canonical encodings of the identity key are forgeries OpenSSL alone accepts for any message', () => {
    const forged = concat(IDENTITY, ZERO_S);
    for (const pkHex of ['ee'.padEnd(62, 'f') + '7f', '01'.padEnd(62, '0') + '80']) {
      const pk = fromHex(pkHex);
      expect(opensslAlone(forged, msg, pk)).toBe(true);
      expect(zip215Accepts(forged, msg, pk)).toBe(true);
      expect(both(forged, msg, pk)).toEqual([false, false]);
    }
  });

  it('accepts a signature whose R is the identity (r = 0), which is valid RFC 8032', () => {
    const forged = forge(alice.scalar, alice.publicKey, IDENTITY, 0n, msg);
    expect(both(forged, msg, alice.publicKey)).toEqual([true, true]);
  });

  it.each([
    ['y = p + 1', 'ee'.padEnd(62, 'f') + '7f'],
    ['x = 0 with sign bit', '01'.padEnd(62, '0') + '80'],
  ])('rejects a non-canonical encoding of R = identity (%s) that ZIP-215 accepts', (_name, rHex) => {
    const forged = forge(alice.scalar, alice.publicKey, fromHex(rHex), 0n, msg);
    expect(zip215Accepts(forged, msg, alice.publicKey)).toBe(true);
    expect(both(forged, msg, alice.publicKey)).toEqual([false, false]);
  });

  it.each([
    ['signature of length 0', new Uint8Array(0), 32],
    ['signature of length 63', new Uint8Array(63), 32],
    ['signature of length 65', new Uint8Array(65), 32],
    ['key of length 0', new Uint8Array(64), 0],
    ['key of length 31', new Uint8Array(64), 31],
    ['key of length 33', new Uint8Array(64), 33],
  ])('returns false without throwing for a %s', (_name, badSig, keyLength) => {
    const s = badSig.length === 64 ? sig : badSig;
    const pk = keyLength === 32 ? alice.publicKey : new Uint8Array(keyLength).fill(7);
    expect(both(s, msg, pk)).toEqual([false, false]);
  });

  it('returns false for a valid signature padded to 65 bytes or a key padded to 33 bytes', () => {
    expect(both(concat(sig, Uint8Array.of(0)), msg, alice.publicKey)).toEqual([false, false]);
    expect(both(sig, msg, concat(alice.publicKey, Uint8Array.of(0)))).toEqual([false, false]);
  });

  it('returns false without throwing for non-byte inputs', () => {
    const junk = [null, undefined, 'ab', [1, 2], new Uint16Array(32), {}] as unknown as Uint8Array[];
    for (const j of junk) {
      expect(both(j, msg, alice.publicKey)).toEqual([false, false]);
      expect(both(sig, j, alice.publicKey)).toEqual([false, false]);
      expect(both(sig, msg, j)).toEqual([false, false]);
    }
  });

  it('accepts Buffers and offset views as the bytes they contain', () => {
    expect(both(Buffer.from(sig), Buffer.from(msg), Buffer.from(alice.publicKey))).toEqual([true, true]);
    const padded = concat(Uint8Array.of(9, 9, 9), sig);
    expect(both(padded.subarray(3), msg, alice.publicKey)).toEqual([true, true]);
  });

  it('rejects every single-byte tampering of the signature and message', () => {
    for (let i = 0; i < 64; i++) {
      const bad = Uint8Array.from(sig);
      bad[i]! ^= 0x01;
      expect(both(bad, msg, alice.publicKey)).toEqual([false, false]);
    }
    for (let i = 0; i < msg.length; i++) {
      const bad = Uint8Array.from(msg);
      bad[i]! ^= 0x80;
      expect(both(sig, bad, alice.publicKey)).toEqual([false, false]);
    }
    expect(both(sig, msg.subarray(1), alice.publicKey)).toEqual([false, false]);
  });

  it.each(TORSION.slice(1).map((t, i) => [i + 1, t] as const))(
    'mixed-order R = R + %i*T8 with S unchanged: both reject',
    (_i, t) => {
      const R = Point.fromBytes(sig.subarray(0, 32)).add(t).toBytes();
      const mixed = concat(R, sig.subarray(32));
      expect(both(mixed, msg, alice.publicKey)).toEqual([false, false]);
    },
  );

  it.each(TORSION.slice(1).map((t, i) => [i + 1, t] as const))(
    'mixed-order R = [r]B + %i*T8 with S recomputed: cofactored noble accepts, OpenSSL alone does not, strict follows noble',
    (_i, t) => {
      const r = modL(leToBig(sha512(msg)));
      const R = Point.BASE.multiply(r).add(t).toBytes();
      const mixed = forge(alice.scalar, alice.publicKey, R, r, msg);
      expect(opensslAlone(mixed, msg, alice.publicKey)).toBe(false);
      expect(both(mixed, msg, alice.publicKey)).toEqual([true, true]);
    },
  );

  it.each(TORSION.slice(1).map((t, i) => [i + 1, t] as const))(
    'pure small-order R = %i*T8 with S = k*a: both accept (cofactored equation)',
    (_i, t) => {
      const forged = forge(alice.scalar, alice.publicKey, t.toBytes(), 0n, msg);
      expect(both(forged, msg, alice.publicKey)).toEqual([true, true]);
    },
  );

  it.each(TORSION.slice(1).map((t, i) => [i + 1, t] as const))(
    'mixed-order public key A + %i*T8 (canonical, not small-order): both accept a cofactored-valid signature',
    (_i, t) => {
      const pk = alice.point.add(t).toBytes();
      const r = 12345n;
      const signature = forge(alice.scalar, pk, Point.BASE.multiply(r).toBytes(), r, msg);
      expect(both(signature, msg, pk)).toEqual([true, true]);
      expect(both(signature, concat(msg, msg), pk)).toEqual([false, false]);
    },
  );
});

describe('strictVerifier key cache', () => {
  const alice = keypair('alice');
  const bob = keypair('bob');
  const msg = Uint8Array.of(1, 2, 3);

  it('keys the cache on the bytes, not the array: mutating a key in place changes the verdict', () => {
    const sig = ed.sign(msg, alice.seed);
    const pk = Uint8Array.from(alice.publicKey);
    expect(strictVerifier.verify(sig, msg, pk)).toBe(true);
    pk[5]! ^= 0x10;
    expect(strictVerifier.verify(sig, msg, pk)).toBe(nobleVerifier.verify(sig, msg, pk));
    expect(strictVerifier.verify(sig, msg, pk)).toBe(false);
    pk[5]! ^= 0x10;
    expect(strictVerifier.verify(sig, msg, pk)).toBe(true);
  });

  it('keeps every verdict right while a tiny cache evicts', () => {
    const verifier = createStrictVerifier(2);
    const forged = concat(IDENTITY, ZERO_S);
    const cases: [Uint8Array, Uint8Array, boolean][] = [
      [ed.sign(msg, alice.seed), alice.publicKey, true],
      [forged, IDENTITY, false],
      [ed.sign(msg, bob.seed), bob.publicKey, true],
      [forged, fromHex('ee'.padEnd(62, 'f') + '7f'), false],
      [ed.sign(msg, alice.seed), bob.publicKey, false],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [sig, pk, expected] of cases) expect(verifier.verify(sig, msg, pk)).toBe(expected);
    }
  });

  it('rejects a non-positive cache size', () => {
    expect(() => createStrictVerifier(0)).toThrow(RangeError);
    expect(() => createStrictVerifier(1.5)).toThrow(RangeError);
  });
});

describe('differential fuzzing: strictVerifier === nobleVerifier', () => {
  it('agrees on random keys and messages with random single-byte corruptions', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 48 }),
        fc.constantFrom('signature', 'message', 'publicKey'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (seed, msg, target, position, xor) => {
          const pk = ed.getPublicKey(seed);
          const sig = ed.sign(msg, seed);
          expect(both(sig, msg, pk)).toEqual([true, true]);
          const parts = { signature: Uint8Array.from(sig), message: Uint8Array.from(msg), publicKey: pk };
          const victim = parts[target].length > 0 ? parts[target] : parts.signature;
          victim[position % victim.length]! ^= xor;
          const verdicts = both(parts.signature, parts.message, parts.publicKey);
          expect(verdicts[0]).toBe(verdicts[1]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('agrees on adversarially composed keys, R points and scalars', () => {
    const seen = { fallbackAccepts: 0, precheckSaves: 0, accepted: 0, rejected: 0 };
    const torsion = fc.integer({ min: 0, max: 7 }).map((i) => TORSION[i]!);
    const smallOrderEncodings = [
      ...TORSION.map((t) => t.toHex()),
      'ee'.padEnd(62, 'f') + '7f',
      'ed'.padEnd(62, 'f') + '7f',
      '01'.padEnd(62, '0') + '80',
    ];
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 16 }),
        fc.bigInt({ min: 0n, max: L - 1n }),
        fc.oneof(
          fc.constant<[string, Point | null]>(['honest', null]),
          torsion.map((t): [string, Point | null] => ['plus-torsion', t]),
          torsion.map((t): [string, Point | null] => ['small-order', t]),
          fc.constant<[string, Point | null]>(['non-canonical', null]),
          fc.constant<[string, Point | null]>(['random', null]),
        ),
        fc.oneof(
          fc.constant<[string, Point | null]>(['honest', null]),
          torsion.map((t): [string, Point | null] => ['plus-torsion', t]),
          torsion.map((t): [string, Point | null] => ['small-order', t]),
          fc.constant<[string, Point | null]>(['non-canonical', null]),
          fc.constant<[string, Point | null]>(['random', null]),
        ),
        fc.oneof(
          { arbitrary: fc.constant('computed' as const), weight: 3 },
          { arbitrary: fc.constantFrom('plus-L' as const, 'zero' as const, 'random' as const), weight: 1 },
        ),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.oneof(
          { arbitrary: fc.constant(null), weight: 3 },
          { arbitrary: fc.constantFrom(...smallOrderEncodings), weight: 1 },
        ),
        (seed, msg, r, [aKind, aT], [rKind, rT], sKind, noise, forgeryKey) => {
          const { scalar, point } = ed.utils.getExtendedPublicKey(seed);
          const encode = (kind: string, honest: Point, t: Point | null): Uint8Array => {
            if (kind === 'plus-torsion') return honest.add(t!).toBytes();
            if (kind === 'small-order') return t!.toBytes();
            if (kind === 'non-canonical') return le32(P + BigInt(noise[0]! % 19));
            if (kind === 'random') return noise;
            return honest.toBytes();
          };
          let pk = encode(aKind, point, aT);
          const rBytes = encode(rKind, r === 0n ? Point.ZERO : Point.BASE.multiply(r), rT);
          const computed = leToBig(forge(scalar, pk, rBytes, r, msg).subarray(32));
          const s = { computed, 'plus-L': computed + L, zero: 0n, random: leToBig(noise) }[sKind];
          let sig = concat(rBytes, le32(s));
          if (forgeryKey !== null) {
            pk = fromHex(forgeryKey);
            sig = concat(IDENTITY, ZERO_S);
          }
          const [strict, noble] = both(sig, msg, pk);
          expect(strict).toBe(noble);
          const alone = opensslAlone(sig, msg, pk);
          if (noble && !alone) seen.fallbackAccepts++;
          if (alone && !noble) seen.precheckSaves++;
          if (noble) seen.accepted++;
          else seen.rejected++;
        },
      ),
      { numRuns: 400 },
    );
    // The fuzzer must actually reach both divergent regions, or it proves nothing.
    expect(seen.fallbackAccepts).toBeGreaterThan(0);
    expect(seen.precheckSaves).toBeGreaterThan(0);
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.rejected).toBeGreaterThan(0);
  });
});

describe('signerFromSecretKey', () => {
  it('produces noble-identical public keys and signatures', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 256 }),
        (seed, msg) => {
          const signer = signerFromSecretKey(seed);
          expect(toHex(signer.publicKey)).toBe(toHex(ed.getPublicKey(seed)));
          expect(toHex(publicKeyOf(seed))).toBe(toHex(ed.getPublicKey(seed)));
          const sig = signer.sign(msg);
          expect(toHex(sig)).toBe(toHex(ed.sign(msg, seed)));
          expect(both(sig, msg, signer.publicKey)).toEqual([true, true]);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('hands out public-key copies, so callers cannot corrupt the signer', () => {
    const signer = signerFromSecretKey(seedOf('carol'));
    const before = toHex(signer.publicKey);
    signer.publicKey.fill(0);
    expect(toHex(signer.publicKey)).toBe(before);
  });

  it('returns plain Uint8Arrays', () => {
    const signer = signerFromSecretKey(seedOf('carol'));
    expect(Object.getPrototypeOf(signer.sign(Uint8Array.of(1)))).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(signer.publicKey)).toBe(Uint8Array.prototype);
  });

  it.each([0, 31, 33, 64])('throws CryptoError BAD_SECRET_KEY for a %i-byte secret key', (n) => {
    expect(() => signerFromSecretKey(new Uint8Array(n))).toThrow(
      expect.objectContaining({ name: 'CryptoError', code: 'BAD_SECRET_KEY' }),
    );
    expect(() => publicKeyOf(new Uint8Array(n))).toThrow(CryptoError);
  });
});

describe('sha256 and hex helpers', () => {
  it('hashes the FIPS 180-2 vectors', () => {
    expect(toHex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(toHex(sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('returns a plain Uint8Array owning its 32 bytes, so writing one digest cannot change another', () => {
    const a = sha256(new TextEncoder().encode('a'));
    const b = sha256(new TextEncoder().encode('a'));
    expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype);
    expect(a.buffer.byteLength).toBe(32);
    a.fill(0);
    expect(toHex(b)).toBe('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
  });

  it('round-trips bytes, honouring view offsets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(Array.from(fromHex(toHex(bytes)))).toEqual(Array.from(bytes));
      }),
    );
    expect(toHex(Uint8Array.of(0, 1, 0xab, 0xff).subarray(1, 3))).toBe('01ab');
  });

  it.each(['0', 'abc', 'zz', '0x00', 'AB', ' 00', '00 '])('rejects %j with CryptoError BAD_HEX', (bad) => {
    expect(() => fromHex(bad)).toThrow(expect.objectContaining({ name: 'CryptoError', code: 'BAD_HEX' }));
  });

  it('rejects a non-string with BAD_HEX', () => {
    expect(() => fromHex(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'BAD_HEX' }));
  });

  it('decodes the empty string to no bytes', () => {
    expect(fromHex('')).toHaveLength(0);
  });
});
