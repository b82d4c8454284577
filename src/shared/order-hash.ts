import { createHash } from 'node:crypto';

/**
 * The running hash of a consensus order (DESIGN.md, `GET /v1/ledger/at/:index`):
 * h(0) = 32 zero bytes, h(k+1) = sha256(h(k) ‖ id(k)) over the 32-byte ids of the ordered events.
 * Two nodes agree on the first k events exactly when their h(k) are equal.
 */
export const ORDER_HASH_GENESIS: Uint8Array = new Uint8Array(32);

export function chainOrderHash(previous: Uint8Array, eventId: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(previous).update(eventId).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/** Keeps the running order hash and a bounded history of it, so nodes at different heights can compare. */
export class OrderHashChain {
  private current: Uint8Array = ORDER_HASH_GENESIS;
  private count = 0;
  private readonly history: (string | undefined)[];
  private readonly historyIndex: Float64Array;

  constructor(readonly historySize = 8192) {
    if (!Number.isSafeInteger(historySize) || historySize < 1)
      throw new RangeError('historySize must be >= 1');
    this.history = new Array<string | undefined>(historySize);
    this.historyIndex = new Float64Array(historySize).fill(-1);
    this.remember();
  }

  /** Number of ordered events folded in so far (the consensus index of the next one). */
  get length(): number {
    return this.count;
  }

  get head(): string {
    return Buffer.from(this.current).toString('hex');
  }

  append(eventId: Uint8Array): void {
    this.current = chainOrderHash(this.current, eventId);
    this.count++;
    this.remember();
  }

  /** h(index) in hex, or undefined when index is ahead or has left the history window. */
  at(index: number): string | undefined {
    const slot = index % this.historySize;
    return this.historyIndex[slot] === index ? this.history[slot] : undefined;
  }

  private remember(): void {
    const slot = this.count % this.historySize;
    this.history[slot] = this.head;
    this.historyIndex[slot] = this.count;
  }
}
