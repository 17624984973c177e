import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../sim/virtual-clock.js';
import { TokenBucket } from '../../../src/application/node/token-bucket.js';

describe('TokenBucket', () => {
  it('never admits more than the burst plus what the elapsed time refilled', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.record({ waitMs: fc.nat(2_000), events: fc.nat(60) }), { maxLength: 30 }),
        (perS, burst, steps) => {
          const clock = new VirtualClock();
          const bucket = new TokenBucket(clock, { perS, burst });
          let admitted = 0;
          let elapsedMs = 0;
          for (const { waitMs, events } of steps) {
            clock.advance(waitMs);
            elapsedMs += waitMs;
            for (let event = 0; event < events; event++) if (bucket.tryTake()) admitted++;
            expect(admitted).toBeLessThanOrEqual(burst + (elapsedMs * perS) / 1000);
          }
        },
      ),
    );
  });
});
