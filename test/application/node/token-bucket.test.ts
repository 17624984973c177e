import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../sim/virtual-clock.js';
import { TokenBucket } from '../../../src/application/node/token-bucket.js';

const takeAll = (bucket: TokenBucket, times: number) =>
  Array.from({ length: times }, () => bucket.tryTake()).filter(Boolean).length;

describe('TokenBucket', () => {
  it('lets a full burst through at once and refuses the next event', () => {
    const bucket = new TokenBucket(new VirtualClock(), { perS: 20, burst: 40 });
    expect(takeAll(bucket, 40)).toBe(40);
    expect(bucket.tryTake()).toBe(false);
  });

  it('refills at the configured rate', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(clock, { perS: 20, burst: 40 });
    takeAll(bucket, 40);
    clock.advance(100);
    expect(takeAll(bucket, 10)).toBe(2);
  });

  it('never holds more than the burst however long it was idle', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(clock, { perS: 20, burst: 40 });
    clock.advance(3_600_000);
    expect(takeAll(bucket, 100)).toBe(40);
  });

  it('adds nothing when the clock steps backwards', () => {
    let nowMs = 10_000;
    const bucket = new TokenBucket({ nowMs: () => nowMs }, { perS: 20, burst: 2 });
    takeAll(bucket, 2);
    nowMs = 5_000;
    expect(bucket.tryTake()).toBe(false);
  });
});
