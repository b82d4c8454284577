import { sha256, type SignatureVerifier, strictVerifier } from '../../domain/crypto/index.js';
import { type Opened, openPayloadBytes } from '../../domain/payloads/envelope.js';

/**
 * Signature verdicts computed ahead of consensus, in worker threads (audit-worker.ts) or inline,
 * by the same function. A job is a list of items back to back (item i is data[offsets[i],
 * offsets[i+1])), the VerifyPool protocol; the first byte of an item says what it is:
 *
 * - EVENT: signature (64) | message (32, the event id) | public key (32), checked with the strict
 *   verifier. Answer: 1 verifies, 0 does not.
 * - PAYLOAD: payload bytes from an event, opened with openPayloadBytes and the strict verifier.
 *   Answer: 1 or 0, what the one signature check inside answered, or NOT_REACHED when opening
 *   failed before it (shape, size, schema): then opening on the main thread fails the same way
 *   without asking for a verdict.
 */
export const ITEM = { event: 0, payload: 1 } as const;
export const NOT_REACHED = 2;
/** openPayloadBytes asked the verifier more than once: no single verdict stands for it. */
export const AMBIGUOUS = 3;

export function judgeItems(data: Uint8Array, offsets: Uint32Array, verifier = strictVerifier): Uint8Array {
  const count = offsets.length - 1;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const item = data.subarray(offsets[i]!, offsets[i + 1]!);
    if (item[0] === ITEM.event && item.length === 129)
      out[i] = verifier.verify(item.subarray(1, 65), item.subarray(65, 97), item.subarray(97, 129)) ? 1 : 0;
    else if (item[0] === ITEM.payload) {
      let verdict: number = NOT_REACHED;
      const recording: SignatureVerifier = {
        verify(signature, message, publicKey) {
          const good = verifier.verify(signature, message, publicKey);
          verdict = verdict === NOT_REACHED ? (good ? 1 : 0) : AMBIGUOUS;
          return good;
        },
      };
      openPayloadBytes(item.subarray(1), { verify: recording, hash: sha256 });
      out[i] = verdict;
    } else out[i] = AMBIGUOUS;
  }
  return out;
}

const STRICT_PORTS = { verify: strictVerifier, hash: sha256 };
const VERDICT_PORTS = [false, true].map((good) => ({ verify: { verify: () => good }, hash: sha256 }));

/**
 * What openPayloadBytes(bytes, {strict verifier, sha256}) answers, given `verdict`, the answer
 * judgeItems gave for the same bytes: opening is deterministic, so it asks the verifier the same
 * question the worker asked (at most once), and gets the same answer. Without a single verdict
 * (none known, NOT_REACHED, AMBIGUOUS) it opens with the strict verifier itself.
 */
export function openWithVerdict(bytes: Uint8Array, verdict: number | undefined): Opened {
  return openPayloadBytes(bytes, verdict === 0 || verdict === 1 ? VERDICT_PORTS[verdict]! : STRICT_PORTS);
}

/** A map key for payload bytes. */
export const payloadKey = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/** Items of one job, packed for a transfer to a worker: the events' items first, then the payloads'. */
export class ItemBatch {
  private readonly events: Uint8Array[] = [];
  private readonly payloads: Uint8Array[] = [];
  private size = 0;

  get length(): number {
    return this.events.length + this.payloads.length;
  }

  event(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): void {
    const item = new Uint8Array(129);
    item[0] = ITEM.event;
    item.set(signature.subarray(0, 64), 1);
    item.set(message.subarray(0, 32), 65);
    item.set(publicKey.subarray(0, 32), 97);
    this.events.push(item);
    this.size += item.length;
  }

  payload(bytes: Uint8Array): void {
    const item = new Uint8Array(bytes.length + 1);
    item[0] = ITEM.payload;
    item.set(bytes, 1);
    this.payloads.push(item);
    this.size += item.length;
  }

  pack(): { data: Uint8Array; offsets: Uint32Array } {
    const parts = [...this.events, ...this.payloads];
    const data = new Uint8Array(this.size);
    const offsets = new Uint32Array(parts.length + 1);
    let at = 0;
    parts.forEach((p, i) => {
      offsets[i] = at;
      data.set(p, at);
      at += p.length;
    });
    offsets[parts.length] = at;
    return { data, offsets };
  }
}
