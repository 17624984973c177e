import type { SessionExpiryFeed } from '../../application/ports/session-expiry-feed.js';
import type { TeacherRef } from '../../domain/clients.js';
import type { InMemoryPresenceStore } from './in-memory-presence-store.js';

/**
 * Expiry notifications of the in-memory store. Nothing runs on its own: the embedded runtime or
 * the simulator calls `tick()` (on a timer, or after moving a virtual clock), which is what keeps
 * a simulation deterministic. Expiries seen while stopped are lost, as Redis notifications are
 * while no subscriber listens; the deadline sweep finds those sessions.
 */
export class InMemorySessionExpiryFeed implements SessionExpiryFeed {
  private listener: ((teacher: TeacherRef) => void) | null = null;

  constructor(private readonly store: InMemoryPresenceStore) {}

  async start(onExpired: (teacher: TeacherRef) => void): Promise<void> {
    this.listener = onExpired;
  }

  async stop(): Promise<void> {
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
