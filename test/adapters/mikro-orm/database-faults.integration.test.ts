import type { MikroORM } from '@mikro-orm/postgresql';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateDatabase } from '../../../src/adapters/mikro-orm/migrations.js';
import { MikroOrmCooldownLedger } from '../../../src/adapters/mikro-orm/mikro-orm-cooldown-ledger.js';
import {
  MikroOrmLessonRepository,
  seedLessons,
} from '../../../src/adapters/mikro-orm/mikro-orm-lesson-repository.js';
import { MikroOrmPresenceLog } from '../../../src/adapters/mikro-orm/mikro-orm-presence-log.js';
import { openOrm } from '../../../src/adapters/mikro-orm/orm.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { PresenceRecord } from '../../../src/domain/presence.js';
import { counterValue } from '../../support/metrics.js';
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

describe.runIf(canStartOwnPostgres())(
  'MikroOrmLessonRepository and MikroOrmCooldownLedger when their server goes away',
  () => {
    let server: OwnPostgres;
    let orm: MikroORM;
    let repository: MikroOrmLessonRepository;
    let ledger: MikroOrmCooldownLedger;
    let nowMs = Date.UTC(2026, 0, 5, 9);

    const operations = {
      findLesson: () => repository.findLesson('l-1'),
      startLesson: () => repository.startLesson('l-2', nowMs),
      recordAttendance: () => repository.recordAttendance(attendance, nowMs),
      endActiveLessons: () => repository.endActiveLessons(teacher, nowMs),
      recordCooldown: () => ledger.record({ teacher, untilMs: nowMs + 60_000, by: 'm-1' }),
      cancelCooldown: () => ledger.cancel({ teacher, untilMs: nowMs + 60_000 }),
      runningCooldown: () => ledger.runningUntil(teacher, nowMs),
      activeCooldowns: () => ledger.active(nowMs),
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
      ledger = new MikroOrmCooldownLedger(orm);
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

    describe('a write the client gave up on while the server was frozen', () => {
      const fenced = { orgId: 'org-1', userId: 't-fenced' };
      const cooled = { orgId: 'org-1', userId: 't-cooled' };
      const cooledUntilMs = nowMs + 60_000;
      const write = {
        startLesson: {
          call: () => writer.startLesson('l-fenced-scheduled', nowMs),
          statement: /^\s*update "lesson"/,
        },
        recordAttendance: {
          call: () =>
            writer.recordAttendance({ ...attendance, lessonId: 'l-fenced-active' }, nowMs),
          statement: /^\s*insert into "student_attend"/,
        },
        endActiveLessons: {
          call: () => writer.endActiveLessons(fenced, nowMs),
          statement: /closed_quizzes/,
        },
        recordCooldown: {
          call: () => cooldowns.record({ teacher: fenced, untilMs: nowMs + 60_000, by: 'm-1' }),
          statement: /^\s*insert into "teacher_cooldown"/,
        },
        cancelCooldown: {
          call: () => cooldowns.cancel({ teacher: cooled, untilMs: cooledUntilMs }),
          statement: /^\s*delete from "teacher_cooldown"/,
        },
      };
      /** A pool of the test's own, so the sessions it leaves behind disturb no other test. */
      let writerOrm: MikroORM;
      let writer: MikroOrmLessonRepository;
      let cooldowns: MikroOrmCooldownLedger;
      let observer: MikroORM;

      /** What the writes would change, read on a connection of the observer's own. */
      const fencedRows = () =>
        observer.em.getConnection().execute(
          `select 'lesson' as "table", id as "key", status as "value" from lesson
             where id like 'l-fenced-%'
           union all
           select 'student_attend', lesson_id, student_id from student_attend
             where lesson_id like 'l-fenced-%'
           union all
           select 'teacher_cooldown', user_id, until::text from teacher_cooldown
           order by 1, 2, 3`,
        );

      beforeAll(async () => {
        await seedLessons(orm, {
          lessons: [
            {
              id: 'l-fenced-active',
              ...teacherOf(fenced),
              title: null,
              seatCount: 30,
              status: 'active',
            },
            {
              id: 'l-fenced-scheduled',
              ...teacherOf(fenced),
              title: null,
              seatCount: 30,
              status: 'scheduled',
            },
          ],
          quizzes: [],
          tasks: [],
        });
        writerOrm = await openOrm({ databaseUrl: server.url });
        writer = new MikroOrmLessonRepository(writerOrm);
        cooldowns = new MikroOrmCooldownLedger(writerOrm);
        observer = await openOrm({ databaseUrl: server.url, poolMax: 1 });
      });

      afterAll(async () => {
        await writerOrm?.close();
        await observer?.close();
      });

      it('applies nothing when the server thaws and runs it', async () => {
        // The writers have written before (an active lesson stays as it is; the cooldown is the
        // one to cancel), and hold one open connection per write, so that each statement reaches
        // a session of its own while the server is frozen (a new connection could not even log
        // in then).
        await writer.startLesson('l-fenced-active', nowMs);
        await cooldowns.record({ teacher: cooled, untilMs: cooledUntilMs, by: 'm-1' });
        await Promise.all(
          Object.keys(write).map(() =>
            writerOrm.em.getConnection().execute('select pg_sleep(0.05)'),
          ),
        );
        const before = await fencedRows();
        await server.signal('SIGSTOP');
        const outcomes = await Promise.all(Object.values(write).map(({ call }) => timed(call)));
        await server.signal('SIGCONT');
        for (const { error } of outcomes) expect(error).toBeInstanceOf(DependencyUnavailableError);

        // Each abandoned statement did reach its session, which runs it once thawed.
        await vi.waitFor(
          async () => {
            const sessions: Array<{ query: string }> = await observer.em.getConnection().execute(
              `select query from pg_stat_activity
                 where datname = current_database() and state = 'idle'`,
            );
            for (const { statement } of Object.values(write)) {
              expect(sessions.some(({ query }) => statement.test(query))).toBe(true);
            }
          },
          { timeout: 5_000, interval: 50 },
        );
        expect(await fencedRows()).toEqual(before);
      });
    });

    describe('the presence log', () => {
      /** A pool of the test's own, so the sessions it leaves behind disturb no other test. */
      let logOrm: MikroORM;
      let log: MikroOrmPresenceLog;
      let registry: Registry;
      let observer: MikroORM;
      const record = (atMs: number): PresenceRecord => ({
        orgId: 'org-log',
        userId: 't-1',
        atMs,
        kind: 'disconnect',
        reason: 'transport close',
        node: 'node-1',
      });
      const history = () => log.history({ orgId: 'org-log', userId: 't-1', limit: 200 });
      const timesWritten = async () => (await history()).map((found) => found.atMs);

      beforeAll(async () => {
        logOrm = await openOrm({ databaseUrl: server.url });
        registry = new Registry();
        log = new MikroOrmPresenceLog(logOrm, {
          logger: pino({ level: 'silent' }),
          registry,
          retryDelayMs: 200,
        });
        observer = await openOrm({ databaseUrl: server.url, poolMax: 1 });
      });

      afterAll(async () => {
        await log?.close();
        await logOrm?.close();
        await observer?.close();
      });

      it('keeps what it could not write while the server was down and writes it once it is back', async () => {
        await server.stop();
        try {
          for (const atMs of [1, 2, 3]) await log.record(record(nowMs + atMs));
          await vi.waitFor(
            async () => {
              expect(
                await counterValue(registry, 'classroom_presence_log_failed_batches_total'),
              ).toBeGreaterThan(0);
            },
            { timeout: 10_000, interval: 50 },
          );
        } finally {
          await server.start();
        }
        // No flush: the retry timer sends them.
        await vi.waitFor(
          async () => expect(await timesWritten()).toEqual([nowMs + 3, nowMs + 2, nowMs + 1]),
          { timeout: 10_000, interval: 100 },
        );
      });

      it('writes a record once when the server runs a batch the log gave up on and sent again', async () => {
        // The log has written before and holds an open connection for the batch.
        await log.record(record(nowMs + 10));
        await log.flush();
        await server.signal('SIGSTOP');
        await log.record(record(nowMs + 11));
        const { ms } = await timed(() => log.flush());
        await server.signal('SIGCONT');
        expect(ms).toBeGreaterThan(5_000);

        // The abandoned insert reached its session, which runs it once thawed.
        await vi.waitFor(
          async () => {
            const sessions: Array<{ query: string }> = await observer.em.getConnection().execute(
              `select query from pg_stat_activity
                 where datname = current_database() and state = 'idle'`,
            );
            expect(sessions.some(({ query }) => /insert into "presence_event"/.test(query))).toBe(
              true,
            );
          },
          { timeout: 5_000, interval: 50 },
        );
        await log.flush();
        expect((await timesWritten()).filter((atMs) => atMs === nowMs + 11)).toHaveLength(1);
      });
    });
  },
);

function teacherOf(ref: { orgId: string; userId: string }) {
  return { orgId: ref.orgId, teacherId: ref.userId };
}
