import { Buffer, isUtf8 } from 'node:buffer';
import type { z } from 'zod';
import { canonicalText } from '../canonical/jcs.js';
import { fromHex, type SignatureVerifier, type Signer, toHex } from '../crypto/index.js';
import {
  envelopeShape,
  LIMITS,
  PAYLOAD_SCHEMAS,
  PAYLOAD_TYPES,
  type Payload,
  type PayloadInput,
  type PayloadType,
} from './schemas.js';

/**
 * The signed envelope `{"payload": {...}, "signer": hex, "signature": hex}` of DESIGN.md.
 *
 * - The signature covers `SIGNING_DOMAIN` followed by the RFC 8785 (JCS) encoding of `payload`
 *   exactly as the client wrote it (defaults not filled in).
 * - The bytes that travel and that the ledger orders are the JCS encoding of the whole envelope;
 *   the payload id is the hex sha256 of those bytes.
 * - Strict RFC 8032 signatures are not malleable, so one signed payload has one id.
 */

export const SIGNING_DOMAIN = 'DAGGER payload v1\n';

export interface Envelope {
  readonly payload: Record<string, unknown> & { readonly type: string };
  readonly signer: string;
  readonly signature: string;
}

export type PayloadErrorCode =
  | 'MALFORMED_JSON'
  | 'NOT_CANONICAL'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_ENVELOPE'
  | 'UNKNOWN_PAYLOAD_TYPE'
  | 'INVALID_PAYLOAD'
  | 'BAD_SIGNATURE';

export interface PayloadIssue {
  readonly path: string;
  readonly message: string;
}

export interface PayloadError {
  readonly code: PayloadErrorCode;
  readonly message: string;
  readonly details?: readonly PayloadIssue[];
}

/** A request that passed every check that needs no ordered state. */
export interface OpenedPayload {
  readonly payloadId: string;
  readonly bytes: Uint8Array;
  readonly envelope: Envelope;
  readonly payload: Payload;
}

export type Opened =
  { readonly ok: true; readonly value: OpenedPayload } | { readonly ok: false; readonly error: PayloadError };

export interface EnvelopePorts {
  readonly verify: SignatureVerifier;
  readonly hash: (data: Uint8Array) => Uint8Array;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const NOT_JSON = Symbol('not JSON');

/**
 * The text of strict UTF-8 bytes, or NOT_JSON. Invalid UTF-8 (all junk, in practice) is refused by
 * a check that does not throw, so refusing it stays cheap. A leading byte-order mark is dropped.
 */
function decodeUtf8(bytes: Uint8Array): string | typeof NOT_JSON {
  return isUtf8(bytes) ? strictUtf8.decode(bytes) : NOT_JSON;
}

function parseJson(text: string | typeof NOT_JSON): unknown {
  if (text === NOT_JSON) return NOT_JSON;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

function parseJsonBytes(bytes: Uint8Array): unknown {
  return parseJson(decodeUtf8(bytes));
}

/** What a payload that cannot be opened says of itself, for its PayloadRejected record. */
export function readableParts(bytes: Uint8Array): { payloadType: string | null; signer: string | null } {
  const value = parseJsonBytes(bytes) as { payload?: { type?: unknown }; signer?: unknown } | null;
  if (typeof value !== 'object' || value === null) return { payloadType: null, signer: null };
  const type = value.payload?.type;
  const signer = value.signer;
  return {
    payloadType: typeof type === 'string' && type.length <= 64 ? type : null,
    signer: typeof signer === 'string' && /^[0-9a-f]{64}$/.test(signer) ? signer : null,
  };
}

function jcs(value: unknown): string {
  const text = canonicalText(value);
  if (text === undefined) throw new TypeError('value has no JSON encoding');
  return text;
}

export function signingBytes(payload: object): Uint8Array {
  return utf8.encode(SIGNING_DOMAIN + jcs(payload));
}

export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return utf8.encode(jcs(envelope));
}

export function payloadIdOf(bytes: Uint8Array, hash: (data: Uint8Array) => Uint8Array): string {
  return toHex(hash(bytes));
}

/** Signs a payload as a client does. The payload is not validated here; judge the result to see it. */
export function signPayload(
  payload: PayloadInput | (Record<string, unknown> & { type: string }),
  signer: Signer,
  hash: (data: Uint8Array) => Uint8Array,
): { envelope: Envelope; bytes: Uint8Array; payloadId: string } {
  const envelope: Envelope = {
    payload: payload as Envelope['payload'],
    signer: toHex(signer.publicKey),
    signature: toHex(signer.sign(signingBytes(payload))),
  };
  const bytes = encodeEnvelope(envelope);
  return { envelope, bytes, payloadId: payloadIdOf(bytes, hash) };
}

const fail = (code: PayloadErrorCode, message: string, details?: PayloadIssue[]): Opened => ({
  ok: false,
  error: details ? { code, message, details } : { code, message },
});

function issues(error: z.ZodError, prefix: string): PayloadIssue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((s) => s !== '').join('.'),
    message: i.message,
  }));
}

function hasProtoKey(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null || depth > 8) return false;
  if (Object.prototype.hasOwnProperty.call(value, '__proto__')) return true;
  for (const v of Array.isArray(value) ? value : Object.values(value))
    if (hasProtoKey(v, depth + 1)) return true;
  return false;
}

/**
 * Judges a parsed JSON value as an envelope: shape, payload type and fields, size of its
 * canonical bytes, and the signature. What the API calls on a request body.
 */
export function judgeEnvelope(value: unknown, ports: EnvelopePorts): Opened {
  return judge(value, ports, undefined);
}

/** Ledger bytes and their strict UTF-8 decoding. */
interface LedgerText {
  readonly bytes: Uint8Array;
  readonly text: string;
}

const ENVELOPE_HEAD = '{"payload":';
const signingDomain = utf8.encode(SIGNING_DOMAIN);
/** `,"signature":"` + 128 hex + `","signer":"` + 64 hex + `"}`: all ASCII. */
const ENVELOPE_TAIL_BYTES = 14 + 128 + 12 + 64 + 2;

/**
 * judgeEnvelope, and for ledger bytes whether they are the canonical bytes. When they are, they
 * are used instead of an encoding of the canonical text. The signing bytes are sliced out of the
 * canonical bytes either way.
 */
function judge(value: unknown, ports: EnvelopePorts, ledger: LedgerText | undefined): Opened {
  // Copying an own "__proto__" key sets a prototype instead, so such a key would vanish unseen.
  if (hasProtoKey(value)) return fail('INVALID_ENVELOPE', 'the key "__proto__" is not allowed');
  const shape = envelopeShape.safeParse(value);
  if (!shape.success) return fail('INVALID_ENVELOPE', 'not a signed envelope', issues(shape.error, ''));
  const { signer, signature } = shape.data;
  const envelope: Envelope = { payload: (value as Envelope).payload, signer, signature };
  let payloadText: string;
  try {
    payloadText = jcs(envelope.payload);
  } catch {
    return fail('INVALID_ENVELOPE', 'the envelope has no canonical JSON encoding');
  }
  // The strict shape leaves exactly payload, signature and signer (lowercase hex), which JCS
  // sorts in that order.
  const text = `${ENVELOPE_HEAD}${payloadText},"signature":"${envelope.signature}","signer":"${envelope.signer}"}`;
  // Strict decoding is one-to-one but for a leading byte-order mark, which it drops.
  const canonical = ledger !== undefined && ledger.text === text && ledger.bytes[0] === 0x7b;
  const bytes = canonical ? ledger.bytes : utf8.encode(text);
  if (bytes.length > LIMITS.envelopeBytes)
    return fail(
      'PAYLOAD_TOO_LARGE',
      `the canonical envelope is ${bytes.length} bytes; the limit is ${LIMITS.envelopeBytes}`,
    );
  const type = envelope.payload.type;
  if (!(PAYLOAD_TYPES as string[]).includes(type))
    return fail('UNKNOWN_PAYLOAD_TYPE', `unknown payload type "${type}"; known: ${PAYLOAD_TYPES.join(', ')}`);
  const parsed = PAYLOAD_SCHEMAS[type as PayloadType].safeParse(envelope.payload);
  if (!parsed.success)
    return fail('INVALID_PAYLOAD', `invalid ${type} payload`, issues(parsed.error, 'payload'));
  const good = ports.verify.verify(
    fromHex(envelope.signature),
    signingBytesIn(bytes),
    fromHex(envelope.signer),
  );
  if (!good) return fail('BAD_SIGNATURE', 'the signature does not match the payload and signer');
  if (ledger !== undefined && !canonical)
    return fail('NOT_CANONICAL', 'the bytes are not the canonical (RFC 8785) encoding of the envelope');
  return {
    ok: true,
    value: { payloadId: payloadIdOf(bytes, ports.hash), bytes, envelope, payload: parsed.data as Payload },
  };
}

/**
 * SIGNING_DOMAIN + the payload's bytes, sliced out of canonical envelope bytes. Buffer.concat
 * takes them from Node's pool: an ArrayBuffer of their own would cost more than the copy.
 */
function signingBytesIn(bytes: Uint8Array): Uint8Array {
  const payload = bytes.subarray(ENVELOPE_HEAD.length, bytes.length - ENVELOPE_TAIL_BYTES);
  return Buffer.concat([signingDomain, payload]);
}

/**
 * Judges payload bytes taken from the ledger: they must be the canonical encoding of a valid
 * envelope, so one request has exactly one id however a node wrapped it. When they are, the
 * opened bytes are the very bytes given.
 */
export function openPayloadBytes(bytes: Uint8Array, ports: EnvelopePorts): Opened {
  if (bytes.length > LIMITS.envelopeBytes)
    return fail('PAYLOAD_TOO_LARGE', `${bytes.length} bytes; the limit is ${LIMITS.envelopeBytes}`);
  const text = decodeUtf8(bytes);
  const value = parseJson(text);
  if (value === NOT_JSON) return fail('MALFORMED_JSON', 'not UTF-8 JSON');
  return judge(value, ports, { bytes, text: text as string });
}
