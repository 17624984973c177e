import type { Scheduler } from '../../application/ports/scheduler.js';
import type { SessionExpiryFeed } from '../../application/ports/session-expiry-feed.js';
import type { TeacherRef } from '../../domain/clients.js';
import type { InMemoryPresenceStore } from './in-memory-presence-store.js';

/** How often the embedded store is asked for expired alive hashes, like Redis' expiry cycle. */
export const EMBEDDED_EXPIRY_TICK_MS = 250;

/**
 * Expiry notifications of the in-memory store. `tick()` hands over what expired since the last
 * tick; given a scheduler, the feed ticks itself every `tickMs` while started (the embedded mode),
 * and without one whoever owns the time calls `tick()` (a simulation moving a virtual clock, a
 * test), which keeps a run deterministic. Expiries seen while stopped are lost, as Redis
 * notifications are while no subscriber listens; the deadline sweep finds those sessions.
 */
export class InMemorySessionExpiryFeed implements SessionExpiryFeed {
  private listener: ((teacher: TeacherRef) => void) | null = null;
  private cancelTick = () => {};

  constructor(
    private readonly store: InMemoryPresenceStore,
    private readonly timer?: { readonly scheduler: Scheduler; readonly tickMs: number },
  ) {}

  async start(onExpired: (teacher: TeacherRef) => void): Promise<void> {
    this.listener = onExpired;
    const timer = this.timer;
    if (timer === undefined) return;
    const tick = () => {
      this.tick();
      this.cancelTick = timer.scheduler.after(timer.tickMs, tick);
    };
    this.cancelTick = timer.scheduler.after(timer.tickMs, tick);
  }

  async stop(): Promise<void> {
    this.cancelTick();
    this.listener = null;
  }

  /** Hands every teacher whose session lapsed since the last tick to the listener; how many. */
  tick(): number {
    const expired = this.store.expireDue();
    const listener = this.listener;
    if (listener === null) return 0;
    for (const teacher of expired) listener(teacher);
    return expired.length;
  }
}
