import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { Analytics } from '../ports/analytics.js';
import type { Clock } from '../ports/clock.js';
import type { IdSource } from '../ports/id-source.js';
import type { PresenceStore, SocketOf } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';
import { type PresenceRecording, recordPresence } from './record-presence.js';
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
  /** When the socket went, if not now: a disconnect replayed after the store was away. */
  readonly atMs?: number;
}

/** What a disconnect decided. */
export interface DisconnectDecision {
  /** The lesson the socket was in, if any. */
  readonly lessonId: Id | null;
  /** When the grace period it started ends (a TeacherApp's last socket), so a timer can be armed. */
  readonly deadlineMs: number | null;
  /**
   * A TeacherApp that was not logged out, yet the store does not know it as live: the store may
   * have lost its data since, and whoever holds the socket may want to look.
   */
  readonly unknownToStore: boolean;
}

const NOTHING: DisconnectDecision = { lessonId: null, deadlineMs: null, unknownToStore: false };

/**
 * A socket went away (PROTOCOL §6). When it was its teacher's last live TeacherApp socket the
 * session moves to its grace period, the managers hear `teacher_disconnect` with the reason, and
 * the presence history records it; when another device of the teacher stays connected, the
 * history records this one as `replaced` and the managers hear nothing, since the teacher is still
 * online — unless the disconnect is a replay, which its node announced when it happened: then they
 * hear `teacher_connect` again. Lesson members are tracked as `disconnect`. Rooms are left by the
 * transport. `atMs` is when the socket went: a disconnect that could not be written at the time is
 * replayed later with it, so the grace period still counts from then. Throws when the store fails,
 * since there is nobody left to answer; the caller keeps the disconnect to replay it.
 */
export class DisconnectClient {
  constructor(
    private readonly deps: PresenceRecording & {
      readonly presence: PresenceStore;
      readonly notifier: RealtimeNotifier;
      readonly analytics: Analytics;
      readonly clock: Clock;
      readonly ids: IdSource;
      readonly timings: Timings;
    },
  ) {}

  async execute(command: DisconnectClientCommand): Promise<DisconnectDecision> {
    const { socket, loggedOut } = command;
    const { identity } = socket;
    if (identity.kind === 'manager_web' || loggedOut) return NOTHING;
    return identity.kind === 'teacher_app'
      ? this.teacherLeaves(command)
      : this.studentLeaves(socket);
  }

  private async teacherLeaves({
    socket,
    reason,
    atMs,
  }: DisconnectClientCommand): Promise<DisconnectDecision> {
    const { presence, notifier, timings } = this.deps;
    const { identity } = socket;
    const leftAtMs = atMs ?? this.deps.clock.nowMs();
    const left = await presence.disconnectTeacher({
      socket,
      nowMs: leftAtMs,
      graceS: timings.disconnectGraceS,
      lessonTtlS: timings.lessonTtlS,
    });
    const managers = { kind: 'org_managers', orgId: identity.orgId } as const;
    const user = { user_id: identity.userId };
    // A replayed disconnect was announced as teacher_disconnect when it happened, by the node
    // that could not write it; when the teacher is online on another device, say so again.
    const replayed = atMs !== undefined;
    if (left.kind === 'not_live') {
      if (replayed) await this.announceIfOnline(identity);
      return { ...NOTHING, unknownToStore: true };
    }
    if (left.kind === 'other_devices') {
      await recordPresence(this.deps, identity, leftAtMs, 'disconnect', 'replaced');
      if (replayed) await notifier.emit(managers, { name: 'teacher_connect', payload: user });
      return { lessonId: left.lessonId, deadlineMs: null, unknownToStore: false };
    }
    if (left.lessonId !== null) {
      await trackLessonEvent(this.deps, 'disconnect', identity, left.lessonId);
    }
    await recordPresence(this.deps, identity, leftAtMs, 'disconnect', reason);
    await notifier.emit(managers, { name: 'teacher_disconnect', payload: { ...user, reason } });
    // A reconnect on another node may have reached the store after this disconnect but had its
    // teacher_connect delivered before this teacher_disconnect. Asking again after announcing
    // makes the managers' last word the store's: the repair costs one read per disconnect.
    await this.announceIfOnline(identity);
    return { lessonId: left.lessonId, deadlineMs: left.deadlineMs, unknownToStore: false };
  }

  private async announceIfOnline(teacher: TeacherRef): Promise<void> {
    if (!(await this.deps.presence.isTeacherOnline(teacher))) return;
    await this.deps.notifier.emit(
      { kind: 'org_managers', orgId: teacher.orgId },
      { name: 'teacher_connect', payload: { user_id: teacher.userId } },
    );
  }

  private async studentLeaves(socket: SocketOf): Promise<DisconnectDecision> {
    const outcome = await this.deps.presence.disconnectStudent({
      socket,
      lessonTtlS: this.deps.timings.lessonTtlS,
    });
    if (!outcome.current) return NOTHING;
    if (outcome.lessonId !== null) {
      await trackLessonEvent(this.deps, 'disconnect', socket.identity, outcome.lessonId);
    }
    return { lessonId: outcome.lessonId, deadlineMs: null, unknownToStore: false };
  }
}
