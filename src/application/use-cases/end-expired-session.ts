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

export type SessionEndOutcome =
  | { readonly ended: false }
  | { readonly ended: true; readonly lessonIds: readonly Id[] };

/**
 * Ends a teacher's session whose alive hash expired (PROTOCOL §6): every `active` lesson of the
 * teacher ends with its quizzes and tasks, each lesson room hears `lesson_ended`, and the org's
 * managers hear `logout` — even when no lesson was active.
 *
 * Safe to call any number of times from any node, for a late, repeated or stale expiry: only the
 * caller that claims the session acts, a teacher who is alive again is left alone, and the claim
 * is fenced by the session epoch. The claim is a lease: when the database is unavailable this
 * answers `unavailable`, nothing is marked done, and a later sweep retries after the lease.
 */
export class EndExpiredSession {
  constructor(
    private readonly deps: {
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
      if (claim.kind !== 'claimed') return ok({ ended: false });
      const lessonIds = await lessons.endActiveLessons(teacher, claimedAtMs);
      await presence.completeSessionEnd(teacher, claim.epoch);
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
