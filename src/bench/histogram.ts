/** Fixed-memory latency histogram: 0.1 ms buckets up to `maxMs`, one overflow bucket beyond. */
export class LatencyHistogram {
  private readonly buckets: Uint32Array;
  private readonly resolution = 0.1;
  private n = 0;
  private max = 0;

  constructor(readonly maxMs = 120_000) {
    this.buckets = new Uint32Array(Math.ceil(maxMs / this.resolution) + 2);
  }

  get count(): number {
    return this.n;
  }

  record(ms: number): void {
    const b = Math.min(this.buckets.length - 1, Math.max(0, Math.ceil(ms / this.resolution)));
    this.buckets[b]!++;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  /** The smallest bucket bound below which at least p (0..1) of the samples fall; null when empty. */
  percentile(p: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(p * this.n));
    let acc = 0;
    for (let b = 0; b < this.buckets.length; b++) {
      acc += this.buckets[b]!;
      if (acc >= rank)
        return b === this.buckets.length - 1 ? this.max : Math.round(b * this.resolution * 10) / 10;
    }
    return this.max;
  }
}
