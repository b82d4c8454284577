import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ApiError, type ErrorReporter } from './errors.js';
import type { SubmitResult } from './payloads.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** What the intake does with a body: SubmitPayloadHandler.submitRaw (judge, group commit, metrics). */
export type SubmitRaw = (raw: Uint8Array) => Promise<SubmitResult>;

const PATH = '/v1/payloads';
const JSON_TYPE = 'application/json; charset=utf-8';
/** `{"payloadId":"<64 hex>"}`: every 202 body has this length. */
const ACCEPTED_LENGTH = 78;
const ACCEPTED_HEADERS = Object.freeze({ 'content-type': JSON_TYPE, 'content-length': ACCEPTED_LENGTH });

/**
 * POST /v1/payloads served straight off node:http in front of Express: the handler the Nest
 * controller's command reaches, the same error bodies, metrics and logs. Express and the
 * CommandBus cost about 130 µs a request here, most of the budget at 5,000 payloads/s on one core.
 * What it does not take plainly (a compressed body, a charset other than UTF-8) goes on to Express
 * and the Nest controller.
 */
export function installFastIntake(
  server: Server,
  submit: SubmitRaw,
  reporter: ErrorReporter,
  limitBytes: number,
): void {
  const [express] = server.listeners('request') as Listener[];
  if (!express) return;
  server.removeListener('request', express);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST' && isIntakePath(req.url) && plain(req)) intake(req, res);
    else express(req, res);
  });

  const refuse = (res: ServerResponse, error: unknown) => {
    const { status, body } = reporter.report(error, 'POST', PATH);
    send(res, status, JSON.stringify(body));
  };

  function intake(req: IncomingMessage, res: ServerResponse): void {
    if (Number(req.headers['content-length']) > limitBytes) return tooLarge(req, res);
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let state: 'reading' | 'over' | 'ended' = 'reading';
    req.on('data', (chunk: Buffer) => {
      if (state !== 'reading') return;
      size += chunk.length;
      if (size > limitBytes) {
        state = 'over';
        tooLarge(req, res);
      } else if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    req.on('end', () => {
      if (state !== 'reading') return;
      state = 'ended';
      const raw = chunks ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0));
      submit(raw).then(
        ({ payloadId }) => accepted(res, payloadId),
        (error: unknown) => refuse(res, error),
      );
    });
    const cutOff = () => {
      if (state !== 'reading') return;
      state = 'over';
      refuse(res, new ApiError(400, 'BAD_REQUEST', 'the request body was cut off'));
    };
    req.on('error', cutOff);
    req.on('close', cutOff);
  }

  function tooLarge(req: IncomingMessage, res: ServerResponse): void {
    // The rest of the body is not read: the connection closes after the answer.
    res.setHeader('connection', 'close');
    req.pause();
    refuse(res, new ApiError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${limitBytes} bytes`));
  }
}

function isIntakePath(url: string | undefined): boolean {
  return url === PATH || (url !== undefined && url.startsWith(`${PATH}?`));
}

function plain(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const type = req.headers['content-type'];
  if (type === undefined || !type.includes(';')) return true;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset);
}

function accepted(res: ServerResponse, payloadId: string): void {
  const body = `{"payloadId":"${payloadId}"}`;
  if (body.length === ACCEPTED_LENGTH && !res.headersSent) {
    res.writeHead(202, ACCEPTED_HEADERS);
    res.end(body);
  } else send(res, 202, JSON.stringify({ payloadId }));
}

function send(res: ServerResponse, status: number, json: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(json) });
  res.end(json);
}
