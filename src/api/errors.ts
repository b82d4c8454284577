import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';

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
  status(code: number): ResponseLike;
  json(body: unknown): void;
}

const CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ResponseLike>();
    if (exception instanceof ApiError) {
      res.status(exception.status).json({
        error: {
          code: exception.code,
          message: exception.message,
          ...(exception.details !== undefined ? { details: exception.details } : {}),
        },
      });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      res
        .status(status)
        .json({ error: { code: CODES[status] ?? `HTTP_${status}`, message: exception.message } });
      return;
    }
    // Body-parser errors carry a status and a type instead of being HttpExceptions.
    const e = exception as { status?: number; type?: string; message?: string };
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      const code =
        e.type === 'entity.too.large'
          ? 'PAYLOAD_TOO_LARGE'
          : e.type === 'entity.parse.failed'
            ? 'MALFORMED_JSON'
            : (CODES[e.status] ?? `HTTP_${e.status}`);
      res.status(e.status).json({ error: { code, message: e.message ?? 'bad request' } });
      return;
    }
    res
      .status(HttpStatus.INTERNAL_SERVER_ERROR)
      .json({ error: { code: 'INTERNAL', message: 'internal error' } });
  }
}
