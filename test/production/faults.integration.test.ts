import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { RunningService } from '../../src/runtime.js';
import { OwnPostgres } from '../adapters/mikro-orm/own-postgres.js';
import { failure } from '../adapters/socket-io/classroom-harness.js';
import {
  canStartOwnPostgres,
  canStartOwnRedis,
  hasPostgres,
  hasRedis,
} from '../support/services.js';
import { Deployment, FAST_TIMINGS, ORG, readiness, useOwnRedis } from './deployment.js';
import { expectSessionEndedOnce, lessonUnderWay } from './session-scenario.js';

/** Presence is refreshed every third of its TTL; a restarted Redis is healed by the next one. */
const HEAL_TIMEOUT_MS = Number(FAST_TIMINGS.PRESENCE_TTL_S) * 1000 + 2_000;
/** A stopped database refuses connections at once; a request must not wait for a timeout. */
const FAST_UNAVAILABLE_MS = 2_000;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const startedAtMs = performance.now();
  const value = await work();
  return { value, ms: performance.now() - startedAtMs };
}

describe.runIf(hasPostgres && canStartOwnRedis())(
  'Production nodes when their Redis restarts empty',
  () => {
    const own = useOwnRedis();
    let a: RunningService;
    let b: RunningService;

    beforeAll(async () => {
      a = await own.deployment.startNode();
      b = await own.deployment.startNode();
    });

    it('go unready, recover, switch notifications on again and heal presence', async () => {
      const teacherId = own.deployment.unique('t');
      const teacher = await own.deployment.teacher(a, teacherId);
      const alive = own.deployment.key(`alive:org_${ORG}_user_${teacherId}`);
      for (const node of [a, b]) expect((await readiness(node)).status).toBe(200);

      await own.redis.stop();
      for (const node of [a, b]) {
        await expect
          .poll(() => readiness(node))
          .toMatchObject({ status: 503, body: { failed: ['redis'] } });
      }
      const refusal = await own.deployment.teacherRefusal(b, own.deployment.unique('t'));
      expect(refusal.message).toBe('unavailable');

      await own.redis.restart();
      for (const node of [a, b]) {
        await expect.poll(async () => (await readiness(node)).status).toBe(200);
      }
      await expect.poll(() => own.deployment.notificationFlags()).toMatch(/^(?=.*E)(?=.*[xA])/);
      // The connected teacher is registered again by the presence refresh, without reconnecting.
      await expect
        .poll(() => own.deployment.redis.hget(alive, 'state'), { timeout: HEAL_TIMEOUT_MS })
        .toBe('connect');
      expect(
        JSON.parse((await own.deployment.redis.get(own.deployment.key(teacherId))) ?? '{}'),
      ).toEqual({
        sid: teacher.socket.id,
        client_id: teacherId,
        role: 'teacher',
        org_id: ORG,
      });
    });

    it('carry events across nodes and end sessions again after the restart', async () => {
      const session = await lessonUnderWay(own.deployment, [a, b]);
      const [managerOnA] = session.managers;
      expect(await managerOnA?.next('teacher_connect')).toEqual({ user_id: session.teacherId });

      session.teacher.socket.disconnect();
      await expectSessionEndedOnce({ deployment: own.deployment, ...session });
    });
  },
);

describe.runIf(hasRedis && canStartOwnPostgres())('Production nodes when PostgreSQL stops', () => {
  let postgres: OwnPostgres;
  let deployment: Deployment;
  let a: RunningService;
  let b: RunningService;

  beforeAll(async () => {
    postgres = await OwnPostgres.create();
    deployment = await Deployment.create({ postgresUrl: postgres.url });
    // A claim whose database write failed is retried after the lease; 30 s by default.
    const shortLease = (config: Config): Config => ({
      ...config,
      timings: { ...config.timings, sessionEndLeaseMs: 1_500 },
    });
    a = await deployment.startNode({}, { adjust: shortLease });
    b = await deployment.startNode({}, { adjust: shortLease });
  });

  afterAll(async () => {
    await deployment?.destroy();
    await postgres?.destroy();
  });

  it('answer join_lesson with unavailable, change nothing, and serve it once it is back', async () => {
    const teacherId = deployment.unique('t');
    const lessonId = await deployment.addLesson(teacherId);
    const teacher = await deployment.teacher(a, teacherId);

    await postgres.stop();
    try {
      const { value: answer, ms } = await timed(() => teacher.join(lessonId));
      expect(answer).toEqual(failure('unavailable'));
      expect(ms).toBeLessThan(FAST_UNAVAILABLE_MS);
      expect(await deployment.redis.exists(deployment.key(`lesson_seat_${lessonId}`))).toBe(0);
      expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
      expect((await readiness(a)).body.failed).toEqual(['database']);
    } finally {
      await postgres.start();
    }

    expect(await teacher.join(lessonId)).toMatchObject({
      ok: true,
      data: { lesson_id: lessonId },
    });
    await expect.poll(async () => (await readiness(a)).status).toBe(200);
  });

  it('end a session that came due while it was stopped exactly once after it is back', async () => {
    const session = await lessonUnderWay(deployment, [a, b]);

    const alive = deployment.key(`alive:org_${ORG}_user_${session.teacherId}`);
    const deadline = () =>
      deployment.redis.zscore(deployment.key('classroom:deadlines'), `${ORG}:${session.teacherId}`);

    await postgres.stop();
    let backAtMs: number;
    try {
      session.teacher.socket.disconnect();
      await expect.poll(() => deployment.redis.hget(alive, 'state')).toBe('disconnect');
      const dueAt = await deadline();
      // A node that claims the session end moves its deadline to the end of the claim's lease;
      // the claim fails on the database and the session stays due.
      await expect.poll(deadline, { timeout: HEAL_TIMEOUT_MS }).not.toBe(dueAt);
      await Promise.all([...session.students, ...session.managers].map((c) => c.settle()));
      for (const student of session.students) expect(student.events('lesson_ended')).toEqual([]);
      for (const manager of session.managers) expect(manager.events('logout')).toEqual([]);
      for (const node of [a, b]) expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    } finally {
      backAtMs = Date.now();
      await postgres.start();
    }

    const ended = await expectSessionEndedOnce({ deployment, ...session });
    expect(ended.endedAtMs).toBeGreaterThanOrEqual(backAtMs);
  });
});
