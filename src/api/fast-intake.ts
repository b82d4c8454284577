import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { CommandBus } from '@nestjs/cqrs';
import { ApiError, type ErrorReporter } from './errors.js';
import { SubmitPayloadCommand } from './payloads.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const PATH = '/v1/payloads';

/**
 * POST /v1/payloads served straight off node:http in front of Express: the same command on the
 * same CommandBus, the same error bodies, metrics and logs. Express costs about 130 µs a request
 * here, most of the budget at 5,000 payloads/s on one core. What it does not take plainly
 * (a compressed body, a charset other than UTF-8) goes on to Express and the Nest controller.
 */
export function installFastIntake(
  server: Server,
  commands: CommandBus,
  reporter: ErrorReporter,
  limitBytes: number,
): void {
  const [express] = server.listeners('request') as Listener[];
  if (!express) return;
  server.removeListener('request', express);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST' && isIntakePath(req.url) && plain(req)) void handle(req, res);
    else express(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const raw = await readBody(req, res, limitBytes);
      const { payloadId } = await commands.execute(new SubmitPayloadCommand({ raw }));
      send(res, 202, { payloadId });
    } catch (error) {
      const { status, body } = reporter.report(error, 'POST', PATH);
      send(res, status, body);
    }
  }
}

function isIntakePath(url: string | undefined): boolean {
  return url === PATH || (url !== undefined && url.startsWith(`${PATH}?`));
}

function plain(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset);
}

function tooLarge(limitBytes: number): ApiError {
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${limitBytes} bytes`);
}

function readBody(req: IncomingMessage, res: ServerResponse, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const refuse = () => {
      // The rest of the body is not read: the connection closes after the answer.
      res.setHeader('connection', 'close');
      req.pause();
      reject(tooLarge(limitBytes));
    };
    const declared = Number(req.headers['content-length']);
    if (declared > limitBytes) return refuse();
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limitBytes) {
        over = true;
        refuse();
      } else chunks.push(chunk);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    const cutOff = () => {
      if (!ended && !over) reject(new ApiError(400, 'BAD_REQUEST', 'the request body was cut off'));
    };
    req.on('error', cutOff);
    req.on('close', cutOff);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}
