import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { fromHex } from './index.js';

/** fromHex decodes and checks in one pass; here it must answer as its definition does. */
function byDefinition(hex: string): number[] | 'BAD_HEX' {
  return /^(?:[0-9a-f]{2})*$/.test(hex) ? Array.from(Buffer.from(hex, 'hex')) : 'BAD_HEX';
}

function decoded(hex: string): number[] | 'BAD_HEX' {
  try {
    const bytes = fromHex(hex);
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    return Array.from(bytes);
  } catch (e) {
    expect(e).toMatchObject({ name: 'CryptoError', code: 'BAD_HEX' });
    return 'BAD_HEX';
  }
}

describe('fromHex against its definition', () => {
  it('agrees on lowercase hex and on strings near it', () => {
    const near = fc.constantFrom(
      ...'0123456789abcdef',
      'A',
      'F',
      'g',
      'G',
      'x',
      ' ',
      '/',
      ':',
      '`',
      '\u0660',
      '\uff10',
      '\ud800',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('hex')),
          fc.string({ unit: near, maxLength: 40 }),
          fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.nat(), near).map(([b, at, c]) => {
            const hex = Buffer.from(b).toString('hex');
            const i = at % hex.length;
            return hex.slice(0, i) + c + hex.slice(i + 1);
          }),
        ),
        (hex) => {
          expect(decoded(hex)).toEqual(byDefinition(hex));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses what is not a string', () => {
    for (const bad of [undefined, null, 42, ['00'], { length: 2 }])
      expect(decoded(bad as unknown as string)).toBe('BAD_HEX');
  });
});
