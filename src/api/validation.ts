import { z } from 'zod';
import { hex64, resourceId } from '../../domain/payloads/schemas.js';
import { ApiError } from './errors.js';

/** Path and query parameters, checked with zod; anything else is 400 BAD_REQUEST with details. */

export const MAX_PAGE = 500;

const limit = z
  .string()
  .regex(/^\d{1,6}$/, 'must be an integer')
  .transform(Number)
  .pipe(z.number().int().min(1).max(MAX_PAGE));
const after = z.string().min(1).max(512);

export const pageQuery = z.strictObject({ limit: limit.optional(), after: after.optional() });
export const vmListQuery = pageQuery.extend({ owner: hex64.optional(), hostId: resourceId.optional() });
export const payloadIdParam = hex64;
export const accountKeyParam = hex64;
export const vmIdParam = resourceId;

export type PageQuery = z.output<typeof pageQuery>;
export type VmListQuery = z.output<typeof vmListQuery>;

export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  throw new ApiError(
    400,
    'BAD_REQUEST',
    `invalid ${what}`,
    r.error.issues.map((i) => ({
      path: i.path.map(String).join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(',') : ''),
      message: i.message,
    })),
  );
}
