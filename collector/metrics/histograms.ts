/**
 * Histogram accumulators, one per series: explicit buckets (the default,
 * and what Prometheus reads) and base-2 exponential buckets (when the
 * OTLP metrics export asks for them). Values are durations and sizes,
 * never negative. The SDK's own aggregators are not public API and sit
 * behind a per-record attribute hash that costs ~2 µs; Sonde records
 * several values per request, so it keeps the series itself.
 */
import type { ExponentialHistogram, Histogram } from '@opentelemetry/sdk-metrics';

/** Seconds: the HTTP semantic conventions' advised boundaries. */
export const DURATION_BUCKETS: readonly number[] = [0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Bytes: the SDK's default boundaries. */
export const SIZE_BUCKETS: readonly number[] = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

export interface Accumulator<T> {
  record(value: number): void;
  snapshot(): T;
}

export class ExplicitHistogram implements Accumulator<Histogram> {
  /** counts[i]: values in (boundaries[i-1], boundaries[i]]; the last: above every boundary. */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  private min = Infinity;
  private max = -Infinity;

  constructor(private readonly boundaries: readonly number[]) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    const b = this.boundaries;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  snapshot(): Histogram {
    return {
      buckets: { boundaries: [...this.boundaries], counts: [...this.counts] },
      sum: this.sum,
      count: this.count,
      ...(this.count > 0 ? { min: this.min, max: this.max } : {}),
    };
  }
}

/** The specification's defaults: at most 160 buckets, starting at the finest scale. */
const MAX_BUCKETS = 160;
const MAX_SCALE = 20;

/**
 * Base-2 exponential histogram: bucket `i` at scale `s` holds values in
 * (2^(i·2^-s), 2^((i+1)·2^-s)]. When a value would need more than
 * MAX_BUCKETS buckets, the scale drops (each step merges pairs of
 * buckets) until the range fits.
 */
export class ExponentialBuckets implements Accumulator<ExponentialHistogram> {
  private scale = MAX_SCALE;
  /** counts[k] is bucket offset + k. */
  private counts: number[] = [];
  private offset = 0;
  private zeroCount = 0;
  private sum = 0;
  private count = 0;
  private min = Infinity;
  private max = -Infinity;

  record(value: number): void {
    this.sum += value;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value <= 0) {
      this.zeroCount++;
      return;
    }
    let index = indexOf(value, this.scale);
    if (this.counts.length === 0) {
      this.offset = index;
      this.counts.push(1);
      return;
    }
    const low = Math.min(this.offset, index);
    const high = Math.max(this.offset + this.counts.length - 1, index);
    if (high - low + 1 > MAX_BUCKETS) {
      let change = 0;
      while ((high >> change) - (low >> change) + 1 > MAX_BUCKETS) change++;
      this.downscale(change);
      index = indexOf(value, this.scale);
    }
    if (index < this.offset) {
      this.counts.unshift(...new Array<number>(this.offset - index).fill(0));
      this.offset = index;
    } else if (index >= this.offset + this.counts.length) {
      this.counts.push(...new Array<number>(index - this.offset - this.counts.length + 1).fill(0));
    }
    this.counts[index - this.offset]!++;
  }

  private downscale(change: number): void {
    const merged: number[] = [];
    const newOffset = this.offset >> change;
    for (let k = 0; k < this.counts.length; k++) {
      const j = ((this.offset + k) >> change) - newOffset;
      merged[j] = (merged[j] ?? 0) + this.counts[k]!;
    }
    this.counts = Array.from(merged, (c) => c ?? 0);
    this.offset = newOffset;
    this.scale -= change;
  }

  snapshot(): ExponentialHistogram {
    return {
      count: this.count,
      sum: this.sum,
      scale: this.scale,
      zeroCount: this.zeroCount,
      positive: { offset: this.offset, bucketCounts: [...this.counts] },
      negative: { offset: 0, bucketCounts: [] },
      ...(this.count > 0 ? { min: this.min, max: this.max } : {}),
    };
  }
}

/** The bucket of a positive value at a scale; values on a boundary go below it. */
export function indexOf(value: number, scale: number): number {
  return Math.ceil(Math.log2(value) * 2 ** scale) - 1;
}
