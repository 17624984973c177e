import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canStartOwnRedis, hasPostgres, hasRedis } from '../support/services.js';
import { Deployment, FAST_TIMINGS, kill, ORG, useOwnRedis } from './deployment.js';
import { expectEndedTogether, expectSessionEndedOnce, lessonUnderWay } from './session-scenario.js';

const GRACE_MS = Number(FAST_TIMINGS.DISCONNECT_GRACE_S) * 1000;
const SWEEP_INTERVAL_MS = Number(FAST_TIMINGS.SWEEP_INTERVAL_S) * 1000;
/** Redis removes an expired key within about 100 ms here; the rest is a loaded machine's slack. */
const SESSION_END_SLACK_MS = 1_500;
/**
 * Teachers who leave one after another, so that some deadlines come due while others still
 * leave: 80 of them 20 ms apart is what it takes for the deadline sweep to be re-armed by a
 * disconnect just as a deadline came due.
 */
const TEACHERS_LEAVING = 80;
const LEAVING_GAP_MS = 20;

describe.runIf(hasRedis && hasPostgres)('Session end with two production nodes', () => {
  let deployment: Deployment;

  beforeAll(async () => {
    deployment = await Deployment.create();
  });

  // Each test starts its own nodes: one left running would end the next test's sessions.
  afterEach(() => deployment.stopNodes());

  afterAll(() => deployment?.destroy());

  it('ends the lesson once, a grace period after the teacher left', async () => {
    const nodes = [await deployment.startNode(), await deployment.startNode()] as const;
    const { teacherId, lessonId, scheduledId, teacher, students, managers } = await lessonUnderWay(
      deployment,
      nodes,
    );

    const leftAtMs = Date.now();
    teacher.socket.disconnect();
    const ended = await expectSessionEndedOnce({
      deployment,
      teacherId,
      lessonId,
      students,
      managers,
    });

    const endedAfterMs = (ended.endedAtMs ?? 0) - leftAtMs;
    expect(endedAfterMs).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(endedAfterMs).toBeLessThan(GRACE_MS + SESSION_END_SLACK_MS);
    expect((await deployment.lessonRow(scheduledId)).status).toBe('scheduled');
    expect(
      await deployment.redis.exists(deployment.key(`alive:org_${ORG}_user_${teacherId}`)),
    ).toBe(0);
  });

  it('ends the session of a teacher whose nodes were all killed a grace period after one of them is back', async () => {
    const nodes = await Promise.all([deployment.startChild(), deployment.startChild()]);
    const { teacherId, lessonId } = await lessonUnderWay(deployment, [nodes[0], nodes[1]]);
    const alive = deployment.key(`alive:org_${ORG}_user_${teacherId}`);

    await Promise.all(nodes.map(({ serving }) => kill(serving)));
    // Nobody recorded the disconnect: the alive hash runs out its presence TTL, unheard.
    await expect
      .poll(() => deployment.redis.exists(alive), {
        timeout: Number(FAST_TIMINGS.PRESENCE_TTL_S) * 1000 + 2_000,
      })
      .toBe(0);
    expect((await deployment.lessonRow(lessonId)).status).toBe('active');

    const restartedAtMs = Date.now();
    const restarted = await deployment.startChild();
    await expect
      .poll(async () => (await deployment.lessonRow(lessonId)).status, {
        timeout: GRACE_MS + SWEEP_INTERVAL_MS + 2_000,
      })
      .toBe('ended');
    const ended = await deployment.lessonRow(lessonId);
    expectEndedTogether(ended);
    // The node back finds the session connected but unrefreshed: its grace period starts then
    // (node_lost, PROTOCOL §6a.2), and the session ends when it runs out.
    expect(ended.endedAtMs).toBeGreaterThanOrEqual(restartedAtMs + GRACE_MS - 50);
    expect(ended.endedAtMs).toBeLessThanOrEqual(
      restarted.listeningAtMs + GRACE_MS + SWEEP_INTERVAL_MS + SESSION_END_SLACK_MS,
    );
  });
});

describe.runIf(hasPostgres && canStartOwnRedis())(
  'Session end with two production nodes and no expiry notifications',
  () => {
    const own = useOwnRedis();

    afterEach(() => own.deployment.stopNodes());

    /** Two nodes, then notifications off: the nodes only switch them on again on a reconnect. */
    async function nodesWithoutNotifications() {
      const nodes = [await own.deployment.startNode(), await own.deployment.startNode()] as const;
      await own.deployment.redis.config('SET', 'notify-keyspace-events', '');
      return nodes;
    }

    it('ends the lesson once, right after the grace period, through the deadline sweep', async () => {
      const { teacherId, lessonId, teacher, students, managers } = await lessonUnderWay(
        own.deployment,
        await nodesWithoutNotifications(),
      );

      const leftAtMs = Date.now();
      teacher.socket.disconnect();
      const ended = await expectSessionEndedOnce({
        deployment: own.deployment,
        teacherId,
        lessonId,
        students,
        managers,
      });

      expect((ended.endedAtMs ?? 0) - leftAtMs).toBeLessThan(GRACE_MS + SESSION_END_SLACK_MS);
      expect(await own.deployment.notificationFlags()).toBe('');
    });
  },
);

describe.runIf(hasPostgres && canStartOwnRedis())(
  'Session end with two production nodes and expiry notifications made late by many keys with a TTL',
  () => {
    const own = useOwnRedis();

    beforeAll(async () => {
      // Redis finds expired keys by sampling the keys with a TTL: with 10,000 of them alive, an
      // alive hash can go unnoticed, and its notification unsent, for many seconds.
      const pipeline = own.deployment.redis.pipeline();
      for (let i = 0; i < 10_000; i++) pipeline.set(`other-${i}`, 'x', 'EX', 3_600);
      await pipeline.exec();
    });

    it('ends the sessions of teachers leaving one after another each right after its grace, long before the sweep interval', async () => {
      const nodes = [
        await own.deployment.startNode({ SWEEP_INTERVAL_S: '60' }),
        await own.deployment.startNode({ SWEEP_INTERVAL_S: '60' }),
      ] as const;
      const lessons = await Promise.all(
        Array.from({ length: TEACHERS_LEAVING }, async (_, i) => {
          const [home, other] = i % 2 === 0 ? nodes : [nodes[1], nodes[0]];
          const teacherId = own.deployment.unique('t');
          const lessonId = await own.deployment.addLesson(teacherId);
          const teacher = await own.deployment.teacher(home, teacherId);
          const student = await own.deployment.student(other, own.deployment.unique('s'));
          await teacher.join(lessonId);
          await student.join(lessonId);
          return { teacher, student };
        }),
      );

      const latenciesMs = await Promise.all(
        lessons.map(async ({ teacher, student }, i) => {
          await delay(i * LEAVING_GAP_MS);
          const leftAtMs = Date.now();
          teacher.socket.disconnect();
          const ended = await Promise.race([
            student.next('lesson_ended'),
            delay(GRACE_MS + SESSION_END_SLACK_MS, null),
          ]);
          return ended === null ? Number.POSITIVE_INFINITY : Date.now() - leftAtMs - GRACE_MS;
        }),
      );
      expect(Math.max(...latenciesMs)).toBeLessThan(SESSION_END_SLACK_MS);
    });
  },
);
