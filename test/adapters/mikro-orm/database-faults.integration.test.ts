import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../../src/adapters/mikro-orm/migrations.js';
import {
  MikroOrmLessonRepository,
  seedLessons,
} from '../../../src/adapters/mikro-orm/mikro-orm-lesson-repository.js';
import { openOrm } from '../../../src/adapters/mikro-orm/orm.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import { canStartOwnPostgres } from '../../support/services.js';
import { OwnPostgres } from './own-postgres.js';

const teacher = { orgId: 'org-1', userId: 't-1' };
const attendance = { lessonId: 'l-1', studentId: 's-1', displayName: 'Ada', seatId: '1' };

/** How long a failure may take to surface: the connect timeout plus a margin for a slow machine. */
const FAST_FAILURE_MS = 4_500;
/** A frozen server is noticed by the client-side query timeout. */
const FROZEN_FAILURE_MS = 8_000;

async function timed(operation: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await operation();
    return { error: null, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

describe.runIf(canStartOwnPostgres())('MikroOrmLessonRepository when its server goes away', () => {
  let server: OwnPostgres;
  let orm: MikroORM;
  let repository: MikroOrmLessonRepository;
  let nowMs = Date.UTC(2026, 0, 5, 9);

  const operations = {
    findLesson: () => repository.findLesson('l-1'),
    startLesson: () => repository.startLesson('l-2', nowMs),
    recordAttendance: () => repository.recordAttendance(attendance, nowMs),
    endActiveLessons: () => repository.endActiveLessons(teacher, nowMs),
  };

  beforeAll(async () => {
    server = await OwnPostgres.create();
    orm = await openOrm({ databaseUrl: server.url });
    await migrateDatabase(orm);
    await seedLessons(orm, {
      lessons: [
        { id: 'l-1', ...teacherOf(teacher), title: null, seatCount: 30, status: 'active' },
        { id: 'l-2', ...teacherOf(teacher), title: null, seatCount: 30, status: 'scheduled' },
      ],
      quizzes: [],
      tasks: [],
    });
    repository = new MikroOrmLessonRepository(orm);
  });

  afterAll(async () => {
    await orm?.close();
    await server?.destroy();
  });

  it('answers while the server runs', async () => {
    expect(await repository.findLesson('l-1')).toMatchObject({ status: 'active' });
  });

  describe('while the server is stopped', () => {
    beforeAll(() => server.stop());
    afterAll(() => server.start());

    it.each(Object.keys(operations) as Array<keyof typeof operations>)(
      '%s throws DependencyUnavailableError within seconds',
      async (name) => {
        const { error, ms } = await timed(operations[name]);
        expect(error).toBeInstanceOf(DependencyUnavailableError);
        expect(ms).toBeLessThan(FAST_FAILURE_MS);
      },
    );
  });

  it('works again with the same repository once the server is back', async () => {
    nowMs += 1_000;
    await repository.recordAttendance(attendance, nowMs);
    expect(await repository.endActiveLessons(teacher, nowMs)).toEqual(['l-1']);
    expect(await repository.findLesson('l-1')).toMatchObject({ status: 'ended' });
  });

  it('reports a frozen server as unavailable from every method instead of hanging', async () => {
    await server.signal('SIGSTOP');
    const outcomes = await Promise.all(Object.values(operations).map(timed));
    await server.signal('SIGCONT');
    for (const { error, ms } of outcomes) {
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect(ms).toBeLessThan(FROZEN_FAILURE_MS);
    }
  });

  it('works again once the frozen server thaws', async () => {
    expect(await repository.findLesson('l-2')).toMatchObject({ id: 'l-2' });
  });

  it('replaces a connection stuck behind an abandoned query instead of reusing it', async () => {
    await server.signal('SIGSTOP');
    const { error } = await timed(operations.findLesson);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    // The old session stays frozen; only a new connection can answer now.
    await server.signal('SIGCONT', 'postmaster');
    try {
      expect(await repository.findLesson('l-1')).toMatchObject({ id: 'l-1' });
    } finally {
      await server.signal('SIGCONT');
    }
  });
});

function teacherOf(ref: { orgId: string; userId: string }) {
  return { orgId: ref.orgId, teacherId: ref.userId };
}
