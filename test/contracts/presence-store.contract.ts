import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  PresenceStore,
  SocketOf,
  TeacherConnectOutcome,
} from '../../src/application/ports/presence-store.js';
import type { TeacherRef } from '../../src/domain/clients.js';
import { epochAt } from '../../src/domain/session.js';

/**
 * What every PresenceStore must do (the port's JSDoc, PROTOCOL §6–§7, exact Redis keys), run
 * against the in-memory store and against Redis. The clock is the store's: for Redis it is real
 * time and `advance` waits, so every TTL here is one or two seconds and waits are few. Deadlines
 * use the caller's `nowMs`, so tests about their order pass made-up times instead of waiting.
 */
export interface PresenceStoreHarness {
  readonly store: PresenceStore;
  readonly clock: { nowMs(): number; advance(ms: number): Promise<void> };
  /** The live keys by exact name (no prefix), without the store's own index keys. */
  dump(): Promise<Record<string, unknown>>;
  /** Forget every key, like a Redis without persistence restarting. */
  restartEmpty(): Promise<void>;
  close(): Promise<void>;
}

const ORG = 'org-a';
const LESSON = 'lesson-1';
/** A TTL no test waits out. */
const LONG_S = 3600;
/** Slack past a TTL, since Redis expires a key only once its time is strictly past. */
const PAST_MS = 100;

const ALIVE = `alive:org_${ORG}_user_t-1`;
const TEACHER: TeacherRef = { orgId: ORG, userId: 't-1' };

const teacherSocket = (sid: string, userId = 't-1', orgId = ORG): SocketOf => ({
  sid,
  identity: { userId, orgId, role: 'teacher', kind: 'teacher_app' },
});
/** The epoch a successful connectTeacher started. */
function epochOf(outcome: TeacherConnectOutcome): number {
  if (outcome.kind !== 'connected') throw new Error(`expected a connect, got ${outcome.kind}`);
  return outcome.epoch;
}

const studentSocket = (sid: string, userId = 's-1'): SocketOf => ({
  sid,
  identity: { userId, orgId: ORG, role: 'student', kind: 'student_web' },
});

export function describePresenceStoreContract(
  name: string,
  make: () => Promise<PresenceStoreHarness>,
): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let h: PresenceStoreHarness;

    beforeEach(async () => {
      h = await make();
    });

    afterEach(async () => {
      await h.close();
    });

    const connectTeacher = (
      socket: SocketOf,
      { presenceTtlS = LONG_S, nowMs = h.clock.nowMs(), lessonTtlS = LONG_S } = {},
    ) => h.store.connectTeacher({ socket, nowMs, presenceTtlS, lessonTtlS });

    const connectStudent = (socket: SocketOf, lessonTtlS = LONG_S) =>
      h.store.connectStudent({ socket, lessonTtlS });

    const join = (
      socket: SocketOf,
      { lessonId = LESSON, seatCount = 3, lessonTtlS = LONG_S } = {},
    ) => h.store.joinLesson({ socket, lessonId, seatCount, lessonTtlS });

    const claim = (studentId: string, seatId: string, lessonId = LESSON) =>
      h.store.claimSeat({ lessonId, studentId, seatId });

    /** A student connected and in the lesson. */
    const seatedStudent = async (userId: string) => {
      const socket = studentSocket(`sid-${userId}`, userId);
      await connectStudent(socket);
      await join(socket);
      return socket;
    };

    /** A teacher whose one-second session expired: its alive hash is gone, its deadline passed. */
    const expiredSession = async () => {
      const startedAtMs = h.clock.nowMs();
      await connectTeacher(teacherSocket('sid-1'), { presenceTtlS: 1, nowMs: startedAtMs });
      await h.clock.advance(1000 + PAST_MS);
      return { startedAtMs, epoch: epochAt(startedAtMs) };
    };

    describe('connectTeacher', () => {
      it('writes the alive hash and the directory entry, keys in the contract order', async () => {
        const nowMs = h.clock.nowMs();
        const outcome = await connectTeacher(teacherSocket('sid-1'), { nowMs });
        expect(outcome).toEqual({ kind: 'connected', epoch: epochAt(nowMs), lessonId: null });
        expect(await h.dump()).toEqual({
          [ALIVE]: { login_time: String(epochAt(nowMs)), state: 'connect' },
          't-1': '{"sid":"sid-1","client_id":"t-1","role":"teacher","org_id":"org-a"}',
        });
      });

      it('lets the alive hash expire after presenceTtlS while the directory entry stays', async () => {
        await connectTeacher(teacherSocket('sid-1'), { presenceTtlS: 1 });
        await h.clock.advance(1000 + PAST_MS);
        const keys = await h.dump();
        expect(keys).not.toHaveProperty([ALIVE]);
        expect(keys).toHaveProperty(['t-1']);
      });

      it('schedules the session end one presence TTL after the connect', async () => {
        const nowMs = h.clock.nowMs();
        await connectTeacher(teacherSocket('sid-1'), { nowMs, presenceTtlS: 2 });
        expect(await h.store.nextDueAtMs()).toBe(nowMs + 2000);
        expect(await h.store.dueSessionEnds(nowMs + 1999, 10)).toEqual([]);
        expect(await h.store.dueSessionEnds(nowMs + 2000, 10)).toEqual([TEACHER]);
      });

      it('puts a reconnecting teacher back into its lesson on the new socket', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await join(teacherSocket('sid-1'));
        const outcome = await connectTeacher(teacherSocket('sid-2'));
        expect(outcome).toMatchObject({ kind: 'connected', lessonId: LESSON });
        const keys = await h.dump();
        expect(keys[`lesson_teacher_${LESSON}`]).toEqual({ 't-1': 'sid-2' });
        expect(keys['t-1']).toBe(
          '{"sid":"sid-2","client_id":"t-1","role":"teacher","org_id":"org-a","lesson_id":"lesson-1"}',
        );
      });

      it('is refused while a cooldown runs, writing nothing, and says how long is left', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        expect(await h.store.startCooldown({ teacher: TEACHER, cooldownS: 2 })).toEqual({
          sid: 'sid-1',
        });
        const before = await h.dump();
        expect(before[`cooldown:org_${ORG}_user_t-1`]).toBe('1');
        const outcome = await connectTeacher(teacherSocket('sid-2'));
        expect(outcome.kind).toBe('cooldown');
        const remainingMs = outcome.kind === 'cooldown' ? outcome.remainingMs : 0;
        expect(remainingMs).toBeGreaterThan(0);
        expect(remainingMs).toBeLessThanOrEqual(2000);
        expect(await h.dump()).toEqual(before);
      });

      it('is accepted again once the cooldown has passed', async () => {
        expect(await h.store.startCooldown({ teacher: TEACHER, cooldownS: 1 })).toEqual({
          sid: null,
        });
        await h.clock.advance(1000 + PAST_MS);
        expect(await h.dump()).toEqual({});
        expect(await connectTeacher(teacherSocket('sid-1'))).toMatchObject({ kind: 'connected' });
      });

      it('makes the directory entry of a reconnecting user permanent again', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectStudent(studentSocket('sid-s'));
        const nowMs = h.clock.nowMs();
        await h.store.disconnectTeacher({
          socket: teacherSocket('sid-1'),
          nowMs,
          graceS: LONG_S,
          lessonTtlS: 1,
        });
        await h.store.disconnectStudent({ socket: studentSocket('sid-s'), lessonTtlS: 1 });
        await connectTeacher(teacherSocket('sid-2'));
        await connectStudent(studentSocket('sid-s2'));
        await h.clock.advance(1000 + PAST_MS);
        const keys = await h.dump();
        expect(keys['t-1']).toContain('"sid":"sid-2"');
        expect(keys['s-1']).toContain('"sid":"sid-s2"');
      });

      it('names the socket of the directory entry only when it is that org’s teacher', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectStudent(studentSocket('sid-s'));
        const sameIdOtherOrg = { orgId: 'org-b', userId: 't-1' };
        const aStudent = { orgId: ORG, userId: 's-1' };
        expect(await h.store.startCooldown({ teacher: sameIdOtherOrg, cooldownS: 1 })).toEqual({
          sid: null,
        });
        expect(await h.store.startCooldown({ teacher: aStudent, cooldownS: 1 })).toEqual({
          sid: null,
        });
      });

      it('keeps a cooldown to its own org and teacher', async () => {
        await h.store.startCooldown({ teacher: TEACHER, cooldownS: LONG_S });
        const sameIdOtherOrg = await connectTeacher(teacherSocket('sid-b', 't-1', 'org-b'));
        const otherTeacher = await connectTeacher(teacherSocket('sid-2', 't-2'));
        expect(sameIdOtherOrg.kind).toBe('connected');
        expect(otherTeacher.kind).toBe('connected');
      });
    });

    describe('connecting over a directory entry of another org or role', () => {
      it('does not carry that entry’s lesson over to the user connecting', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await join(teacherSocket('sid-1'));
        const sameIdOtherOrg = await connectTeacher(teacherSocket('sid-b', 't-1', 'org-b'));
        expect(sameIdOtherOrg).toMatchObject({ kind: 'connected', lessonId: null });
        await seatedStudent('s-1');
        const sameIdAsTeacher = await connectTeacher(teacherSocket('sid-t', 's-1'));
        expect(sameIdAsTeacher).toMatchObject({ kind: 'connected', lessonId: null });
        const keys = await h.dump();
        expect(keys[`lesson_teacher_${LESSON}`]).toEqual({ 't-1': 'sid-1' });
        expect(keys['t-1']).toBe(
          '{"sid":"sid-b","client_id":"t-1","role":"teacher","org_id":"org-b"}',
        );
      });

      it('does not carry it over to a student either', async () => {
        await connectTeacher(teacherSocket('sid-1', 's-1'));
        await join(teacherSocket('sid-1', 's-1'));
        expect(await connectStudent(studentSocket('sid-s'))).toEqual({ lessonId: null });
        expect((await h.dump())[`lesson_student_${LESSON}`]).toBeUndefined();
      });
    });

    describe('connectStudent', () => {
      it('writes the directory entry of a student in no lesson', async () => {
        expect(await connectStudent(studentSocket('sid-s'))).toEqual({ lessonId: null });
        expect(await h.dump()).toEqual({
          's-1': '{"sid":"sid-s","client_id":"s-1","role":"student","org_id":"org-a"}',
        });
      });

      it('puts a reconnecting student back into its lesson on the new socket', async () => {
        await seatedStudent('s-1');
        expect(await connectStudent(studentSocket('sid-new'))).toEqual({ lessonId: LESSON });
        const keys = await h.dump();
        expect(keys[`lesson_student_${LESSON}`]).toEqual({ 's-1': 'sid-new' });
        expect(keys['s-1']).toBe(
          '{"sid":"sid-new","client_id":"s-1","role":"student","org_id":"org-a","lesson_id":"lesson-1"}',
        );
      });
    });

    describe('refreshTeachers', () => {
      /** Refreshes teacher sockets, each with the epoch its connect started. */
      const refresh = (
        teachers: ReadonlyArray<[sid: string, epoch: number]>,
        { nowMs = h.clock.nowMs(), presenceTtlS = LONG_S } = {},
      ) =>
        h.store.refreshTeachers({
          teachers: teachers.map(([sid, epoch]) => ({ socket: teacherSocket(sid), epoch })),
          nowMs,
          presenceTtlS,
          lessonTtlS: LONG_S,
        });

      it('keeps the alive hash and the deadline fresh, keeping the epoch', async () => {
        const connectedAtMs = h.clock.nowMs();
        await connectTeacher(teacherSocket('sid-1'), { presenceTtlS: 1, nowMs: connectedAtMs });
        await h.clock.advance(600);
        const refreshedAtMs = h.clock.nowMs();
        const registered = await refresh([['sid-1', epochAt(connectedAtMs)]], {
          nowMs: refreshedAtMs,
          presenceTtlS: 2,
        });
        expect(registered).toEqual([]);
        await h.clock.advance(1000);
        expect((await h.dump())[ALIVE]).toEqual({
          login_time: String(epochAt(connectedAtMs)),
          state: 'connect',
        });
        expect(await h.store.nextDueAtMs()).toBe(refreshedAtMs + 2000);
      });

      it('skips a socket that a newer socket of the teacher replaced', async () => {
        const nowMs = h.clock.nowMs();
        const first = await connectTeacher(teacherSocket('sid-1'), { nowMs: nowMs - 5000 });
        await connectTeacher(teacherSocket('sid-2'), { nowMs: nowMs + 10 });
        expect(await refresh([['sid-1', epochOf(first)]], { nowMs: nowMs + 5000 })).toEqual([]);
        expect(await h.store.nextDueAtMs()).toBe(nowMs + 10 + LONG_S * 1000);
        expect(JSON.parse(String((await h.dump())['t-1']))).toMatchObject({ sid: 'sid-2' });
      });

      it('skips a logged-out teacher', async () => {
        const connected = await connectTeacher(teacherSocket('sid-1'));
        await h.store.logoutTeacher(TEACHER);
        await refresh([['sid-1', epochOf(connected)]]);
        expect(await h.dump()).not.toHaveProperty([ALIVE]);
        expect(await h.store.nextDueAtMs()).toBeNull();
      });

      it('skips a teacher in its disconnect grace period', async () => {
        const nowMs = h.clock.nowMs();
        const connected = await connectTeacher(teacherSocket('sid-1'), { nowMs });
        await h.store.disconnectTeacher({
          socket: teacherSocket('sid-1'),
          nowMs,
          graceS: 60,
          lessonTtlS: LONG_S,
        });
        await refresh([['sid-1', epochOf(connected)]], { nowMs: nowMs + 5000 });
        expect((await h.dump())[ALIVE]).toMatchObject({ state: 'disconnect' });
        expect(await h.store.nextDueAtMs()).toBe(nowMs + 60_000);
      });

      it('registers a connected teacher again, with its epoch, after the store restarted empty', async () => {
        const connected = await connectTeacher(teacherSocket('sid-1'));
        await join(teacherSocket('sid-1'));
        await h.restartEmpty();
        const nowMs = h.clock.nowMs() + 1000;
        expect(await refresh([['sid-1', epochOf(connected)]], { nowMs })).toEqual([
          teacherSocket('sid-1'),
        ]);
        expect(await h.dump()).toEqual({
          [ALIVE]: { login_time: String(epochOf(connected)), state: 'connect' },
          't-1': '{"sid":"sid-1","client_id":"t-1","role":"teacher","org_id":"org-a"}',
        });
        expect(await h.store.nextDueAtMs()).toBe(nowMs + LONG_S * 1000);
      });

      it('lets the newest socket win back from an older one that registered first after a restart', async () => {
        const nowMs = h.clock.nowMs();
        const old = await connectTeacher(teacherSocket('sid-old'), { nowMs: nowMs - 5000 });
        const current = await connectTeacher(teacherSocket('sid-new'), { nowMs });
        await h.restartEmpty();
        // The old socket's connection died unnoticed; its node still refreshes it, and first.
        expect(await refresh([['sid-old', epochOf(old)]])).toEqual([teacherSocket('sid-old')]);
        await join(teacherSocket('sid-old'));
        expect(await refresh([['sid-new', epochOf(current)]])).toEqual([teacherSocket('sid-new')]);
        const dump = await h.dump();
        expect(dump[ALIVE]).toEqual({ login_time: String(epochOf(current)), state: 'connect' });
        expect(JSON.parse(String(dump['t-1']))).toEqual({
          sid: 'sid-new',
          client_id: 't-1',
          role: 'teacher',
          org_id: ORG,
          lesson_id: LESSON,
        });
        expect(dump[`lesson_teacher_${LESSON}`]).toEqual({ 't-1': 'sid-new' });
        // From then on the old socket is the stale one: its refresh and disconnect change nothing.
        expect(await refresh([['sid-old', epochOf(old)]])).toEqual([]);
        const late = await h.store.disconnectTeacher({
          socket: teacherSocket('sid-old'),
          nowMs: h.clock.nowMs(),
          graceS: 60,
          lessonTtlS: LONG_S,
        });
        expect(late.current).toBe(false);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
      });
    });

    describe('isTeacherOnline', () => {
      it('is true while connected and false in the grace period, after logout and for a stranger', async () => {
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        await connectTeacher(teacherSocket('sid-1'));
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
        expect(await h.store.isTeacherOnline({ orgId: 'org-b', userId: 't-1' })).toBe(false);
        await h.store.disconnectTeacher({
          socket: teacherSocket('sid-1'),
          nowMs: h.clock.nowMs(),
          graceS: 60,
          lessonTtlS: LONG_S,
        });
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        await connectTeacher(teacherSocket('sid-2'));
        await h.store.logoutTeacher(TEACHER);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
      });
    });

    describe('disconnectTeacher', () => {
      it('starts the grace period of the current socket and keeps the directory for lessonTtlS', async () => {
        const connectedAtMs = h.clock.nowMs();
        await connectTeacher(teacherSocket('sid-1'), { nowMs: connectedAtMs });
        await join(teacherSocket('sid-1'));
        const nowMs = h.clock.nowMs();
        const outcome = await h.store.disconnectTeacher({
          socket: teacherSocket('sid-1'),
          nowMs,
          graceS: 1,
          lessonTtlS: 2,
        });
        expect(outcome).toEqual({ current: true, lessonId: LESSON });
        expect((await h.dump())[ALIVE]).toEqual({
          login_time: String(epochAt(connectedAtMs)),
          state: 'disconnect',
        });
        expect(await h.store.nextDueAtMs()).toBe(nowMs + 1000);
        await h.clock.advance(1000 + PAST_MS);
        const inGrace = await h.dump();
        expect(inGrace).not.toHaveProperty([ALIVE]);
        expect(inGrace).toHaveProperty(['t-1']);
        await h.clock.advance(1000);
        expect(await h.dump()).not.toHaveProperty(['t-1']);
      });

      it('changes nothing for an older socket of the same teacher', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2'));
        const before = await h.dump();
        const dueAtMs = await h.store.nextDueAtMs();
        const outcome = await h.store.disconnectTeacher({
          socket: teacherSocket('sid-1'),
          nowMs: h.clock.nowMs(),
          graceS: 1,
          lessonTtlS: 1,
        });
        expect(outcome).toEqual({ current: false, lessonId: null });
        expect(await h.dump()).toEqual(before);
        expect(await h.store.nextDueAtMs()).toBe(dueAtMs);
      });

      it('writes no presence for a teacher who logged out', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await h.store.logoutTeacher(TEACHER);
        const outcome = await h.store.disconnectTeacher({
          socket: teacherSocket('sid-1'),
          nowMs: h.clock.nowMs(),
          graceS: 60,
          lessonTtlS: LONG_S,
        });
        expect(outcome).toEqual({ current: true, lessonId: null });
        expect(await h.dump()).not.toHaveProperty([ALIVE]);
        expect(await h.store.nextDueAtMs()).toBeNull();
      });
    });

    describe('disconnectStudent', () => {
      it('keeps the directory entry of the current socket for lessonTtlS', async () => {
        const socket = await seatedStudent('s-1');
        expect(await h.store.disconnectStudent({ socket, lessonTtlS: 1 })).toEqual({
          current: true,
          lessonId: LESSON,
        });
        await h.clock.advance(1000 + PAST_MS);
        const keys = await h.dump();
        expect(keys).not.toHaveProperty(['s-1']);
        expect(keys[`lesson_student_${LESSON}`]).toEqual({ 's-1': socket.sid });
      });

      it('changes nothing for an older socket of the same student', async () => {
        await seatedStudent('s-1');
        await connectStudent(studentSocket('sid-new'));
        const before = await h.dump();
        const outcome = await h.store.disconnectStudent({
          socket: studentSocket('sid-s-1'),
          lessonTtlS: 1,
        });
        expect(outcome).toEqual({ current: false, lessonId: null });
        expect(await h.dump()).toEqual(before);
      });
    });

    describe('logoutTeacher', () => {
      it('deletes the alive hash and the pending session end but keeps the directory', async () => {
        await connectTeacher(teacherSocket('sid-1'), { presenceTtlS: 1 });
        await h.store.logoutTeacher(TEACHER);
        const keys = await h.dump();
        expect(keys).not.toHaveProperty([ALIVE]);
        expect(keys).toHaveProperty(['t-1']);
        expect(await h.store.nextDueAtMs()).toBeNull();
        const farFutureMs = h.clock.nowMs() + LONG_S * 1000;
        expect(await h.store.dueSessionEnds(farFutureMs, 10)).toEqual([]);
        expect(await h.store.claimSessionEnd(TEACHER, farFutureMs, 1000)).toBeNull();
      });
    });

    describe('joinLesson', () => {
      it('creates the seat map with every seat free and records the lesson in the directory', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        expect(await join(teacherSocket('sid-1'))).toEqual({
          seats: { '1': '', '2': '', '3': '' },
          previousLessonId: null,
        });
        const keys = await h.dump();
        expect(keys[`lesson_seat_${LESSON}`]).toEqual({ '1': '', '2': '', '3': '' });
        expect(keys[`lesson_teacher_${LESSON}`]).toEqual({ 't-1': 'sid-1' });
        expect(keys).not.toHaveProperty([`lesson_student_${LESSON}`]);
        expect(keys['t-1']).toBe(
          '{"sid":"sid-1","client_id":"t-1","role":"teacher","org_id":"org-a","lesson_id":"lesson-1"}',
        );
      });

      it('never resets a seat map that exists', async () => {
        await seatedStudent('s-1');
        await claim('s-1', '2');
        await connectTeacher(teacherSocket('sid-1'));
        const joined = await join(teacherSocket('sid-1'), { seatCount: 5 });
        expect(joined.seats).toEqual({ '1': '', '2': 's-1', '3': '' });
      });

      it('creates one seat map however many first joiners race', async () => {
        const students = Array.from({ length: 10 }, (_, i) => `s-${i}`);
        await Promise.all(students.map((id) => connectStudent(studentSocket(`sid-${id}`, id))));
        await Promise.all([
          (async () => {
            await join(studentSocket('sid-s-0', 's-0'));
            await claim('s-0', '1');
          })(),
          ...students.slice(1).map((id) => join(studentSocket(`sid-${id}`, id))),
        ]);
        const keys = await h.dump();
        expect(keys[`lesson_seat_${LESSON}`]).toEqual({ '1': 's-0', '2': '', '3': '' });
        expect(Object.keys(keys[`lesson_student_${LESSON}`] as object).sort()).toEqual(
          [...students].sort(),
        );
      });

      it('lets the lesson keys expire together after lessonTtlS, each join refreshing all three', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await join(teacherSocket('sid-1'), { lessonTtlS: 1 });
        await h.clock.advance(600);
        await connectStudent(studentSocket('sid-s'));
        await join(studentSocket('sid-s'), { lessonTtlS: 1 });
        await h.clock.advance(600);
        const refreshed = await h.dump();
        expect(refreshed).toHaveProperty([`lesson_teacher_${LESSON}`]);
        expect(refreshed).toHaveProperty([`lesson_student_${LESSON}`]);
        expect(refreshed).toHaveProperty([`lesson_seat_${LESSON}`]);
        await h.clock.advance(400 + PAST_MS);
        expect(Object.keys(await h.dump()).sort()).toEqual([ALIVE, 's-1', 't-1']);
      });

      it('returns the previous lesson when the user moves to another one', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await join(teacherSocket('sid-1'), { lessonId: 'lesson-a' });
        const moved = await join(teacherSocket('sid-1'), { lessonId: 'lesson-b' });
        expect(moved.previousLessonId).toBe('lesson-a');
        expect((await h.dump())['t-1']).toContain('"lesson_id":"lesson-b"');
      });

      it('records the membership of a replaced socket but leaves the directory alone', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2'));
        expect((await join(teacherSocket('sid-1'))).previousLessonId).toBeNull();
        const keys = await h.dump();
        expect(keys[`lesson_teacher_${LESSON}`]).toEqual({ 't-1': 'sid-1' });
        expect(keys['t-1']).toBe(
          '{"sid":"sid-2","client_id":"t-1","role":"teacher","org_id":"org-a"}',
        );
      });
    });

    describe('undoJoinLesson', () => {
      it('takes the membership back and restores the previous lesson, leaving the seat map', async () => {
        const socket = teacherSocket('sid-1');
        await connectTeacher(socket);
        await join(socket, { lessonId: 'lesson-a' });
        await join(socket, { lessonId: 'lesson-b' });
        await h.store.undoJoinLesson({
          socket,
          lessonId: 'lesson-b',
          previousLessonId: 'lesson-a',
        });
        const keys = await h.dump();
        expect(keys).not.toHaveProperty(['lesson_teacher_lesson-b']);
        expect(keys['lesson_teacher_lesson-a']).toEqual({ 't-1': 'sid-1' });
        expect(keys['lesson_seat_lesson-b']).toEqual({ '1': '', '2': '', '3': '' });
        expect(keys['t-1']).toContain('"lesson_id":"lesson-a"');
      });

      it('removes lesson_id from the directory when there was no previous lesson', async () => {
        const socket = teacherSocket('sid-1');
        await connectTeacher(socket);
        await join(socket);
        await h.store.undoJoinLesson({ socket, lessonId: LESSON, previousLessonId: null });
        expect((await h.dump())['t-1']).toBe(
          '{"sid":"sid-1","client_id":"t-1","role":"teacher","org_id":"org-a"}',
        );
      });

      it('leaves a membership and a directory entry that a newer socket took over', async () => {
        const older = await seatedStudent('s-1');
        const newer = studentSocket('sid-new');
        await connectStudent(newer);
        await join(newer);
        await h.store.undoJoinLesson({ socket: older, lessonId: LESSON, previousLessonId: null });
        const keys = await h.dump();
        expect(keys[`lesson_student_${LESSON}`]).toEqual({ 's-1': 'sid-new' });
        expect(keys['s-1']).toContain('"lesson_id":"lesson-1"');
      });
    });

    describe('claimSeat', () => {
      it('refuses a student who has not joined the lesson, changing nothing', async () => {
        await seatedStudent('s-1');
        const before = await h.dump();
        expect(await claim('s-9', '1')).toEqual({ ok: false, error: 'not_in_lesson' });
        expect(await h.dump()).toEqual(before);
      });

      it('refuses a listed student whose lesson has no seat map any more', async () => {
        await connectStudent(studentSocket('sid-s'));
        await join(studentSocket('sid-s'), { lessonTtlS: 1 });
        await h.clock.advance(1000 + PAST_MS);
        await connectStudent(studentSocket('sid-s2'));
        expect(await claim('s-1', '1')).toEqual({ ok: false, error: 'not_in_lesson' });
        expect(await h.dump()).not.toHaveProperty([`lesson_seat_${LESSON}`]);
      });

      it('refuses a seat that is not in the seat map, changing nothing', async () => {
        await seatedStudent('s-1');
        const before = await h.dump();
        expect(await claim('s-1', '4')).toEqual({ ok: false, error: 'seat_not_found' });
        expect(await h.dump()).toEqual(before);
      });

      it('gives a free seat to the student', async () => {
        await seatedStudent('s-1');
        expect(await claim('s-1', '2')).toEqual({
          ok: true,
          value: { alreadyHeld: false, releasedSeatId: null },
        });
        expect((await h.dump())[`lesson_seat_${LESSON}`]).toEqual({ '1': '', '2': 's-1', '3': '' });
      });

      it('refuses a seat held by another student, changing nothing', async () => {
        await seatedStudent('s-1');
        await seatedStudent('s-2');
        await claim('s-1', '2');
        await claim('s-2', '3');
        const before = await h.dump();
        expect(await claim('s-2', '2')).toEqual({ ok: false, error: 'seat_taken' });
        expect(await h.dump()).toEqual(before);
      });

      it('moves a student, freeing the seat it left', async () => {
        await seatedStudent('s-1');
        await claim('s-1', '1');
        expect(await claim('s-1', '3')).toEqual({
          ok: true,
          value: { alreadyHeld: false, releasedSeatId: '1' },
        });
        expect((await h.dump())[`lesson_seat_${LESSON}`]).toEqual({ '1': '', '2': '', '3': 's-1' });
      });

      it('tells a student who already holds the seat that nothing changed', async () => {
        await seatedStudent('s-1');
        await claim('s-1', '2');
        expect(await claim('s-1', '2')).toEqual({
          ok: true,
          value: { alreadyHeld: true, releasedSeatId: null },
        });
        expect((await h.dump())[`lesson_seat_${LESSON}`]).toEqual({ '1': '', '2': 's-1', '3': '' });
      });

      it('gives a seat to exactly one of many students claiming it at once', async () => {
        const students = Array.from({ length: 12 }, (_, i) => `s-${i}`);
        for (const id of students) await seatedStudent(id);
        const results = await Promise.all(students.map((id) => claim(id, '1')));
        const winners = students.filter((_, i) => results[i]?.ok);
        expect(winners).toHaveLength(1);
        expect(results.filter((result) => !result.ok)).toEqual(
          Array(11).fill({ ok: false, error: 'seat_taken' }),
        );
        expect((await h.dump())[`lesson_seat_${LESSON}`]).toEqual({
          '1': winners[0],
          '2': '',
          '3': '',
        });
      });

      it('leaves a student racing for several seats on exactly one', async () => {
        await seatedStudent('s-1');
        await Promise.all(['1', '2', '3'].map((seat) => claim('s-1', seat)));
        const seats = (await h.dump())[`lesson_seat_${LESSON}`] as Record<string, string>;
        expect(Object.values(seats).filter((holder) => holder === 's-1')).toHaveLength(1);
      });
    });

    describe('revertSeatClaim', () => {
      it('frees the seat taken and gives back the seat left', async () => {
        await seatedStudent('s-1');
        await claim('s-1', '1');
        const moved = await claim('s-1', '2');
        if (!moved.ok) throw new Error('the move should succeed');
        await h.store.revertSeatClaim({
          lessonId: LESSON,
          studentId: 's-1',
          seatId: '2',
          change: moved.value,
        });
        expect((await h.dump())[`lesson_seat_${LESSON}`]).toEqual({ '1': 's-1', '2': '', '3': '' });
      });

      it('keeps a seat the student already held', async () => {
        await seatedStudent('s-1');
        await claim('s-1', '1');
        await h.store.revertSeatClaim({
          lessonId: LESSON,
          studentId: 's-1',
          seatId: '1',
          change: { alreadyHeld: true, releasedSeatId: null },
        });
        expect((await h.dump())[`lesson_seat_${LESSON}`]).toEqual({ '1': 's-1', '2': '', '3': '' });
      });

      it('does not give back a seat another student took meanwhile', async () => {
        await seatedStudent('s-1');
        await seatedStudent('s-2');
        await claim('s-1', '1');
        const moved = await claim('s-1', '2');
        if (!moved.ok) throw new Error('the move should succeed');
        await claim('s-2', '1');
        await h.store.revertSeatClaim({
          lessonId: LESSON,
          studentId: 's-1',
          seatId: '2',
          change: moved.value,
        });
        expect((await h.dump())[`lesson_seat_${LESSON}`]).toEqual({ '1': 's-2', '2': '', '3': '' });
      });
    });

    describe('dueSessionEnds and nextDueAtMs', () => {
      it('have nothing to tell while no session is pending', async () => {
        expect(await h.store.nextDueAtMs()).toBeNull();
        expect(await h.store.dueSessionEnds(h.clock.nowMs() + LONG_S * 1000, 10)).toEqual([]);
      });

      it('list due sessions earliest deadline first, at most the limit', async () => {
        const baseMs = h.clock.nowMs();
        await connectTeacher(teacherSocket('sid-a', 't-a'), { nowMs: baseMs + 300 });
        await connectTeacher(teacherSocket('sid-b', 't-b', 'org-b'), { nowMs: baseMs + 100 });
        await connectTeacher(teacherSocket('sid-c', 't-c'), { nowMs: baseMs + 200 });
        const ttlMs = LONG_S * 1000;
        expect(await h.store.nextDueAtMs()).toBe(baseMs + 100 + ttlMs);
        expect(await h.store.dueSessionEnds(baseMs + ttlMs + 300, 2)).toEqual([
          { orgId: 'org-b', userId: 't-b' },
          { orgId: ORG, userId: 't-c' },
        ]);
        expect(await h.store.dueSessionEnds(baseMs + ttlMs + 150, 10)).toEqual([
          { orgId: 'org-b', userId: 't-b' },
        ]);
      });
    });

    describe('claimSessionEnd and completeSessionEnd', () => {
      it('refuse to end the session of a teacher who is alive', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        const farFutureMs = h.clock.nowMs() + 2 * LONG_S * 1000;
        expect(await h.store.dueSessionEnds(farFutureMs, 10)).toEqual([TEACHER]);
        expect(await h.store.claimSessionEnd(TEACHER, farFutureMs, 1000)).toBeNull();
      });

      it('claim an expired session only once its deadline has passed, with its epoch', async () => {
        const { startedAtMs, epoch } = await expiredSession();
        expect(await h.store.claimSessionEnd(TEACHER, startedAtMs + 999, 1000)).toBeNull();
        expect(await h.store.claimSessionEnd(TEACHER, startedAtMs + 1000, 1000)).toEqual({
          epoch,
        });
      });

      it('give the claim to exactly one of many concurrent callers', async () => {
        const { epoch } = await expiredSession();
        const nowMs = h.clock.nowMs();
        const claims = await Promise.all(
          Array.from({ length: 10 }, () => h.store.claimSessionEnd(TEACHER, nowMs, 30_000)),
        );
        expect(claims.filter((claimed) => claimed !== null)).toEqual([{ epoch }]);
      });

      it('hide a claimed session until its lease ends, then let it be claimed again', async () => {
        const { epoch } = await expiredSession();
        const claimedAtMs = h.clock.nowMs();
        expect(await h.store.claimSessionEnd(TEACHER, claimedAtMs, 5000)).toEqual({ epoch });
        expect(await h.store.dueSessionEnds(claimedAtMs, 10)).toEqual([]);
        expect(await h.store.nextDueAtMs()).toBe(claimedAtMs + 5000);
        expect(await h.store.claimSessionEnd(TEACHER, claimedAtMs + 4999, 5000)).toBeNull();
        expect(await h.store.dueSessionEnds(claimedAtMs + 5000, 10)).toEqual([TEACHER]);
        expect(await h.store.claimSessionEnd(TEACHER, claimedAtMs + 5000, 5000)).toEqual({
          epoch,
        });
      });

      it('end a completed session for good', async () => {
        const { epoch } = await expiredSession();
        const nowMs = h.clock.nowMs();
        await h.store.claimSessionEnd(TEACHER, nowMs, 1000);
        await h.store.completeSessionEnd(TEACHER, epoch);
        expect(await h.store.nextDueAtMs()).toBeNull();
        expect(await h.store.dueSessionEnds(nowMs + LONG_S * 1000, 10)).toEqual([]);
        expect(await h.store.claimSessionEnd(TEACHER, nowMs + LONG_S * 1000, 1000)).toBeNull();
      });

      it('refuse the claim once the teacher reconnected after the expiry', async () => {
        await expiredSession();
        await connectTeacher(teacherSocket('sid-2'));
        expect(await h.store.claimSessionEnd(TEACHER, h.clock.nowMs(), 1000)).toBeNull();
      });

      it('leave a newer session alone when completing with an older epoch', async () => {
        const { epoch: oldEpoch } = await expiredSession();
        expect(await h.store.claimSessionEnd(TEACHER, h.clock.nowMs(), 30_000)).toEqual({
          epoch: oldEpoch,
        });
        const reconnectedAtMs = h.clock.nowMs();
        const reconnected = await connectTeacher(teacherSocket('sid-2'), {
          presenceTtlS: 1,
          nowMs: reconnectedAtMs,
        });
        const newEpoch = reconnected.kind === 'connected' ? reconnected.epoch : oldEpoch;
        expect(newEpoch).toBeGreaterThan(oldEpoch);
        await h.store.completeSessionEnd(TEACHER, oldEpoch);
        expect(await h.store.nextDueAtMs()).toBe(reconnectedAtMs + 1000);
        expect(await h.dump()).toHaveProperty([ALIVE]);
        await h.clock.advance(1000 + PAST_MS);
        expect(await h.store.claimSessionEnd(TEACHER, h.clock.nowMs(), 1000)).toEqual({
          epoch: newEpoch,
        });
      });

      it('let a session come due when the grace period after a disconnect ends', async () => {
        const connectedAtMs = h.clock.nowMs();
        await connectTeacher(teacherSocket('sid-1'), { nowMs: connectedAtMs });
        await h.store.disconnectTeacher({
          socket: teacherSocket('sid-1'),
          nowMs: h.clock.nowMs(),
          graceS: 1,
          lessonTtlS: LONG_S,
        });
        await h.clock.advance(1000 + PAST_MS);
        const nowMs = h.clock.nowMs();
        expect(await h.store.dueSessionEnds(nowMs, 10)).toEqual([TEACHER]);
        expect(await h.store.claimSessionEnd(TEACHER, nowMs, 1000)).toEqual({
          epoch: epochAt(connectedAtMs),
        });
      });
    });
  });
}
