import { toHex } from '../crypto/index.js';
import { type ProcessorState, ROOT_DEPTH, type RootTable } from './state.js';
import { jcs } from '../canonical/jcs.js';
import { bucketOf, encodeRow, type Hash, innerNode, type Table } from './table.js';

/**
 * The state root: sha256 over the JCS encoding of
 * `{"round": r, "tables": {"accounts": hex, ..., "vms": hex}, "version": 1}`, each table's hex
 * being its Merkle digest (see table.ts and docs/processor.md). The digests are cached and
 * recomputed only along changed rows, so a root costs what the round changed.
 */

export const STATE_ROOT_VERSION = 1;

const utf8 = new TextEncoder();
const TABLES: readonly RootTable[] = ['accounts', 'hosts', 'members', 'proposals', 'seen', 'vms'];

function rootOf(round: number, tables: Record<RootTable, string>, hash: Hash): string {
  return toHex(hash(utf8.encode(jcs({ version: STATE_ROOT_VERSION, round, tables }))));
}

export function stateRoot(state: ProcessorState, hash: Hash): string {
  const tables = {} as Record<RootTable, string>;
  for (const name of TABLES) tables[name] = (state[name] as Table<unknown>).digest(hash);
  return rootOf(state.round.value, tables, hash);
}

/** The same root computed from scratch with no cache: the definition, for audits and tests. */
export function stateRootFromScratch(state: ProcessorState, hash: Hash): string {
  const tables = {} as Record<RootTable, string>;
  for (const name of TABLES) {
    const table = state[name] as Table<unknown>;
    const depth = ROOT_DEPTH[name];
    const buckets = new Map<number, string[]>();
    for (const key of table.sortedKeys()) {
      const b = bucketOf(key, depth);
      buckets.set(b, [...(buckets.get(b) ?? []), encodeRow(key, table.get(key))]);
    }
    let level = new Map<number, Uint8Array>();
    for (const [b, rows] of buckets) level.set(b, hash(utf8.encode(`[${rows.join(',')}]`)));
    for (let d = depth - 1; d >= 0; d--) {
      const parents = new Map<number, [number, Uint8Array][]>();
      for (const [index, digest] of level)
        parents.set(index >>> 8, [...(parents.get(index >>> 8) ?? []), [index & 255, digest]]);
      level = new Map();
      for (const [parent, children] of parents)
        level.set(parent, hash(innerNode(children.sort((a, b) => a[0] - b[0]))));
    }
    tables[name] = toHex(level.get(0) ?? hash(utf8.encode('[]')));
  }
  return rootOf(state.round.value, tables, hash);
}
