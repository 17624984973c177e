import type { Clock } from '../ports/clock.js';
import type { PresenceStore } from '../ports/presence-store.js';
import type { EndExpiredSession } from './end-expired-session.js';

/**
 * The backstop for missed expiry notifications: ends every session whose deadline has passed, a
 * bounded batch at a time. Run every `SWEEP_INTERVAL_S` on every node and once at start-up.
 * Resolves to how many sessions this call ended.
 */
export class SweepOverdueSessions {
  constructor(
    private readonly deps: {
      readonly presence: PresenceStore;
      readonly endExpiredSession: Pick<EndExpiredSession, 'execute'>;
      readonly clock: Clock;
      readonly batchSize: number;
    },
  ) {}

  async execute(): Promise<number> {
    const due = await this.deps.presence.dueSessionEnds(
      this.deps.clock.nowMs(),
      this.deps.batchSize,
    );
    let ended = 0;
    for (const teacher of due) {
      const result = await this.deps.endExpiredSession.execute(teacher);
      if (result.ok && result.value.ended) ended++;
    }
    return ended;
  }
}
