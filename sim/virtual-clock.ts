import type { Clock } from '../src/application/ports/clock.js';

/**
 * Time that moves only when told to, so the simulator and tests own every TTL and deadline.
 * Starts on a Monday morning (UTC) so that logs read like a school day.
 */
export class VirtualClock implements Clock {
  private currentMs: number;

  constructor(startMs = Date.UTC(2026, 0, 5, 8)) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  /** Moves time forward; time never goes back, so a negative step is a bug in the caller. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`A virtual clock only moves forward (got ${ms} ms)`);
    this.currentMs += ms;
  }
}
