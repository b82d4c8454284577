import { Worker } from 'node:worker_threads';
import type { WorkerRequest, WorkerResponse } from './verify-protocol.js';

type Pending = { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void; worker: number };
/** A message to a worker: a WorkerRequest. */
type Message = WorkerRequest;
type Queued = {
  req: Message;
  transfer: ArrayBuffer[];
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
};

/** Job priority: `high` jobs (e.g. checking received events) go before any waiting `low` job (new intake). */
export type Priority = 'high' | 'low';

/**
 * A fixed pool of verification workers shared as CPU. Each worker holds at most `depth` jobs; the
 * rest wait here, high priority first, so new intake never starves the checks consensus waits on.
 */
export class VerifyPool {
  private readonly workers: Worker[];
  private readonly load: number[];
  private readonly pending = new Map<number, Pending>();
  private readonly queues: Record<Priority, Queued[]> = { high: [], low: [] };
  private nextId = 1;
  private closed = false;

  /**
   * `workerUrl`: another worker speaking the same protocol (verify-protocol.ts), e.g. the audit's,
   * which answers one verdict byte per item of its own kind.
   */
  constructor(
    readonly size: number,
    private readonly depth = 2,
    workerUrl?: URL,
  ) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('pool size must be >= 1');
    const url = workerUrl ?? new URL('./verify-worker.js', import.meta.url);
    this.workers = Array.from({ length: size }, (_, w) => {
      const worker = new Worker(url);
      worker.on('message', (res: WorkerResponse) => this.settle(res));
      worker.on('error', (err) => this.failWorker(w, err));
      return worker;
    });
    this.load = new Array<number>(size).fill(0);
  }

  /** Jobs submitted and not yet answered, running or waiting. */
  get inFlight(): number {
    return this.pending.size + this.queues.high.length + this.queues.low.length;
  }

  /** Jobs of this priority waiting for a worker. */
  waiting(priority: Priority): number {
    return this.queues[priority].length;
  }

  /** Verifies envelopes data[offsets[i], offsets[i+1]); `data`'s buffer is transferred (detached). */
  async verify(data: Uint8Array, offsets: Uint32Array, priority: Priority = 'high'): Promise<Uint8Array> {
    const req: WorkerRequest = { op: 'verify', id: 0, data, offsets };
    const res = await this.run(req, [data.buffer as ArrayBuffer], priority);
    if (res.op !== 'verify') throw new Error('unexpected worker answer');
    return res.ok;
  }

  async sign(secretKey: Uint8Array, firstSeq: number, count: number): Promise<Uint8Array> {
    const req: WorkerRequest = { op: 'sign', id: 0, secretKey, firstSeq, count };
    const res = await this.run(req, [], 'low');
    if (res.op !== 'sign') throw new Error('unexpected worker answer');
    return res.data;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [, p] of this.pending) p.reject(new Error('pool closed'));
    this.pending.clear();
    for (const q of [this.queues.high, this.queues.low])
      for (const job of q.splice(0)) job.reject(new Error('pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private run(req: Message, transfer: ArrayBuffer[], priority: Priority): Promise<WorkerResponse> {
    if (this.closed) return Promise.reject(new Error('pool closed'));
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.queues[priority].push({ req, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (;;) {
      let w = 0;
      for (let i = 1; i < this.size; i++) if (this.load[i]! < this.load[w]!) w = i;
      if (this.load[w]! >= this.depth) return;
      const job = this.queues.high.shift() ?? this.queues.low.shift();
      if (!job) return;
      const id = this.nextId++;
      this.load[w]!++;
      this.pending.set(id, { resolve: job.resolve, reject: job.reject, worker: w });
      this.workers[w]!.postMessage({ ...job.req, id }, job.transfer);
    }
  }

  private settle(res: WorkerResponse): void {
    const p = this.pending.get(res.id);
    if (!p) return;
    this.pending.delete(res.id);
    this.load[p.worker]!--;
    if (res.op === 'error') p.reject(new Error(res.message));
    else p.resolve(res);
    this.dispatch();
  }

  private failWorker(w: number, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      this.load[w]!--;
      p.reject(err);
    }
  }
}
