import { describe, expect, it } from 'vitest';
import type { SocketOf } from '../../src/application/ports/presence-store.js';
import { protocolKeys } from '../support/protocol-keys.js';
import { ADA, ART, type Classroom, classroom, GRACE, LINUS, MATH, student } from './classroom.js';

/** Ada teaches maths to s-1 and s-2, Grace teaches art; s-3 is connected but joined nothing. */
async function lessonInProgress() {
  const c = classroom();
  await c.connect('linus', LINUS);
  await c.joined('ada', ADA, MATH);
  await c.joined('grace', GRACE, ART);
  const s1 = await c.joined('s1', student(1), MATH);
  const s2 = await c.joined('s2', student(2), MATH);
  const s3 = await c.connect('s3', student(3));
  c.heard();
  return { c, s1, s2, s3 };
}

const name = (
  c: Classroom,
  socket: SocketOf,
  seatId: string,
  {
    displayName = 'Alan',
    studentId = socket.identity.userId,
    lessonId = MATH as string,
  }: { displayName?: string; studentId?: string; lessonId?: string } = {},
) => c.use('setStudentName').execute({ socket, lessonId, studentId, displayName, seatId });

const seatsOf = (c: Classroom) =>
  protocolKeys(c.store)[`lesson_seat_${MATH}`] as Record<string, string>;

/** Everything a failed request must leave as it was. */
const stateOf = (c: Classroom) => ({ keys: protocolKeys(c.store), rows: c.database.snapshot() });

describe('SetStudentName', () => {
  it('seats the student, records attendance and tells only the lesson’s teachers', async () => {
    const { c, s1 } = await lessonInProgress();
    expect(await name(c, s1, '3', { displayName: 'Alan' })).toEqual({
      ok: true,
      value: { seat_id: '3', display_name: 'Alan' },
    });
    expect(seatsOf(c)['3']).toBe('s-1');
    expect(c.database.snapshot().attendance).toEqual([
      {
        lessonId: MATH,
        studentId: 's-1',
        displayName: 'Alan',
        seatId: '3',
        createdAtMs: c.clock.nowMs(),
        updatedAtMs: c.clock.nowMs(),
      },
    ]);
    expect(c.heard()).toEqual([
      ['ada', 'set_student_name', { display_name: 'Alan', seat_id: '3', student_id: 's-1' }],
    ]);
  });

  it('moves a student to another seat, freeing the one it left', async () => {
    const { c, s1 } = await lessonInProgress();
    await name(c, s1, '3');
    c.clock.advance(1000);
    await name(c, s1, '5', { displayName: 'Alan T.' });
    expect(Object.entries(seatsOf(c)).filter(([, holder]) => holder === 's-1')).toEqual([
      ['5', 's-1'],
    ]);
    expect(c.database.snapshot().attendance).toMatchObject([
      { seatId: '5', displayName: 'Alan T.', updatedAtMs: c.clock.nowMs() },
    ]);
  });

  it('refuses anyone but the student naming itself as forbidden', async () => {
    const { c, s1, s2 } = await lessonInProgress();
    const ada = await c.connect('ada-2', ADA);
    c.heard();
    const before = stateOf(c);
    for (const attempt of [
      name(c, s2, '3', { studentId: s1.identity.userId }),
      name(c, ada, '3', { studentId: 's-1' }),
    ]) {
      expect(await attempt).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    expect(stateOf(c)).toEqual(before);
    expect(c.heard()).toEqual([]);
  });

  it('refuses a student who has not joined the lesson as not_in_lesson', async () => {
    const { c, s1, s3 } = await lessonInProgress();
    const before = stateOf(c);
    expect(await name(c, s3, '3')).toMatchObject({ ok: false, error: { code: 'not_in_lesson' } });
    expect(await name(c, s1, '3', { lessonId: ART })).toMatchObject({
      ok: false,
      error: { code: 'not_in_lesson' },
    });
    expect(stateOf(c)).toEqual(before);
  });

  it('answers seat_not_found and seat_taken, changing nothing', async () => {
    const { c, s1, s2 } = await lessonInProgress();
    await name(c, s1, '3');
    c.heard();
    const before = stateOf(c);
    expect(await name(c, s2, '31')).toMatchObject({ ok: false, error: { code: 'seat_not_found' } });
    expect(await name(c, s2, '3')).toMatchObject({ ok: false, error: { code: 'seat_taken' } });
    expect(stateOf(c)).toEqual(before);
    expect(c.heard()).toEqual([]);
  });

  it('gives the seat back when attendance cannot be recorded', async () => {
    const { c, s1 } = await lessonInProgress();
    await name(c, s1, '3');
    c.heard();
    const before = stateOf(c);
    c.database.setAvailable(false);
    expect(await name(c, s1, '7')).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    c.database.setAvailable(true);
    expect(stateOf(c)).toEqual(before);
    expect(seatsOf(c)['3']).toBe('s-1');
    expect(c.heard()).toEqual([]);
  });

  it('answers unavailable when the presence store cannot be reached', async () => {
    const { c, s1 } = await lessonInProgress();
    c.presence.setUp(false);
    expect(await name(c, s1, '3')).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    c.presence.setUp(true);
    expect(c.database.snapshot().attendance).toEqual([]);
  });
});
