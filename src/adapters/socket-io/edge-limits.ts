import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface EdgeLimitSettings {
  /** Open Engine.IO connections one client IP may hold on this node. */
  readonly maxConnectionsPerIp: number;
  /** Refused handshakes one client IP may cause per minute before it is refused `rate_limited`. */
  readonly handshakeFailuresPerIpPerMin: number;
}

const FAILURE_WINDOW_S = 60;

/**
 * The per-IP limits of PROTOCOL §1 on one node, in rate-limiter-flexible's memory limiters
 * (its Redis limiter has the same interface, should the limits ever have to be cluster-wide).
 * Memory limiters apply each call at once, when it is made; their promises only report.
 */
export class EdgeLimits {
  /** Points are open connections: taken by a handshake, given back when its connection ends. */
  private readonly connections: RateLimiterMemory;
  /** Points are refused handshakes, in a window that opens with the first one and lasts a minute. */
  private readonly failures: RateLimiterMemory;

  constructor(private readonly settings: EdgeLimitSettings) {
    // Duration 0: an open connection's point never lapses on its own.
    this.connections = new RateLimiterMemory({ points: settings.maxConnectionsPerIp, duration: 0 });
    this.failures = new RateLimiterMemory({
      points: settings.handshakeFailuresPerIpPerMin,
      duration: FAILURE_WINDOW_S,
    });
  }

  /** Takes one of the IP's connection slots; false, taking nothing, when all are in use. */
  openConnection(ip: string): Promise<boolean> {
    return this.connections.consume(ip).then(
      () => true,
      async (rejection: unknown) => {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        // A refused consume has counted its point all the same.
        await this.connections.reward(ip);
        return false;
      },
    );
  }

  /** Gives back a slot `openConnection` took. */
  async closeConnection(ip: string): Promise<void> {
    const { consumedPoints } = await this.connections.reward(ip);
    // An IP without open connections leaves no record behind. A handshake of that IP counted
    // between the reward and this delete (the two are a microtask apart) would be forgotten and
    // its close would bring the count below zero, which the next close deletes again.
    if (consumedPoints <= 0) await this.connections.delete(ip);
  }

  /**
   * Whole seconds, at least 1, until the IP's failure window ends when it has used up its refused
   * handshakes; null when it may try a handshake now.
   */
  async handshakeRetryAfterS(ip: string): Promise<number | null> {
    const used = await this.failures.get(ip);
    if (used === null || used.consumedPoints < this.settings.handshakeFailuresPerIpPerMin) {
      return null;
    }
    return Math.max(1, Math.ceil(used.msBeforeNext / 1000));
  }

  /** Counts one refused handshake of the IP. */
  async handshakeRefused(ip: string): Promise<void> {
    await this.failures.penalty(ip);
  }
}
