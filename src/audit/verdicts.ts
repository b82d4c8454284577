import { sha256, type SignatureVerifier, strictVerifier } from '../../domain/crypto/index.js';
import { type Opened, openPayloadBytes, SIGNING_DOMAIN } from '../../domain/payloads/envelope.js';

export { judgeItems } from './judge-items.js';

/** A signature to verify: what judgeItems takes, packed. */
export interface SignatureItem {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
}

/**
 * One audit job being filled: each event's (signature, id, creator), then the signature of every
 * payload the events carry, read off its canonical envelope (payloadSignature; an empty item for
 * bytes laid out otherwise). Packed for judgeItems: one strict verdict per item.
 */
export class JobItems {
  private readonly eventItems: SignatureItem[] = [];
  /** The payloads' bytes as the events hold them: the processor asks to open these very arrays. */
  readonly payloads: Uint8Array[] = [];
  /** payloads[i]'s signature item, or null when its bytes are not laid out as a canonical envelope. */
  readonly payloadItems: (SignatureItem | null)[] = [];

  get events(): number {
    return this.eventItems.length;
  }

  event(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    payloads: readonly Uint8Array[],
  ): void {
    this.eventItems.push({ signature, message, publicKey });
    for (const p of payloads) {
      this.payloads.push(p);
      this.payloadItems.push(payloadSignature(p));
    }
  }

  /** Items: the events' first (as many as `events`), then the payloads', in order. */
  pack(): { data: Uint8Array; offsets: Uint32Array; events: number } {
    return { ...packItems([...this.eventItems, ...this.payloadItems]), events: this.events };
  }
}

/**
 * Signature items packed back to back for judgeItems. A null item, or one whose signature or key
 * has the wrong size, is an empty item, which does not verify.
 */
export function packItems(items: readonly (SignatureItem | null)[]): {
  data: Uint8Array;
  offsets: Uint32Array;
} {
  const whole = (t: SignatureItem | null): t is SignatureItem =>
    t !== null && t.signature.length === 64 && t.publicKey.length === 32;
  let size = 0;
  for (const t of items) if (whole(t)) size += 96 + t.message.length;
  const data = new Uint8Array(size);
  const offsets = new Uint32Array(items.length + 1);
  let at = 0;
  items.forEach((t, i) => {
    offsets[i] = at;
    if (!whole(t)) return;
    data.set(t.signature, at);
    data.set(t.publicKey, at + 64);
    data.set(t.message, at + 96);
    at += 96 + t.message.length;
  });
  offsets[items.length] = at;
  return { data, offsets };
}

interface Remembered {
  readonly item: SignatureItem;
  readonly verdict: boolean;
}

const STRICT = { verify: strictVerifier, hash: sha256 };

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.compare(a, b) === 0;

/**
 * The processor's `open` for the audit: openPayloadBytes(bytes, {strictVerifier, sha256}), where
 * the signature check is answered by the strict verdict a job computed ahead of the order, when
 * (and only when) openPayloadBytes asks about exactly the signature, message and key that verdict
 * is for. Verdicts are keyed by the very byte arrays the jobs carried (the events' payloads, which
 * the processor is handed back in order) and used once; anything else is verified then.
 */
export class PayloadVerdicts {
  private readonly known = new Map<Uint8Array, Remembered>();
  private current: Remembered | undefined;
  /** Signature checks answered by a remembered verdict. */
  hits = 0;

  private readonly verifier: SignatureVerifier = {
    verify: (signature, message, publicKey) => {
      const r = this.current;
      if (
        r &&
        sameBytes(signature, r.item.signature) &&
        sameBytes(publicKey, r.item.publicKey) &&
        sameBytes(message, r.item.message)
      ) {
        this.hits++;
        return r.verdict;
      }
      return strictVerifier.verify(signature, message, publicKey);
    },
  };

  private readonly ports = { verify: this.verifier, hash: sha256 };

  remember(bytes: Uint8Array, item: SignatureItem, verdict: boolean): void {
    this.known.set(bytes, { item, verdict });
  }

  readonly open = (bytes: Uint8Array): Opened => {
    const remembered = this.known.get(bytes);
    if (remembered === undefined) return openPayloadBytes(bytes, STRICT);
    this.known.delete(bytes);
    this.current = remembered;
    try {
      return openPayloadBytes(bytes, this.ports);
    } finally {
      this.current = undefined;
    }
  };
}

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
 * the signature if they parse). The audit's jobs verify these, and so does the bench's bound.
 */
export function payloadSignature(bytes: Uint8Array): SignatureItem | null {
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
