import { sha256, strictVerifier } from '../../domain/crypto/index.js';
import { type OpenedPayload, openPayloadBytes, type PayloadError } from '../../domain/payloads/envelope.js';

/**
 * What the audit computes ahead of consensus, in worker threads (audit-worker.ts) or inline, by
 * the same functions. Items are packed back to back, item i being data[offsets[i], offsets[i+1])
 * (the VerifyPool protocol).
 */

/** A signature item: signature (64) | public key (32) | message. */
export function judgeItems(data: Uint8Array, offsets: Uint32Array, verifier = strictVerifier): Uint8Array {
  const count = offsets.length - 1;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = judgeItem(data.subarray(offsets[i]!, offsets[i + 1]!), verifier);
  return out;
}

function judgeItem(item: Uint8Array, verifier = strictVerifier): number {
  return item.length >= 96 && verifier.verify(item.subarray(0, 64), item.subarray(96), item.subarray(64, 96))
    ? 1
    : 0;
}

/** A job of the audit: `events` signature items (one per event), then the events' payloads' bytes. */
export interface AuditJob {
  readonly op: 'audit';
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly events: number;
}

/** openPayloadBytes' answer without the bytes (the asker has them: equal to the bytes it sent). */
export type OpenedAnswer =
  | { readonly ok: true; readonly value: Omit<OpenedPayload, 'bytes'> }
  | { readonly ok: false; readonly error: PayloadError };

export interface AuditAnswer {
  readonly op: 'audit';
  readonly id: number;
  /** 1 when the event's signature verifies under the strict verifier, 0 when not. */
  readonly verdicts: Uint8Array;
  /** What openPayloadBytes answers for each payload with the strict verifier, in job order. */
  readonly opened: OpenedAnswer[];
}

const STRICT = { verify: strictVerifier, hash: sha256 };

export function judgeJob(job: Omit<AuditJob, 'op'>): Omit<AuditAnswer, 'op' | 'id'> {
  const { data, offsets, events } = job;
  const verdicts = new Uint8Array(events);
  for (let i = 0; i < events; i++) verdicts[i] = judgeItem(data.subarray(offsets[i]!, offsets[i + 1]!));
  const opened: OpenedAnswer[] = [];
  for (let i = events; i < offsets.length - 1; i++) {
    const o = openPayloadBytes(data.subarray(offsets[i]!, offsets[i + 1]!), STRICT);
    opened.push(
      o.ok
        ? {
            ok: true,
            value: { payloadId: o.value.payloadId, envelope: o.value.envelope, payload: o.value.payload },
          }
        : o,
    );
  }
  return { verdicts, opened };
}
