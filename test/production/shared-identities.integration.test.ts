import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, hasRedis } from '../support/services.js';
import { Deployment, FAST_TIMINGS, ORG } from './deployment.js';
import { expectSessionKept, lessonUnderWay } from './session-scenario.js';

/** One identity in two places at once, on two production nodes (PROTOCOL §6, §6a.2). */
describe.runIf(hasRedis && hasPostgres)('Production nodes serving identities held twice', () => {
  let deployment: Deployment;

  beforeAll(async () => {
    deployment = await Deployment.create();
  });

  // Each test starts its own nodes: one left running would end the next test's sessions.
  afterEach(() => deployment.stopNodes());

  afterAll(() => deployment?.destroy());

  it('keep the session of a teacher, and tell the managers nothing, when the newer of its two devices leaves', async () => {
    const nodes = [await deployment.startNode(), await deployment.startNode()] as const;
    const session = await lessonUnderWay(deployment, nodes);
    const { teacherId, teacher: older, managers } = session;
    const newer = await deployment.teacher(nodes[1], teacherId);

    newer.socket.disconnect();
    await expectSessionKept({ deployment, timings: FAST_TIMINGS, ...session });
    for (const manager of managers) expect(manager.events('teacher_disconnect')).toEqual([]);
    expect(
      await deployment.redis.hget(deployment.key(`alive:org_${ORG}_user_${teacherId}`), 'state'),
    ).toBe('connect');
    expect(JSON.parse((await deployment.redis.get(deployment.key(teacherId))) ?? '{}')).toEqual(
      expect.objectContaining({ sid: older.socket.id }),
    );
  });
});
