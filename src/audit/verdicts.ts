import { sha256, strictVerifier } from '../../domain/crypto/index.js';
import { type Opened, openPayloadBytes, SIGNING_DOMAIN } from '../../domain/payloads/envelope.js';
import type { AuditJob, OpenedAnswer } from './judge-items.js';

export { type AuditAnswer, type AuditJob, judgeItems, judgeJob, type OpenedAnswer } from './judge-items.js';

/**
 * One audit job being filled (judge-items.ts): each event's (signature, id, creator), then the
 * bytes of every payload the events carry. Nothing is copied until `pack`.
 */
export class JobItems {
  private readonly triples: Uint8Array[] = [];
  /** The payloads' bytes as the events hold them: the processor asks to open these very arrays. */
  readonly payloads: Uint8Array[] = [];
  private size = 0;

  get events(): number {
    return this.triples.length / 3;
  }

  event(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    payloads: readonly Uint8Array[],
  ): void {
    this.triples.push(signature, publicKey, message);
    this.size += 96 + message.length;
    for (const p of payloads) {
      this.payloads.push(p);
      this.size += p.length;
    }
  }

  pack(): AuditJob {
    const events = this.events;
    const data = new Uint8Array(this.size);
    const offsets = new Uint32Array(events + this.payloads.length + 1);
    let at = 0;
    const t = this.triples;
    for (let i = 0; i < events; i++) {
      offsets[i] = at;
      const signature = t[3 * i]!;
      const publicKey = t[3 * i + 1]!;
      const message = t[3 * i + 2]!;
      // A signature or key of the wrong size makes an empty item, which does not verify.
      if (signature.length === 64 && publicKey.length === 32) {
        data.set(signature, at);
        data.set(publicKey, at + 64);
        data.set(message, at + 96);
        at += 96 + message.length;
      }
    }
    this.payloads.forEach((p, i) => {
      offsets[events + i] = at;
      data.set(p, at);
      at += p.length;
    });
    offsets[offsets.length - 1] = at;
    return { op: 'audit', data: at === data.length ? data : data.slice(0, at), offsets, events };
  }
}

/** Signature items packed back to back for judgeItems: (signature, message, public key) each. */
export function packItems(
  items: readonly { signature: Uint8Array; message: Uint8Array; publicKey: Uint8Array }[],
): {
  data: Uint8Array;
  offsets: Uint32Array;
} {
  let size = 0;
  for (const t of items) size += 96 + t.message.length;
  const data = new Uint8Array(size);
  const offsets = new Uint32Array(items.length + 1);
  let at = 0;
  items.forEach((t, i) => {
    offsets[i] = at;
    if (t.signature.length !== 64 || t.publicKey.length !== 32) return;
    data.set(t.signature, at);
    data.set(t.publicKey, at + 64);
    data.set(t.message, at + 96);
    at += 96 + t.message.length;
  });
  offsets[items.length] = at;
  return { data: data.subarray(0, at), offsets };
}

/**
 * Payload verdicts computed ahead of the order, keyed by the very byte arrays they were computed
 * for (the events' payloads the processor is handed back in order): each is used once; any other
 * bytes are opened then, with the strict verifier. So `open` answers exactly as
 * openPayloadBytes(bytes, {strictVerifier, sha256}) does.
 */
export class OpenedMemo {
  private readonly known = new Map<Uint8Array, OpenedAnswer>();
  hits = 0;

  remember(bytes: Uint8Array, answer: OpenedAnswer): void {
    this.known.set(bytes, answer);
  }

  readonly open = (bytes: Uint8Array): Opened => {
    const answer = this.known.get(bytes);
    if (answer === undefined) return openPayloadBytes(bytes, STRICT);
    this.known.delete(bytes);
    this.hits++;
    return answer.ok ? { ok: true, value: { ...answer.value, bytes } } : answer;
  };
}

const STRICT = { verify: strictVerifier, hash: sha256 };

const utf8 = new TextEncoder();
const ENVELOPE_HEAD = utf8.encode('{"payload":');
const SIGNATURE_AT = utf8.encode(',"signature":"');
const SIGNER_AT = utf8.encode('","signer":"');
const DOMAIN = utf8.encode(SIGNING_DOMAIN);
/** `,"signature":"` + 128 hex + `","signer":"` + 64 hex + `"}` */
const ENVELOPE_TAIL = 14 + 128 + 12 + 64 + 2;

/**
 * The signature, signing bytes and key that openPayloadBytes verifies for these payload bytes,
 * read off a canonical envelope (its keys sorted: payload, signature, signer) without parsing it;
 * null for bytes laid out otherwise (not canonical: openPayloadBytes refuses them, after verifying
 * the signature if they parse). For the bench's bound, which so counts no more than the audit checks.
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
