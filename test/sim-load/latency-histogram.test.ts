import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../sim/load/latency-histogram.js';

describe('LatencyHistogram', () => {
  it('reports each percentile at most 1% above the true value and never below it', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms += 1) histogram.record(ms);
    const { p50Ms, p95Ms, p99Ms, maxMs, count } = histogram.summary();
    expect(count).toBe(1000);
    expect(p50Ms).toBeGreaterThanOrEqual(500);
    expect(p50Ms).toBeLessThanOrEqual(505);
    expect(p95Ms).toBeGreaterThanOrEqual(950);
    expect(p95Ms).toBeLessThanOrEqual(959.5);
    expect(p99Ms).toBeGreaterThanOrEqual(990);
    expect(maxMs).toBe(1000);
  });

  it('merges histograms from other processes as if their samples were recorded here', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const both = new LatencyHistogram();
    for (let i = 0; i < 100; i += 1) {
      a.record(i * 0.3);
      b.record(50 + i);
      both.record(i * 0.3);
      both.record(50 + i);
    }
    a.merge(JSON.parse(JSON.stringify(b.toData())));
    expect(a.summary()).toEqual(both.summary());
  });

  it('says 0 for every percentile when nothing was recorded', () => {
    expect(new LatencyHistogram().summary()).toEqual({
      count: 0,
      p50Ms: 0,
      p95Ms: 0,
      p99Ms: 0,
      maxMs: 0,
    });
  });
});
