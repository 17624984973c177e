import type { Id } from '../../domain/ids.js';
import type { Analytics } from '../ports/analytics.js';
import type { Clock } from '../ports/clock.js';
import type { IdSource } from '../ports/id-source.js';
import type { PresenceStore, SocketOf } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';
import { trackLessonEvent } from './track-lesson-event.js';

export interface DisconnectClientCommand {
  readonly socket: SocketOf;
  /** True after `logout`: the socket's presence is gone and its disconnect writes nothing. */
  readonly loggedOut: boolean;
  /**
   * Why the socket went: Socket.IO's reason as is (`transport close`, `ping timeout`, …), or the
   * service's own (`token_expired`). Managers hear it in `teacher_disconnect`.
   */
  readonly reason: string;
}

/** What a disconnect decided. */
export interface DisconnectDecision {
  /** The lesson the socket was in, if any. */
  readonly lessonId: Id | null;
  /** When the grace period it started ends (a TeacherApp's last socket), so a timer can be armed. */
  readonly deadlineMs: number | null;
}

const NOTHING: DisconnectDecision = { lessonId: null, deadlineMs: null };

/**
 * A socket went away (PROTOCOL §6). A TeacherApp that is still its teacher's current socket moves
 * to the grace period and its managers hear `teacher_disconnect`; an older socket of the same
 * teacher changes nothing. Lesson members are tracked as `disconnect`. Rooms are left by the
 * transport. Throws when the store fails, since there is nobody left to answer (the grace period
 * then starts from the last refresh instead).
 */
export class DisconnectClient {
  constructor(
    private readonly deps: {
      readonly presence: PresenceStore;
      readonly notifier: RealtimeNotifier;
      readonly analytics: Analytics;
      readonly clock: Clock;
      readonly ids: IdSource;
      readonly timings: Timings;
    },
  ) {}

  async execute({
    socket,
    loggedOut,
    reason,
  }: DisconnectClientCommand): Promise<DisconnectDecision> {
    const { presence, notifier, timings, clock } = this.deps;
    const { identity } = socket;
    if (identity.kind === 'manager_web' || loggedOut) return NOTHING;
    const nowMs = clock.nowMs();
    let outcome: { readonly current: boolean; readonly lessonId: Id | null };
    if (identity.kind === 'teacher_app') {
      const left = await presence.disconnectTeacher({
        socket,
        nowMs,
        graceS: timings.disconnectGraceS,
        lessonTtlS: timings.lessonTtlS,
      });
      outcome =
        left.kind === 'grace'
          ? { current: true, lessonId: left.lessonId }
          : { current: false, lessonId: null };
    } else {
      outcome = await presence.disconnectStudent({ socket, lessonTtlS: timings.lessonTtlS });
    }
    if (!outcome.current) return NOTHING;
    if (outcome.lessonId !== null) {
      await trackLessonEvent(this.deps, 'disconnect', identity, outcome.lessonId);
    }
    if (identity.kind === 'teacher_app') {
      const managers = { kind: 'org_managers', orgId: identity.orgId } as const;
      const user = { user_id: identity.userId };
      await notifier.emit(managers, {
        name: 'teacher_disconnect',
        payload: { ...user, reason },
      });
      // A reconnect on another node may have reached the store after this disconnect but had its
      // teacher_connect delivered before this teacher_disconnect. Asking again after announcing
      // makes the managers' last word the store's: the repair costs one read per disconnect.
      if (await presence.isTeacherOnline(identity)) {
        await notifier.emit(managers, { name: 'teacher_connect', payload: user });
      }
      return { lessonId: outcome.lessonId, deadlineMs: nowMs + timings.disconnectGraceS * 1000 };
    }
    return { lessonId: outcome.lessonId, deadlineMs: null };
  }
}
