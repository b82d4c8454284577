import type { EventStore } from '../eventstore/event-store.js';
import { openEventStore, parseStoreUrl } from '../eventstore/open.js';
import { AuditError } from './report.js';
import { splitSchema } from './read-models.js';

/**
 * Opens a store read-only for an audit: `sqlite:PATH` (with its WAL), `esdb://…`, or
 * `postgres://…` with the schema as `?schema=NAME` or the `schema` argument.
 */
export async function openAuditStore(url: string, schema?: string): Promise<EventStore> {
  const location = parseStoreUrl(url);
  try {
    if (location.kind !== 'postgres') {
      if (schema !== undefined) throw new AuditError('BAD_OPTIONS', 'a schema applies to PostgreSQL only');
      return await openEventStore(url, { readOnly: true });
    }
    const split = splitSchema(url);
    const name = schema ?? split.schema;
    if (!name) throw new AuditError('BAD_OPTIONS', 'a PostgreSQL store needs --schema or ?schema=NAME');
    return await openEventStore(split.url, { readOnly: true, schema: name });
  } catch (err) {
    if (err instanceof AuditError) throw err;
    throw new AuditError('STORE_UNAVAILABLE', `cannot open ${url}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
