import { type DomainError, domainError } from '../../domain/errors.js';
import type { Id } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { answerUnavailable } from '../dependencies.js';
import type { Clock } from '../ports/clock.js';
import type { LessonRepository } from '../ports/lesson-repository.js';
import type { PresenceStore, SocketOf } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';
import { recordedSeatMap } from './recorded-seat-map.js';

export interface SetStudentNameCommand {
  readonly socket: SocketOf;
  readonly lessonId: Id;
  readonly studentId: Id;
  readonly displayName: string;
  readonly seatId: string;
}

export type SetStudentNameError = DomainError<
  'forbidden' | 'not_in_lesson' | 'seat_not_found' | 'seat_taken' | 'unavailable'
>;

const SEAT_ERRORS = {
  not_in_lesson: 'Join the lesson before choosing a seat.',
  seat_not_found: 'That seat does not exist in this lesson.',
  seat_taken: 'Another student has taken that seat.',
} as const;

/**
 * A student picks a seat and a display name (PROTOCOL §6). `forbidden` unless the caller is the
 * StudentWeb of `studentId`. The seat is claimed atomically (`not_in_lesson`, `seat_not_found`,
 * `seat_taken`) — only by the very socket that joined the lesson, so a student of another org with
 * the same id gets `not_in_lesson` (PROTOCOL §6a.5) — the attendance row upserted, and the
 * lesson's teacher told. When the database
 * write fails the seat claim is taken back, so a failed request changes nothing.
 */
export class SetStudentName {
  constructor(
    private readonly deps: {
      readonly presence: PresenceStore;
      readonly lessons: LessonRepository;
      readonly notifier: RealtimeNotifier;
      readonly clock: Clock;
      readonly timings: Timings;
    },
  ) {}

  execute(
    command: SetStudentNameCommand,
  ): Promise<Result<{ seat_id: string; display_name: string }, SetStudentNameError>> {
    return answerUnavailable(
      async (): Promise<Result<{ seat_id: string; display_name: string }, SetStudentNameError>> => {
        const { socket, lessonId, studentId, displayName, seatId } = command;
        if (socket.identity.kind !== 'student_web' || studentId !== socket.identity.userId) {
          return fail(domainError('forbidden', 'Students can only name themselves.'));
        }
        const { presence, lessons, timings } = this.deps;
        let claim = await presence.claimSeat({ socket, lessonId, seatId });
        if (!claim.ok && claim.error === 'needs_seat_map') {
          // The student joined, but the seat map is gone (the store lost its data): it starts
          // again from the seats the database recorded, and the claim is tried once more.
          const lesson = await lessons.findLesson(lessonId);
          if (lesson !== null) {
            const seats = await recordedSeatMap(lessons, lesson);
            await presence.ensureSeatMap({ lessonId, seats, lessonTtlS: timings.lessonTtlS });
            claim = await presence.claimSeat({ socket, lessonId, seatId });
          }
        }
        if (!claim.ok) {
          const code = claim.error === 'needs_seat_map' ? 'not_in_lesson' : claim.error;
          return fail(domainError(code, SEAT_ERRORS[code]));
        }
        try {
          await this.deps.lessons.recordAttendance(
            { lessonId, studentId, displayName, seatId },
            this.deps.clock.nowMs(),
          );
        } catch (error) {
          await presence.revertSeatClaim({
            lessonId,
            studentId,
            seatId,
            change: claim.value,
          });
          throw error;
        }
        await this.deps.notifier.emit(
          { kind: 'lesson_teachers', lessonId },
          {
            name: 'set_student_name',
            payload: { display_name: displayName, seat_id: seatId, student_id: studentId },
          },
        );
        return ok({ seat_id: seatId, display_name: displayName });
      },
    );
  }
}
