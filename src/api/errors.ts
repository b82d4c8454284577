import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { ReadModelError } from '../../projections/read-models.js';
import type { ApiMetrics } from './metrics.js';
import type { ApiLogger } from './ports.js';

/**
 * Stable error codes of the HTTP API. Body problems of POST /v1/payloads are all 400 (the code
 * tells them apart, BAD_SIGNATURE included), except size, which is 413.
 */
export const API_ERROR_STATUS = {
  MALFORMED_JSON: 400,
  INVALID_ENVELOPE: 400,
  UNKNOWN_PAYLOAD_TYPE: 400,
  INVALID_PAYLOAD: 400,
  BAD_SIGNATURE: 400,
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

/** A caller-facing error with a stable code; the filter renders it as {error:{code,message,details?}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ResponseLike {
  headersSent?: boolean;
  status(code: number): ResponseLike;
  json(body: unknown): void;
}

interface RequestLike {
  method?: string;
  originalUrl?: string;
  url?: string;
}

const CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  503: 'UNAVAILABLE',
};

/** body-parser errors reach the filter as HttpExceptions whose cause carries a `type`. */
function bodyParserCode(exception: unknown): string | undefined {
  const cause = (exception as { cause?: { type?: unknown } } | null)?.cause ?? exception;
  const type = (cause as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return 'PAYLOAD_TOO_LARGE';
  if (type === 'entity.parse.failed') return 'MALFORMED_JSON';
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return 'UNSUPPORTED_MEDIA_TYPE';
  return undefined;
}

function bodyLimit(exception: unknown): string | undefined {
  const limit = (exception as { cause?: { limit?: unknown } }).cause?.limit;
  return typeof limit === 'number' ? `${limit} bytes` : undefined;
}

interface Rendered {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly details?: unknown;
}

export function renderError(exception: unknown): Rendered {
  if (exception instanceof ApiError)
    return {
      status: exception.status,
      code: exception.code,
      message: exception.message,
      ...(exception.details !== undefined ? { details: exception.details } : {}),
    };
  if (exception instanceof ReadModelError) {
    if (exception.code === 'BAD_REQUEST')
      return { status: 400, code: 'BAD_REQUEST', message: exception.message.replace(/^BAD_REQUEST: /, '') };
    if (exception.code === 'STORE_UNAVAILABLE' || exception.code === 'CLOSED')
      return { status: 503, code: 'UNAVAILABLE', message: 'the read models are not available now' };
  }
  const parserCode = bodyParserCode(exception);
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status < 500) {
      const code = parserCode ?? CODES[status] ?? `HTTP_${status}`;
      const message =
        code === 'MALFORMED_JSON'
          ? 'the body is not valid JSON'
          : code === 'PAYLOAD_TOO_LARGE'
            ? `the body is larger than ${bodyLimit(exception) ?? 'this node accepts'}`
            : exception.message;
      return { status, code, message };
    }
  }
  const e = exception as { status?: unknown; message?: unknown } | null;
  if (parserCode && typeof e?.status === 'number' && e.status < 500)
    return { status: e.status, code: parserCode, message: String(e.message ?? 'bad request') };
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: { error: { code: string; message: string; details?: unknown } };
}

/** Renders an error, counts refused intake, and logs it: shared by the filter and the fast intake. */
export class ErrorReporter {
  constructor(
    private readonly metrics?: ApiMetrics,
    private readonly log?: ApiLogger,
  ) {}

  report(exception: unknown, method: string | undefined, path: string): ErrorResponse {
    const r = renderError(exception);
    if (method === 'POST' && path === '/v1/payloads') this.metrics?.refused.inc({ code: r.code });
    if (r.status >= 500)
      this.log?.({
        level: 'error',
        msg: 'request failed',
        method,
        path,
        status: r.status,
        code: r.code,
        error: exception instanceof Error ? `${exception.name}: ${exception.message}` : String(exception),
        ...(r.code === 'INTERNAL' && exception instanceof Error ? { stack: exception.stack } : {}),
      });
    else
      this.log?.({
        level: 'warn',
        msg: 'request refused',
        method,
        path,
        status: r.status,
        code: r.code,
        message: r.message,
      });
    return {
      status: r.status,
      body: {
        error: {
          code: r.code,
          message: r.message,
          ...(r.details !== undefined ? { details: r.details } : {}),
        },
      },
    };
  }
}

/** Renders every error as {error:{code,message,details?}}, counts refused intake, and logs. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  constructor(private readonly reporter: ErrorReporter) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<ResponseLike>();
    const req = http.getRequest<RequestLike>();
    const path = (req?.originalUrl ?? req?.url ?? '').split('?')[0] ?? '';
    const { status, body } = this.reporter.report(exception, req?.method, path);
    if (res.headersSent) return;
    res.status(status).json(body);
  }
}
