import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { DependencyUnavailableError } from '../../application/errors.js';
import type { Attendance, LessonRepository } from '../../application/ports/lesson-repository.js';
import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { Lesson } from '../../domain/lesson.js';
import { LessonEntity, QuizEntity, StudentAttendEntity, TaskEntity } from './entities.js';
import { isDatabaseUnavailable } from './orm.js';

/**
 * Lessons in PostgreSQL. Every call works on its own forked EntityManager, so no state is shared
 * between requests. An unreachable or slow database becomes `DependencyUnavailableError`; any
 * other error (a broken constraint, a bug) propagates as it is.
 */
export class MikroOrmLessonRepository implements LessonRepository {
  constructor(private readonly orm: MikroORM) {}

  findLesson(lessonId: Id): Promise<Lesson | null> {
    return this.run(async (em) => {
      const row = await em.findOne(LessonEntity, { id: lessonId });
      if (row === null) return null;
      const { id, orgId, teacherId, title, seatCount, status } = row;
      return { id, orgId, teacherId, title: title ?? null, seatCount, status };
    });
  }

  startLesson(lessonId: Id, nowMs: number): Promise<void> {
    return this.run(async (em) => {
      await em.nativeUpdate(
        LessonEntity,
        { id: lessonId, status: 'scheduled' },
        { status: 'active', startedAt: new Date(nowMs) },
      );
    });
  }

  recordAttendance(attendance: Attendance, nowMs: number): Promise<void> {
    const now = new Date(nowMs);
    return this.run(async (em) => {
      await em
        .createQueryBuilder(StudentAttendEntity)
        .insert({
          lesson: attendance.lessonId,
          studentId: attendance.studentId,
          displayName: attendance.displayName,
          seatId: attendance.seatId,
          createdAt: now,
          updatedAt: now,
        })
        .onConflict(['lesson', 'studentId'])
        .merge(['displayName', 'seatId', 'updatedAt'])
        .execute('run');
    });
  }

  endActiveLessons(teacher: TeacherRef, nowMs: number): Promise<Id[]> {
    const now = new Date(nowMs);
    return this.run((em) =>
      em.transactional(async (tx) => {
        // UPDATE … RETURNING under READ COMMITTED: a concurrent call waits for our row locks, then
        // re-checks `status = 'active'` and skips the lessons we ended, so each lesson is ended
        // (and reported) by exactly one call.
        const ended: Array<{ id: Id }> = await tx
          .createQueryBuilder(LessonEntity)
          .update({ status: 'ended', endedAt: now })
          .where({ orgId: teacher.orgId, teacherId: teacher.userId, status: 'active' })
          .returning('id')
          .execute('all', false);
        const lessonIds = ended.map((row) => row.id);
        if (lessonIds.length === 0) return [];
        for (const work of [QuizEntity, TaskEntity]) {
          await tx.nativeUpdate(
            work,
            { lesson: { $in: lessonIds }, status: 'open' },
            { status: 'closed', closedAt: now },
          );
        }
        return lessonIds;
      }),
    );
  }

  private async run<T>(operation: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await operation(this.orm.em.fork());
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        throw new DependencyUnavailableError('database', { cause: error });
      }
      throw error;
    }
  }
}
