import canonicalize from 'canonicalize';
import { toHex } from '../crypto/index.js';
import type { ProcessorState } from './state.js';
import { bucketOf, DIGEST_DEPTH, encodeRow, type Hash, type Table } from './table.js';

/**
 * The state root: sha256 over the JCS encoding of
 * `{"round": r, "tables": {"accounts": hex, "hosts": hex, "members": hex, "proposals": hex, "seen": hex, "vms": hex}, "version": 1}`,
 * each table's hex being its Merkle digest (see table.ts and docs/processor.md). The digests are
 * cached and recomputed only along changed rows, so a root costs what the round changed.
 */

export const STATE_ROOT_VERSION = 1;

const utf8 = new TextEncoder();

type TableName = 'accounts' | 'hosts' | 'members' | 'proposals' | 'seen' | 'vms';
const TABLES: readonly TableName[] = ['accounts', 'hosts', 'members', 'proposals', 'seen', 'vms'];

function rootOf(round: number, tables: Record<TableName, string>, hash: Hash): string {
  const text = canonicalize({ version: STATE_ROOT_VERSION, round, tables });
  return toHex(hash(utf8.encode(text ?? '')));
}

export function stateRoot(state: ProcessorState, hash: Hash): string {
  const tables = {} as Record<TableName, string>;
  for (const name of TABLES) tables[name] = (state[name] as Table<unknown>).digest(hash);
  return rootOf(state.round.value, tables, hash);
}

/** The same root computed from scratch with no cache: the definition, for audits and tests. */
export function stateRootFromScratch(state: ProcessorState, hash: Hash): string {
  const tables = {} as Record<TableName, string>;
  for (const name of TABLES) {
    const table = state[name] as Table<unknown>;
    let level = new Map<number, string>();
    const buckets = new Map<number, string[]>();
    for (const key of table.sortedKeys()) {
      const b = bucketOf(key);
      const rows = buckets.get(b) ?? [];
      rows.push(encodeRow(key, table.get(key)));
      buckets.set(b, rows);
    }
    for (const [b, rows] of buckets) level.set(b, toHex(hash(utf8.encode(`[${rows.join(',')}]`))));
    for (let depth = DIGEST_DEPTH - 1; depth >= 0; depth--) {
      const children = new Map<number, [number, string][]>();
      for (const [index, digest] of level) {
        const list = children.get(index >>> 4) ?? [];
        list.push([index & 15, digest]);
        children.set(index >>> 4, list);
      }
      level = new Map();
      for (const [parent, list] of children) {
        list.sort((a, b) => a[0] - b[0]);
        level.set(parent, toHex(hash(utf8.encode(canonicalize(list) ?? ''))));
      }
    }
    tables[name] = level.get(0) ?? toHex(hash(utf8.encode('[]')));
  }
  return rootOf(state.round.value, tables, hash);
}
