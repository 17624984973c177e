import type { Clock } from '../ports/clock.js';
import type { PresenceStore, TeacherPresence } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';

/**
 * Keeps the alive hashes of a node's connected TeacherApp sockets from expiring. Run a few times
 * per `PRESENCE_TTL_S` (every third of it), so a node that dies stops refreshing and its teachers'
 * sessions end one TTL plus a sweep later.
 *
 * A socket that had to register again — the store restarted empty, or a dead older socket had
 * taken its place — is announced to its managers with `teacher_connect`: whatever they heard in
 * between (a stale socket's `teacher_disconnect`) no longer holds.
 */
export class RefreshPresence {
  constructor(
    private readonly deps: {
      readonly presence: PresenceStore;
      readonly notifier: RealtimeNotifier;
      readonly clock: Clock;
      readonly timings: Timings;
    },
  ) {}

  async execute(teachers: readonly TeacherPresence[]): Promise<void> {
    if (teachers.length === 0) return;
    const registered = await this.deps.presence.refreshTeachers({
      teachers,
      nowMs: this.deps.clock.nowMs(),
      presenceTtlS: this.deps.timings.presenceTtlS,
      lessonTtlS: this.deps.timings.lessonTtlS,
    });
    for (const { identity } of registered) {
      await this.deps.notifier.emit(
        { kind: 'org_managers', orgId: identity.orgId },
        { name: 'teacher_connect', payload: { user_id: identity.userId } },
      );
    }
  }
}
