import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LessonRepositorySnapshot } from '../../src/adapters/in-memory/in-memory-lesson-repository.js';
import type { LessonRepository } from '../../src/application/ports/lesson-repository.js';
import type { Lesson, LessonSeed } from '../../src/domain/lesson.js';

/**
 * What every LessonRepository must do (PROTOCOL §6 and §8), run against the in-memory repository
 * and PostgreSQL. `seed` inserts rows (lessons without started/ended times, quizzes and tasks
 * without closed times); `snapshot` reads every row back, in any order, times in ms.
 */
export interface LessonRepositoryHarness {
  readonly repo: LessonRepository;
  seed(seed: LessonSeed): Promise<void>;
  snapshot(): Promise<LessonRepositorySnapshot>;
  close(): Promise<void>;
}

const NOW_MS = Date.UTC(2026, 0, 5, 9);
const LATER_MS = NOW_MS + 60_000;

const lesson = (id: string, overrides: Partial<Lesson> = {}): Lesson => ({
  id,
  orgId: 'org-a',
  teacherId: 't-1',
  title: `Lesson ${id}`,
  seatCount: 30,
  status: 'active',
  ...overrides,
});

/** Rows in id order, so that adapters may return them in any order. */
async function sortedSnapshot(harness: LessonRepositoryHarness): Promise<LessonRepositorySnapshot> {
  const byId = <T extends { id: string }>(rows: T[]) =>
    [...rows].sort((a, b) => (a.id < b.id ? -1 : 1));
  const snapshot = await harness.snapshot();
  return {
    lessons: byId(snapshot.lessons),
    quizzes: byId(snapshot.quizzes),
    tasks: byId(snapshot.tasks),
    attendance: [...snapshot.attendance].sort((a, b) =>
      `${a.lessonId}:${a.studentId}` < `${b.lessonId}:${b.studentId}` ? -1 : 1,
    ),
  };
}

export function describeLessonRepositoryContract(
  name: string,
  make: () => Promise<LessonRepositoryHarness>,
): void {
  describe(`LessonRepository contract: ${name}`, () => {
    let h: LessonRepositoryHarness;

    beforeEach(async () => {
      h = await make();
    });

    afterEach(async () => {
      await h.close();
    });

    describe('findLesson', () => {
      it('finds a lesson in every status, and null for an unknown id', async () => {
        const lessons = [
          lesson('l-active'),
          lesson('l-scheduled', { status: 'scheduled', title: null, seatCount: 12 }),
          lesson('l-ended', { status: 'ended' }),
        ];
        await h.seed({ lessons, quizzes: [], tasks: [] });
        for (const expected of lessons) {
          expect(await h.repo.findLesson(expected.id)).toEqual(expected);
        }
        expect(await h.repo.findLesson('l-unknown')).toBeNull();
      });
    });

    describe('startLesson', () => {
      it('makes a scheduled lesson active with its start time', async () => {
        await h.seed({ lessons: [lesson('l-1', { status: 'scheduled' })], quizzes: [], tasks: [] });
        await h.repo.startLesson('l-1', NOW_MS);
        expect((await h.snapshot()).lessons).toEqual([
          { ...lesson('l-1'), status: 'active', startedAtMs: NOW_MS, endedAtMs: null },
        ]);
        expect((await h.repo.findLesson('l-1'))?.status).toBe('active');
      });

      it('leaves active, ended and unknown lessons alone', async () => {
        await h.seed({
          lessons: [lesson('l-active'), lesson('l-ended', { status: 'ended' })],
          quizzes: [],
          tasks: [],
        });
        const before = await sortedSnapshot(h);
        await h.repo.startLesson('l-active', NOW_MS);
        await h.repo.startLesson('l-ended', NOW_MS);
        await h.repo.startLesson('l-unknown', NOW_MS);
        expect(await sortedSnapshot(h)).toEqual(before);
      });
    });

    describe('recordAttendance', () => {
      beforeEach(async () => {
        await h.seed({ lessons: [lesson('l-1'), lesson('l-2')], quizzes: [], tasks: [] });
      });

      it('inserts one row for a student of a lesson', async () => {
        await h.repo.recordAttendance(
          { lessonId: 'l-1', studentId: 's-1', displayName: 'Ada', seatId: '3' },
          NOW_MS,
        );
        expect((await h.snapshot()).attendance).toEqual([
          {
            lessonId: 'l-1',
            studentId: 's-1',
            displayName: 'Ada',
            seatId: '3',
            createdAtMs: NOW_MS,
            updatedAtMs: NOW_MS,
          },
        ]);
      });

      it('updates that row when the student names itself again', async () => {
        await h.repo.recordAttendance(
          { lessonId: 'l-1', studentId: 's-1', displayName: 'Ada', seatId: '3' },
          NOW_MS,
        );
        await h.repo.recordAttendance(
          { lessonId: 'l-1', studentId: 's-1', displayName: 'Ada L.', seatId: '7' },
          LATER_MS,
        );
        expect((await h.snapshot()).attendance).toEqual([
          {
            lessonId: 'l-1',
            studentId: 's-1',
            displayName: 'Ada L.',
            seatId: '7',
            createdAtMs: NOW_MS,
            updatedAtMs: LATER_MS,
          },
        ]);
      });

      it('keeps one row per lesson and student', async () => {
        await h.repo.recordAttendance(
          { lessonId: 'l-1', studentId: 's-1', displayName: 'Ada', seatId: '1' },
          NOW_MS,
        );
        await h.repo.recordAttendance(
          { lessonId: 'l-1', studentId: 's-2', displayName: 'Grace', seatId: '2' },
          NOW_MS,
        );
        await h.repo.recordAttendance(
          { lessonId: 'l-2', studentId: 's-1', displayName: 'Ada', seatId: '1' },
          NOW_MS,
        );
        const rows = (await sortedSnapshot(h)).attendance;
        expect(rows.map((row) => [row.lessonId, row.studentId])).toEqual([
          ['l-1', 's-1'],
          ['l-1', 's-2'],
          ['l-2', 's-1'],
        ]);
      });

      it('refuses attendance for a lesson that does not exist, writing nothing', async () => {
        await expect(
          h.repo.recordAttendance(
            { lessonId: 'l-unknown', studentId: 's-1', displayName: 'Ada', seatId: '1' },
            NOW_MS,
          ),
        ).rejects.toThrow();
        expect((await h.snapshot()).attendance).toEqual([]);
      });
    });

    describe('recordedSeats', () => {
      const record = (studentId: string, seatId: string, atMs: number, lessonId = 'l-1') =>
        h.repo.recordAttendance({ lessonId, studentId, displayName: studentId, seatId }, atMs);

      beforeEach(async () => {
        await h.seed({ lessons: [lesson('l-1'), lesson('l-2')], quizzes: [], tasks: [] });
      });

      it('maps each seat recorded for the lesson to its student, and no other lesson’s', async () => {
        await record('s-1', '3', NOW_MS);
        await record('s-2', '1', NOW_MS);
        await record('s-3', '2', NOW_MS, 'l-2');
        expect(await h.repo.recordedSeats('l-1')).toEqual(
          new Map([
            ['1', 's-2'],
            ['3', 's-1'],
          ]),
        );
      });

      it('follows a student who moved to the seat it recorded last', async () => {
        await record('s-1', '3', NOW_MS);
        await record('s-1', '7', LATER_MS);
        expect(await h.repo.recordedSeats('l-1')).toEqual(new Map([['7', 's-1']]));
      });

      it('gives a seat two students recorded to the later update, whatever order the writes came in', async () => {
        await record('s-late', '4', LATER_MS);
        await record('s-early', '4', NOW_MS);
        await record('s-first', '5', NOW_MS);
        await record('s-second', '5', LATER_MS);
        expect(await h.repo.recordedSeats('l-1')).toEqual(
          new Map([
            ['4', 's-late'],
            ['5', 's-second'],
          ]),
        );
      });

      it('gives a seat two students recorded at the same moment to the row created later', async () => {
        await record('s-b', '6', NOW_MS);
        await record('s-a', '6', NOW_MS);
        await record('s-c', '8', NOW_MS);
        await record('s-d', '8', NOW_MS);
        expect(await h.repo.recordedSeats('l-1')).toEqual(
          new Map([
            ['6', 's-a'],
            ['8', 's-d'],
          ]),
        );
      });

      it('answers an empty map for a lesson nobody attended or that does not exist', async () => {
        expect(await h.repo.recordedSeats('l-2')).toEqual(new Map());
        expect(await h.repo.recordedSeats('l-unknown')).toEqual(new Map());
      });
    });

    describe('activeLessons', () => {
      it('lists every active lesson with its teacher, in every org, and no other lesson', async () => {
        await h.seed({
          lessons: [
            lesson('l-1'),
            lesson('l-2', { teacherId: 't-2' }),
            lesson('l-3', { orgId: 'org-b' }),
            lesson('l-scheduled', { status: 'scheduled' }),
            lesson('l-ended', { status: 'ended' }),
          ],
          quizzes: [],
          tasks: [],
        });
        await h.repo.endActiveLessons({ orgId: 'org-a', userId: 't-2' }, NOW_MS);
        await h.repo.startLesson('l-scheduled', NOW_MS);
        const active = await h.repo.activeLessons();
        expect([...active].sort((a, b) => (a.lessonId < b.lessonId ? -1 : 1))).toEqual([
          { teacher: { orgId: 'org-a', userId: 't-1' }, lessonId: 'l-1' },
          { teacher: { orgId: 'org-b', userId: 't-1' }, lessonId: 'l-3' },
          { teacher: { orgId: 'org-a', userId: 't-1' }, lessonId: 'l-scheduled' },
        ]);
      });

      it('lists nothing when no lesson is active', async () => {
        await h.seed({ lessons: [lesson('l-ended', { status: 'ended' })], quizzes: [], tasks: [] });
        expect(await h.repo.activeLessons()).toEqual([]);
      });
    });

    describe('endActiveLessons', () => {
      const school: LessonSeed = {
        lessons: [
          lesson('l-1'),
          lesson('l-2'),
          lesson('l-3-scheduled', { status: 'scheduled' }),
          lesson('l-4-ended', { status: 'ended' }),
          lesson('l-5-other-teacher', { teacherId: 't-2' }),
          lesson('l-6-other-org', { orgId: 'org-b' }),
        ],
        quizzes: [
          { id: 'q-1', lessonId: 'l-1', status: 'open' },
          { id: 'q-2-closed', lessonId: 'l-1', status: 'closed' },
          { id: 'q-3', lessonId: 'l-3-scheduled', status: 'open' },
          { id: 'q-5', lessonId: 'l-5-other-teacher', status: 'open' },
          { id: 'q-6', lessonId: 'l-6-other-org', status: 'open' },
        ],
        tasks: [
          { id: 'k-2', lessonId: 'l-2', status: 'open' },
          { id: 'k-6', lessonId: 'l-6-other-org', status: 'open' },
        ],
      };

      beforeEach(async () => {
        await h.seed(school);
      });

      it('ends only the active lessons of that teacher in that org, closing their quizzes and tasks', async () => {
        const ended = await h.repo.endActiveLessons({ orgId: 'org-a', userId: 't-1' }, NOW_MS);
        expect([...ended].sort()).toEqual(['l-1', 'l-2']);
        const after = await sortedSnapshot(h);
        const statuses = Object.fromEntries(
          after.lessons.map((row) => [row.id, [row.status, row.endedAtMs]]),
        );
        expect(statuses).toEqual({
          'l-1': ['ended', NOW_MS],
          'l-2': ['ended', NOW_MS],
          'l-3-scheduled': ['scheduled', null],
          'l-4-ended': ['ended', null],
          'l-5-other-teacher': ['active', null],
          'l-6-other-org': ['active', null],
        });
        expect(after.quizzes.map((row) => [row.id, row.status, row.closedAtMs])).toEqual([
          ['q-1', 'closed', NOW_MS],
          ['q-2-closed', 'closed', null],
          ['q-3', 'open', null],
          ['q-5', 'open', null],
          ['q-6', 'open', null],
        ]);
        expect(after.tasks.map((row) => [row.id, row.status, row.closedAtMs])).toEqual([
          ['k-2', 'closed', NOW_MS],
          ['k-6', 'open', null],
        ]);
      });

      it('is idempotent: a second call ends nothing and changes nothing', async () => {
        await h.repo.endActiveLessons({ orgId: 'org-a', userId: 't-1' }, NOW_MS);
        const before = await sortedSnapshot(h);
        expect(await h.repo.endActiveLessons({ orgId: 'org-a', userId: 't-1' }, LATER_MS)).toEqual(
          [],
        );
        expect(await sortedSnapshot(h)).toEqual(before);
      });

      it('ends nothing for a teacher without active lessons', async () => {
        const before = await sortedSnapshot(h);
        expect(await h.repo.endActiveLessons({ orgId: 'org-b', userId: 't-2' }, NOW_MS)).toEqual(
          [],
        );
        expect(await sortedSnapshot(h)).toEqual(before);
      });

      it('leaves a lesson started at or after the end’s moment: it belongs to a newer session', async () => {
        await h.repo.startLesson('l-3-scheduled', LATER_MS);
        expect(
          [...(await h.repo.endActiveLessons({ orgId: 'org-a', userId: 't-1' }, LATER_MS))].sort(),
        ).toEqual(['l-1', 'l-2']);
        expect((await h.repo.findLesson('l-3-scheduled'))?.status).toBe('active');
        expect(
          await h.repo.endActiveLessons({ orgId: 'org-a', userId: 't-1' }, LATER_MS + 1),
        ).toEqual(['l-3-scheduled']);
      });

      it('makes an ended lesson show as ended to findLesson', async () => {
        await h.repo.endActiveLessons({ orgId: 'org-a', userId: 't-1' }, NOW_MS);
        expect((await h.repo.findLesson('l-1'))?.status).toBe('ended');
      });
    });
  });
}
