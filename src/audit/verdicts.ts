import { type SignatureVerifier, strictVerifier } from '../../domain/crypto/index.js';
import { SIGNING_DOMAIN } from '../../domain/payloads/envelope.js';

export { judgeItems } from './judge-items.js';

/** Items of one job, packed for a transfer to a worker: the events' items first, then the payloads'. */
export class ItemBatch {
  private readonly events: Uint8Array[] = [];
  private readonly payloads: Uint8Array[] = [];
  private size = 0;

  get length(): number {
    return this.events.length + this.payloads.length;
  }

  /** Adds an event's (signature, message, public key). */
  event(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): void {
    this.events.push(this.item(signature, message, publicKey));
  }

  /** Adds a payload's (signature, message, public key); returns the item, for VerdictMemo.remember. */
  payload(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Uint8Array {
    const item = this.item(signature, message, publicKey);
    this.payloads.push(item);
    return item;
  }

  pack(): { data: Uint8Array; offsets: Uint32Array } {
    const items = [...this.events, ...this.payloads];
    const data = new Uint8Array(this.size);
    const offsets = new Uint32Array(items.length + 1);
    let at = 0;
    items.forEach((p, i) => {
      offsets[i] = at;
      data.set(p, at);
      at += p.length;
    });
    offsets[items.length] = at;
    return { data, offsets };
  }

  private item(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Uint8Array {
    const item = new Uint8Array(96 + message.length);
    item.set(signature.subarray(0, 64), 0);
    item.set(publicKey.subarray(0, 32), 64);
    item.set(message, 96);
    this.size += item.length;
    return item;
  }
}

const keyOf = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): string =>
  signature.length === 64 && publicKey.length === 32
    ? Buffer.concat([signature, publicKey, message]).toString('latin1')
    : '';

/**
 * The strict verifier, with answers it gave ahead of time (judgeItems, on the same signature,
 * message and key) remembered: a remembered answer is used once, anything else is verified now.
 * So it answers every question exactly as strictVerifier does.
 */
export class VerdictMemo implements SignatureVerifier {
  private readonly verdicts = new Map<string, boolean>();
  hits = 0;

  remember(item: Uint8Array, verdict: number): void {
    this.verdicts.set(
      Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('latin1'),
      verdict === 1,
    );
  }

  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    const key = keyOf(signature, message, publicKey);
    const known = key === '' ? undefined : this.verdicts.get(key);
    if (known === undefined) return strictVerifier.verify(signature, message, publicKey);
    this.verdicts.delete(key);
    this.hits++;
    return known;
  }
}

const utf8 = new TextEncoder();
const ENVELOPE_HEAD = utf8.encode('{"payload":');
const SIGNATURE_AT = utf8.encode(',"signature":"');
const SIGNER_AT = utf8.encode('","signer":"');
const DOMAIN = utf8.encode(SIGNING_DOMAIN);
/** `,"signature":"` + 128 hex + `","signer":"` + 64 hex + `"}` */
const ENVELOPE_TAIL = 14 + 128 + 12 + 64 + 2;

/**
 * The signature, signing bytes and key the processor will ask the verifier about when it opens
 * these payload bytes, read off a canonical envelope (its keys sorted: payload, signature, signer)
 * without parsing it. A guess only: the memo answers a question asked with other bytes by
 * verifying it then, so bytes laid out otherwise just miss the memo.
 */
export function payloadSignature(
  bytes: Uint8Array,
): { signature: Uint8Array; message: Uint8Array; publicKey: Uint8Array } | null {
  const n = bytes.length;
  const sigAt = n - ENVELOPE_TAIL;
  if (sigAt < ENVELOPE_HEAD.length || bytes[n - 1] !== 0x7d || bytes[n - 2] !== 0x22) return null;
  for (let i = 0; i < ENVELOPE_HEAD.length; i++) if (bytes[i] !== ENVELOPE_HEAD[i]) return null;
  for (let i = 0; i < SIGNATURE_AT.length; i++) if (bytes[sigAt + i] !== SIGNATURE_AT[i]) return null;
  for (let i = 0; i < SIGNER_AT.length; i++) if (bytes[n - 78 + i] !== SIGNER_AT[i]) return null;
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signature = Buffer.from(hex.toString('latin1', n - 206, n - 78), 'hex');
  const publicKey = Buffer.from(hex.toString('latin1', n - 66, n - 2), 'hex');
  if (signature.length !== 64 || publicKey.length !== 32) return null;
  const message = new Uint8Array(DOMAIN.length + sigAt - ENVELOPE_HEAD.length);
  message.set(DOMAIN, 0);
  message.set(bytes.subarray(ENVELOPE_HEAD.length, sigAt), DOMAIN.length);
  return { signature, message, publicKey };
}
