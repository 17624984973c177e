import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import { protocolKeys } from '../../support/protocol-keys.js';
import {
  ack,
  Classroom,
  type Client,
  disconnection,
  failure,
  type Transport,
} from './classroom-harness.js';

const JOIN_MATH = { user_id: 's-1', lesson_id: 'math', role: 'student' };
const TAKE_SEAT_1 = { lesson_id: 'math', display_name: 'Sam', seat_id: '1', student_id: 's-1' };

describe('Gateway requests', () => {
  let classroom: Classroom;

  beforeEach(async () => {
    classroom = await Classroom.start();
  });

  afterEach(async () => {
    await classroom.stop();
  });

  /** A student of `math` (joined), and the lesson's teacher listening. */
  async function lessonWithStudent(): Promise<{ ada: Client; sam: Client }> {
    const ada = await classroom.teacher('t-ada');
    const sam = await classroom.student('s-1');
    await ada.join('math');
    await sam.join('math');
    return { ada, sam };
  }

  describe('acknowledgements', () => {
    it('answer a failure with exactly ok, code and message', async () => {
      const sam = await classroom.student('s-1');
      const answer = await ack(sam.socket, 'join_lesson', { ...JOIN_MATH, lesson_id: 'nope' });
      expect(answer).toEqual(failure('lesson_not_found'));
      expect(Object.keys((answer as { error: object }).error)).toEqual(['code', 'message']);
    });

    it('accept JSON integers as ids and answer with decimal strings', async () => {
      const bob = await classroom.teacher('t-bob');
      expect(await bob.join(7)).toMatchObject({ ok: true, data: { lesson_id: '7' } });
    });

    it('ignore unknown extra fields', async () => {
      const sam = await classroom.student('s-1');
      expect(
        await ack(sam.socket, 'join_lesson', { ...JOIN_MATH, org_id: 'south', admin: true }),
      ).toMatchObject({ ok: true });
    });

    it('are sent once per request, however many arrive at once', async () => {
      const sam = await classroom.student('s-1');
      const answers = await Promise.all(Array.from({ length: 10 }, () => sam.join('math')));
      expect(answers.every((answer) => (answer as { ok: boolean }).ok)).toBe(true);
    });
  });

  describe('without an acknowledgement callback', () => {
    it('report a failure as request_failed with the event name as sent', async () => {
      const sam = await classroom.student('s-1');
      sam.socket.emit('log_out', { user_id: 's-1', org_id: 'north' });
      expect(await sam.next('request_failed')).toEqual({
        event: 'log_out',
        code: 'forbidden',
        message: expect.any(String),
      });
      sam.socket.emit('join_lesson', null);
      expect(await sam.next('request_failed')).toEqual({
        event: 'join_lesson',
        code: 'invalid_payload',
        message: expect.any(String),
      });
    });

    it('say nothing on success', async () => {
      const { ada, sam } = await lessonWithStudent();
      sam.socket.emit('set_student_name', TAKE_SEAT_1);
      expect(await ada.next('set_student_name')).toMatchObject({ student_id: 's-1' });
      await sam.settle();
      expect(sam.events('request_failed')).toEqual([]);
    });
  });

  describe('refuse a payload as invalid_payload', () => {
    it.each([
      ['no payload at all', []],
      ['null', [null]],
      ['an array', [[JOIN_MATH]]],
      ['a string', [JSON.stringify(JOIN_MATH)]],
      ['a number', [42]],
      ['a boolean', [true]],
      ['binary data', [Buffer.from(JSON.stringify(JOIN_MATH))]],
      ['a missing field', [{ user_id: 's-1', role: 'student' }]],
      ['an ill-typed field', [{ ...JOIN_MATH, lesson_id: { id: 'math' } }]],
      ['an id that is too long', [{ ...JOIN_MATH, lesson_id: 'm'.repeat(65) }]],
      ['an unknown role', [{ ...JOIN_MATH, role: 'root' }]],
      ['a payload over 8 KiB', [{ ...JOIN_MATH, notes: 'x'.repeat(8 * 1024) }]],
    ])('for join_lesson: %s', async (_what, args) => {
      const sam = await classroom.student('s-1');
      expect(await ack(sam.socket, 'join_lesson', ...args)).toEqual(failure('invalid_payload'));
    });

    it.each([
      ['logout', { user_id: 't-ada' }],
      ['log_out', { user_id: 't-ada', org_id: 42.5 }],
      ['force_logout', { user_id: ['t-ada'], org_id: 'north' }],
      ['set_student_name', { ...TAKE_SEAT_1, display_name: '   ' }],
      ['set_student_name', { ...TAKE_SEAT_1, display_name: 'a'.repeat(51) }],
      ['set_student_name', { ...TAKE_SEAT_1, display_name: 'new\nline' }],
      ['set_student_name', { ...TAKE_SEAT_1, seat_id: 0 }],
      ['set_student_name', { ...TAKE_SEAT_1, seat_id: 'window' }],
    ])('for %s: %j', async (event, payload) => {
      const ada = await classroom.teacher('t-ada');
      expect(await ack(ada.socket, event, payload)).toEqual(failure('invalid_payload'));
    });

    it('whose fields hide behind __proto__, and pollutes nothing', async () => {
      const sam = await classroom.student('s-1');
      const hostile = JSON.parse(
        `{"__proto__": ${JSON.stringify({ ...JOIN_MATH, isAdmin: true })}}`,
      );
      expect(await ack(sam.socket, 'join_lesson', hostile)).toEqual(failure('invalid_payload'));
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    });

    it('for an unknown event with a callback, and ignores one without', async () => {
      const sam = await classroom.student('s-1');
      expect(await ack(sam.socket, 'drop_tables', {})).toEqual({
        ok: false,
        error: { code: 'invalid_payload', message: 'Unknown event.' },
      });
      sam.socket.emit('drop_tables', {});
      await sam.settle();
      expect(sam.events('request_failed')).toEqual([]);
    });
  });

  it.each<Transport>(['default', 'websocket'])(
    'closes a %s connection that sends a message over 64 KiB, and keeps serving others',
    async (transport) => {
      const sam = await classroom.student('s-1', 'north', transport);
      const gone = disconnection(sam.socket);
      let answered = false;
      sam.socket.emit('join_lesson', { ...JOIN_MATH, notes: 'x'.repeat(70 * 1024) }, () => {
        answered = true;
      });
      expect(await gone).toMatch(/^transport (close|error)$/);
      expect(answered).toBe(false);
      const kim = await classroom.student('s-2', 'north', transport);
      expect(await ack(kim.socket, 'join_lesson', { ...JOIN_MATH, user_id: 's-2' })).toMatchObject({
        ok: true,
      });
    },
  );

  describe('rate limiting', () => {
    it('answers rate_limited after the burst, changes nothing, and refills with time', async () => {
      const { ada, sam } = await lessonWithStudent();
      for (let event = 0; event < 39; event++) await ack(sam.socket, 'no_such_event', {});

      expect(await ack(sam.socket, 'set_student_name', TAKE_SEAT_1)).toEqual(
        failure('rate_limited'),
      );
      sam.socket.emit('set_student_name', TAKE_SEAT_1);
      expect(await sam.next('request_failed')).toMatchObject({
        event: 'set_student_name',
        code: 'rate_limited',
      });
      await ada.settle();
      expect(ada.events('set_student_name')).toEqual([]);
      expect(protocolKeys(classroom.parts.store).lesson_seat_math).toEqual({
        '1': '',
        '2': '',
        '3': '',
        '4': '',
      });

      classroom.clock.advance(50);
      expect(await ack(sam.socket, 'set_student_name', TAKE_SEAT_1)).toMatchObject({ ok: true });
      expect(await ack(sam.socket, 'set_student_name', TAKE_SEAT_1)).toEqual(
        failure('rate_limited'),
      );
    });

    it('counts each socket on its own', async () => {
      const sam = await classroom.student('s-1');
      for (let event = 0; event < 40; event++) await ack(sam.socket, 'no_such_event', {});
      expect(await sam.join('math')).toEqual(failure('rate_limited'));
      const kim = await classroom.student('s-2');
      expect(await ack(kim.socket, 'join_lesson', { ...JOIN_MATH, user_id: 's-2' })).toMatchObject({
        ok: true,
      });
    });
  });

  describe('when several codes apply, answers the first of the contract’s order', () => {
    it('rate_limited before invalid_payload', async () => {
      const sam = await classroom.student('s-1');
      for (let event = 0; event < 40; event++) await ack(sam.socket, 'no_such_event', {});
      expect(await ack(sam.socket, 'join_lesson', null)).toEqual(failure('rate_limited'));
    });

    it('invalid_payload before forbidden', async () => {
      const sam = await classroom.student('s-1');
      expect(
        await ack(sam.socket, 'join_lesson', { user_id: 's-2', lesson_id: 'math', role: 7 }),
      ).toEqual(failure('invalid_payload'));
    });

    it('forbidden before lesson_not_found and lesson_ended', async () => {
      const sam = await classroom.student('s-1');
      for (const lessonId of ['nope', 'old']) {
        expect(
          await ack(sam.socket, 'join_lesson', {
            ...JOIN_MATH,
            user_id: 's-2',
            lesson_id: lessonId,
          }),
        ).toEqual(failure('forbidden'));
      }
    });

    it('forbidden before not_in_lesson, then not_in_lesson before seat codes', async () => {
      const sam = await classroom.student('s-1');
      const elsewhere = { ...TAKE_SEAT_1, seat_id: '99' };
      expect(
        await ack(sam.socket, 'set_student_name', { ...elsewhere, student_id: 's-2' }),
      ).toEqual(failure('forbidden'));
      expect(await ack(sam.socket, 'set_student_name', elsewhere)).toEqual(
        failure('not_in_lesson'),
      );
    });

    it('lesson_not_found, lesson_ended, seat_not_found and seat_taken on their own', async () => {
      const { sam } = await lessonWithStudent();
      const kim = await classroom.student('s-2');
      await ack(kim.socket, 'join_lesson', { ...JOIN_MATH, user_id: 's-2' });
      expect(await ack(sam.socket, 'join_lesson', { ...JOIN_MATH, lesson_id: 'nope' })).toEqual(
        failure('lesson_not_found'),
      );
      expect(await ack(sam.socket, 'join_lesson', { ...JOIN_MATH, lesson_id: 'old' })).toEqual(
        failure('lesson_ended'),
      );
      expect(await ack(sam.socket, 'set_student_name', { ...TAKE_SEAT_1, seat_id: 5 })).toEqual(
        failure('seat_not_found'),
      );
      await ack(sam.socket, 'set_student_name', TAKE_SEAT_1);
      expect(
        await ack(kim.socket, 'set_student_name', { ...TAKE_SEAT_1, student_id: 's-2' }),
      ).toEqual(failure('seat_taken'));
    });
  });

  describe('failures of the core', () => {
    it('answer internal with a generic message and log the error once', async () => {
      const sam = await classroom.student('s-1');
      vi.spyOn(classroom.parts.lessons, 'findLesson').mockRejectedValueOnce(
        new Error('database exploded at line 42'),
      );
      expect(await sam.join('math')).toEqual({
        ok: false,
        error: { code: 'internal', message: 'The server failed to handle this request.' },
      });
      expect(classroom.errorLogs()).toEqual([
        expect.objectContaining({
          sid: sam.socket.id,
          userId: 's-1',
          err: expect.objectContaining({ message: 'database exploded at line 42' }),
        }),
      ]);
      expect(await sam.join('math')).toMatchObject({ ok: true });
    });

    it('answer unavailable while the database cannot be reached', async () => {
      const sam = await classroom.student('s-1');
      classroom.parts.lessons.setAvailable(false);
      expect(await sam.join('math')).toEqual(failure('unavailable'));
      classroom.parts.lessons.setAvailable(true);
      expect(await sam.join('math')).toMatchObject({ ok: true });
    });

    it('answer unavailable when a dependency error escapes a use case', async () => {
      const ada = await classroom.teacher('t-ada');
      vi.spyOn(classroom.useCase('logout'), 'execute').mockRejectedValueOnce(
        new DependencyUnavailableError('presence'),
      );
      expect(await ack(ada.socket, 'logout', { user_id: 't-ada', org_id: 'north' })).toEqual(
        failure('unavailable'),
      );
      expect(classroom.errorLogs()).toEqual([]);
    });
  });

  it('leaves no room behind when the client leaves while its join_lesson is running', async () => {
    const sam = await classroom.student('s-1');
    const sid = sam.socket.id ?? '';
    const lessons = classroom.parts.lessons;
    const findLesson = lessons.findLesson.bind(lessons);
    let release: () => void = () => undefined;
    const asked = new Promise<void>((started) => {
      vi.spyOn(lessons, 'findLesson').mockImplementationOnce(async (lessonId) => {
        started();
        await new Promise<void>((go) => {
          release = go;
        });
        return findLesson(lessonId);
      });
    });
    sam.socket.emit('join_lesson', JOIN_MATH);
    await asked;
    await classroom.leave(sam);
    release();
    await classroom.parts.gateway.close();
    expect(classroom.parts.namespace.adapter.sids.has(sid)).toBe(false);
    expect(classroom.parts.namespace.adapter.rooms.has('lesson:math')).toBe(false);
  });

  it('reports every request to the observer with its outcome and duration', async () => {
    const sam = await classroom.student('s-1');
    await sam.join('math');
    await ack(sam.socket, 'log_out', { user_id: 's-1', org_id: 'north' });
    await ack(sam.socket, 'whatever', {});
    const handled = classroom.parts.observed.filter((call) => call.call === 'handled');
    expect(handled.map((call) => call.args.slice(0, 2))).toEqual([
      ['join_lesson', 'ok'],
      ['log_out', 'forbidden'],
      ['unknown', 'invalid_payload'],
    ]);
    for (const call of handled) expect(call.args[2]).toBeGreaterThanOrEqual(0);
  });
});
