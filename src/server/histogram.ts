/**
 * A Prometheus histogram as one member keeps it: how many observations fell
 * at or under each upper bound, their sum and their count. Plain data, so
 * it crosses RPC to the Worker that renders /metrics.
 */

export interface HistogramCounts {
  /** Upper bounds, increasing; a last, implicit bucket is +Inf. */
  bounds: number[];
  /** Observations per bucket (not cumulative): one per bound, then +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

/** etcd's buckets for its disk histograms: 1 ms doubling 14 times, to about 8 s. */
export const DISK_SECONDS_BUCKETS = Array.from({ length: 14 }, (_, k) => 0.001 * 2 ** k);

export class Histogram {
  private readonly data: HistogramCounts;

  constructor(bounds: number[]) {
    this.data = { bounds: [...bounds], buckets: new Array(bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  observe(value: number): void {
    const k = this.data.bounds.findIndex((b) => value <= b);
    this.data.buckets[k < 0 ? this.data.bounds.length : k]++;
    this.data.sum += value;
    this.data.count++;
  }

  counts(): HistogramCounts {
    return { ...this.data, bounds: [...this.data.bounds], buckets: [...this.data.buckets] };
  }
}
