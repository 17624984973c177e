import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { protocolKeys } from '../../support/protocol-keys.js';
import { ack, Classroom, disconnection, type Transport } from './classroom-harness.js';

const ALL_FREE = { '1': '', '2': '', '3': '', '4': '' };

describe.each<Transport>(['default', 'websocket'])(
  'Gateway events over the %s transport',
  (transport) => {
    let classroom: Classroom;

    beforeEach(async () => {
      classroom = await Classroom.start();
    });

    afterEach(async () => {
      await classroom.stop();
    });

    const teacher = (sub = 't-ada') => classroom.teacher(sub, 'north', transport);
    const student = (sub: string) => classroom.student(sub, 'north', transport);
    const manager = () => classroom.manager('m-linus', 'north', 'admin', transport);

    it('tells the org’s managers when a teacher connects and disconnects', async () => {
      const linus = await manager();
      const ada = await teacher();
      expect(await linus.next('teacher_connect')).toEqual({ user_id: 't-ada' });
      ada.socket.disconnect();
      expect(await linus.next('teacher_disconnect')).toEqual({
        user_id: 't-ada',
        reason: 'client namespace disconnect',
      });
      expect(classroom.parts.observed).toContainEqual({
        call: 'disconnected',
        args: ['teacher_app'],
      });
    });

    it('keeps only connected TeacherApp sockets for the presence refresh', async () => {
      const ada = await teacher();
      await manager();
      await student('s-1');
      expect(classroom.parts.node.presenceSockets()).toEqual([
        {
          socket: {
            sid: ada.socket.id,
            identity: { userId: 't-ada', orgId: 'north', role: 'teacher', kind: 'teacher_app' },
          },
          epoch: expect.any(Number),
        },
      ]);
    });

    it('closes like a server shutdown: clients may reconnect and teachers enter the grace period', async () => {
      const ada = await teacher();
      const gone = disconnection(ada.socket);
      await classroom.parts.gateway.close();
      expect(await gone).toBe('transport close');
      expect(protocolKeys(classroom.parts.store)['alive:org_north_user_t-ada']).toMatchObject({
        state: 'disconnect',
      });
      expect(classroom.parts.node.presenceSockets()).toEqual([]);
    });

    it('lets a teacher and a student join a lesson and answers with its seats', async () => {
      const ada = await teacher();
      const sam = await student('s-1');
      expect(await ada.join('math')).toEqual({
        ok: true,
        data: { lesson_id: 'math', seats: ALL_FREE },
      });
      expect(await sam.join('math')).toEqual({
        ok: true,
        data: { lesson_id: 'math', seats: ALL_FREE },
      });
    });

    it('starts a scheduled lesson when its teacher joins', async () => {
      const grace = await teacher('t-grace');
      await grace.join('art');
      const art = classroom.parts.lessons.snapshot().lessons.find((row) => row.id === 'art');
      expect(art).toMatchObject({ status: 'active', startedAtMs: classroom.clock.nowMs() });
    });

    it('tells only the lesson’s teacher when a student takes a seat', async () => {
      const linus = await manager();
      const ada = await teacher();
      const bob = await teacher('t-bob');
      const sam = await student('s-1');
      const kim = await student('s-2');
      await ada.join('math');
      await bob.join('7');
      await sam.join('math');
      await kim.join('math');

      const answer = await ack(sam.socket, 'set_student_name', {
        lesson_id: 'math',
        display_name: ' Sam ',
        seat_id: 3,
        student_id: 's-1',
      });

      expect(answer).toEqual({ ok: true, data: { seat_id: '3', display_name: 'Sam' } });
      expect(await ada.next('set_student_name')).toEqual({
        display_name: 'Sam',
        seat_id: '3',
        student_id: 's-1',
      });
      await Promise.all([bob, kim, linus].map((client) => client.settle()));
      for (const bystander of [bob, kim, linus]) {
        expect(bystander.events('set_student_name')).toEqual([]);
      }
    });

    it.each(['logout', 'log_out'])(
      'logs the teacher out on %s and its disconnect then tells nobody',
      async (event) => {
        const linus = await manager();
        const ada = await teacher();
        await linus.next('teacher_connect');

        expect(await ack(ada.socket, event, { user_id: 't-ada', org_id: 'north' })).toEqual({
          ok: true,
          data: {},
        });
        expect(await linus.next('logout')).toEqual({ user_id: 't-ada' });
        expect(classroom.parts.node.presenceSockets()).toEqual([]);

        await classroom.leave(ada);
        await linus.settle();
        expect(linus.events('teacher_disconnect')).toEqual([]);
        expect(protocolKeys(classroom.parts.store)).not.toHaveProperty(
          'alive:org_north_user_t-ada',
        );
      },
    );

    it('forces a teacher out: force_logout arrives before the disconnect, then a cooldown', async () => {
      const linus = await manager();
      const ada = await teacher();
      const order: string[] = [];
      ada.socket.on('force_logout', () => order.push('force_logout'));
      const gone = disconnection(ada.socket).then((reason) => order.push(reason));

      expect(
        await ack(linus.socket, 'force_logout', { user_id: 't-ada', org_id: 'north' }),
      ).toEqual({
        ok: true,
        data: { delivered: true },
      });
      await gone;
      expect(order).toEqual(['force_logout', 'io server disconnect']);
      expect(ada.events('force_logout')).toEqual([{ user_id: 't-ada' }]);
      expect(await linus.next('teacher_disconnect')).toEqual({
        user_id: 't-ada',
        reason: 'io server disconnect',
      });

      classroom.clock.advance(299_500);
      await expect(teacher()).rejects.toMatchObject({
        message: 'cooldown',
        data: { message: expect.any(String), retry_after_s: 1 },
      });
    });

    it('answers delivered false when the teacher is not connected', async () => {
      const linus = await manager();
      expect(
        await ack(linus.socket, 'force_logout', { user_id: 't-ada', org_id: 'north' }),
      ).toEqual({
        ok: true,
        data: { delivered: false },
      });
    });

    it('ends the lesson for everyone in it once the teacher’s grace period is over', async () => {
      const linus = await manager();
      const ada = await teacher();
      const sam = await student('s-1');
      await ada.join('math');
      await sam.join('math');
      await classroom.leave(ada);

      expect(await classroom.sweep()).toBe(0);
      classroom.clock.advance(300_000);
      expect(await classroom.sweep()).toBe(1);

      expect(await sam.next('lesson_ended')).toEqual({ lesson_id: 'math' });
      expect(await linus.next('logout')).toEqual({ user_id: 't-ada' });
      expect(await sam.join('math')).toMatchObject({ ok: false, error: { code: 'lesson_ended' } });
    });

    it('puts a reconnecting student back into its lesson', async () => {
      const ada = await teacher();
      const sam = await student('s-1');
      await ada.join('math');
      await sam.join('math');
      await classroom.leave(sam);
      const again = await student('s-1');

      expect(
        await ack(again.socket, 'set_student_name', {
          lesson_id: 'math',
          display_name: 'Sam',
          seat_id: '1',
          student_id: 's-1',
        }),
      ).toMatchObject({ ok: true });
      await classroom.leave(ada);
      classroom.clock.advance(300_000);
      await classroom.sweep();
      expect(await again.next('lesson_ended')).toEqual({ lesson_id: 'math' });
    });
  },
);
