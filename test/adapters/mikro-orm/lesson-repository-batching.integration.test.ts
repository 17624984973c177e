import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MikroOrmLessonRepository,
  seedLessons,
} from '../../../src/adapters/mikro-orm/mikro-orm-lesson-repository.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { Attendance } from '../../../src/application/ports/lesson-repository.js';
import type { Lesson } from '../../../src/domain/lesson.js';
import { hasPostgres } from '../../support/services.js';
import { createFreshDatabase, type FreshDatabase, migratedOrm } from './fresh-database.js';

const NOW_MS = Date.UTC(2026, 0, 5, 9);
const STATUSES = ['active', 'scheduled', 'ended'] as const;

const lessons: Lesson[] = Array.from({ length: 20 }, (_, index) => ({
  id: `l-${index}`,
  orgId: 'org-a',
  teacherId: `t-${index % 4}`,
  title: index % 5 === 0 ? null : `Lesson ${index}`,
  seatCount: 10 + index,
  status: STATUSES[index % STATUSES.length] as Lesson['status'],
}));

const attendance = (studentId: string, overrides: Partial<Attendance> = {}): Attendance => ({
  lessonId: 'l-0',
  studentId,
  displayName: `Name of ${studentId}`,
  seatId: studentId.replace('s-', ''),
  ...overrides,
});

interface AttendanceRow {
  lessonId: string;
  studentId: string;
  displayName: string;
  seatId: string;
  createdAtMs: number;
  updatedAtMs: number;
}

describe.runIf(hasPostgres)('MikroOrmLessonRepository batching on PostgreSQL', () => {
  let database: FreshDatabase;
  let orm: MikroORM;
  let repository: MikroOrmLessonRepository;
  /** Every statement the ORM's pool sends, as knex reports it just before sending. */
  let statements: string[];
  let statementSent: (() => void) | null;
  const recordStatement = (query: { sql: string }) => {
    statements.push(query.sql);
    statementSent?.();
  };
  const knex = () => orm.em.getConnection().getKnex();
  const countOf = (pattern: RegExp) => statements.filter((sql) => pattern.test(sql)).length;
  const LESSON_READ = /from "lesson"/;
  const ATTENDANCE_WRITE = /insert into "student_attend"/;
  const nextStatement = () =>
    new Promise<void>((resolve) => {
      statementSent = () => {
        statementSent = null;
        resolve();
      };
    });

  async function attendanceRows(): Promise<AttendanceRow[]> {
    const rows: Array<Record<string, string | Date>> = await orm.em.getConnection().execute(
      `select lesson_id, student_id, display_name, seat_id, created_at, updated_at
       from student_attend order by lesson_id, student_id`,
    );
    return rows.map((row) => ({
      lessonId: row.lesson_id as string,
      studentId: row.student_id as string,
      displayName: row.display_name as string,
      seatId: row.seat_id as string,
      createdAtMs: new Date(row.created_at as string).getTime(),
      updatedAtMs: new Date(row.updated_at as string).getTime(),
    }));
  }

  beforeAll(async () => {
    database = await createFreshDatabase();
    orm = await migratedOrm(database.url);
    await seedLessons(orm, { lessons, quizzes: [], tasks: [] });
  });

  afterAll(async () => {
    await orm?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    await orm.em.getConnection().execute('truncate student_attend');
    repository = new MikroOrmLessonRepository(orm);
    statements = [];
    statementSent = null;
    knex().on('query', recordStatement);
  });

  afterEach(() => {
    knex().removeListener('query', recordStatement);
  });

  describe('findLesson', () => {
    it('serves 1,200 concurrent reads with three statements of at most 500, each caller its own lesson', async () => {
      const ids = Array.from({ length: 1_200 }, (_, index) =>
        index % 25 < lessons.length ? `l-${index % 25}` : `l-unknown-${index}`,
      );
      const found = await Promise.all(ids.map((id) => repository.findLesson(id)));
      expect(found).toEqual(ids.map((id) => lessons.find((lesson) => lesson.id === id) ?? null));
      expect(countOf(LESSON_READ)).toBe(3);
      // Two callers of the same lesson may change what they got without touching each other.
      expect(found[0]).toEqual(found[25]);
      expect(found[0]).not.toBe(found[25]);
    });

    it('gathers the reads made while one is in flight into one statement sent after it', async () => {
      const sent = nextStatement();
      const first = repository.findLesson('l-1');
      await sent;
      const later = lessons.map((lesson) => repository.findLesson(lesson.id));
      expect(await first).toEqual(lessons[1]);
      expect(await Promise.all(later)).toEqual(lessons);
      expect(countOf(LESSON_READ)).toBe(2);
    });

    it('reads a lesson afresh after a session end, never as an earlier read found it', async () => {
      const teacher = { orgId: 'org-a', userId: 't-ending' };
      const ending: Lesson = { ...lessons[0], id: 'l-ending', teacherId: teacher.userId } as Lesson;
      await seedLessons(orm, { lessons: [ending], quizzes: [], tasks: [] });
      expect((await repository.findLesson('l-ending'))?.status).toBe('active');
      expect(await repository.endActiveLessons(teacher, NOW_MS)).toEqual(['l-ending']);
      expect((await repository.findLesson('l-ending'))?.status).toBe('ended');
    });
  });

  describe('recordAttendance', () => {
    it('commits 200 concurrent writes with one statement, every row as written', async () => {
      const writes = Array.from({ length: 200 }, (_, index) =>
        attendance(`s-${index}`, { lessonId: `l-${index % 4}` }),
      );
      await Promise.all(
        writes.map((write, index) => repository.recordAttendance(write, NOW_MS + index)),
      );
      expect(countOf(ATTENDANCE_WRITE)).toBe(1);
      const expected = writes.map((write, index) => ({
        ...write,
        createdAtMs: NOW_MS + index,
        updatedAtMs: NOW_MS + index,
      }));
      const byKey = (row: AttendanceRow) => `${row.lessonId} ${row.studentId}`;
      expect(await attendanceRows()).toEqual(
        expected.sort((a, b) => (byKey(a) < byKey(b) ? -1 : 1)),
      );
    });

    it('needs few statements for 200 students writing 5 times each, back to back', async () => {
      const rounds = 5;
      await Promise.all(
        Array.from({ length: 200 }, async (_, student) => {
          for (let round = 1; round <= rounds; round += 1) {
            await repository.recordAttendance(
              attendance(`s-${student}`, { displayName: `Round ${round}` }),
              NOW_MS + round,
            );
          }
        }),
      );
      // Every caller writes again as soon as its batch committed, so the rounds travel together;
      // a statement per call would be 1,000.
      expect(countOf(ATTENDANCE_WRITE)).toBeLessThanOrEqual(2 * rounds);
      const rows = await attendanceRows();
      expect(rows).toHaveLength(200);
      for (const row of rows) {
        expect(row).toMatchObject({
          displayName: `Round ${rounds}`,
          createdAtMs: NOW_MS + 1,
          updatedAtMs: NOW_MS + rounds,
        });
      }
    });

    it('keeps the last of two writes for one student in a batch, resolving both', async () => {
      await repository.recordAttendance(attendance('s-known', { displayName: 'Old' }), NOW_MS);
      const calls = [
        repository.recordAttendance(
          attendance('s-new', { displayName: 'First', seatId: '1' }),
          NOW_MS + 1,
        ),
        repository.recordAttendance(attendance('s-known', { displayName: 'First' }), NOW_MS + 1),
        repository.recordAttendance(
          attendance('s-new', { displayName: 'Last', seatId: '2' }),
          NOW_MS + 2,
        ),
        repository.recordAttendance(attendance('s-known', { displayName: 'Last' }), NOW_MS + 2),
      ];
      expect(await Promise.all(calls)).toEqual([undefined, undefined, undefined, undefined]);
      expect(countOf(ATTENDANCE_WRITE)).toBe(2);
      expect(await attendanceRows()).toEqual([
        {
          ...attendance('s-known'),
          displayName: 'Last',
          createdAtMs: NOW_MS,
          updatedAtMs: NOW_MS + 2,
        },
        // As if written one after the other: created by the first write, updated by the last.
        {
          ...attendance('s-new'),
          displayName: 'Last',
          seatId: '2',
          createdAtMs: NOW_MS + 1,
          updatedAtMs: NOW_MS + 2,
        },
      ]);
    });

    it('rejects every write of a batch the database refuses, writes none of it, then commits the next batch', async () => {
      const connection = orm.em.getConnection();
      await connection.execute(`
        create function refuse_student() returns trigger language plpgsql as $$
        begin
          if new.student_id = 's-refused' then raise exception 'the test refuses s-refused'; end if;
          return new;
        end $$`);
      await connection.execute(
        'create trigger refuse_student before insert or update on student_attend for each row execute function refuse_student()',
      );
      try {
        const refused = ['s-1', 's-refused', 's-2'].map((student) =>
          repository.recordAttendance(attendance(student), NOW_MS).then(
            () => null,
            (error: unknown) => error,
          ),
        );
        const errors = await Promise.all(refused);
        expect(errors[0]).toBeInstanceOf(Error);
        expect((errors[0] as Error).message).toMatch(/the test refuses s-refused/);
        expect(errors[0]).not.toBeInstanceOf(DependencyUnavailableError);
        expect(errors.every((error) => error === errors[0])).toBe(true);
        expect(await attendanceRows()).toEqual([]);

        await Promise.all(
          ['s-1', 's-2'].map((student) => repository.recordAttendance(attendance(student), NOW_MS)),
        );
        expect((await attendanceRows()).map((row) => row.studentId)).toEqual(['s-1', 's-2']);
        expect(countOf(ATTENDANCE_WRITE)).toBe(2);
      } finally {
        await connection.execute('drop function refuse_student cascade');
      }
    });
  });
});
