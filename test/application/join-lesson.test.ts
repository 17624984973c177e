import { describe, expect, it } from 'vitest';
import { demoSeed } from '../../src/adapters/in-memory/demo-data.js';
import { InMemoryLessonRepository } from '../../src/adapters/in-memory/in-memory-lesson-repository.js';
import { DependencyUnavailableError } from '../../src/application/errors.js';
import type { LessonRepository } from '../../src/application/ports/lesson-repository.js';
import { initialSeatMap } from '../../src/domain/seat-map.js';
import { protocolKeys } from '../support/protocol-keys.js';
import {
  ADA,
  ART,
  type Classroom,
  classroom,
  GRACE,
  LINUS,
  MATH,
  ORG,
  OTHER_ORG,
  student,
} from './classroom.js';

/** The demo school plus a lesson of another org and an ended lesson of Ada's. */
function school() {
  const demo = demoSeed();
  return {
    ...demo,
    lessons: [
      ...demo.lessons,
      {
        id: 'lesson-elsewhere',
        orgId: OTHER_ORG,
        teacherId: ADA.userId,
        title: null,
        seatCount: 10,
        status: 'active' as const,
      },
      {
        id: 'lesson-over',
        orgId: ORG,
        teacherId: ADA.userId,
        title: null,
        seatCount: 10,
        status: 'ended' as const,
      },
    ],
  };
}

/** Everything a failed join must leave as it was. */
function stateOf(c: Classroom) {
  return {
    keys: protocolKeys(c.store),
    rows: c.database.snapshot(),
    rooms: [MATH, ART, 'lesson-elsewhere', 'lesson-over'].map((lessonId) => [
      c.notifier.membersOf({ kind: 'lesson', lessonId }),
      c.notifier.membersOf({ kind: 'lesson_teachers', lessonId }),
    ]),
  };
}

describe('JoinLesson', () => {
  it('lets a student join: the seats in the ack, the lesson room, the lesson in its directory entry', async () => {
    const c = classroom();
    const s1 = await c.connect('s1', student(1));
    expect(await c.join(s1, MATH)).toEqual({
      ok: true,
      value: { lesson_id: MATH, seats: initialSeatMap(30) },
    });
    expect(c.notifier.membersOf({ kind: 'lesson', lessonId: MATH })).toEqual(['s1']);
    expect(c.notifier.membersOf({ kind: 'lesson_teachers', lessonId: MATH })).toEqual([]);
    expect(protocolKeys(c.store)['s-1']).toBe(
      '{"sid":"s1","client_id":"s-1","role":"student","org_id":"demo-org","lesson_id":"lesson-math"}',
    );
    expect(protocolKeys(c.store)[`lesson_student_${MATH}`]).toEqual({ 's-1': 's1' });
  });

  it('puts the lesson’s teacher into the lesson room and the teachers’ room', async () => {
    const c = classroom();
    await c.joined('ada', ADA, MATH);
    expect(c.notifier.membersOf({ kind: 'lesson', lessonId: MATH })).toEqual(['ada']);
    expect(c.notifier.membersOf({ kind: 'lesson_teachers', lessonId: MATH })).toEqual(['ada']);
    expect(protocolKeys(c.store)[`lesson_teacher_${MATH}`]).toEqual({ 't-ada': 'ada' });
  });

  it('starts a scheduled lesson when its teacher joins, and not when a student does', async () => {
    const c = classroom();
    await c.joined('s1', student(1), ART);
    expect(await c.database.findLesson(ART)).toMatchObject({ status: 'scheduled' });
    c.clock.advance(5000);
    await c.joined('grace', GRACE, ART);
    expect(c.database.snapshot().lessons.find(({ id }) => id === ART)).toMatchObject({
      status: 'active',
      startedAtMs: c.clock.nowMs(),
    });
  });

  it('shows every joiner the seats already taken', async () => {
    const c = classroom();
    const s1 = await c.joined('s1', student(1), MATH);
    await c.use('setStudentName').execute({
      socket: s1,
      lessonId: MATH,
      studentId: 's-1',
      displayName: 'Alan',
      seatId: '4',
    });
    const joined = await c.join(await c.connect('ada', ADA), MATH);
    expect(joined.ok && joined.value.seats).toEqual({ ...initialSeatMap(30), '4': 's-1' });
  });

  it('re-points the membership at the socket that joins again', async () => {
    const c = classroom();
    await c.joined('s1-a', student(1), MATH);
    await c.joined('s1-b', student(1), MATH);
    expect(protocolKeys(c.store)[`lesson_student_${MATH}`]).toEqual({ 's-1': 's1-b' });
  });

  it('refuses a ManagerWeb socket, or a payload naming another user or role, before looking the lesson up', async () => {
    const c = classroom({ seed: school() });
    const manager = await c.connect('linus', LINUS);
    const s1 = await c.connect('s1', student(1));
    const before = stateOf(c);
    for (const command of [
      { socket: manager, userId: LINUS.userId, lessonId: MATH, role: LINUS.role },
      { socket: s1, userId: 's-2', lessonId: 'lesson-nowhere', role: 'student' as const },
      { socket: s1, userId: 's-1', lessonId: 'lesson-nowhere', role: 'teacher' as const },
    ]) {
      expect(await c.use('joinLesson').execute(command)).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
    }
    expect(stateOf(c)).toEqual(before);
  });

  it('answers lesson_not_found for an unknown lesson and for another org’s lesson', async () => {
    const c = classroom({ seed: school() });
    const ada = await c.connect('ada', ADA);
    const before = stateOf(c);
    for (const lessonId of ['lesson-nowhere', 'lesson-elsewhere']) {
      expect(await c.join(ada, lessonId)).toMatchObject({
        ok: false,
        error: { code: 'lesson_not_found' },
      });
    }
    expect(stateOf(c)).toEqual(before);
  });

  it('refuses a teacher who is not the lesson’s teacher, even of an ended lesson', async () => {
    const c = classroom({ seed: school() });
    const grace = await c.connect('grace', GRACE);
    const before = stateOf(c);
    for (const lessonId of [MATH, 'lesson-over']) {
      expect(await c.join(grace, lessonId)).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
    }
    expect(stateOf(c)).toEqual(before);
  });

  it('answers lesson_ended for an ended lesson, to its teacher and its students', async () => {
    const c = classroom({ seed: school() });
    const ada = await c.connect('ada', ADA);
    const s1 = await c.connect('s1', student(1));
    const before = stateOf(c);
    for (const socket of [ada, s1]) {
      expect(await c.join(socket, 'lesson-over')).toMatchObject({
        ok: false,
        error: { code: 'lesson_ended' },
      });
    }
    expect(stateOf(c)).toEqual(before);
  });

  it('answers unavailable when the database cannot be reached, changing nothing', async () => {
    const c = classroom();
    const ada = await c.connect('ada', ADA);
    const before = stateOf(c);
    c.database.setAvailable(false);
    expect(await c.join(ada, MATH)).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    c.database.setAvailable(true);
    expect(stateOf(c)).toEqual(before);
  });

  it('answers unavailable when the presence store cannot be reached', async () => {
    const c = classroom();
    const ada = await c.connect('ada', ADA);
    c.presence.setUp(false);
    expect(await c.join(ada, MATH)).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    c.presence.setUp(true);
    expect(c.notifier.membersOf({ kind: 'lesson', lessonId: MATH })).toEqual([]);
  });

  it('takes the join back when the scheduled lesson cannot be started', async () => {
    const database = new InMemoryLessonRepository(demoSeed());
    // The lesson is found, then the database goes away before the start is written.
    const failingStart: LessonRepository = {
      findLesson: (lessonId) => database.findLesson(lessonId),
      startLesson: async () => {
        throw new DependencyUnavailableError('database');
      },
      recordAttendance: (attendance, nowMs) => database.recordAttendance(attendance, nowMs),
      endActiveLessons: (teacher, nowMs) => database.endActiveLessons(teacher, nowMs),
      recordedSeats: (lessonId) => database.recordedSeats(lessonId),
      activeLessons: () => database.activeLessons(),
    };
    const c = classroom({ lessons: failingStart });
    const socket = await c.connect('grace-2', GRACE);
    expect(await c.join(socket, ART)).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    const keys = protocolKeys(c.store);
    expect(keys).not.toHaveProperty([`lesson_teacher_${ART}`]);
    expect(keys['t-grace']).toBe(
      '{"sid":"grace-2","client_id":"t-grace","role":"teacher","org_id":"demo-org"}',
    );
    expect(c.notifier.membersOf({ kind: 'lesson', lessonId: ART })).toEqual([]);
    expect(await database.findLesson(ART)).toMatchObject({ status: 'scheduled' });
  });
});
