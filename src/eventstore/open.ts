import { storeError } from './common.js';
import type { EventStore } from './event-store.js';

export interface OpenEventStoreOptions {
  /** PostgreSQL only, and required there: the schema (network prefix) holding the events table. */
  readonly schema?: string;
  /** Auditors: refuse appends; SQLite opens the file read-only, PostgreSQL runs read-only transactions. */
  readonly readOnly?: boolean;
  /** SQLite and PostgreSQL: the longest wait of a live subscription before it re-reads. */
  readonly pollIntervalMs?: number;
}

export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'eventstoredb'; readonly url: string };

/**
 * Parses a store URL: `sqlite:PATH`, `sqlite::memory:`, `postgres://…` / `postgresql://…`,
 * `esdb://…` / `esdb+discover://…` / `kurrentdb://…` / `kurrentdb+discover://…`.
 * Anything else is EventStoreError BAD_REQUEST.
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw storeError('BAD_REQUEST', `store URL ${url}: sqlite: needs a path or :memory:`);
    return { kind: 'sqlite', path };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return { kind: 'postgres', url };
  if (scheme === 'esdb' || scheme === 'esdb+discover') return { kind: 'eventstoredb', url };
  if (
    scheme === 'kurrentdb' ||
    scheme === 'kurrentdb+discover' ||
    scheme === 'kdb' ||
    scheme === 'kdb+discover'
  )
    // @eventstore/db-client 6 knows only the esdb schemes; the rest of the URL is the same.
    return { kind: 'eventstoredb', url: url.replace(/^[a-z]+/i, 'esdb') };
  throw storeError(
    'BAD_REQUEST',
    `store URL ${JSON.stringify(url)}: expected sqlite:PATH, sqlite::memory:, postgres://… or esdb://…`,
  );
}

/** Opens the adapter a URL names. Adapters load lazily, so SQLite users never load pg or gRPC. */
export async function openEventStore(url: string, options: OpenEventStoreOptions = {}): Promise<EventStore> {
  const location = parseStoreUrl(url);
  const readOnly = options.readOnly === true;
  switch (location.kind) {
    case 'sqlite': {
      if (options.schema !== undefined)
        throw storeError('BAD_REQUEST', 'a schema applies to PostgreSQL only');
      const { SqliteEventStore } = await import('./sqlite-event-store.js');
      return new SqliteEventStore(location.path === ':memory:' ? ':memory:' : location.path, {
        readOnly,
        ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      });
    }
    case 'postgres': {
      if (options.schema === undefined)
        throw storeError('BAD_REQUEST', 'a PostgreSQL store needs a schema (the network prefix)');
      const { PostgresEventStore } = await import('./postgres-event-store.js');
      return PostgresEventStore.open({
        url: location.url,
        schema: options.schema,
        readOnly,
        ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      });
    }
    case 'eventstoredb': {
      if (options.schema !== undefined)
        throw storeError('BAD_REQUEST', 'a schema applies to PostgreSQL only');
      const { EventStoreDbEventStore } = await import('./eventstoredb-event-store.js');
      return EventStoreDbEventStore.open(location.url, { readOnly });
    }
  }
}
