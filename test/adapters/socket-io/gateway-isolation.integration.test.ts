import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ack, Classroom, type Client, failure } from './classroom-harness.js';

/** Every event name the server sends; none may reach a client of another tenant. */
const SERVER_EVENTS = [
  'teacher_connect',
  'teacher_disconnect',
  'logout',
  'force_logout',
  'set_student_name',
  'lesson_ended',
];

const serverEvents = (client: Client) =>
  client.received.filter((entry) => SERVER_EVENTS.includes(entry.event));

describe('Gateway tenant isolation', () => {
  let classroom: Classroom;

  beforeEach(async () => {
    classroom = await Classroom.start();
  });

  afterEach(async () => {
    await classroom.stop();
  });

  describe('with org 7 and lesson 7 (of org north)', () => {
    it('gives org 7’s managers nothing of lesson 7', async () => {
      const seven = await classroom.manager('m-7', '7');
      const bob = await classroom.teacher('t-bob');
      const sam = await classroom.student('s-1');
      await bob.join('7');
      await sam.join(7);
      await ack(sam.socket, 'set_student_name', {
        lesson_id: 7,
        display_name: 'Sam',
        seat_id: 2,
        student_id: 's-1',
      });
      expect(await bob.next('set_student_name')).toEqual({
        display_name: 'Sam',
        seat_id: '2',
        student_id: 's-1',
      });
      await classroom.leave(bob);
      classroom.clock.advance(300_000);
      expect(await classroom.sweep()).toBe(1);
      expect(await sam.next('lesson_ended')).toEqual({ lesson_id: '7' });

      await seven.settle();
      expect(serverEvents(seven)).toEqual([]);
    });

    it('gives lesson 7’s members nothing of org 7', async () => {
      const seven = await classroom.manager('m-7', '7');
      const bob = await classroom.teacher('t-bob');
      const sam = await classroom.student('s-1');
      await bob.join('7');
      await sam.join('7');

      const teacherOf7 = await classroom.teacher('t-7', '7');
      await teacherOf7.join('seven-1');
      await ack(teacherOf7.socket, 'logout', { user_id: 't-7', org_id: 7 });
      expect(await seven.next('teacher_connect')).toEqual({ user_id: 't-7' });
      expect(await seven.next('logout')).toEqual({ user_id: 't-7' });

      await Promise.all([bob.settle(), sam.settle()]);
      expect(serverEvents(bob)).toEqual([]);
      expect(serverEvents(sam)).toEqual([]);
    });
  });

  it('keeps a teacher’s presence events inside its org', async () => {
    const north = await classroom.manager('m-linus', 'north');
    const south = await classroom.manager('m-south', 'south');
    const sam = await classroom.teacher('t-sam', 'south');
    await classroom.leave(sam);
    expect(await south.next('teacher_connect')).toEqual({ user_id: 't-sam' });
    expect(await south.next('teacher_disconnect')).toEqual({
      user_id: 't-sam',
      reason: 'client namespace disconnect',
    });
    await north.settle();
    expect(serverEvents(north)).toEqual([]);
  });

  it('answers lesson_not_found for another org’s lesson', async () => {
    const sam = await classroom.student('s-1', 'north');
    expect(await sam.join('south-1')).toEqual(failure('lesson_not_found'));
  });

  it('never forces out a user of another org who shares the teacher’s id', async () => {
    const linus = await classroom.manager('m-linus', 'north');
    const ada = await classroom.teacher('t-ada', 'north');
    // The directory is keyed by user id alone: this connect points it at the other org's socket.
    const namesake = await classroom.student('t-ada', 'south');
    const kicked = ada.next('force_logout');

    expect(await ack(linus.socket, 'force_logout', { user_id: 't-ada', org_id: 'north' })).toEqual({
      ok: true,
      data: { delivered: true },
    });
    expect(await kicked).toEqual({ user_id: 't-ada' });
    await namesake.settle();
    expect(namesake.socket.connected).toBe(true);
    expect(serverEvents(namesake)).toEqual([]);
  });
});

describe('Gateway identity checks', () => {
  let classroom: Classroom;

  beforeEach(async () => {
    classroom = await Classroom.start();
  });

  afterEach(async () => {
    await classroom.stop();
  });

  it('refuses join_lesson for another user, another role, or from a manager', async () => {
    const sam = await classroom.student('s-1');
    const linus = await classroom.manager('m-linus');
    const join = { user_id: 's-1', lesson_id: 'math', role: 'student' };
    expect(await ack(sam.socket, 'join_lesson', { ...join, user_id: 's-2' })).toEqual(
      failure('forbidden'),
    );
    expect(await ack(sam.socket, 'join_lesson', { ...join, role: 'teacher' })).toEqual(
      failure('forbidden'),
    );
    expect(
      await ack(linus.socket, 'join_lesson', { ...join, user_id: 'm-linus', role: 'admin' }),
    ).toEqual(failure('forbidden'));
  });

  it('refuses a teacher joining another teacher’s lesson as its teacher', async () => {
    const ada = await classroom.teacher('t-ada');
    expect(await ada.join('art')).toEqual(failure('forbidden'));
  });

  it('refuses logout for another teacher or org, and logs nobody out', async () => {
    const linus = await classroom.manager('m-linus');
    const ada = await classroom.teacher('t-ada');
    const grace = await classroom.teacher('t-grace');
    for (const payload of [
      { user_id: 't-grace', org_id: 'north' },
      { user_id: 't-ada', org_id: 'south' },
    ]) {
      expect(await ack(ada.socket, 'logout', payload)).toEqual(failure('forbidden'));
    }
    expect(await ack(grace.socket, 'log_out', { user_id: 't-ada', org_id: 'north' })).toEqual(
      failure('forbidden'),
    );
    await linus.settle();
    expect(linus.events('logout')).toEqual([]);
    expect(
      classroom.parts.node.presenceSockets().map(({ socket }) => socket.identity.userId),
    ).toEqual(['t-ada', 't-grace']);
  });

  it('refuses force_logout from another org, a TeacherApp or a student, and from a teacher-manager for someone else', async () => {
    const ada = await classroom.teacher('t-ada');
    const south = await classroom.manager('m-south', 'south');
    const graceManager = await classroom.manager('t-grace', 'north', 'teacher');
    const sam = await classroom.student('s-1');
    const target = { user_id: 't-ada', org_id: 'north' };
    expect(await ack(south.socket, 'force_logout', target)).toEqual(failure('forbidden'));
    expect(await ack(south.socket, 'force_logout', { ...target, org_id: 'south' })).toMatchObject({
      ok: true,
      data: { delivered: false },
    });
    expect(await ack(ada.socket, 'force_logout', target)).toEqual(failure('forbidden'));
    expect(await ack(sam.socket, 'force_logout', target)).toEqual(failure('forbidden'));
    expect(await ack(graceManager.socket, 'force_logout', target)).toEqual(failure('forbidden'));

    await ada.settle();
    expect(ada.socket.connected).toBe(true);
    expect(ada.events('force_logout')).toEqual([]);
  });

  it('lets a teacher-manager force out only itself', async () => {
    const graceApp = await classroom.teacher('t-grace');
    const graceManager = await classroom.manager('t-grace', 'north', 'teacher');
    expect(
      await ack(graceManager.socket, 'force_logout', { user_id: 't-grace', org_id: 'north' }),
    ).toEqual({ ok: true, data: { delivered: true } });
    expect(await graceApp.next('force_logout')).toEqual({ user_id: 't-grace' });
    expect(graceManager.socket.connected).toBe(true);
  });

  it('refuses set_student_name for another student', async () => {
    const sam = await classroom.student('s-1');
    await sam.join('math');
    expect(
      await ack(sam.socket, 'set_student_name', {
        lesson_id: 'math',
        display_name: 'Kim',
        seat_id: '1',
        student_id: 's-2',
      }),
    ).toEqual(failure('forbidden'));
  });
});

describe('Gateway robustness', () => {
  let classroom: Classroom;

  beforeEach(async () => {
    classroom = await Classroom.start({ rateLimit: { perS: 20, burst: 1_000 } });
  });

  afterEach(async () => {
    await classroom.stop();
  });

  it('survives hostile event names and payloads and still serves a new client', async () => {
    const sam = await classroom.student('s-1');
    const names = [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'error',
      'x'.repeat(10_000),
    ];
    const payloads = [
      undefined,
      null,
      0,
      -1,
      1e308,
      '',
      [],
      [[[]]],
      {},
      { __proto__: null },
      Buffer.alloc(16),
    ];
    for (const name of names) {
      for (const payload of payloads) {
        sam.socket.emit(name, payload);
        expect(await ack(sam.socket, name, payload)).toEqual(failure('invalid_payload'));
      }
    }
    for (const event of ['join_lesson', 'logout', 'log_out', 'force_logout', 'set_student_name']) {
      for (const payload of payloads) {
        sam.socket.emit(event, payload);
        expect(await ack(sam.socket, event, payload)).toEqual(failure('invalid_payload'));
      }
      expect(await ack(sam.socket, event, 'a', 'b', { nested: { deep: [1, 2, 3] } })).toEqual(
        failure('invalid_payload'),
      );
    }
    await sam.settle();
    expect(sam.events('request_failed').length).toBe(5 * payloads.length);
    expect(classroom.errorLogs()).toEqual([]);

    const kim = await classroom.student('s-2');
    expect(await kim.join('math')).toMatchObject({ ok: true });
  });
});
