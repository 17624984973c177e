import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LessonRepositorySnapshot } from '../../../src/adapters/in-memory/in-memory-lesson-repository.js';
import {
  LessonEntity,
  QuizEntity,
  StudentAttendEntity,
  TaskEntity,
} from '../../../src/adapters/mikro-orm/entities.js';
import {
  MikroOrmLessonRepository,
  seedLessons,
} from '../../../src/adapters/mikro-orm/mikro-orm-lesson-repository.js';
import { WriteFence } from '../../../src/adapters/mikro-orm/write-fence.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { Lesson, LessonSeed } from '../../../src/domain/lesson.js';
import { describeLessonRepositoryContract } from '../../contracts/lesson-repository.contract.js';
import { hasPostgres } from '../../support/services.js';
import { createFreshDatabase, type FreshDatabase, migratedOrm } from './fresh-database.js';

const msOrNull = (date: Date | null | undefined) => date?.getTime() ?? null;

/** Every row of the four tables, shaped as the contract compares repositories. */
async function snapshotOf(orm: MikroORM): Promise<LessonRepositorySnapshot> {
  const em = orm.em.fork();
  const [lessons, quizzes, tasks, attendance] = await Promise.all([
    em.find(LessonEntity, {}),
    em.find(QuizEntity, {}),
    em.find(TaskEntity, {}),
    em.find(StudentAttendEntity, {}),
  ]);
  const item = (row: (typeof quizzes)[number]) => ({
    id: row.id,
    lessonId: row.lesson.id,
    status: row.status,
    closedAtMs: msOrNull(row.closedAt),
  });
  return {
    lessons: lessons.map((row) => ({
      id: row.id,
      orgId: row.orgId,
      teacherId: row.teacherId,
      title: row.title ?? null,
      seatCount: row.seatCount,
      status: row.status,
      startedAtMs: msOrNull(row.startedAt),
      endedAtMs: msOrNull(row.endedAt),
    })),
    quizzes: quizzes.map(item),
    tasks: tasks.map(item),
    attendance: attendance.map((row) => ({
      lessonId: row.lesson.id,
      studentId: row.studentId,
      displayName: row.displayName ?? '',
      seatId: row.seatId ?? '',
      createdAtMs: row.createdAt.getTime(),
      updatedAtMs: row.updatedAt.getTime(),
    })),
  };
}

const emptyTables = (orm: MikroORM) =>
  orm.em.getConnection().execute('truncate lesson, student_attend, quiz, task restart identity');

describe.runIf(hasPostgres)('MikroOrmLessonRepository on PostgreSQL', () => {
  let database: FreshDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    database = await createFreshDatabase();
    orm = await migratedOrm(database.url);
  });

  afterAll(async () => {
    await orm?.close();
    await database?.drop();
  });

  describeLessonRepositoryContract('PostgreSQL', async () => {
    await emptyTables(orm);
    return {
      repo: new MikroOrmLessonRepository(orm),
      seed: (seed) => seedLessons(orm, seed),
      snapshot: () => snapshotOf(orm),
      // The ORM outlives each test; the next one starts from empty tables.
      close: async () => {},
    };
  });

  describe('beyond the contract', () => {
    const teacher = { orgId: 'org-a', userId: 't-1' };
    const NOW_MS = Date.UTC(2026, 0, 5, 9);
    const lesson = (id: string, status: Lesson['status'] = 'active'): Lesson => ({
      id,
      orgId: teacher.orgId,
      teacherId: teacher.userId,
      title: null,
      seatCount: 30,
      status,
    });
    let repository: MikroOrmLessonRepository;

    beforeEach(async () => {
      await emptyTables(orm);
      repository = new MikroOrmLessonRepository(orm);
    });

    it('ends nothing at all when closing the quizzes fails halfway through', async () => {
      await seedLessons(orm, {
        lessons: [lesson('l-1'), lesson('l-2')],
        quizzes: [{ id: 'q-1', lessonId: 'l-1', status: 'open' }],
        tasks: [{ id: 'k-1', lessonId: 'l-1', status: 'open' }],
      });
      const before = await snapshotOf(orm);
      const connection = orm.em.getConnection();
      await connection.execute(`
        create function refuse_quiz_update() returns trigger language plpgsql as $$
        begin raise exception 'quiz updates are refused by the test'; end $$`);
      await connection.execute(
        'create trigger refuse_quiz_update before update on quiz for each row execute function refuse_quiz_update()',
      );
      try {
        const failure = repository.endActiveLessons(teacher, NOW_MS);
        await expect(failure).rejects.toThrow(/quiz updates are refused/);
        await expect(failure).rejects.not.toBeInstanceOf(DependencyUnavailableError);
        expect(await snapshotOf(orm)).toEqual(before);
      } finally {
        await connection.execute('drop function refuse_quiz_update cascade');
      }
    });

    it('ends each lesson exactly once when calls for the same teacher race', async () => {
      const active = Array.from({ length: 12 }, (_, index) => lesson(`l-${index}`));
      const seed: LessonSeed = {
        lessons: [...active, lesson('l-scheduled', 'scheduled')],
        quizzes: active.map((row) => ({ id: `q-${row.id}`, lessonId: row.id, status: 'open' })),
        tasks: [],
      };
      await seedLessons(orm, seed);
      const racers = 3;
      // A transaction of the test's own locks every active lesson, so that all the calls are
      // waiting on the same rows before any of them can go on.
      const results = await orm.em.fork().transactional(async (blocker) => {
        await blocker.execute(`select id from lesson where status = 'active' for update`);
        const calls = Array.from({ length: racers }, (_, index) =>
          repository.endActiveLessons(teacher, NOW_MS + index),
        );
        await vi.waitFor(
          async () => {
            const [waiting] = await orm.em.getConnection().execute(
              `select count(*)::int as count from pg_stat_activity
               where datname = current_database() and wait_event_type = 'Lock'`,
            );
            expect(waiting?.count).toBe(racers);
          },
          { timeout: 5_000, interval: 20 },
        );
        return calls;
      });
      const endedByCall = await Promise.all(results);
      expect(endedByCall.flat().sort()).toEqual(active.map((row) => row.id).sort());
      const after = await snapshotOf(orm);
      expect(after.quizzes.every((quiz) => quiz.status === 'closed')).toBe(true);
      for (const [index, ended] of endedByCall.entries()) {
        for (const id of ended) {
          expect(after.lessons.find((row) => row.id === id)?.endedAtMs).toBe(NOW_MS + index);
          expect(after.quizzes.find((row) => row.lessonId === id)?.closedAtMs).toBe(NOW_MS + index);
        }
      }
    });

    it('refuses every write whose deadline has passed on the server, as unavailable, changing nothing', async () => {
      await seedLessons(orm, {
        lessons: [lesson('l-active'), lesson('l-scheduled', 'scheduled')],
        quizzes: [{ id: 'q-1', lessonId: 'l-active', status: 'open' }],
        tasks: [],
      });
      await repository.recordAttendance(
        { lessonId: 'l-active', studentId: 's-known', displayName: 'Ada', seatId: '1' },
        NOW_MS,
      );
      const before = await snapshotOf(orm);
      const late = new MikroOrmLessonRepository(orm, new WriteFence(orm, { budgetMs: -1_000 }));
      const outcomes = await Promise.allSettled([
        late.startLesson('l-scheduled', NOW_MS),
        late.recordAttendance(
          { lessonId: 'l-active', studentId: 's-new', displayName: 'Grace', seatId: '2' },
          NOW_MS,
        ),
        late.recordAttendance(
          { lessonId: 'l-active', studentId: 's-known', displayName: 'Ada L.', seatId: '3' },
          NOW_MS,
        ),
        late.endActiveLessons(teacher, NOW_MS),
      ]);
      const refused = { status: 'rejected', reason: expect.any(DependencyUnavailableError) };
      expect(outcomes).toEqual(outcomes.map(() => refused));
      expect(await snapshotOf(orm)).toEqual(before);
    });

    it('passes the database refusing an attendance of an unknown lesson on unchanged', async () => {
      const refusal = repository.recordAttendance(
        { lessonId: 'l-unknown', studentId: 's-1', displayName: 'Ada', seatId: '1' },
        NOW_MS,
      );
      await expect(refusal).rejects.toMatchObject({ code: '23503' });
      await expect(refusal).rejects.not.toBeInstanceOf(DependencyUnavailableError);
    });
  });
});
