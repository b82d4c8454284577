import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sha256, strictVerifier } from '../../domain/crypto/index.js';
import { judgeEnvelope, type PayloadError } from '../../domain/payloads/envelope.js';
import { type PackedBytes, packBytes, transferOf, unpackBytes } from '../shared/packed-bytes.js';

/**
 * Request bodies judged off the event loop: JSON, shape, size, schema and the strict signature,
 * by judgeEnvelope in a worker thread. Bodies that arrive in one event-loop turn go to a worker as
 * one message. Without workers (threads 0, or the compiled worker file absent, as under ts-jest)
 * it judges inline, with the same function.
 */

export type JudgedBody =
  | { readonly ok: true; readonly payloadId: string; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly error: PayloadError };

const PORTS = { verify: strictVerifier, hash: sha256 };
const MALFORMED: JudgedBody = {
  ok: false,
  error: { code: 'MALFORMED_JSON', message: 'the body is not valid JSON' },
};

/** As Express's JSON parser in strict mode (an object or an array; an empty body is {}), then judged. */
export function judgeBody(raw: Uint8Array): JudgedBody {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  const first = /[^ \t\n\r]/.exec(text)?.[0];
  let value: unknown = {};
  if (first !== undefined) {
    if (first !== '{' && first !== '[') return MALFORMED;
    try {
      value = JSON.parse(text);
    } catch {
      return MALFORMED;
    }
  }
  const judged = judgeEnvelope(value, PORTS);
  return judged.ok
    ? { ok: true, payloadId: judged.value.payloadId, bytes: judged.value.bytes }
    : { ok: false, error: judged.error };
}

export interface BodyJudge {
  judge(raw: Uint8Array): Promise<JudgedBody>;
  close(): Promise<void>;
}

/** A batch's verdicts as they cross threads: a payload id or an error each; good bodies' bytes packed. */
export interface PackedVerdicts {
  readonly verdicts: readonly (string | PayloadError)[];
  readonly bytes: PackedBytes;
}

export function packVerdicts(results: readonly JudgedBody[]): PackedVerdicts {
  return {
    verdicts: results.map((r) => (r.ok ? r.payloadId : r.error)),
    bytes: packBytes(results.flatMap((r) => (r.ok ? [r.bytes] : []))),
  };
}

export function unpackVerdicts(packed: PackedVerdicts): JudgedBody[] {
  const bytes = unpackBytes(packed.bytes);
  let next = 0;
  return packed.verdicts.map((v) =>
    typeof v === 'string' ? { ok: true, payloadId: v, bytes: bytes[next++]! } : { ok: false, error: v },
  );
}

/** What the pool needs of a worker thread (bodies in, verdicts out, packed); tests pass an in-thread stand-in. */
export interface JudgeWorker {
  postMessage(batch: PackedBytes, transfer: ArrayBuffer[]): void;
  on(event: 'message', listener: (results: PackedVerdicts) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  terminate(): Promise<number>;
}

interface Job {
  readonly raw: Uint8Array;
  resolve(result: JudgedBody): void;
}

interface Slot {
  readonly worker: JudgeWorker;
  /** Batches sent and not answered, oldest first (a worker answers in order). */
  readonly inFlight: Job[][];
}

export class JudgePool implements BodyJudge {
  private readonly slots: Slot[];
  private queue: Job[] = [];
  private scheduled = false;
  private broken = false;

  constructor(workers: readonly JudgeWorker[]) {
    this.slots = workers.map((worker) => {
      const slot: Slot = { worker, inFlight: [] };
      worker.on('message', (packed) => {
        const results = unpackVerdicts(packed);
        const batch = slot.inFlight.shift();
        batch?.forEach((job, i) => job.resolve(results[i] ?? MALFORMED));
      });
      worker.on('error', () => this.fail());
      return slot;
    });
  }

  judge(raw: Uint8Array): Promise<JudgedBody> {
    if (this.slots.length === 0 || this.broken) return Promise.resolve(judgeBody(raw));
    return new Promise<JudgedBody>((resolve) => {
      this.queue.push({ raw, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    this.broken = true;
    this.judgeInline([...this.queue, ...this.slots.flatMap((s) => s.inFlight.splice(0).flat())]);
    this.queue = [];
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    if (jobs.length === 0) return;
    if (this.broken) return this.judgeInline(jobs);
    // Least loaded first; a turn's jobs are split across the workers when there are several.
    const slots = [...this.slots].sort((a, b) => a.inFlight.length - b.inFlight.length);
    const per = Math.ceil(jobs.length / slots.length);
    for (let i = 0; i * per < jobs.length; i++) {
      const part = jobs.slice(i * per, (i + 1) * per);
      slots[i]!.inFlight.push(part);
      const packed = packBytes(part.map((j) => j.raw));
      slots[i]!.worker.postMessage(packed, transferOf(packed));
    }
  }

  private judgeInline(jobs: readonly Job[]): void {
    for (const j of jobs) j.resolve(judgeBody(j.raw));
  }

  /** A worker died: judge what it held, and everything after, inline. */
  private fail(): void {
    if (this.broken) return;
    this.broken = true;
    this.judgeInline(this.slots.flatMap((s) => s.inFlight.splice(0).flat()));
  }
}

/** Up to `threads` workers running judge-worker.js; none when the compiled worker is not there. */
export function createJudgePool(threads: number): JudgePool {
  const url = new URL('./judge-worker.js', import.meta.url);
  if (threads <= 0 || !existsSync(fileURLToPath(url))) return new JudgePool([]);
  return new JudgePool(
    Array.from({ length: threads }, () => {
      const worker = new Worker(url);
      worker.unref();
      return worker as unknown as JudgeWorker;
    }),
  );
}
