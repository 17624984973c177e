import type { Clock } from '../ports/clock.js';
import type { PresenceStore, SocketOf } from '../ports/presence-store.js';
import type { Timings } from '../settings.js';

/**
 * Keeps the alive hashes of a node's connected TeacherApp sockets from expiring. Run a few times
 * per `PRESENCE_TTL_S` (every third of it), so a node that dies stops refreshing and its teachers'
 * sessions end one TTL plus a sweep later.
 */
export class RefreshPresence {
  constructor(
    private readonly deps: {
      readonly presence: PresenceStore;
      readonly clock: Clock;
      readonly timings: Timings;
    },
  ) {}

  async execute(sockets: readonly SocketOf[]): Promise<void> {
    const teachers = sockets.filter((socket) => socket.identity.kind === 'teacher_app');
    if (teachers.length === 0) return;
    await this.deps.presence.refreshTeachers({
      sockets: teachers,
      nowMs: this.deps.clock.nowMs(),
      presenceTtlS: this.deps.timings.presenceTtlS,
    });
  }
}
