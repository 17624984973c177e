import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../adapters/socket-io/classroom-harness.js';
import { hasPostgres, hasRedis } from '../support/services.js';
import { Deployment, FAST_TIMINGS, ORG } from './deployment.js';
import { claimSeat, expectSessionKept, lessonUnderWay } from './session-scenario.js';

/** The org whose ids repeat those of `ORG`. */
const OTHER_ORG = 'south';

/**
 * One identity in two places at once — a teacher on two devices, a student id that two orgs both
 * use — on two production nodes (PROTOCOL §6, §6a.2, §6a.5).
 */
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
    expect(
      await deployment.redis.hgetall(deployment.key(`lesson_teacher_${session.lessonId}`)),
    ).toEqual({ [teacherId]: older.socket.id });
  });

  it("refuse a student a seat in another org's lesson whose student has the same id, and leave that lesson as it was", async () => {
    const [a, b] = [await deployment.startNode(), await deployment.startNode()];
    const studentId = deployment.unique('s');
    const theirTeacherId = deployment.unique('t');
    const theirLessonId = await deployment.addLesson(theirTeacherId, { orgId: OTHER_ORG });
    const theirTeacher = await deployment.connect(b, {
      sub: theirTeacherId,
      org: OTHER_ORG,
      role: 'teacher',
    });
    await theirTeacher.join(theirLessonId);
    const theirStudent = await deployment.connect(b, {
      sub: studentId,
      org: OTHER_ORG,
      role: 'student',
    });
    await theirStudent.join(theirLessonId);
    expect(await claimSeat(theirStudent, theirLessonId, '1', 'Bea')).toMatchObject({ ok: true });
    const named = { display_name: 'Bea', seat_id: '1', student_id: studentId };
    expect(await theirTeacher.next('set_student_name')).toEqual(named);

    const ourLessonId = await deployment.addLesson(deployment.unique('t'));
    const ourStudent = await deployment.student(a, studentId);
    expect(await ourStudent.join(ourLessonId)).toMatchObject({ ok: true });

    expect(await claimSeat(ourStudent, theirLessonId, '2', 'Mallory')).toEqual(
      failure('not_in_lesson'),
    );
    expect(await deployment.attendance(theirLessonId)).toEqual({
      [studentId]: { displayName: 'Bea', seatId: '1' },
    });
    expect(await deployment.seatMap(theirLessonId)).toEqual({
      '1': studentId,
      '2': '',
      '3': '',
      '4': '',
    });
    await theirTeacher.settle();
    expect(theirTeacher.events('set_student_name')).toEqual([named]);
  });
});
