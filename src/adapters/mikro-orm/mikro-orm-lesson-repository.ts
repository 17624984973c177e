import type { Knex, MikroORM } from '@mikro-orm/postgresql';
import type { Attendance, LessonRepository } from '../../application/ports/lesson-repository.js';
import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { Lesson, LessonSeed } from '../../domain/lesson.js';
import { StatementBatcher } from '../support/statement-batcher.js';
import { LessonEntity, QuizEntity, TaskEntity } from './entities.js';
import { runSql } from './sql.js';
import { WriteFence } from './write-fence.js';

/** Most calls one statement serves: bounds the statement's size and its parameters. */
const MAX_BATCH_SIZE = 500;

const FIND_LESSONS = `
  select "id", "org_id", "teacher_id", "title", "seat_count", "status"
  from "lesson" where "id" = any(?::text[])`;

/*
 * Every write is fenced: each row it writes first passes `classroom_fence(deadline)` (see
 * `WriteFence`), also a row an upsert finds only once it got its lock, so a statement that runs
 * after its caller gave up on it fails whole and changes nothing.
 */

const START_LESSON = `
  update "lesson" set "status" = 'active', "started_at" = ?
  where "id" = ? and "status" = 'scheduled' and "classroom_fence"(?)`;

/**
 * One upsert for a whole batch, one row per (lesson, student), in one statement and therefore one
 * transaction: either every row of the batch is written or none is. On conflict `created_at` is
 * the existing row's.
 */
const RECORD_ATTENDANCE = `
  insert into "student_attend"
    ("lesson_id", "student_id", "display_name", "seat_id", "created_at", "updated_at")
  select * from unnest(
    ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[])
  where "classroom_fence"(?)
  on conflict ("lesson_id", "student_id") do update set
    "display_name" = excluded."display_name",
    "seat_id" = excluded."seat_id",
    "updated_at" = excluded."updated_at"
  where "classroom_fence"(?)`;

const END_ACTIVE_LESSONS = `
  with
    now as (select ?::timestamptz as at, ?::timestamptz as deadline),
    ended as (
      update "lesson" set "status" = 'ended', "ended_at" = (select at from now)
      where "org_id" = ? and "teacher_id" = ? and "status" = 'active'
        and ("started_at" is null or "started_at" < (select at from now))
        and "classroom_fence"((select deadline from now))
      returning "id"
    ),
    closed_quizzes as (
      update "quiz" set "status" = 'closed', "closed_at" = (select at from now)
      where "status" = 'open' and "lesson_id" in (select "id" from ended)
        and "classroom_fence"((select deadline from now))
    ),
    closed_tasks as (
      update "task" set "status" = 'closed', "closed_at" = (select at from now)
      where "status" = 'open' and "lesson_id" in (select "id" from ended)
        and "classroom_fence"((select deadline from now))
    )
  select "id" from ended order by "id"`;

/** Each seat's holder: the latest `updated_at`, on a tie the row created later (higher id). */
const RECORDED_SEATS = `
  select distinct on ("seat_id") "seat_id", "student_id" from "student_attend"
  where "lesson_id" = ? and "seat_id" <> ''
  order by "seat_id", "updated_at" desc, "id" desc`;

const ACTIVE_LESSONS = `select "id", "org_id", "teacher_id" from "lesson" where "status" = 'active'`;

interface LessonRow {
  readonly id: Id;
  readonly org_id: Id;
  readonly teacher_id: Id;
  readonly title: string | null;
  readonly seat_count: number;
  readonly status: Lesson['status'];
}

interface AttendanceWrite {
  readonly attendance: Attendance;
  readonly nowMs: number;
}

/** One attendance row as a batch writes it, after merging the batch's writes for its key. */
interface AttendanceRow {
  readonly key: string;
  attendance: Attendance;
  readonly createdAtMs: number;
  updatedAtMs: number;
}

/**
 * Lessons in PostgreSQL. No state is shared between requests except the batches being gathered:
 * `findLesson` and `recordAttendance` gather concurrent calls (see `StatementBatcher`) so that one
 * statement serves up to 500 of them; every other call is one statement of its own. An
 * unreachable or slow database becomes `DependencyUnavailableError`, and a write that throws it
 * never applies later (fenced, see `WriteFence`); any other error (a broken constraint, a bug)
 * propagates as it is.
 */
export class MikroOrmLessonRepository implements LessonRepository {
  /**
   * Lessons are read afresh for every batch and never kept: a lesson ended a moment ago must not
   * be joinable, and only the database knows. Each call's read is issued after the call.
   */
  private readonly lessonReads = new StatementBatcher<Id, Lesson | null>({
    maxBatchSize: MAX_BATCH_SIZE,
    serve: (lessonIds) => this.findLessons(lessonIds),
  });

  /**
   * Group commit: a call resolves once its batch's statement has committed, so an acknowledged
   * seat claim is durable, and rejects with its batch's error, which wrote nothing of the batch.
   */
  private readonly attendanceWrites = new StatementBatcher<AttendanceWrite, undefined>({
    maxBatchSize: MAX_BATCH_SIZE,
    serve: (writes) => this.writeAttendance(writes),
  });

  /** `fence` may be shared with the service's other writers to the same database. */
  constructor(
    private readonly orm: MikroORM,
    private readonly fence = new WriteFence(orm),
  ) {}

  findLesson(lessonId: Id): Promise<Lesson | null> {
    return this.lessonReads.submit(lessonId);
  }

  async startLesson(lessonId: Id, nowMs: number): Promise<void> {
    await this.query(START_LESSON, [new Date(nowMs), lessonId, await this.fence.deadline()]);
  }

  recordAttendance(attendance: Attendance, nowMs: number): Promise<void> {
    return this.attendanceWrites.submit({ attendance, nowMs });
  }

  /**
   * One statement, hence one transaction: the lessons are ended and their open quizzes and tasks
   * closed together or not at all. Under READ COMMITTED a concurrent call waits for our row locks,
   * then re-checks `status = 'active'` and skips the lessons we ended, so each lesson is ended (and
   * reported) by exactly one call. A single statement also keeps a lost connection visible as
   * such: a multi-statement knex transaction whose BEGIN times out reports "Transaction query
   * already complete" instead of the timeout.
   */
  async endActiveLessons(teacher: TeacherRef, nowMs: number): Promise<Id[]> {
    const ended = await this.query<{ id: Id }>(END_ACTIVE_LESSONS, [
      new Date(nowMs),
      await this.fence.deadline(),
      teacher.orgId,
      teacher.userId,
    ]);
    return ended.map((row) => row.id);
  }

  async recordedSeats(lessonId: Id): Promise<ReadonlyMap<string, Id>> {
    const rows = await this.query<{ seat_id: string; student_id: Id }>(RECORDED_SEATS, [lessonId]);
    return new Map(rows.map((row) => [row.seat_id, row.student_id]));
  }

  async activeLessons(): Promise<Array<{ teacher: TeacherRef; lessonId: Id }>> {
    const rows = await this.query<Pick<LessonRow, 'id' | 'org_id' | 'teacher_id'>>(
      ACTIVE_LESSONS,
      [],
    );
    return rows.map((row) => ({
      teacher: { orgId: row.org_id, userId: row.teacher_id },
      lessonId: row.id,
    }));
  }

  /** One lesson or null per id, in the ids' order; each caller gets an object of its own. */
  private async findLessons(lessonIds: readonly Id[]): Promise<Array<Lesson | null>> {
    const rows = await this.query<LessonRow>(FIND_LESSONS, [[...new Set(lessonIds)]]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return lessonIds.map((lessonId) => {
      const row = byId.get(lessonId);
      if (row === undefined) return null;
      return {
        id: row.id,
        orgId: row.org_id,
        teacherId: row.teacher_id,
        title: row.title,
        seatCount: row.seat_count,
        status: row.status,
      };
    });
  }

  /**
   * PostgreSQL refuses to update one row twice in one statement, so the writes for the same
   * (lesson, student) are merged first into what writing them one after the other would leave:
   * the last one's name, seat and time, and the first one's time as `created_at` should the row
   * be new. Rows go in key order, so that two nodes' batches lock shared rows in the same order
   * and cannot deadlock.
   */
  private async writeAttendance(writes: readonly AttendanceWrite[]): Promise<undefined[]> {
    const rows = new Map<string, AttendanceRow>();
    for (const { attendance, nowMs } of writes) {
      const key = JSON.stringify([attendance.lessonId, attendance.studentId]);
      const row = rows.get(key);
      if (row === undefined) {
        rows.set(key, { key, attendance, createdAtMs: nowMs, updatedAtMs: nowMs });
      } else {
        row.attendance = attendance;
        row.updatedAtMs = nowMs;
      }
    }
    const ordered = [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    const deadline = await this.fence.deadline();
    await this.query(RECORD_ATTENDANCE, [
      ordered.map((row) => row.attendance.lessonId),
      ordered.map((row) => row.attendance.studentId),
      ordered.map((row) => row.attendance.displayName),
      ordered.map((row) => row.attendance.seatId),
      ordered.map((row) => new Date(row.createdAtMs)),
      ordered.map((row) => new Date(row.updatedAtMs)),
      deadline,
      deadline,
    ]);
    return writes.map(() => undefined);
  }

  private async query<Row>(sql: string, bindings: readonly Knex.Value[]): Promise<Row[]> {
    return (await runSql<Row>(this.orm, sql, bindings)).rows;
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
