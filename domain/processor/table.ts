import canonicalize from 'canonicalize';
import { toHex } from '../crypto/index.js';

/**
 * The mutable containers the state is made of. Two things set them apart from a plain Map:
 * - a Journal: while one is open every change records its undo, so decide() can apply events
 *   speculatively and roll back, and evolve() stays the one place that changes state;
 * - an optional digest tree, so the state root is recomputed only along what changed.
 */

export type Hash = (data: Uint8Array) => Uint8Array;

export class Journal {
  private log: (() => void)[] | null = null;

  get open(): boolean {
    return this.log !== null;
  }

  begin(): boolean {
    if (this.log) return false;
    this.log = [];
    return true;
  }

  record(undo: () => void): void {
    this.log?.push(undo);
  }

  rollback(): void {
    const log = this.log ?? [];
    this.log = null;
    for (let i = log.length - 1; i >= 0; i--) log[i]!();
  }
}

const utf8 = new TextEncoder();

/** Leaves: 16^DEPTH buckets, chosen by the top bits of FNV-1a(key); every inner node has 16 children. */
export const DIGEST_DEPTH = 4;
const LEAF_BITS = 4 * DIGEST_DEPTH;
const LEVEL_STRIDE = 1 << LEAF_BITS;

/** FNV-1a over UTF-16 code units, 32 bits. Spreads keys over buckets; security comes from sha256. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) >>> (32 - LEAF_BITS);
}

function sortedInsert(keys: string[], key: string): void {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  keys.splice(lo, 0, key);
}

function sortedRemove(keys: string[], key: string): void {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  if (keys[lo] === key) keys.splice(lo, 1);
}

/** JCS of `[key, value]`: one row's canonical bytes. Values are JSON of strings, integers, booleans, null. */
export function encodeRow(key: string, value: unknown): string {
  const text = canonicalize([key, value]);
  if (text === undefined) throw new TypeError(`row ${key} has no JSON encoding`);
  return text;
}

/**
 * A Merkle tree over one table, documented in docs/processor.md:
 * - leaf b = sha256(JCS([[key, value], ...])) over the bucket's rows sorted by key;
 * - inner node = sha256(JCS([[childIndex, childHex], ...])) over its non-empty children;
 * - the table's digest is the top node's, or sha256("[]") for an empty table.
 */
class DigestTree {
  private readonly buckets = new Map<number, string[]>();
  private readonly dirty = new Set<number>();
  /** level * LEVEL_STRIDE + index -> hex digest; absent when the node is empty. */
  private readonly nodes = new Map<number, string>();

  added(key: string): void {
    const b = bucketOf(key);
    let keys = this.buckets.get(b);
    if (!keys) this.buckets.set(b, (keys = []));
    sortedInsert(keys, key);
    this.dirty.add(b);
  }

  removed(key: string): void {
    const b = bucketOf(key);
    const keys = this.buckets.get(b);
    if (!keys) return;
    sortedRemove(keys, key);
    if (keys.length === 0) this.buckets.delete(b);
    this.dirty.add(b);
  }

  changed(key: string): void {
    this.dirty.add(bucketOf(key));
  }

  digest(row: (key: string) => string, hash: Hash): string {
    let parents = new Set<number>();
    for (const b of this.dirty) {
      const keys = this.buckets.get(b);
      const id = DIGEST_DEPTH * LEVEL_STRIDE + b;
      if (!keys) this.nodes.delete(id);
      else {
        let text = '[';
        for (let i = 0; i < keys.length; i++) text += (i === 0 ? '' : ',') + row(keys[i]!);
        this.nodes.set(id, toHex(hash(utf8.encode(text + ']'))));
      }
      parents.add(b >>> 4);
    }
    this.dirty.clear();
    for (let level = DIGEST_DEPTH - 1; level >= 0; level--) {
      const next = new Set<number>();
      for (const p of parents) {
        let text = '';
        for (let c = 0; c < 16; c++) {
          const child = this.nodes.get((level + 1) * LEVEL_STRIDE + p * 16 + c);
          if (child !== undefined) text += `${text === '' ? '' : ','}[${c},"${child}"]`;
        }
        const id = level * LEVEL_STRIDE + p;
        if (text === '') this.nodes.delete(id);
        else this.nodes.set(id, toHex(hash(utf8.encode(`[${text}]`))));
        next.add(p >>> 4);
      }
      parents = next;
    }
    return this.nodes.get(0) ?? toHex(hash(utf8.encode('[]')));
  }
}

/**
 * A journaled Map from string keys to immutable values. Values are replaced, never changed in
 * place: the row encoding is cached per value object.
 */
export class Table<V> {
  private readonly rows = new Map<string, V>();
  private readonly tree: DigestTree | null;
  private readonly encoded = new WeakMap<object, string>();

  constructor(
    private readonly journal: Journal,
    digested: boolean,
  ) {
    this.tree = digested ? new DigestTree() : null;
  }

  get size(): number {
    return this.rows.size;
  }

  get(key: string): V | undefined {
    return this.rows.get(key);
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  set(key: string, value: V): void {
    if (this.journal.open) {
      const had = this.rows.has(key);
      const prev = this.rows.get(key);
      this.journal.record(() => (had ? this.put(key, prev as V) : this.remove(key)));
    }
    this.put(key, value);
  }

  delete(key: string): void {
    if (!this.rows.has(key)) return;
    if (this.journal.open) {
      const prev = this.rows.get(key) as V;
      this.journal.record(() => this.put(key, prev));
    }
    this.remove(key);
  }

  /** Insertion order, which differs between histories: only for work whose result does not depend on order. */
  unordered(): IterableIterator<[string, V]> {
    return this.rows.entries();
  }

  sortedKeys(): string[] {
    return [...this.rows.keys()].sort();
  }

  /** The table's Merkle digest (hex); only for digested tables. */
  digest(hash: Hash): string {
    if (!this.tree) throw new TypeError('table is not digested');
    return this.tree.digest((key) => this.row(key), hash);
  }

  private row(key: string): string {
    const value = this.rows.get(key);
    if (typeof value !== 'object' || value === null) return encodeRow(key, value);
    let text = this.encoded.get(value);
    if (text === undefined) this.encoded.set(value, (text = encodeRow(key, value)));
    return text;
  }

  private put(key: string, value: V): void {
    const isNew = !this.rows.has(key);
    this.rows.set(key, value);
    if (!this.tree) return;
    if (isNew) this.tree.added(key);
    else this.tree.changed(key);
  }

  private remove(key: string): void {
    this.rows.delete(key);
    this.tree?.removed(key);
  }
}

/** A journaled sorted set of strings (the blocked VMs, retried in id order). */
export class SortedSet {
  private readonly keys: string[] = [];

  constructor(private readonly journal: Journal) {}

  get size(): number {
    return this.keys.length;
  }

  values(): readonly string[] {
    return this.keys;
  }

  has(key: string): boolean {
    const i = this.indexOf(key);
    return this.keys[i] === key;
  }

  add(key: string): void {
    const i = this.indexOf(key);
    if (this.keys[i] === key) return;
    this.keys.splice(i, 0, key);
    this.journal.record(() => this.delete(key));
  }

  delete(key: string): void {
    const i = this.indexOf(key);
    if (this.keys[i] !== key) return;
    this.keys.splice(i, 1);
    this.journal.record(() => this.add(key));
  }

  private indexOf(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Payload ids by the second their `expiresAt` falls in, so pruning visits only what expired.
 * An index over State.seen, not part of the root.
 */
export class ExpiryIndex {
  private readonly slots = new Map<number, string[]>();

  constructor(private readonly journal: Journal) {}

  add(id: string, expiresAtMs: number): void {
    const slot = Math.floor(expiresAtMs / 1000);
    let ids = this.slots.get(slot);
    if (!ids) this.slots.set(slot, (ids = []));
    ids.push(id);
    if (this.journal.open)
      this.journal.record(() => {
        ids.pop();
        if (ids.length === 0) this.slots.delete(slot);
      });
  }

  /** Ids filed under a second that starts before `cutoffMs`: the candidates for pruning. */
  candidates(cutoffMs: number): string[] {
    const out: string[] = [];
    for (const [slot, ids] of this.slots) if (slot * 1000 < cutoffMs) for (const id of ids) out.push(id);
    return out;
  }

  /** Drops the ids for which `gone(id)`, in the slots before `cutoffMs`. */
  drop(cutoffMs: number, gone: (id: string) => boolean): void {
    for (const [slot, ids] of [...this.slots]) {
      if (slot * 1000 >= cutoffMs) continue;
      const kept = ids.filter((id) => !gone(id));
      if (kept.length === ids.length) continue;
      if (kept.length === 0) this.slots.delete(slot);
      else this.slots.set(slot, kept);
      if (this.journal.open) this.journal.record(() => this.slots.set(slot, ids));
    }
  }
}
