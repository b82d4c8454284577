import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createStrictVerifier, type SignatureVerifier } from '../../domain/crypto/index.js';

/**
 * Payload signatures checked off the event loop: jobs queued in one turn go to a worker thread as
 * one message (strict RFC 8032, the same verifier as everywhere). Without workers (threads 0, or
 * the compiled worker file absent, as under ts-jest) it verifies inline.
 *
 * Batch layout: per job, u32 message length, 64 bytes signature, 32 bytes key, then the message.
 */

export interface AsyncVerifier {
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
}

/** What the pool needs of a worker thread; tests pass an in-thread stand-in. */
export interface VerifyWorker {
  postMessage(batch: Uint8Array, transfer: ArrayBuffer[]): void;
  on(event: 'message', listener: (ok: Uint8Array) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  terminate(): Promise<number>;
}

const HEADER = 4 + 64 + 32;

export function packBatch(
  jobs: readonly { sig: Uint8Array; msg: Uint8Array; key: Uint8Array }[],
): Uint8Array {
  let size = 0;
  for (const j of jobs) size += HEADER + j.msg.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const j of jobs) {
    view.setUint32(at, j.msg.length);
    out.set(j.sig.subarray(0, 64), at + 4);
    out.set(j.key.subarray(0, 32), at + 68);
    out.set(j.msg, at + HEADER);
    at += HEADER + j.msg.length;
  }
  return out;
}

/** What a worker runs: 1 for a good signature, 0 otherwise, per job. */
export function verifyBatch(batch: Uint8Array, verifier: SignatureVerifier): Uint8Array {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const results: number[] = [];
  let at = 0;
  while (at < batch.length) {
    const len = view.getUint32(at);
    const sig = batch.subarray(at + 4, at + 68);
    const key = batch.subarray(at + 68, at + HEADER);
    const msg = batch.subarray(at + HEADER, at + HEADER + len);
    results.push(verifier.verify(sig, msg, key) ? 1 : 0);
    at += HEADER + len;
  }
  return Uint8Array.from(results);
}

interface Job {
  readonly sig: Uint8Array;
  readonly msg: Uint8Array;
  readonly key: Uint8Array;
  resolve(ok: boolean): void;
}

interface Slot {
  readonly worker: VerifyWorker;
  /** Batches sent and not answered, oldest first (a worker answers in order). */
  readonly inFlight: Job[][];
}

export class VerifyPool implements AsyncVerifier {
  private readonly inline = createStrictVerifier();
  private readonly slots: Slot[];
  private queue: Job[] = [];
  private scheduled = false;
  private broken = false;

  constructor(workers: readonly VerifyWorker[]) {
    this.slots = workers.map((worker) => {
      const slot: Slot = { worker, inFlight: [] };
      worker.on('message', (ok) => {
        const batch = slot.inFlight.shift();
        batch?.forEach((job, i) => job.resolve(ok[i] === 1));
      });
      worker.on('error', () => this.fail());
      return slot;
    });
  }

  async verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
    if (this.slots.length === 0 || this.broken) return this.inline.verify(signature, message, publicKey);
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    return new Promise<boolean>((resolve) => {
      this.queue.push({ sig: signature, msg: message, key: publicKey, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    this.broken = true;
    this.flushInline([...this.queue, ...this.slots.flatMap((s) => s.inFlight.splice(0).flat())]);
    this.queue = [];
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    if (jobs.length === 0) return;
    if (this.broken) return this.flushInline(jobs);
    // Least loaded first; a batch is split across the workers when there are several.
    const slots = [...this.slots].sort((a, b) => a.inFlight.length - b.inFlight.length);
    const per = Math.ceil(jobs.length / slots.length);
    for (let i = 0; i * per < jobs.length; i++) {
      const part = jobs.slice(i * per, (i + 1) * per);
      const batch = packBatch(part);
      slots[i]!.inFlight.push(part);
      slots[i]!.worker.postMessage(batch, [batch.buffer as ArrayBuffer]);
    }
  }

  private flushInline(jobs: readonly Job[]): void {
    for (const j of jobs) j.resolve(this.inline.verify(j.sig, j.msg, j.key));
  }

  /** A worker died: verify what it held, and everything after, inline. */
  private fail(): void {
    if (this.broken) return;
    this.broken = true;
    this.flushInline(this.slots.flatMap((s) => s.inFlight.splice(0).flat()));
  }
}

/** Up to `threads` workers running verify-worker.js; none when the compiled worker is not there. */
export function createVerifyPool(threads: number): VerifyPool {
  const url = new URL('./verify-worker.js', import.meta.url);
  if (threads <= 0 || !existsSync(fileURLToPath(url))) return new VerifyPool([]);
  return new VerifyPool(
    Array.from({ length: threads }, () => {
      const worker = new Worker(url);
      worker.unref();
      return worker as unknown as VerifyWorker;
    }),
  );
}
