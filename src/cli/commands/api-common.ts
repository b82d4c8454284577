import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  fromHex,
  sha256,
  type Signer,
  signerFromSecretKey,
  strictVerifier,
  toHex,
} from '../../../domain/crypto/index.js';
import { judgeEnvelope, signPayload } from '../../../domain/payloads/envelope.js';
import type { Page } from '../../../projections/read-models.js';
import { ApiClientError, DaggerClient, type PayloadStatus } from '../../client/api-client.js';
import type { CliIo } from '../io.js';
import { intInRange, positiveNumber } from '../parse.js';

/** What the commands that talk to a node share: --api failover, keys, signing, --wait, output. */

export interface ApiCliOptions {
  readonly api?: string[];
  readonly json?: boolean;
}

export interface SendCliOptions extends ApiCliOptions {
  readonly key: string;
  readonly ttlSeconds: number;
  readonly envelopeOnly?: boolean;
  readonly wait?: boolean;
  readonly timeout: number;
}

/** A list command's paging: --limit, --after, --all (see addPageOptions). */
export interface PageCliOptions extends ApiCliOptions {
  readonly limit?: number;
  readonly after?: string;
  readonly all?: boolean;
}

export class CliFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** Repeatable option values, without a default shown in --help. */
export const collect = (value: string, previous?: string[]): string[] => [...(previous ?? []), value];

export function addApiOptions(cmd: Command): Command {
  return cmd
    .option(
      '--api <url>',
      'node API URL; repeat to fail over to the next on a connection error or 5xx (default: $DAGGER_API, comma-separated)',
      collect,
    )
    .option('--json', 'print one JSON object on stdout and nothing else');
}

export function addSendOptions(cmd: Command): Command {
  return addApiOptions(cmd)
    .requiredOption('--key <file>', 'key file from `dagger keygen` that signs the request')
    .option('--ttl-seconds <s>', 'the request expires this long after now', intInRange(1, 30 * 86_400), 600)
    .option('--envelope-only', 'print the signed envelope as JSON and send nothing')
    .option('--wait', 'poll GET /v1/payloads/:id until the ledger accepts or rejects the request')
    .option('--timeout <s>', 'how long --wait polls, in seconds', positiveNumber(86_400), 60);
}

/** addApiOptions, after --limit, --after and --all. */
export function addPageOptions(cmd: Command): Command {
  return addApiOptions(
    cmd
      .option('--limit <n>', 'page size (1..500)', intInRange(1, 500))
      .option('--after <cursor>', 'continue after this cursor (the "next" of a previous page)')
      .option('--all', 'follow "next" and list every page'),
  );
}

/** One page of `list` (--limit, --after), or with --all every page's items (pages of --limit, default 500). */
export async function fetchList<T>(
  api: DaggerClient,
  opts: PageCliOptions,
  list: (q: { limit?: number; after?: string }) => Promise<Page<T>>,
): Promise<Page<T>> {
  if (opts.all) return { items: await api.all(list, opts.limit ?? 500) };
  return list({
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    ...(opts.after !== undefined ? { after: opts.after } : {}),
  });
}

/** The page as JSON (--json), or one line per item. */
export function printList<T>(
  io: CliIo,
  json: boolean | undefined,
  page: Page<T>,
  line: (item: T) => string,
): void {
  if (json) printJson(io, page);
  else io.out(page.items.map((item) => `${line(item)}\n`).join(''));
}

function apiUrls(opts: ApiCliOptions): string[] {
  const urls =
    opts.api !== undefined && opts.api.length > 0
      ? opts.api
      : (process.env.DAGGER_API ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  if (urls.length === 0) throw new CliFailure('NO_API', 'give --api URL (or set DAGGER_API)');
  return urls;
}

export function client(opts: ApiCliOptions): DaggerClient {
  try {
    return new DaggerClient(apiUrls(opts));
  } catch (error) {
    if (error instanceof ApiClientError) throw new CliFailure('BAD_API_URL', error.message);
    throw error;
  }
}

/** Reads a `dagger keygen` file and checks that its public key belongs to its secret key. */
export function loadSigner(path: string): Signer {
  let parsed: { publicKey?: unknown; secretKey?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as typeof parsed;
  } catch (error) {
    throw new CliFailure('BAD_KEY_FILE', `cannot read key file ${path}: ${(error as Error).message}`);
  }
  const hex = /^[0-9a-f]{64}$/;
  if (typeof parsed?.secretKey !== 'string' || !hex.test(parsed.secretKey))
    throw new CliFailure('BAD_KEY_FILE', `${path}: "secretKey" must be 64 lowercase hex characters`);
  const signer = signerFromSecretKey(fromHex(parsed.secretKey));
  if (parsed.publicKey !== undefined && parsed.publicKey !== toHex(signer.publicKey))
    throw new CliFailure('BAD_KEY_FILE', `${path}: "publicKey" does not belong to "secretKey"`);
  return signer;
}

/** 16 random bytes, base64url: 22 characters of A-Z a-z 0-9 _ - as the nonce schema asks. */
function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value)}\n`);
}

function describeStatus(s: PayloadStatus): string {
  const where =
    s.round !== undefined ? ` in round ${s.round} (consensus index ${s.consensusIndex ?? '-'})` : '';
  if (s.status === 'rejected')
    return `rejected${where}: ${s.code ?? 'REJECTED'}: ${s.reason ?? ''}`.trimEnd();
  return `${s.status}${where}`;
}

/**
 * Signs `fields` with a fresh nonce and expiry, checks the envelope as a node would, then prints it
 * (--envelope-only) or submits it and, with --wait, polls until it is decided. `extra` adds fields
 * to the result (e.g. vmId), from the payload id.
 */
export async function sendPayload(
  io: CliIo,
  opts: SendCliOptions,
  fields: Record<string, unknown> & { type: string },
  extra: (payloadId: string) => Record<string, unknown> = () => ({}),
): Promise<void> {
  const signer = loadSigner(opts.key);
  const payload = { ...fields, nonce: newNonce(), expiresAt: Date.now() + opts.ttlSeconds * 1000 };
  const signed = signPayload(payload, signer, sha256);
  const judged = judgeEnvelope(JSON.parse(JSON.stringify(signed.envelope)), {
    verify: strictVerifier,
    hash: sha256,
  });
  if (!judged.ok) throw new CliFailure(judged.error.code, judged.error.message, judged.error.details);
  if (opts.envelopeOnly) {
    printJson(io, signed.envelope);
    return;
  }
  const api = client(opts);
  const { payloadId, url } = await api.submit(signed.envelope);
  if (payloadId !== signed.payloadId)
    io.err(`warning: ${url} answered payload id ${payloadId}, expected ${signed.payloadId}\n`);
  const result = { payloadId, ...extra(payloadId) };
  const extraText = Object.entries(result)
    .filter(([k]) => k !== 'payloadId')
    .map(([k, v]) => ` ${k} ${String(v)}`)
    .join('');
  if (!opts.wait) {
    if (opts.json) printJson(io, result);
    else io.out(`payload ${payloadId} taken by ${url}${extraText}\n`);
    return;
  }
  if (!opts.json) io.err(`payload ${payloadId} taken by ${url}${extraText}; waiting for the ledger\n`);
  const status = await api.waitFor(payloadId, { timeoutMs: opts.timeout * 1000 });
  if (opts.json) printJson(io, { ...result, ...status });
  else io.out(`payload ${payloadId} ${describeStatus(status)}${extraText}\n`);
  if (status.status === 'rejected') io.setExitCode(1);
}

/** Runs a command body; a failure becomes a clear message (and {"error":...} with --json) and exit 1. */
export async function runCommand(
  io: CliIo,
  json: boolean | undefined,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (!(error instanceof CliFailure) && !(error instanceof ApiClientError)) throw error;
    const status = error instanceof ApiClientError ? error.status : undefined;
    const url = error instanceof ApiClientError ? error.url : undefined;
    const from = status !== undefined && url !== undefined ? ` (HTTP ${status} from ${url})` : '';
    io.err(`error: ${error.code}: ${error.message}${from}\n`);
    if (Array.isArray(error.details))
      for (const d of error.details as { path?: unknown; message?: unknown }[])
        io.err(`  ${String(d.path ?? '') || '(envelope)'}: ${String(d.message ?? '')}\n`);
    if (json)
      printJson(io, {
        error: {
          code: error.code,
          message: error.message,
          ...(error.details !== undefined ? { details: error.details } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(url !== undefined ? { url } : {}),
        },
      });
    io.setExitCode(1);
  }
}
