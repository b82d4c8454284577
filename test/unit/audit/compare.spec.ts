import { createHash } from 'node:crypto';
import type { LedgerRecord } from '../../../domain/processor/events.js';
import { compareLedger, Pairing, type StoredRecord } from '../../../src/audit/compare.js';
import { EVENT_TYPES, storedLedgerRecord } from '../../../src/node/node-runtime.js';

const stored = (revision: number): StoredRecord => ({
  revision,
  eventId: `id-${revision}`,
  type: 't',
  data: new Uint8Array([revision]),
});

describe('Pairing: the i-th stored record meets the i-th derived one, whichever comes first', () => {
  it('pairs in index order across both arrival orders and leaves the stored tail unpaired', () => {
    const pairs: [number, string, number][] = [];
    const p = new Pairing<string>((s, d, i) => pairs.push([s.revision, d, i]));
    p.addStored(stored(0));
    p.addStored(stored(1));
    p.addDerived('a');
    p.addDerived('b');
    p.addDerived('c');
    p.addStored(stored(2));
    p.addStored(stored(3));
    p.addStored(stored(4));
    expect(pairs).toEqual([
      [0, 'a', 0],
      [1, 'b', 1],
      [2, 'c', 2],
    ]);
    expect([p.storedCount, p.derivedCount]).toEqual([5, 3]);
    expect([...p.unpaired()].map(([s, i]) => [s.revision, i])).toEqual([
      [3, 3],
      [4, 4],
    ]);
    expect([...p.unpaired()]).toEqual([]);
  });

  it('keeps pairing in order over many records (its queues compact as they drain)', () => {
    const seen: number[] = [];
    const p = new Pairing<number>((s, d, i) => {
      if (s.revision !== d || d !== i) throw new Error(`paired ${s.revision} with ${d} at ${i}`);
      seen.push(i);
    });
    for (let i = 0; i < 5000; i++) p.addDerived(i);
    for (let i = 0; i < 5000; i++) p.addStored(stored(i));
    expect(seen).toHaveLength(5000);
    expect(seen.at(-1)).toBe(4999);
  });
});

describe('compareLedger', () => {
  const record = {
    round: 3,
    consensusIndex: 7,
    event: { type: 'StateRootComputed', round: 3, root: 'ab'.repeat(32) },
  } as unknown as LedgerRecord;
  const asStored = (data: Uint8Array, eventId?: string): StoredRecord => ({
    revision: 5,
    eventId: eventId ?? createHash('sha256').update(data).digest('hex'),
    type: EVENT_TYPES.ledgerRecord,
    data,
  });

  it('accepts the canonical bytes and their id, and names any other difference', () => {
    const found: string[] = [];
    const report = (kind: string, _s: string, position: number, detail: string) =>
      found.push(`${kind}@${position}: ${detail}`);
    const good = storedLedgerRecord(record);
    expect(compareLedger(asStored(good.data), record, report)).toBe(true);
    expect(found).toEqual([]);

    const text = new TextDecoder().decode(good.data);
    const spaced = new TextEncoder().encode(text.replace(',', ', '));
    expect(compareLedger(asStored(spaced), record, report)).toBe(false);
    const otherRoot = new TextEncoder().encode(text.replace('"root":"ab', '"root":"cd'));
    expect(compareLedger(asStored(otherRoot), record, report)).toBe(false);
    expect(compareLedger(asStored(good.data, 'f'.repeat(64)), record, report)).toBe(false);
    expect(compareLedger(asStored(good.data.subarray(0, good.data.length - 1)), record, report)).toBe(false);
    expect(compareLedger(asStored(good.data), null, report)).toBe(false);
    expect(found).toEqual([
      expect.stringMatching(
        /^state-root@5: StateRootComputed: bytes differ \(non-canonical encoding\); stored id /,
      ),
      expect.stringMatching(/^state-root@5: StateRootComputed: \.event\.root: stored "cd/),
      expect.stringMatching(/^state-root@5: StateRootComputed: bytes differ .*; stored id f{64}, expected /),
      expect.stringMatching(/^state-root@5: StateRootComputed: record is not JSON; stored id /),
      expect.stringMatching(/^ledger@5: stored [0-9a-f]{64}, but the processor derives nothing here$/),
    ]);
  });
});
