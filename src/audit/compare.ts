import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { type LedgerRecord, ledgerRecordText } from '../../domain/processor/events.js';
import { EVENT_TYPES, type OrderedRecord, STREAMS, storedLedgerRecord } from '../node/node-runtime.js';
import type { MismatchKind } from './report.js';

/** Counts a difference found at a stream revision (and keeps it, up to maxMismatches). */
export type ReportMismatch = (kind: MismatchKind, stream: string, position: number, detail: string) => void;

/** A record of the `genesis`, `consensus` or `ledger` stream as read. */
export interface StoredRecord {
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly data: Uint8Array;
}

/** A FIFO that drops what it has handed out (Array#shift copies large arrays). */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head++]!;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/**
 * Pairs the i-th stored record of a stream with the i-th re-derived one as soon as both are known
 * (either may come first), so neither side is kept longer than the other lags.
 */
export class Pairing<D> {
  private readonly stored = new Queue<StoredRecord>();
  private readonly derived = new Queue<D>();
  storedCount = 0;
  derivedCount = 0;

  constructor(private readonly compare: (stored: StoredRecord, derived: D, index: number) => void) {}

  addStored(record: StoredRecord): void {
    const d = this.derived.shift();
    if (d !== undefined) this.compare(record, d, this.storedCount);
    else this.stored.push(record);
    this.storedCount++;
  }

  addDerived(record: D): void {
    const s = this.stored.shift();
    if (s !== undefined) this.compare(s, record, this.derivedCount);
    else this.derived.push(record);
    this.derivedCount++;
  }

  /** Stored records nothing was derived for, in order, with their index; clears them. */
  *unpaired(): Iterable<[StoredRecord, number]> {
    let index = this.derivedCount;
    for (let s = this.stored.shift(); s !== undefined; s = this.stored.shift()) yield [s, index++];
  }
}

const utf8 = new TextDecoder();

const ORDERED_FIELDS: readonly (keyof OrderedRecord)[] = [
  'eventId',
  'consensusIndex',
  'roundReceived',
  'consensusTimestamp',
  'orderHash',
  'creator',
  'seq',
  'round',
  'payloads',
];

export function compareOrdered(
  stored: StoredRecord,
  index: number,
  derived: OrderedRecord | null,
  mismatch: ReportMismatch,
): void {
  const stream = STREAMS.consensus;
  if (stored.revision !== index) return; // already reported as a gap; the rest are shifted
  let record: Partial<OrderedRecord>;
  try {
    record = JSON.parse(utf8.decode(stored.data)) as Partial<OrderedRecord>;
    if (typeof record !== 'object' || record === null) throw new Error('not an object');
  } catch (err) {
    mismatch('unreadable', stream, index, `record is not JSON: ${errorText(err)}`);
    return;
  }
  if (!derived) {
    mismatch(
      'consensus',
      stream,
      index,
      `stored ${String(record.eventId)}, but the events order nothing here`,
    );
    return;
  }
  const differs: string[] = [];
  if (stored.type !== EVENT_TYPES.eventOrdered) differs.push(`type ${stored.type}`);
  if (stored.eventId !== derived.eventId) differs.push(`stored id ${stored.eventId}`);
  for (const f of ORDERED_FIELDS)
    if (record[f] !== derived[f])
      differs.push(`${f} ${JSON.stringify(record[f])} != ${JSON.stringify(derived[f])}`);
  if (differs.length > 0)
    mismatch('consensus', stream, index, `re-derived ${derived.eventId}: ${differs.join('; ')}`);
}

/** True when the stored record equals the re-derived one byte for byte. */
export function compareLedger(
  stored: StoredRecord,
  derived: LedgerRecord | null,
  mismatch: ReportMismatch,
): boolean {
  const stream = STREAMS.ledger;
  if (!derived) {
    mismatch(
      'ledger',
      stream,
      stored.revision,
      `stored ${stored.eventId}, but the processor derives nothing here`,
    );
    return false;
  }
  if (sameBytes(stored, derived)) return true;
  const expected = storedLedgerRecord(derived);
  let record: LedgerRecord | null = null;
  try {
    record = JSON.parse(utf8.decode(stored.data)) as LedgerRecord;
  } catch {
    record = null;
  }
  const isRoot = derived.event.type === 'StateRootComputed' || record?.event?.type === 'StateRootComputed';
  const what = record ? firstDifference(record, derived) : 'record is not JSON';
  const idNote =
    stored.eventId !== expected.eventId ? `; stored id ${stored.eventId}, expected ${expected.eventId}` : '';
  mismatch(
    isRoot ? 'state-root' : 'ledger',
    stream,
    stored.revision,
    `${derived.event.type}: ${what}${idNote}`,
  );
  return false;
}

/** Reused for every record: the derived text is encoded here, not into a new buffer each time. */
let scratch = Buffer.allocUnsafeSlow(1 << 16);

/**
 * Whether the stored record is storedLedgerRecord(derived): its type, the derived record's
 * canonical text (ledgerRecordText, encoded into a reused buffer rather than a new one each time)
 * as its bytes, and the hash of those bytes as its id.
 */
function sameBytes(stored: StoredRecord, derived: LedgerRecord): boolean {
  if (stored.type !== EVENT_TYPES.ledgerRecord) return false;
  let text: string;
  try {
    text = ledgerRecordText(derived);
  } catch {
    return false;
  }
  // At most 3 UTF-8 bytes per UTF-16 unit, so the whole text fits.
  if (scratch.length < 3 * text.length) scratch = Buffer.allocUnsafeSlow(3 * text.length);
  const n = scratch.write(text, 0, 'utf8');
  const data = stored.data;
  return (
    n === data.length &&
    scratch.compare(data, 0, n, 0, n) === 0 &&
    stored.eventId === hash('sha256', data, 'hex')
  );
}

function firstDifference(stored: unknown, derived: unknown, path = ''): string {
  if (typeof stored !== 'object' || typeof derived !== 'object' || stored === null || derived === null) {
    return stored === derived
      ? 'bytes differ (non-canonical encoding)'
      : `${path || '.'}: stored ${JSON.stringify(stored)}, re-derived ${JSON.stringify(derived)}`;
  }
  const keys = [...new Set([...Object.keys(stored), ...Object.keys(derived)])].sort();
  for (const k of keys) {
    const a = (stored as Record<string, unknown>)[k];
    const b = (derived as Record<string, unknown>)[k];
    if (canonicalize(a) !== canonicalize(b)) return firstDifference(a, b, `${path}.${k}`);
  }
  return 'bytes differ (non-canonical encoding)';
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
