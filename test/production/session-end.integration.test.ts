import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServerProcess } from '../adapters/redis/redis-server-process.js';
import { hasPostgres, hasRedis } from '../support/services.js';
import { Deployment, FAST_TIMINGS, kill, type Node, ORG } from './deployment.js';
import { expectEndedTogether, expectSessionEndedOnce, lessonUnderWay } from './session-scenario.js';

const GRACE_MS = Number(FAST_TIMINGS.DISCONNECT_GRACE_S) * 1000;
const SWEEP_INTERVAL_MS = Number(FAST_TIMINGS.SWEEP_INTERVAL_S) * 1000;
/** Redis removes an expired key within about 100 ms here; the rest is a loaded machine's slack. */
const SESSION_END_SLACK_MS = 1_500;

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

  it('ends the session of a teacher whose nodes were all killed once one of them is back', async () => {
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

    const restarted = await deployment.startChild();
    await expect
      .poll(async () => (await deployment.lessonRow(lessonId)).status, {
        timeout: SWEEP_INTERVAL_MS + 2_000,
      })
      .toBe('ended');
    const ended = await deployment.lessonRow(lessonId);
    expectEndedTogether(ended);
    expect(ended.endedAtMs).toBeLessThanOrEqual(restarted.listeningAtMs + SWEEP_INTERVAL_MS);
  });
});

describe.runIf(hasRedis && hasPostgres)(
  'Session end with two production nodes and no expiry notifications',
  () => {
    let redis: RedisServerProcess;
    let deployment: Deployment;
    let nodes: readonly [Node, Node];

    beforeAll(async () => {
      redis = await RedisServerProcess.start();
      deployment = await Deployment.create({ redisUrl: redis.url });
      nodes = [await deployment.startNode(), await deployment.startNode()];
      // The nodes switched notifications on at start; they only do so again after a reconnect.
      await deployment.redis.config('SET', 'notify-keyspace-events', '');
    });

    afterAll(async () => {
      await deployment?.destroy();
      await redis?.stop();
    });

    it('ends the lesson once, right after the grace period, through the deadline sweep', async () => {
      const { teacherId, lessonId, teacher, students, managers } = await lessonUnderWay(
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

      expect((ended.endedAtMs ?? 0) - leftAtMs).toBeLessThan(GRACE_MS + SESSION_END_SLACK_MS);
      expect(await deployment.notificationFlags()).toBe('');
    });
  },
);
