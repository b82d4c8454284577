import { ReadModelError, type Page, type PageRequest } from './read-models.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** Limits above MAX_LIMIT are clamped; zero, negative or fractional ones are refused. */
export function pageLimit(page: PageRequest): number {
  if (page.limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(page.limit) || page.limit < 1)
    throw new ReadModelError('BAD_REQUEST', `limit must be a positive integer, got ${String(page.limit)}`);
  return Math.min(page.limit, MAX_LIMIT);
}

/** The cursor is the last id of a page, base64url-encoded JSON: opaque to clients. */
export function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, kind: 'string'): string | undefined;
export function decodeCursor(cursor: string | undefined, kind: 'number'): number | undefined;
export function decodeCursor(
  cursor: string | undefined,
  kind: 'string' | 'number',
): string | number | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (kind === 'string' ? typeof key === 'string' : Number.isSafeInteger(key)) return key as string | number;
  throw new ReadModelError('BAD_REQUEST', `cursor ${JSON.stringify(cursor)} is not one this list gave out`);
}

/** `rows` holds up to limit + 1 rows: one more than the page says there is a next page. */
export function toPage<R, V>(
  rows: readonly R[],
  limit: number,
  key: (row: R) => string | number,
  view: (row: R) => V,
): Page<V> {
  const items = rows.slice(0, limit).map(view);
  if (rows.length <= limit) return { items };
  return { items, next: encodeCursor(key(rows[limit - 1]!)) };
}
