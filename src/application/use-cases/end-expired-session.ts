import type { TeacherRef } from '../../domain/clients.js';
import type { DomainError } from '../../domain/errors.js';
import type { Id } from '../../domain/ids.js';
import { ok, type Result } from '../../domain/result.js';
import { answerUnavailable } from '../dependencies.js';
import type { Clock } from '../ports/clock.js';
import type { LessonRepository } from '../ports/lesson-repository.js';
import type { PresenceStore } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';
import { type PresenceRecording, recordPresence } from './record-presence.js';

export type SessionEndOutcome =
  /**
   * Nothing ended: alive again, not due, or another node's claim — or, with `graceUntilMs`, a
   * session that was connected but nobody refreshed, whose grace period started now.
   */
  | { readonly ended: false; readonly graceUntilMs?: number }
  | { readonly ended: true; readonly lessonIds: readonly Id[] };

/**
 * Moves on a teacher whose alive hash expired (PROTOCOL §6, §6a.2).
 *
 * - A session still `connect` that nobody refreshed — its node died or lost the store — does not
 *   end at once: its grace period starts now, the managers hear `teacher_disconnect` with reason
 *   `node_lost`, and the presence history records it.
 * - A session whose grace period is over ends: every `active` lesson of the teacher ends with its
 *   quizzes and tasks, each lesson room hears `lesson_ended`, the org's managers hear `logout` —
 *   even when no lesson was active — and the history records `session_end` (`grace_expired`) with
 *   the lessons it ended.
 *
 * Safe to call any number of times from any node, for a late, repeated or stale expiry: only the
 * caller that claims the session acts, a teacher who is alive again is left alone, and the claim
 * is fenced by the session epoch. The claim is a lease: when the database is unavailable this
 * answers `unavailable`, nothing is marked done, and a later sweep retries after the lease.
 */
export class EndExpiredSession {
  constructor(
    private readonly deps: PresenceRecording & {
      readonly presence: PresenceStore;
      readonly lessons: LessonRepository;
      readonly notifier: RealtimeNotifier;
      readonly clock: Clock;
      readonly timings: Timings;
    },
  ) {}

  execute(teacher: TeacherRef): Promise<Result<SessionEndOutcome, DomainError<'unavailable'>>> {
    return answerUnavailable(async (): Promise<Result<SessionEndOutcome, never>> => {
      const { presence, lessons, notifier, clock } = this.deps;
      // The session ends at the moment it is claimed: a lesson that the teacher's next session
      // starts after that (a reconnect racing this end) is not this session's to end.
      const claimedAtMs = clock.nowMs();
      const claim = await presence.settleExpiredSession({
        teacher,
        nowMs: claimedAtMs,
        graceS: this.deps.timings.disconnectGraceS,
        leaseMs: this.deps.timings.sessionEndLeaseMs,
      });
      if (claim.kind === 'none') return ok({ ended: false });
      if (claim.kind === 'grace') {
        await recordPresence(this.deps, teacher, claimedAtMs, 'disconnect', 'node_lost');
        await notifier.emit(
          { kind: 'org_managers', orgId: teacher.orgId },
          { name: 'teacher_disconnect', payload: { user_id: teacher.userId, reason: 'node_lost' } },
        );
        return ok({ ended: false, graceUntilMs: claim.deadlineMs });
      }
      const lessonIds = await lessons.endActiveLessons(teacher, claimedAtMs);
      await presence.completeSessionEnd(teacher, claim.epoch);
      await recordPresence(this.deps, teacher, claimedAtMs, 'session_end', 'grace_expired', {
        lessonIds,
      });
      for (const lessonId of lessonIds) {
        await notifier.emit(
          { kind: 'lesson', lessonId },
          { name: 'lesson_ended', payload: { lesson_id: lessonId } },
        );
      }
      await notifier.emit(
        { kind: 'org_managers', orgId: teacher.orgId },
        { name: 'logout', payload: { user_id: teacher.userId } },
      );
      return ok({ ended: true, lessonIds });
    });
  }
}
