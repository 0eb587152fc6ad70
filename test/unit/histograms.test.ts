import { describe, expect, it } from 'vitest';
import { DURATION_BUCKETS, ExplicitHistogram, ExponentialBuckets, indexOf } from '../../collector/metrics/histograms.js';

describe('ExplicitHistogram', () => {
  it('counts each value in the first bucket whose upper bound holds it', () => {
    const h = new ExplicitHistogram(DURATION_BUCKETS);
    for (const v of [0, 0.005, 0.0051, 0.3, 10, 11]) h.record(v);
    const s = h.snapshot();
    expect(s.count).toBe(6);
    expect(s.buckets.counts).toHaveLength(DURATION_BUCKETS.length + 1);
    expect(s.buckets.counts[0]).toBe(1); // (-inf, 0]
    expect(s.buckets.counts[1]).toBe(1); // (0, 0.005]
    expect(s.buckets.counts[2]).toBe(1); // (0.005, 0.01]
    expect(s.buckets.counts[8]).toBe(1); // (0.25, 0.5]
    expect(s.buckets.counts[14]).toBe(1); // (7.5, 10]
    expect(s.buckets.counts[15]).toBe(1); // (10, +inf)
    expect(s.min).toBe(0);
    expect(s.max).toBe(11);
    expect(s.sum).toBeCloseTo(21.3101);
  });
});

describe('ExponentialBuckets', () => {
  it('puts every value in a bucket whose bounds hold it, within 160 buckets, whatever the range', () => {
    const h = new ExponentialBuckets();
    const values: number[] = [0];
    for (let i = 0; i < 5000; i++) values.push(10 ** (-6 + (i % 97) / 10) * (1 + (i % 13) / 7));
    for (const v of values) h.record(v);
    const s = h.snapshot();
    expect(s.count).toBe(values.length);
    expect(s.zeroCount).toBe(1);
    expect(s.positive.bucketCounts.length).toBeLessThanOrEqual(160);
    expect(s.positive.bucketCounts.reduce((a, b) => a + b, 0)).toBe(values.length - 1);
    // Re-derive each value's bucket at the final scale: the counts must agree.
    const expected = new Map<number, number>();
    for (const v of values.slice(1)) expected.set(indexOf(v, s.scale), (expected.get(indexOf(v, s.scale)) ?? 0) + 1);
    s.positive.bucketCounts.forEach((c, k) => expect(c).toBe(expected.get(s.positive.offset + k) ?? 0));
    const base = 2 ** (2 ** -s.scale);
    for (const v of values.slice(1)) {
      const i = indexOf(v, s.scale);
      expect(v).toBeGreaterThan(base ** i * (1 - 1e-9));
      expect(v).toBeLessThanOrEqual(base ** (i + 1) * (1 + 1e-9));
    }
  });

  it('keeps the finest scale while the values fit', () => {
    const h = new ExponentialBuckets();
    h.record(1.5);
    h.record(1.5000001);
    expect(h.snapshot().scale).toBe(20);
  });
});
