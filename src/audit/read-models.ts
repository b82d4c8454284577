import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerRecord } from '../../domain/processor/events.js';
import type { Page, PageRequest, ReadModelQueries, ReadModelsTarget } from '../../projections/index.js';
import { type Genesis, readModelsConfigOf } from '../node/genesis.js';
import { AuditError, type Mismatch, type ReadModelsComparison } from './report.js';

const PAGE_LIMIT = 1000;

/**
 * The live read models to compare with: `sqlite:PATH` (a node's read-models.sqlite), or
 * `postgres://…?schema=NAME` (its `<prefix>_<key8>_rm` schema).
 */
export function parseReadModelsUrl(url: string): ReadModelsTarget {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '' || path === ':memory:')
      throw new AuditError('BAD_OPTIONS', `read models ${url}: sqlite: needs a file path`);
    return { type: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { url: base, schema } = splitSchema(url);
    if (!schema) throw new AuditError('BAD_OPTIONS', `read models ${url}: add ?schema=NAME`);
    return { type: 'postgres', url: base, schema };
  }
  throw new AuditError(
    'BAD_OPTIONS',
    `read models ${JSON.stringify(url)}: expected sqlite:PATH or postgres://…?schema=NAME`,
  );
}

/** Takes `schema` out of a PostgreSQL URL's query string. */
export function splitSchema(url: string): { url: string; schema?: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), ...(schema ? { schema } : {}) };
}

/**
 * Projects the re-derived ledger into a scratch SQLite database, up to the live checkpoint, and
 * compares every view row with the live read models. The live ones are opened like a node opens
 * them (migrations run when missing; nothing else is written).
 */
export async function diffReadModels(
  live: ReadModelsTarget,
  genesis: Genesis,
  ledger: readonly LedgerRecord[],
  report: (m: Mismatch) => void,
): Promise<ReadModelsComparison> {
  const { openReadModels } = await import('../../projections/index.js');
  const config = readModelsConfigOf(genesis);
  const dir = mkdtempSync(join(tmpdir(), 'dagger-audit-rm-'));
  const liveModels = await openReadModels(live, config);
  try {
    const checkpoint = await liveModels.checkpoint();
    const upTo = Math.min(ledger.length, checkpoint + 1);
    if (checkpoint + 1 > ledger.length)
      report({
        kind: 'read-model',
        stream: 'checkpoint',
        position: checkpoint,
        detail: `the read models reflect ledger index ${checkpoint}, beyond the ${ledger.length} records derived`,
      });
    const scratch = await openReadModels({ type: 'sqlite', path: join(dir, 'read-models.sqlite') }, config);
    try {
      for (let i = 0; i < upTo; i += PAGE_LIMIT)
        await scratch.project(ledger.slice(i, Math.min(upTo, i + PAGE_LIMIT)));
      const derived = ledger.slice(0, upTo);
      let rowsCompared = 0;
      const compare = (view: string, key: string, a: unknown, b: unknown): void => {
        rowsCompared++;
        const want = a === undefined || a === null ? null : JSON.stringify(sortKeys(a));
        const got = b === undefined || b === null ? null : JSON.stringify(sortKeys(b));
        if (want !== got)
          report({
            kind: 'read-model',
            stream: view,
            position: key,
            detail: `live ${got ?? 'missing'}, rebuilt ${want ?? 'missing'}`,
          });
      };
      const lists: [
        string,
        (q: ReadModelQueries, p: PageRequest) => Promise<Page<unknown>>,
        (row: never) => string,
      ][] = [
        ['vms', (q, p) => q.vms(p), (r: { vmId: string }) => r.vmId],
        ['hosts', (q, p) => q.hosts(p), (r: { hostId: string }) => r.hostId],
        ['operators', (q, p) => q.operators(p), (r: { operatorKey: string }) => r.operatorKey],
        ['proposals', (q, p) => q.proposals(p), (r: { proposalId: string }) => r.proposalId],
        ['rounds', (q, p) => q.rounds(p), (r: { round: number }) => String(r.round)],
      ];
      for (const [view, list, keyOf] of lists) {
        const want = await all(scratch, list, keyOf);
        const got = await all(liveModels, list, keyOf);
        for (const key of [...new Set([...want.keys(), ...got.keys()])].sort())
          compare(view, key, want.get(key), got.get(key));
      }
      const accounts = new Set<string>(genesis.accounts.map((a) => a.key));
      const payloads = new Set<string>();
      for (const r of derived) {
        const e = r.event;
        if (e.type === 'PayloadAccepted') {
          accounts.add(e.signer);
          payloads.add(e.payloadId);
        } else if (e.type === 'PayloadRejected') {
          payloads.add(e.payloadId);
          if (e.signer) accounts.add(e.signer);
        } else if (e.type === 'VmRequested') accounts.add(e.owner);
      }
      for (const key of [...accounts].sort())
        compare('accounts', key, await scratch.account(key), await liveModels.account(key));
      for (const id of [...payloads].sort())
        compare('payloads', id, await scratch.payload(id), await liveModels.payload(id));
      return { checkpoint, rowsCompared };
    } finally {
      await scratch.close();
    }
  } finally {
    await liveModels.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function all(
  q: ReadModelQueries,
  list: (q: ReadModelQueries, p: PageRequest) => Promise<Page<unknown>>,
  keyOf: (row: never) => string,
): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  let after: string | undefined;
  for (;;) {
    const page = await list(q, { limit: PAGE_LIMIT, ...(after ? { after } : {}) });
    for (const row of page.items) out.set(keyOf(row as never), row);
    if (!page.next) return out;
    after = page.next;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
  return out;
}
