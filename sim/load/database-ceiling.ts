import { performance } from 'node:perf_hooks';
import { MikroOrmLessonRepository } from '../../src/adapters/mikro-orm/mikro-orm-lesson-repository.js';
import { openOrm } from '../../src/adapters/mikro-orm/orm.js';
import type { BenchClient, BenchEvent } from './bench-protocol.js';

/**
 * How many times per second the service's own LessonRepository, with the service's default pool,
 * can do the database work of each event and nothing else: a `join_lesson` reads its lesson, a
 * `set_student_name` upserts its attendance row. Runs in this process with `lanes` calls in flight;
 * no node can acknowledge an event faster than this, whatever the rest of it costs.
 */
export async function measureDatabaseCeiling(
  databaseUrl: string,
  students: readonly BenchClient[],
  lanes: number,
  durationMs: number,
): Promise<Record<BenchEvent, number>> {
  const orm = await openOrm({ databaseUrl });
  const repository = new MikroOrmLessonRepository(orm);
  let names = 0;
  const work: Record<BenchEvent, (student: BenchClient) => Promise<unknown>> = {
    join_lesson: (student) => repository.findLesson(student.lessonId),
    set_student_name: (student) => {
      names += 1;
      return repository.recordAttendance(
        {
          lessonId: student.lessonId,
          studentId: student.userId,
          displayName: `Ceiling ${names}`,
          seatId: student.seatId,
        },
        Date.now(),
      );
    },
  };
  try {
    const perS = async (event: BenchEvent) => {
      let done = 0;
      const endAt = performance.now() + durationMs;
      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          const student = students[lane % students.length] as BenchClient;
          while (performance.now() < endAt) {
            await work[event](student);
            done += 1;
          }
        }),
      );
      return Math.round(done / (durationMs / 1000));
    };
    return {
      join_lesson: await perS('join_lesson'),
      set_student_name: await perS('set_student_name'),
    };
  } finally {
    await orm.close();
  }
}
