import type { TeacherRef } from '../../domain/clients.js';
import type { Clock } from '../ports/clock.js';
import type { PresenceStore, StoreMark, TeacherPresence } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';

/**
 * Keeps a node's connected TeacherApp sockets live. Run a few times per `PRESENCE_TTL_S` (every
 * third of it), so a node that dies stops refreshing and its teachers' sessions move to their
 * grace period one TTL plus a sweep later.
 *
 * Each run first asks the store whether it lost data since the last run (restarted empty,
 * flushed, failed over); if so, the node's sockets are put back, so presence heals without a
 * reconnect. A teacher whose session was put back, or was in its grace period and is connected
 * again, is announced to its managers with `teacher_connect`: whatever they heard in between no
 * longer holds.
 */
export class RefreshPresence {
  /** The store's mark as this node last saw it. */
  private lastMark: StoreMark | null = null;

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
    const { presence, clock, timings } = this.deps;
    const nowMs = clock.nowMs();
    const { presenceTtlS, lessonTtlS } = timings;
    const continuity = await presence.checkContinuity(this.lastMark);
    this.lastMark = continuity.mark;
    const restored = continuity.lost
      ? await presence.restoreSockets({
          sockets: teachers.map(({ socket, epoch }) => ({ socket, epoch, lessonId: null })),
          nowMs,
          presenceTtlS,
          lessonTtlS,
        })
      : [];
    const outcomes = await presence.refreshTeachers({ teachers, nowMs, presenceTtlS, lessonTtlS });
    const reconnected = teachers.flatMap(({ socket }, index) =>
      outcomes[index] === 'reconnected' ? [socket.identity] : [],
    );
    for (const teacher of [...restored, ...reconnected]) await this.announce(teacher);
  }

  private announce({ orgId, userId }: TeacherRef): Promise<void> {
    return this.deps.notifier.emit(
      { kind: 'org_managers', orgId },
      { name: 'teacher_connect', payload: { user_id: userId } },
    );
  }
}
