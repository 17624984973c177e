import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/runtime.js';
import { FakeMixpanel } from '../adapters/mixpanel/fake-mixpanel.js';
import { ack, disconnection, failure } from '../adapters/socket-io/classroom-harness.js';
import { hasPostgres, hasRedis } from '../support/services.js';
import { Deployment, ORG } from './deployment.js';

const COOLDOWN_S = 30;

/**
 * Every client flow of PROTOCOL §6 on two production nodes in this process — the real Redis
 * presence store and cluster adapter on the machine's Redis, lessons in PostgreSQL, analytics to
 * a fake Mixpanel — with the clients of one flow spread over both nodes.
 */
describe.runIf(hasRedis && hasPostgres)('Two production nodes on one Redis and PostgreSQL', () => {
  let deployment: Deployment;
  let mixpanel: FakeMixpanel;
  let a: RunningService;
  let b: RunningService;

  beforeAll(async () => {
    mixpanel = await new FakeMixpanel().start();
    deployment = await Deployment.create();
    const env = {
      COOLDOWN_S: String(COOLDOWN_S),
      // Long enough that a teacher who steps away for a moment in these tests keeps the session.
      DISCONNECT_GRACE_S: '30',
      MIXPANEL_TOKEN: 'mixpanel-test-token',
      MIXPANEL_HOST: `http://${mixpanel.host}`,
    };
    a = await deployment.startNode(env);
    b = await deployment.startNode(env);
  });

  afterAll(async () => {
    await deployment?.destroy();
    await mixpanel?.stop();
  });

  it('tells a manager on one node that a teacher connected to the other', async () => {
    const manager = await deployment.manager(b, deployment.unique('m'));
    const teacherId = deployment.unique('t');
    await deployment.teacher(a, teacherId);
    expect(await manager.next('teacher_connect')).toEqual({ user_id: teacherId });
  });

  it('forces out a teacher held by the other node, who then cannot come back on either node', async () => {
    const manager = await deployment.manager(b, deployment.unique('m'));
    const teacherId = deployment.unique('t');
    const teacher = await deployment.teacher(a, teacherId);
    const gone = disconnection(teacher.socket);

    expect(await ack(manager.socket, 'force_logout', { user_id: teacherId, org_id: ORG })).toEqual({
      ok: true,
      data: { delivered: true },
    });
    expect(await teacher.next('force_logout')).toEqual({ user_id: teacherId });
    expect(await gone).toBe('io server disconnect');

    for (const node of [a, b]) {
      const refusal = await deployment.teacherRefusal(node, teacherId);
      expect(refusal.message).toBe('cooldown');
      const { retry_after_s } = refusal.data as { retry_after_s: number };
      expect(Number.isInteger(retry_after_s)).toBe(true);
      expect(retry_after_s).toBeGreaterThanOrEqual(1);
      expect(retry_after_s).toBeLessThanOrEqual(COOLDOWN_S);
    }
    expect(
      await deployment.redis.ttl(deployment.key(`cooldown:org_${ORG}_user_${teacherId}`)),
    ).toBeGreaterThan(0);
  });

  it('tells the teacher on one node the name a student on the other chose, and keeps it', async () => {
    const teacherId = deployment.unique('t');
    const lessonId = await deployment.addLesson(teacherId);
    const teacher = await deployment.teacher(a, teacherId);
    const studentId = deployment.unique('s');
    const student = await deployment.student(b, studentId);
    await teacher.join(lessonId);
    await student.join(lessonId);

    const named = await ack(student.socket, 'set_student_name', {
      lesson_id: lessonId,
      display_name: 'Sam',
      seat_id: 2,
      student_id: studentId,
    });
    expect(named).toMatchObject({ ok: true });
    expect(await teacher.next('set_student_name')).toEqual({
      display_name: 'Sam',
      seat_id: '2',
      student_id: studentId,
    });
    const rows = await deployment.orm.em
      .fork()
      .getConnection()
      .execute('select student_id, display_name, seat_id from student_attend where lesson_id = ?', [
        lessonId,
      ]);
    expect(rows).toEqual([{ student_id: studentId, display_name: 'Sam', seat_id: '2' }]);
  });

  it('gives one seat to exactly one of ten students racing for it from both nodes', async () => {
    const teacherId = deployment.unique('t');
    const lessonId = await deployment.addLesson(teacherId, { seatCount: 30 });
    const teacher = await deployment.teacher(a, teacherId);
    await teacher.join(lessonId);
    const students = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        deployment.student(i % 2 === 0 ? a : b, deployment.unique('s')),
      ),
    );
    await Promise.all(students.map((student) => student.join(lessonId)));

    const answers = await Promise.all(
      students.map((student) =>
        ack(student.socket, 'set_student_name', {
          lesson_id: lessonId,
          display_name: student.identity.sub,
          seat_id: '7',
          student_id: student.identity.sub,
        }),
      ),
    );

    const winners = students.filter((_, i) => (answers[i] as { ok: boolean }).ok);
    expect(winners).toHaveLength(1);
    expect(answers.filter((answer) => !(answer as { ok: boolean }).ok)).toEqual(
      Array(9).fill(failure('seat_taken')),
    );
    const winner = winners[0]?.identity.sub;
    expect(await deployment.redis.hget(deployment.key(`lesson_seat_${lessonId}`), '7')).toBe(
      winner,
    );
    const seated = await deployment.orm.em
      .fork()
      .getConnection()
      .execute('select student_id from student_attend where lesson_id = ? and seat_id = ?', [
        lessonId,
        '7',
      ]);
    expect(seated).toEqual([{ student_id: winner }]);
    await teacher.settle();
    expect(teacher.events('set_student_name')).toEqual([
      { display_name: winner, seat_id: '7', student_id: winner },
    ]);
  });

  it.each([
    ['the same node', () => a],
    ['the other node', () => b],
  ])('puts a teacher who reconnects to %s back into the lesson', async (_where, reconnectTo) => {
    const teacherId = deployment.unique('t');
    const lessonId = await deployment.addLesson(teacherId);
    const first = await deployment.teacher(a, teacherId);
    await first.join(lessonId);
    const studentId = deployment.unique('s');
    const student = await deployment.student(b, studentId);
    await student.join(lessonId);
    const alive = deployment.key(`alive:org_${ORG}_user_${teacherId}`);

    first.socket.disconnect();
    await expect.poll(() => deployment.redis.hget(alive, 'state')).toBe('disconnect');
    const second = await deployment.teacher(reconnectTo(), teacherId);

    expect(await deployment.redis.hgetall(deployment.key(`lesson_teacher_${lessonId}`))).toEqual({
      [teacherId]: second.socket.id,
    });
    expect(await deployment.redis.hget(alive, 'state')).toBe('connect');
    await ack(student.socket, 'set_student_name', {
      lesson_id: lessonId,
      display_name: 'Back again',
      seat_id: '1',
      student_id: studentId,
    });
    expect(await second.next('set_student_name')).toMatchObject({ display_name: 'Back again' });
    expect((await deployment.lessonRow(lessonId)).status).toBe('active');

    const reconnect = () =>
      mixpanel.events.find(
        ({ event, properties }) => event === 'reconnect' && properties.distinct_id === teacherId,
      );
    await expect.poll(reconnect, { timeout: 5_000 }).toBeDefined();
    expect(reconnect()?.properties).toEqual({
      token: 'mixpanel-test-token',
      distinct_id: teacherId,
      lesson_id: lessonId,
      org_id: ORG,
      role: 'teacher',
      client: 'teacher_app',
      time: expect.any(Number),
      $insert_id: expect.any(String),
    });
    expect(Math.abs((reconnect()?.properties.time as number) - Date.now())).toBeLessThan(60_000);
    expect(new Set(mixpanel.insertIds).size).toBe(mixpanel.insertIds.length);
  });
});
