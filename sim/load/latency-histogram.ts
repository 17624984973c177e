/** Smallest latency told apart from zero; anything faster lands in the first bucket. */
const MIN_MS = 0.01;
/** Each bucket is this much wider than the one before: percentiles are within 1% of the truth. */
const GROWTH = 1.01;
/** Buckets up to about 10 minutes; slower samples land in the last one. */
const BUCKETS = Math.ceil(Math.log(600_000 / MIN_MS) / Math.log(GROWTH)) + 1;

/** What a histogram says about its samples, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** A histogram as it crosses a process boundary: only the buckets that hold samples. */
export interface HistogramData {
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  readonly maxMs: number;
}

/**
 * Latencies in log-spaced buckets, so that a million samples cost a few kilobytes and histograms
 * from several client processes merge exactly. A percentile is the upper edge of the bucket that
 * holds it: never below the true value, and at most 1% above it.
 */
export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;
  private maxMs = 0;

  record(ms: number): void {
    const index = Math.min(
      BUCKETS - 1,
      Math.max(0, Math.ceil(Math.log(Math.max(ms, MIN_MS) / MIN_MS) / Math.log(GROWTH))),
    );
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
    this.total += 1;
    this.maxMs = Math.max(this.maxMs, ms);
  }

  get count(): number {
    return this.total;
  }

  merge(data: HistogramData): void {
    for (const [index, count] of data.buckets) {
      this.counts.set(index, (this.counts.get(index) ?? 0) + count);
      this.total += count;
    }
    this.maxMs = Math.max(this.maxMs, data.maxMs);
  }

  toData(): HistogramData {
    return { buckets: [...this.counts], maxMs: this.maxMs };
  }

  /** `fraction` in (0, 1]; 0 when there are no samples. */
  percentileMs(fraction: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(fraction * this.total);
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index) ?? 0;
      if (seen >= rank) return Math.min(MIN_MS * GROWTH ** index, this.maxMs);
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50Ms: round(this.percentileMs(0.5)),
      p95Ms: round(this.percentileMs(0.95)),
      p99Ms: round(this.percentileMs(0.99)),
      maxMs: round(this.maxMs),
    };
  }
}

/** Three significant decimals are more than a loopback measurement can honestly claim. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
