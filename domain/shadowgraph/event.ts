import { toHex } from '../crypto/index.js';
import { ShadowGraphError } from './errors.js';

export { toHex };

/** Version 1 of the binary event encoding; docs/shadowgraph-encoding.md is its specification. */
export const EVENT_ENCODING_VERSION = 1;
export const EVENT_MAGIC = [0x44, 0x47, 0x45, 0x56] as const; // "DGEV"
export const MAX_EVENT_PAYLOAD_BYTES = 64 * 1024;
export const MAX_PAYLOADS_PER_EVENT = 4096;
export const MAX_STATE_ROOT_BYTES = 64;
export const HASH_BYTES = 32;
export const KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export type Hex = string;

/** The signed part of an event. Timestamps are integer microseconds chosen by the creator. */
export interface EventBody {
  readonly creator: Uint8Array;
  readonly seq: number;
  readonly selfParent: Uint8Array | null;
  readonly otherParent: Uint8Array | null;
  readonly timestamp: number;
  readonly payloads: readonly Uint8Array[];
  readonly stateRoot: Uint8Array;
}

export interface SignedEvent {
  readonly body: EventBody;
  /** sha256 of the body encoding; the signature covers these 32 bytes. */
  readonly id: Uint8Array;
  readonly idHex: Hex;
  readonly signature: Uint8Array;
  /** body encoding followed by the signature: what is persisted and gossiped. */
  readonly bytes: Uint8Array;
}

const FLAG_SELF_PARENT = 1;
const FLAG_OTHER_PARENT = 2;

/** Layout: magic(4) version(1) flags(1) creator(32) seq(u64) [selfParent(32)] [otherParent(32)]
 * timestamp(u64) rootLen(u8) root payloadCount(u32) (len(u32) bytes)*  */
export function encodeBody(body: EventBody): Uint8Array {
  return encodeBodyInto(body, 0);
}

/** Encodes into a buffer with `spare` bytes left free at the end (room for the signature). */
function encodeBodyInto(body: EventBody, spare: number): Uint8Array {
  checkBodyLimits(body);
  const parents = (body.selfParent ? HASH_BYTES : 0) + (body.otherParent ? HASH_BYTES : 0);
  let size = 4 + 1 + 1 + KEY_BYTES + 8 + parents + 8 + 1 + body.stateRoot.length + 4;
  for (const p of body.payloads) size += 4 + p.length;
  const out = new Uint8Array(size + spare);
  const view = new DataView(out.buffer);
  let o = 0;
  out.set(EVENT_MAGIC, o);
  o += 4;
  out[o++] = EVENT_ENCODING_VERSION;
  out[o++] = (body.selfParent ? FLAG_SELF_PARENT : 0) | (body.otherParent ? FLAG_OTHER_PARENT : 0);
  out.set(body.creator, o);
  o += KEY_BYTES;
  view.setBigUint64(o, BigInt(body.seq));
  o += 8;
  if (body.selfParent) {
    out.set(body.selfParent, o);
    o += HASH_BYTES;
  }
  if (body.otherParent) {
    out.set(body.otherParent, o);
    o += HASH_BYTES;
  }
  view.setBigUint64(o, BigInt(body.timestamp));
  o += 8;
  out[o++] = body.stateRoot.length;
  out.set(body.stateRoot, o);
  o += body.stateRoot.length;
  view.setUint32(o, body.payloads.length);
  o += 4;
  for (const p of body.payloads) {
    view.setUint32(o, p.length);
    o += 4;
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function checkBodyLimits(body: EventBody): void {
  if (body.creator.length !== KEY_BYTES)
    throw new ShadowGraphError('MALFORMED_EVENT', 'creator must be 32 bytes');
  if (!Number.isSafeInteger(body.seq) || body.seq < 0)
    throw new ShadowGraphError('MALFORMED_EVENT', 'bad seq');
  if (!Number.isSafeInteger(body.timestamp) || body.timestamp < 0)
    throw new ShadowGraphError('MALFORMED_EVENT', 'bad timestamp');
  if ((body.seq === 0) !== (body.selfParent === null))
    throw new ShadowGraphError('MALFORMED_EVENT', 'seq 0 has no self-parent; every later seq has one');
  for (const parent of [body.selfParent, body.otherParent])
    if (parent && parent.length !== HASH_BYTES)
      throw new ShadowGraphError('MALFORMED_EVENT', 'parent hash size');
  if (body.stateRoot.length > MAX_STATE_ROOT_BYTES)
    throw new ShadowGraphError('MALFORMED_EVENT', 'state root over 64 bytes');
  if (body.payloads.length > MAX_PAYLOADS_PER_EVENT)
    throw new ShadowGraphError('EVENT_TOO_LARGE', 'too many payloads');
  let total = 0;
  for (const p of body.payloads) total += p.length;
  if (total > MAX_EVENT_PAYLOAD_BYTES)
    throw new ShadowGraphError(
      'EVENT_TOO_LARGE',
      `payloads total ${total} bytes, limit ${MAX_EVENT_PAYLOAD_BYTES}`,
    );
}

/** Decodes body+signature bytes. Copies nothing it does not need to; throws ShadowGraphError on any defect. */
export function decodeEvent(bytes: Uint8Array, hash: (data: Uint8Array) => Uint8Array): SignedEvent {
  const fail = (why: string): never => {
    throw new ShadowGraphError('MALFORMED_EVENT', why);
  };
  if (bytes.length < 4 + 1 + 1 + KEY_BYTES + 8 + 8 + 1 + 4 + SIGNATURE_BYTES) fail('too short');
  for (let i = 0; i < 4; i++) if (bytes[i] !== EVENT_MAGIC[i]) fail('bad magic');
  if (bytes[4] !== EVENT_ENCODING_VERSION) fail(`unknown encoding version ${bytes[4]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = bytes[5]!;
  if (flags & ~(FLAG_SELF_PARENT | FLAG_OTHER_PARENT)) fail('unknown flags');
  let o = 6;
  const bodyEnd = bytes.length - SIGNATURE_BYTES;
  const take = (n: number): Uint8Array => {
    if (o + n > bodyEnd) fail('truncated');
    const s = bytes.subarray(o, o + n);
    o += n;
    return s;
  };
  const u64 = (): number => {
    const v = view.getBigUint64(take(8).byteOffset - bytes.byteOffset);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('integer out of range');
    return Number(v);
  };
  const u32 = (): number => view.getUint32(take(4).byteOffset - bytes.byteOffset);
  const creator = take(KEY_BYTES);
  const seq = u64();
  const selfParent = flags & FLAG_SELF_PARENT ? take(HASH_BYTES) : null;
  const otherParent = flags & FLAG_OTHER_PARENT ? take(HASH_BYTES) : null;
  const timestamp = u64();
  const rootLen = take(1)[0]!;
  const stateRoot = take(rootLen);
  const count = u32();
  if (count > MAX_PAYLOADS_PER_EVENT) fail('too many payloads');
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < count; i++) payloads.push(take(u32()));
  if (o !== bodyEnd) fail('trailing bytes');
  const body: EventBody = { creator, seq, selfParent, otherParent, timestamp, payloads, stateRoot };
  checkBodyLimits(body);
  const bodyBytes = bytes.subarray(0, bodyEnd);
  const id = hash(bodyBytes);
  return { body, id, idHex: toHex(id), signature: bytes.subarray(bodyEnd), bytes };
}

export function assembleEvent(
  body: EventBody,
  sign: (id: Uint8Array) => Uint8Array,
  hash: (data: Uint8Array) => Uint8Array,
): SignedEvent {
  const bytes = encodeBodyInto(body, SIGNATURE_BYTES);
  const bodyLength = bytes.length - SIGNATURE_BYTES;
  const id = hash(bytes.subarray(0, bodyLength));
  bytes.set(sign(id), bodyLength);
  return { body, id, idHex: toHex(id), signature: bytes.subarray(bodyLength), bytes };
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
