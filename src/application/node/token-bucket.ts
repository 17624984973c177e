import type { Clock } from '../ports/clock.js';

export interface RateLimit {
  /** Tokens added per second (`RATE_LIMIT_PER_S`). */
  readonly perS: number;
  /** Bucket size: how many events may arrive at once (`RATE_LIMIT_BURST`). */
  readonly burst: number;
}

/** A token bucket on the injected clock: it starts full and refills continuously. */
export class TokenBucket {
  private tokens: number;
  private refilledAtMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly limit: RateLimit,
  ) {
    this.tokens = limit.burst;
    this.refilledAtMs = clock.nowMs();
  }

  /** Takes one token when there is one; false means the event is over the limit. */
  tryTake(): boolean {
    const nowMs = this.clock.nowMs();
    // A system clock may step backwards; that never adds tokens.
    const elapsedMs = Math.max(0, nowMs - this.refilledAtMs);
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsedMs * this.limit.perS) / 1000);
    this.refilledAtMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
