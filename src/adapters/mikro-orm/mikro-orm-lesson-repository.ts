import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { DependencyUnavailableError } from '../../application/errors.js';
import type { Attendance, LessonRepository } from '../../application/ports/lesson-repository.js';
import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { Lesson } from '../../domain/lesson.js';
import type { LessonSeed } from '../in-memory/in-memory-lesson-repository.js';
import { LessonEntity, QuizEntity, StudentAttendEntity, TaskEntity } from './entities.js';
import { isDatabaseUnavailable } from './orm.js';

const END_ACTIVE_LESSONS = `
  with
    now as (select ?::timestamptz as at),
    ended as (
      update "lesson" set "status" = 'ended', "ended_at" = (select at from now)
      where "org_id" = ? and "teacher_id" = ? and "status" = 'active'
      returning "id"
    ),
    closed_quizzes as (
      update "quiz" set "status" = 'closed', "closed_at" = (select at from now)
      where "status" = 'open' and "lesson_id" in (select "id" from ended)
    ),
    closed_tasks as (
      update "task" set "status" = 'closed', "closed_at" = (select at from now)
      where "status" = 'open' and "lesson_id" in (select "id" from ended)
    )
  select "id" from ended order by "id"`;

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

  /**
   * One statement, hence one transaction: the lessons are ended and their open quizzes and tasks
   * closed together or not at all. Under READ COMMITTED a concurrent call waits for our row locks,
   * then re-checks `status = 'active'` and skips the lessons we ended, so each lesson is ended (and
   * reported) by exactly one call. A single statement also keeps a lost connection visible as
   * such: a multi-statement knex transaction whose BEGIN times out reports "Transaction query
   * already complete" instead of the timeout.
   */
  endActiveLessons(teacher: TeacherRef, nowMs: number): Promise<Id[]> {
    return this.run(async (em) => {
      const ended: Array<{ id: Id }> = await em.execute(END_ACTIVE_LESSONS, [
        new Date(nowMs),
        teacher.orgId,
        teacher.userId,
      ]);
      return ended.map((row) => row.id);
    });
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

/**
 * Inserts the lessons, quizzes and tasks of `seed` in one transaction (for tests and demos): all
 * or none, refused on a repeated id or a quiz or task of an unknown lesson, as the in-memory
 * repository refuses them. Lessons start with no `started_at` or `ended_at`.
 */
export async function seedLessons(orm: MikroORM, seed: LessonSeed): Promise<void> {
  await orm.em.fork().transactional(async (em) => {
    if (seed.lessons.length > 0) await em.insertMany(LessonEntity, [...seed.lessons]);
    for (const [entity, items] of [
      [QuizEntity, seed.quizzes],
      [TaskEntity, seed.tasks],
    ] as const) {
      if (items.length === 0) continue;
      await em.insertMany(
        entity,
        items.map(({ id, lessonId, status }) => ({ id, lesson: lessonId, status })),
      );
    }
  });
}
