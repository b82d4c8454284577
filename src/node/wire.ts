import type { Hex } from '../../domain/shadowgraph/event.js';

/**
 * Frames on a node's inbox topic. Requests are small JSON; event batches are length-prefixed
 * event bytes, which the receiver decodes and verifies like any gossip (the bus is untrusted).
 */
export type InboxFrame =
  | {
      readonly kind: 'fetch';
      readonly from: Hex;
      readonly ids: readonly Hex[];
      readonly known: readonly [Hex, number][];
    }
  | { readonly kind: 'sync'; readonly from: Hex; readonly known: readonly [Hex, number][] }
  | { readonly kind: 'events'; readonly from: Hex; readonly events: readonly Uint8Array[] };

const FETCH = 1;
const SYNC = 2;
const EVENTS = 3;
/** Event batches are cut below this, well under the broker's message limit. */
export const MAX_FRAME_BYTES = 900 * 1024;

export class WireError extends Error {
  readonly code = 'BAD_FRAME';
}

export function encodeFrame(frame: InboxFrame): Uint8Array {
  if (frame.kind !== 'events') {
    const json = new TextEncoder().encode(JSON.stringify(frame));
    const out = new Uint8Array(1 + json.length);
    out[0] = frame.kind === 'fetch' ? FETCH : SYNC;
    out.set(json, 1);
    return out;
  }
  const from = new TextEncoder().encode(frame.from);
  let size = 1 + 1 + from.length + 4;
  for (const e of frame.events) size += 4 + e.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = EVENTS;
  out[1] = from.length;
  out.set(from, 2);
  let o = 2 + from.length;
  view.setUint32(o, frame.events.length);
  o += 4;
  for (const e of frame.events) {
    view.setUint32(o, e.length);
    out.set(e, o + 4);
    o += 4 + e.length;
  }
  return out;
}

export function decodeFrame(bytes: Uint8Array): InboxFrame {
  if (bytes.length < 2) throw new WireError('empty frame');
  const kind = bytes[0];
  if (kind === FETCH || kind === SYNC) {
    const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(1))) as InboxFrame;
    if (parsed.kind !== (kind === FETCH ? 'fetch' : 'sync') || typeof parsed.from !== 'string')
      throw new WireError('bad request frame');
    return parsed;
  }
  if (kind !== EVENTS) throw new WireError(`unknown frame kind ${kind}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fromLen = bytes[1]!;
  const from = new TextDecoder().decode(bytes.subarray(2, 2 + fromLen));
  let o = 2 + fromLen;
  if (o + 4 > bytes.length) throw new WireError('truncated frame');
  const count = view.getUint32(o);
  o += 4;
  const events: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 4 > bytes.length) throw new WireError('truncated frame');
    const len = view.getUint32(o);
    if (o + 4 + len > bytes.length) throw new WireError('truncated frame');
    events.push(bytes.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  return { kind: 'events', from, events };
}

/** Splits event bytes into frames that each stay under MAX_FRAME_BYTES. */
export function eventFrames(from: Hex, events: readonly Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let batch: Uint8Array[] = [];
  let size = 0;
  for (const e of events) {
    if (batch.length > 0 && size + e.length + 4 > MAX_FRAME_BYTES) {
      frames.push(encodeFrame({ kind: 'events', from, events: batch }));
      batch = [];
      size = 0;
    }
    batch.push(e);
    size += e.length + 4;
  }
  if (batch.length > 0) frames.push(encodeFrame({ kind: 'events', from, events: batch }));
  return frames;
}
