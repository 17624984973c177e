import { describe, expect, it } from 'vitest';
import { DEMO, demoSeed } from '../../../src/adapters/in-memory/demo-data.js';
import { InMemoryLessonRepository } from '../../../src/adapters/in-memory/in-memory-lesson-repository.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import { describeLessonRepositoryContract } from '../../contracts/lesson-repository.contract.js';

describeLessonRepositoryContract('in-memory', async () => {
  const repo = new InMemoryLessonRepository();
  return {
    repo,
    seed: async (seed) => repo.seed(seed),
    snapshot: async () => repo.snapshot(),
    close: async () => {},
  };
});

describe('InMemoryLessonRepository', () => {
  it('rejects every operation while unavailable, having changed nothing', async () => {
    const repo = new InMemoryLessonRepository(demoSeed());
    const before = repo.snapshot();
    repo.setAvailable(false);
    const teacher = { orgId: DEMO.orgId, userId: 't-ada' };
    const calls: Array<() => Promise<unknown>> = [
      () => repo.findLesson('lesson-math'),
      () => repo.startLesson('lesson-art', 1),
      () =>
        repo.recordAttendance(
          { lessonId: 'lesson-math', studentId: 's-1', displayName: 'Ada', seatId: '1' },
          1,
        ),
      () => repo.endActiveLessons(teacher, 1),
      () => repo.recordedSeats('lesson-math'),
      () => repo.activeLessons(),
    ];
    for (const call of calls) {
      await expect(call()).rejects.toBeInstanceOf(DependencyUnavailableError);
    }
    expect(repo.snapshot()).toEqual(before);
    repo.setAvailable(true);
    expect(await repo.endActiveLessons(teacher, 1)).toEqual(['lesson-math']);
  });

  it('refuses a seed that repeats an id or names an unknown lesson, inserting nothing', () => {
    const repo = new InMemoryLessonRepository(demoSeed());
    const before = repo.snapshot();
    expect(() => repo.seed(demoSeed())).toThrow(/repeats/);
    expect(() =>
      repo.seed({
        lessons: [],
        quizzes: [{ id: 'quiz-9', lessonId: 'lesson-nowhere', status: 'open' }],
        tasks: [],
      }),
    ).toThrow(/unknown lesson/);
    expect(repo.snapshot()).toEqual(before);
  });

  it('serves the demo school: an active maths lesson with open work and a scheduled art lesson', async () => {
    const repo = new InMemoryLessonRepository(demoSeed());
    expect(await repo.findLesson('lesson-math')).toEqual({
      id: 'lesson-math',
      orgId: 'demo-org',
      teacherId: 't-ada',
      title: 'Maths',
      seatCount: 30,
      status: 'active',
    });
    expect(await repo.findLesson('lesson-art')).toMatchObject({
      teacherId: 't-grace',
      status: 'scheduled',
      seatCount: 20,
    });
    const { quizzes, tasks } = repo.snapshot();
    expect(quizzes).toEqual([
      { id: 'quiz-1', lessonId: 'lesson-math', status: 'open', closedAtMs: null },
    ]);
    expect(tasks).toEqual([
      { id: 'task-1', lessonId: 'lesson-math', status: 'open', closedAtMs: null },
    ]);
  });

  it('gives each repository its own copy of the demo rows', async () => {
    const first = new InMemoryLessonRepository(demoSeed());
    const second = new InMemoryLessonRepository(demoSeed());
    await first.endActiveLessons({ orgId: DEMO.orgId, userId: 't-ada' }, 1);
    expect((await second.findLesson('lesson-math'))?.status).toBe('active');
  });
});
