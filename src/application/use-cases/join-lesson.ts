import type { Role } from '../../domain/clients.js';
import { type DomainError, domainError } from '../../domain/errors.js';
import type { Id } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { SeatMap } from '../../domain/seat-map.js';
import { answerUnavailable } from '../dependencies.js';
import type { Clock } from '../ports/clock.js';
import type { LessonRepository } from '../ports/lesson-repository.js';
import type { PresenceStore, SocketOf } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';
import { lessonAudiences } from './connect-client.js';
import { recordedSeatMap } from './recorded-seat-map.js';

export interface JoinLessonCommand {
  readonly socket: SocketOf;
  readonly userId: Id;
  readonly lessonId: Id;
  readonly role: Role;
}

export type JoinLessonError = DomainError<
  'forbidden' | 'lesson_not_found' | 'lesson_ended' | 'unavailable'
>;

/**
 * A TeacherApp or StudentWeb joins a lesson (PROTOCOL §6). `forbidden` when the payload's user or
 * role is not the caller's, when a manager socket asks, or when a teacher is not the lesson's
 * teacher; `lesson_not_found` for a missing lesson or one of another org (no tenant learns
 * another's ids); `lesson_ended` for an ended one. The lesson's teacher joining a scheduled lesson
 * starts it. Idempotent: joining again re-points the membership at this socket. On failure nothing
 * stays changed. A lesson that has no seat map gets one holding the seats `student_attend`
 * recorded (PROTOCOL §6a.3), so a store that lost its data shows the seats as they were.
 */
export class JoinLesson {
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
    command: JoinLessonCommand,
  ): Promise<Result<{ lesson_id: Id; seats: SeatMap }, JoinLessonError>> {
    return answerUnavailable(
      async (): Promise<Result<{ lesson_id: Id; seats: SeatMap }, JoinLessonError>> => {
        const { socket, userId, lessonId, role } = command;
        const { identity } = socket;
        if (
          identity.kind === 'manager_web' ||
          userId !== identity.userId ||
          role !== identity.role
        ) {
          return fail(domainError('forbidden', 'Only your own TeacherApp or StudentWeb can join.'));
        }
        const lesson = await this.deps.lessons.findLesson(lessonId);
        if (lesson === null || lesson.orgId !== identity.orgId) {
          return fail(domainError('lesson_not_found', `Lesson ${lessonId} does not exist.`));
        }
        if (identity.kind === 'teacher_app' && lesson.teacherId !== identity.userId) {
          return fail(
            domainError('forbidden', 'Only the lesson’s teacher can join it as a teacher.'),
          );
        }
        if (lesson.status === 'ended') {
          return fail(domainError('lesson_ended', `Lesson ${lessonId} has ended.`));
        }
        const { presence, timings } = this.deps;
        const join = (seats?: SeatMap) =>
          presence.joinLesson({
            socket,
            lessonId,
            seatCount: lesson.seatCount,
            lessonTtlS: timings.lessonTtlS,
            ...(seats === undefined ? {} : { seats }),
          });
        // A lesson whose seat map is gone (first join, the TTL ran out, the store lost its data)
        // starts again from the seats the database recorded: one more read, only then.
        let joined = await join();
        if (joined.kind === 'needs_seat_map') {
          joined = await join(await recordedSeatMap(this.deps.lessons, lesson));
        }
        if (joined.kind === 'needs_seat_map') {
          throw new Error('The presence store asked again for the seat map it was given');
        }
        if (identity.kind === 'teacher_app' && lesson.status === 'scheduled') {
          try {
            await this.deps.lessons.startLesson(lessonId, this.deps.clock.nowMs());
          } catch (error) {
            await presence.undoJoinLesson({
              socket,
              lessonId,
              previousLessonId: joined.previousLessonId,
            });
            throw error;
          }
        }
        for (const audience of lessonAudiences(identity, lessonId)) {
          await this.deps.notifier.join(socket.sid, audience);
        }
        return ok({ lesson_id: lessonId, seats: joined.seats });
      },
    );
  }
}
