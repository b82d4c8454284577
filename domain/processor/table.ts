import { jcs } from '../canonical/jcs.js';
import { toHex } from '../crypto/index.js';

/**
 * The mutable containers the state is made of. Two things set them apart from a plain Map:
 * - a Journal: while one is open every change records its undo, so decide() can apply events
 *   speculatively and roll back, and evolve() stays the one place that changes state;
 * - an optional digest tree, so the state root is recomputed only along what changed.
 */

/** sha256 or an equivalent; it may remember answers by array, as nothing it is given changes later. */
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

/**
 * A table's rows fall into 256^depth leaf buckets by the top 8·depth bits of FNV-1a(key); every
 * inner node has up to 256 children. Large tables use depth 2, small ones depth 1.
 */
export type DigestDepth = 1 | 2;

/** FNV-1a over UTF-16 code units, 32 bits. Spreads keys over buckets; security comes from sha256. */
export function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function bucketOf(key: string, depth: DigestDepth): number {
  return fnv1a(key) >>> (32 - 8 * depth);
}

/** Inner node: for each non-empty child in index order, one byte of index then its digest. */
export function innerNode(children: readonly (readonly [number, Uint8Array])[]): Uint8Array {
  let size = 0;
  for (const [, d] of children) size += 1 + d.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const [c, d] of children) {
    out[at++] = c;
    out.set(d, at);
    at += d.length;
  }
  return out;
}

/** The index of the first of the sorted `keys` that is not below `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedInsert(keys: string[], key: string): void {
  keys.splice(lowerBound(keys, key), 0, key);
}

function sortedRemove(keys: string[], key: string): void {
  const i = lowerBound(keys, key);
  if (keys[i] === key) keys.splice(i, 1);
}

/** JCS of `[key, value]`: one row's canonical text. */
export function encodeRow(key: string, value: unknown): string {
  return `[${JSON.stringify(key)},${jcs(value)}]`;
}

/**
 * Fresh byte ranges carved from shared chunks, so that one allocation serves many leaves and node
 * copies. A range is handed out once and never written after the next take, so what the hash
 * port was given never changes.
 */
class ByteArena {
  private chunk: Uint8Array = new Uint8Array(0);
  private used = 0;

  /** `size` zero or stale bytes for the caller to fill. */
  take(size: number): Uint8Array {
    if (size > ARENA_CHUNK / 4) return new Uint8Array(size);
    this.room(size);
    return this.chunk.subarray(this.used, (this.used += size));
  }

  /** The UTF-8 encoding of `text`. */
  utf8(text: string): Uint8Array {
    const most = 3 * text.length;
    if (most > ARENA_CHUNK / 4) return utf8.encode(text);
    this.room(most);
    const { written } = utf8.encodeInto(text, this.chunk.subarray(this.used));
    return this.chunk.subarray(this.used, (this.used += written));
  }

  private room(size: number): void {
    if (this.used + size <= this.chunk.length) return;
    this.chunk = new Uint8Array(ARENA_CHUNK);
    this.used = 0;
  }
}

const ARENA_CHUNK = 16384;

/**
 * A Merkle tree over one table, documented in docs/processor.md:
 * - leaf = sha256(JCS([[key, value], ...])) over the bucket's rows sorted by key;
 * - inner node = sha256(innerNode(children)), children being the non-empty nodes below it;
 * - the table's digest is the top node's, or sha256("[]") for an empty table.
 */
class DigestTree {
  private readonly buckets = new Map<number, string[]>();
  private readonly dirty = new Set<number>();
  /** levels[l]: node index at level l (leaves at `depth`) -> that node's children. */
  private readonly levels: Map<number, InnerNode>[];
  private top: Uint8Array | undefined;
  /** The last digest, while nothing is dirty. */
  private hex: string | undefined;
  private readonly arena = new ByteArena();

  constructor(private readonly depth: DigestDepth) {
    this.levels = Array.from({ length: depth }, () => new Map());
  }

  added(key: string): void {
    const b = bucketOf(key, this.depth);
    const keys = this.buckets.get(b);
    if (keys) sortedInsert(keys, key);
    else this.buckets.set(b, [key]);
    this.dirty.add(b);
  }

  removed(key: string): void {
    const b = bucketOf(key, this.depth);
    const keys = this.buckets.get(b);
    if (!keys) return;
    sortedRemove(keys, key);
    if (keys.length === 0) this.buckets.delete(b);
    this.dirty.add(b);
  }

  changed(key: string): void {
    this.dirty.add(bucketOf(key, this.depth));
  }

  digest(row: (key: string) => string, hash: Hash): string {
    if (this.dirty.size === 0 && this.hex !== undefined) return this.hex;
    // Leaves: rehash the dirty buckets into their parents' slots.
    let parents = new Set<number>();
    const leafParents = this.levels[this.depth - 1]!;
    for (const b of this.dirty) {
      const keys = this.buckets.get(b);
      let digest: Uint8Array | undefined;
      if (keys) {
        let text = '[';
        for (let i = 0; i < keys.length; i++) text += (i === 0 ? '' : ',') + row(keys[i]!);
        digest = hash(this.arena.utf8(text + ']'));
      }
      setChild(leafParents, b, digest, this.arena);
      parents.add(b >>> 8);
    }
    this.dirty.clear();
    // Inner levels: rehash each touched node from its children into its own parent's slot.
    for (let level = this.depth - 1; level >= 0; level--) {
      const nodes = this.levels[level]!;
      const next = new Set<number>();
      for (const p of parents) {
        const node = nodes.get(p);
        const digest = node ? hash(node.packed()) : undefined;
        if (level === 0) this.top = digest;
        else setChild(this.levels[level - 1]!, p, digest, this.arena);
        next.add(p >>> 8);
      }
      parents = next;
    }
    return (this.hex = toHex(this.top ?? hash(utf8.encode('[]'))));
  }
}

/**
 * An inner node's innerNode() encoding, kept between roots and edited in place as children
 * appear, change and go. Once packed() hands the bytes to the hash port they are frozen (the port
 * may keep what it was given): the next edit copies them first.
 */
class InnerNode {
  /**
   * entries[c]: where child c's digest starts in `bytes` (after its index byte), -1 when c is
   * absent; entries[256 + c]: its length.
   */
  private readonly entries = new Int32Array(512).fill(-1, 0, 256);
  private count = 0;
  /** The encoding is bytes[0, size); the rest is room to grow. */
  private bytes: Uint8Array = new Uint8Array(0);
  private size = 0;
  private frozen = false;

  constructor(private readonly arena: ByteArena) {}

  get empty(): boolean {
    return this.count === 0;
  }

  set(c: number, digest: Uint8Array | undefined): void {
    const entries = this.entries;
    const offset = entries[c]!;
    if (offset < 0 && digest === undefined) return;
    const removed = offset < 0 ? 0 : 1 + entries[256 + c]!;
    const added = digest === undefined ? 0 : 1 + digest.length;
    const start = offset < 0 ? this.startOf(c) : offset - 1;
    const delta = added - removed;
    this.writable(this.size + delta);
    if (delta !== 0) {
      this.bytes.copyWithin(start + added, start + removed, this.size);
      for (let d = c + 1; d < 256; d++) if (entries[d]! >= 0) entries[d]! += delta;
      this.size += delta;
    }
    if (digest === undefined) {
      entries[c] = -1;
      entries[256 + c] = 0;
      this.count--;
    } else {
      if (offset < 0) this.count++;
      this.bytes[start] = c;
      this.bytes.set(digest, start + 1);
      entries[c] = start + 1;
      entries[256 + c] = digest.length;
    }
  }

  /** innerNode() of the children in index order; never changed once returned. */
  packed(): Uint8Array {
    this.frozen = true;
    return this.bytes.subarray(0, this.size);
  }

  /** Where absent child c's entry goes: at the next present child's entry, or at the end. */
  private startOf(c: number): number {
    for (let d = c + 1; d < 256; d++) if (this.entries[d]! >= 0) return this.entries[d]! - 1;
    return this.size;
  }

  /** Makes `bytes` safe to edit and able to hold `size` bytes. */
  private writable(size: number): void {
    if (!this.frozen && size <= this.bytes.length) return;
    const bytes = this.arena.take(Math.max(size, this.size) + GROWTH);
    bytes.set(this.size === this.bytes.length ? this.bytes : this.bytes.subarray(0, this.size));
    this.bytes = bytes;
    this.frozen = false;
  }
}

/** Spare room in a copied node encoding: two more 32-byte children before the next copy. */
const GROWTH = 66;

/** Sets child `index`'s digest in its parent; drops a parent left with no child. */
function setChild(
  nodes: Map<number, InnerNode>,
  index: number,
  digest: Uint8Array | undefined,
  arena: ByteArena,
): void {
  const parent = index >>> 8;
  let node = nodes.get(parent);
  if (!node) {
    if (digest === undefined) return;
    nodes.set(parent, (node = new InnerNode(arena)));
  }
  node.set(index & 255, digest);
  if (node.empty) nodes.delete(parent);
}

/**
 * A journaled Map from string keys to immutable values. Values are replaced, never changed in
 * place: the row encoding is cached per value object.
 */
export class Table<V> {
  private readonly rows = new Map<string, V>();
  private readonly tree: DigestTree | null;
  /** Encoded rows, kept until the row changes. */
  private readonly encoded = new Map<string, string>();

  /** `depth` null: not in the root (an index). */
  constructor(
    private readonly journal: Journal,
    depth: DigestDepth | null,
  ) {
    this.tree = depth === null ? null : new DigestTree(depth);
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

  /** As unordered(), without allocating per row. */
  forEachUnordered(fn: (value: V, key: string) => void): void {
    this.rows.forEach(fn);
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
    let text = this.encoded.get(key);
    if (text === undefined) this.encoded.set(key, (text = encodeRow(key, this.rows.get(key))));
    return text;
  }

  private put(key: string, value: V): void {
    const size = this.rows.size;
    this.rows.set(key, value);
    if (!this.tree) return;
    const isNew = this.rows.size !== size;
    this.encoded.delete(key);
    if (isNew) this.tree.added(key);
    else this.tree.changed(key);
  }

  private remove(key: string): void {
    this.rows.delete(key);
    this.encoded.delete(key);
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
    return this.keys[lowerBound(this.keys, key)] === key;
  }

  add(key: string): void {
    const i = lowerBound(this.keys, key);
    if (this.keys[i] === key) return;
    this.keys.splice(i, 0, key);
    this.journal.record(() => this.delete(key));
  }

  delete(key: string): void {
    const i = lowerBound(this.keys, key);
    if (this.keys[i] !== key) return;
    this.keys.splice(i, 1);
    this.journal.record(() => this.add(key));
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
