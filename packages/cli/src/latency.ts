export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Exact percentiles over every recorded sample (nearest-rank), growing its buffer as needed. */
export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private size = 0;

  record(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.size).sort();
    const rank = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
    const total = sorted.reduce((a, b) => a + b, 0);
    return {
      count: sorted.length,
      meanMs: sorted.length === 0 ? 0 : total / sorted.length,
      p50Ms: rank(0.5),
      p90Ms: rank(0.9),
      p99Ms: rank(0.99),
      maxMs: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
    };
  }

  reset(): void {
    this.size = 0;
  }
}
