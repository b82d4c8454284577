import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { type LedgerRecord, ledgerRecordText } from '../../../domain/processor/index.js';

const asRecord = (v: unknown) => v as LedgerRecord;

describe('ledgerRecordText: the bytes stream `ledger` stores', () => {
  it('equals canonicalize on any JSON value, integers or not, any code units', () => {
    const value = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'grapheme' }),
        fc.maxSafeInteger(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(value, (v) => {
        expect(ledgerRecordText(asRecord(v))).toBe(canonicalize(v));
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves a lone surrogate and a non-integer to the reference', () => {
    const lone = { at: { round: 1 }, event: { type: 'PayloadRejected', reason: 'a\ud800b' } };
    expect(() => canonicalize(lone)).toThrow('Lone surrogate');
    expect(() => ledgerRecordText(asRecord(lone))).toThrow('Lone surrogate');
    const float = { at: { round: 1.5 }, event: { type: 'X' } };
    expect(ledgerRecordText(asRecord(float))).toBe('{"at":{"round":1.5},"event":{"type":"X"}}');
  });
});
