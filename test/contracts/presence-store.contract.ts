import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../src/application/errors.js';
import type {
  PresenceStore,
  SocketOf,
  TeacherConnectOutcome,
} from '../../src/application/ports/presence-store.js';
import type { TeacherRef } from '../../src/domain/clients.js';
import { initialSeatMap, type SeatMap } from '../../src/domain/seat-map.js';
import { epochAt } from '../../src/domain/session.js';

/**
 * What every PresenceStore must do, in the port's own terms (its JSDoc, PROTOCOL §6, §6a): every
 * assertion reads the store through the port. How a store lays out what it holds (Redis' keys and
 * TTLs, PROTOCOL §7) is the business of that store's own tests.
 *
 * The clock is the store's: for Redis it is real time, which the harness moves by moving the
 * TTLs, so every lifetime here is a few seconds and waits are few. Deadlines use the caller's
 * `nowMs`, so tests about their order pass made-up times instead of waiting.
 */
export interface PresenceStoreHarness {
  readonly store: PresenceStore;
  readonly clock: { nowMs(): number; advance(ms: number): Promise<void> };
  /** Loses everything, as a Redis without persistence restarting empty. */
  restartEmpty(): Promise<void>;
  close(): Promise<void>;
}

/** A store whose calls can be made to reach it only after their caller gave up on them. */
export interface LateCallHarness {
  readonly store: PresenceStore;
  nowMs(): number;
  /**
   * Makes `call` on `store` so that it reaches the store only after its deadline, and resolves
   * once it has (whatever the store then did with it) to what the caller was answered.
   */
  late<T>(call: (store: PresenceStore) => Promise<T>): Promise<PromiseSettledResult<T>>;
  close(): Promise<void>;
}

const ORG = 'org-a';
const OTHER_ORG = 'org-b';
const LESSON = 'lesson-1';
/** A lifetime no test waits out. */
const LONG_S = 3600;
/** Slack past a lifetime, since a key is gone only once its time has come. */
const PAST_MS = 100;
const LEASE_MS = 30_000;

const TEACHER: TeacherRef = { orgId: ORG, userId: 't-1' };

const teacherSocket = (sid: string, userId = 't-1', orgId = ORG): SocketOf => ({
  sid,
  identity: { userId, orgId, role: 'teacher', kind: 'teacher_app' },
});
const studentSocket = (sid: string, userId = 's-1', orgId = ORG): SocketOf => ({
  sid,
  identity: { userId, orgId, role: 'student', kind: 'student_web' },
});
const managerSocket = (sid: string): SocketOf => ({
  sid,
  identity: { userId: 'm-1', orgId: ORG, role: 'admin', kind: 'manager_web' },
});

/** The epoch a successful connectTeacher started. */
function epochOf(outcome: TeacherConnectOutcome): number {
  if (outcome.kind !== 'connected') throw new Error(`expected a connect, got ${outcome.kind}`);
  return outcome.epoch;
}

export function describePresenceStoreContract(
  name: string,
  make: () => Promise<PresenceStoreHarness>,
  lateCalls: () => Promise<LateCallHarness>,
): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let h: PresenceStoreHarness;

    beforeEach(async () => {
      h = await make();
    });

    afterEach(async () => {
      await h.close();
    });

    const now = () => h.clock.nowMs();

    const connectTeacher = (
      socket: SocketOf,
      { presenceTtlS = LONG_S, nowMs = now(), lessonTtlS = LONG_S } = {},
    ) =>
      // The database holds no cooldown of these teachers, as ConnectClient would find: a store
      // that lost its data asks for that (see 'connectTeacher after a loss').
      h.store.connectTeacher({
        socket,
        nowMs,
        presenceTtlS,
        lessonTtlS,
        noCooldownInDatabase: true,
      });

    const connectStudent = (socket: SocketOf, lessonTtlS = LONG_S) =>
      h.store.connectStudent({ socket, lessonTtlS });

    const disconnectTeacher = (
      socket: SocketOf,
      { nowMs = now(), graceS = LONG_S, lessonTtlS = LONG_S } = {},
    ) => h.store.disconnectTeacher({ socket, nowMs, graceS, lessonTtlS });

    const refresh = (sockets: readonly SocketOf[], { nowMs = now(), presenceTtlS = LONG_S } = {}) =>
      h.store.refreshTeachers({
        teachers: sockets.map((socket) => ({ socket, epoch: epochAt(nowMs) })),
        nowMs,
        presenceTtlS,
        lessonTtlS: LONG_S,
      });

    /** A join with every seat free to create the map from, or (`seats: null`) no seats at all. */
    const join = (
      socket: SocketOf,
      { lessonId = LESSON, seats = initialSeatMap(3) as SeatMap | null, lessonTtlS = LONG_S } = {},
    ) =>
      h.store.joinLesson({
        socket,
        lessonId,
        seatCount: 3,
        lessonTtlS,
        ...(seats === null ? {} : { seats }),
      });

    /** A join that must succeed, with what it answered. */
    const joined = async (socket: SocketOf, options: Parameters<typeof join>[1] = {}) => {
      const outcome = await join(socket, options);
      if (outcome.kind !== 'joined') throw new Error('the join should succeed');
      return outcome;
    };

    const claim = (socket: SocketOf, seatId: string, lessonId = LESSON) =>
      h.store.claimSeat({ socket, lessonId, seatId });

    const settle = (
      teacher: TeacherRef,
      { nowMs = now(), graceS = LONG_S, leaseMs = LEASE_MS } = {},
    ) => h.store.settleExpiredSession({ teacher, nowMs, graceS, leaseMs });

    /** The directory's socket of a teacher, as force_logout finds it. */
    const directorySid = async (teacher: TeacherRef) => {
      const { sid } = await h.store.startCooldown({ teacher, cooldownS: 1 });
      await h.store.cancelCooldown(teacher);
      return sid;
    };

    const seatsOf = async (lessonId = LESSON) =>
      (await joined(studentSocket('sid-seat-reader', 's-seat-reader'), { lessonId })).seats;

    /** A student connected and in the lesson. */
    const seatedStudent = async (userId: string, orgId = ORG) => {
      const socket = studentSocket(`sid-${userId}-${orgId}`, userId, orgId);
      await connectStudent(socket);
      await joined(socket);
      return socket;
    };

    /** A teacher whose grace period (one second) is over: due, alive no more. */
    const graceOver = async () => {
      const connectedAtMs = now();
      const epoch = epochOf(await connectTeacher(teacherSocket('sid-1'), { nowMs: connectedAtMs }));
      await disconnectTeacher(teacherSocket('sid-1'), { graceS: 1 });
      await h.clock.advance(1000 + PAST_MS);
      return { epoch };
    };

    describe('connectTeacher', () => {
      it('starts a session: connected, in no lesson, due one presence TTL later', async () => {
        const nowMs = now();
        const outcome = await connectTeacher(teacherSocket('sid-1'), { nowMs, presenceTtlS: 2 });
        expect(outcome).toEqual({
          kind: 'connected',
          epoch: epochAt(nowMs),
          lessonId: null,
          change: 'new_session',
        });
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
        expect(await h.store.snapshot(ORG)).toEqual([
          {
            userId: 't-1',
            phase: 'connected',
            loginTimeS: epochAt(nowMs),
            sinceMs: nowMs,
            lessonId: null,
          },
        ]);
        expect(await h.store.nextDueAtMs()).toBe(nowMs + 2000);
        expect(await h.store.dueSessionEnds(nowMs + 1999, 10)).toEqual([]);
        expect(await h.store.dueSessionEnds(nowMs + 2000, 10)).toEqual([TEACHER]);
        expect(await directorySid(TEACHER)).toBe('sid-1');
      });

      it('is refused while a cooldown runs, writing nothing, and says how long is left', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        expect(await h.store.startCooldown({ teacher: TEACHER, cooldownS: 2 })).toEqual({
          sid: 'sid-1',
        });
        const before = await h.store.snapshot(ORG);
        const outcome = await connectTeacher(teacherSocket('sid-2'));
        expect(outcome.kind).toBe('cooldown');
        const remainingMs = outcome.kind === 'cooldown' ? outcome.remainingMs : 0;
        expect(remainingMs).toBeGreaterThan(0);
        expect(remainingMs).toBeLessThanOrEqual(2000);
        expect(await h.store.snapshot(ORG)).toEqual(before);
        expect(await disconnectTeacher(teacherSocket('sid-2'))).toEqual({ kind: 'not_live' });
      });

      it('is accepted again once the cooldown has passed, or was taken back', async () => {
        await h.store.startCooldown({ teacher: TEACHER, cooldownS: 1 });
        await h.clock.advance(1000 + PAST_MS);
        expect(await connectTeacher(teacherSocket('sid-1'))).toMatchObject({ kind: 'connected' });
        await h.store.startCooldown({ teacher: TEACHER, cooldownS: LONG_S });
        await h.store.cancelCooldown(TEACHER);
        expect(await connectTeacher(teacherSocket('sid-2'))).toMatchObject({ kind: 'connected' });
      });

      it('keeps a cooldown to its own org and teacher', async () => {
        await h.store.startCooldown({ teacher: TEACHER, cooldownS: LONG_S });
        const sameIdOtherOrg = await connectTeacher(teacherSocket('sid-b', 't-1', OTHER_ORG));
        const otherTeacher = await connectTeacher(teacherSocket('sid-2', 't-2'));
        expect(sameIdOtherOrg.kind).toBe('connected');
        expect(otherTeacher.kind).toBe('connected');
      });

      it('is a reconnect during the grace period: connected again, in its lesson, since now', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await joined(teacherSocket('sid-1'));
        await disconnectTeacher(teacherSocket('sid-1'));
        const nowMs = now() + 5000;
        const outcome = await connectTeacher(teacherSocket('sid-2'), { nowMs });
        expect(outcome).toEqual({
          kind: 'connected',
          epoch: epochAt(nowMs),
          lessonId: LESSON,
          change: 'reconnect',
        });
        expect(await h.store.snapshot(ORG)).toEqual([
          {
            userId: 't-1',
            phase: 'connected',
            loginTimeS: epochAt(nowMs),
            sinceMs: nowMs,
            lessonId: LESSON,
          },
        ]);
        expect(await directorySid(TEACHER)).toBe('sid-2');
      });

      it('joins another device to a connected session without changing its phase or moving its deadline earlier', async () => {
        const firstAtMs = now();
        await connectTeacher(teacherSocket('sid-1'), { nowMs: firstAtMs, presenceTtlS: 60 });
        await joined(teacherSocket('sid-1'));
        const outcome = await connectTeacher(teacherSocket('sid-2'), {
          nowMs: firstAtMs + 1000,
          presenceTtlS: 10,
        });
        expect(outcome).toMatchObject({
          kind: 'connected',
          lessonId: LESSON,
          change: 'another_device',
        });
        expect(await h.store.snapshot(ORG)).toMatchObject([
          { userId: 't-1', phase: 'connected', sinceMs: firstAtMs, lessonId: LESSON },
        ]);
        expect(await h.store.nextDueAtMs()).toBe(firstAtMs + 60_000);
        expect(await directorySid(TEACHER)).toBe('sid-2');
      });

      it('is a reconnect when the session lapsed while connected and nobody settled it yet', async () => {
        await connectTeacher(teacherSocket('sid-1'), { presenceTtlS: 1 });
        await h.clock.advance(1000 + PAST_MS);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        expect(await connectTeacher(teacherSocket('sid-2'))).toMatchObject({ change: 'reconnect' });
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
      });

      it('starts a new session once the grace period is over, keeping the lesson of its own directory entry', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await joined(teacherSocket('sid-1'));
        await disconnectTeacher(teacherSocket('sid-1'), { graceS: 1 });
        await h.clock.advance(1000 + PAST_MS);
        expect(await connectTeacher(teacherSocket('sid-2'))).toMatchObject({
          change: 'new_session',
          lessonId: LESSON,
        });
        expect(await settle(TEACHER)).toEqual({ kind: 'none' });
      });

      it('does not carry the lesson of a directory entry of another org or role over', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await joined(teacherSocket('sid-1'));
        const sameIdOtherOrg = await connectTeacher(teacherSocket('sid-b', 't-1', OTHER_ORG));
        expect(sameIdOtherOrg).toMatchObject({
          kind: 'connected',
          lessonId: null,
          change: 'new_session',
        });
        await seatedStudent('s-1');
        const sameIdAsTeacher = await connectTeacher(teacherSocket('sid-t', 's-1'));
        expect(sameIdAsTeacher).toMatchObject({ kind: 'connected', lessonId: null });
        expect(await connectStudent(studentSocket('sid-s', 's-1'))).toEqual({ lessonId: null });
      });
    });

    describe('connectStudent', () => {
      it('places a student in no lesson', async () => {
        expect(await connectStudent(studentSocket('sid-s'))).toEqual({ lessonId: null });
      });

      it('puts a reconnecting student back into its lesson on the new socket only', async () => {
        const old = await seatedStudent('s-1');
        const current = studentSocket('sid-new');
        expect(await connectStudent(current)).toEqual({ lessonId: LESSON });
        expect(await claim(old, '1')).toEqual({ ok: false, error: 'not_in_lesson' });
        expect(await claim(current, '1')).toMatchObject({ ok: true });
      });
    });

    describe('several devices of one teacher', () => {
      it('start the grace period only when the last live socket leaves', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await joined(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2'));
        expect(await disconnectTeacher(teacherSocket('sid-1'))).toEqual({
          kind: 'other_devices',
          lessonId: LESSON,
        });
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
        const leftAtMs = now() + 2000;
        expect(
          await disconnectTeacher(teacherSocket('sid-2'), { nowMs: leftAtMs, graceS: 60 }),
        ).toEqual({
          kind: 'grace',
          lessonId: LESSON,
          deadlineMs: leftAtMs + 60_000,
        });
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        expect(await h.store.snapshot(ORG)).toMatchObject([
          { userId: 't-1', phase: 'grace', sinceMs: leftAtMs, lessonId: LESSON },
        ]);
        expect(await h.store.nextDueAtMs()).toBe(leftAtMs + 60_000);
      });

      it('point the directory at a remaining live socket when the one it named leaves', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2'));
        expect(await directorySid(TEACHER)).toBe('sid-2');
        await disconnectTeacher(teacherSocket('sid-2'));
        expect(await directorySid(TEACHER)).toBe('sid-1');
      });

      it('leave the directory on the newer device when an older one leaves', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2'));
        await disconnectTeacher(teacherSocket('sid-1'));
        expect(await directorySid(TEACHER)).toBe('sid-2');
      });

      it('do not count a device whose node stopped refreshing it', async () => {
        const startMs = now();
        await connectTeacher(teacherSocket('sid-1'), { nowMs: startMs, presenceTtlS: 10 });
        await connectTeacher(teacherSocket('sid-2'), { nowMs: startMs, presenceTtlS: 10 });
        await refresh([teacherSocket('sid-2')], { nowMs: startMs + 8000, presenceTtlS: 10 });
        expect(
          await disconnectTeacher(teacherSocket('sid-2'), { nowMs: startMs + 11_000 }),
        ).toMatchObject({ kind: 'grace' });
      });

      it('answer not_live for a socket gone before, and for one never seen', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2'));
        await disconnectTeacher(teacherSocket('sid-1'));
        expect(await disconnectTeacher(teacherSocket('sid-1'))).toEqual({ kind: 'not_live' });
        expect(await disconnectTeacher(teacherSocket('sid-9'))).toEqual({ kind: 'not_live' });
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
      });
    });

    describe('refreshTeachers', () => {
      it('keeps a connected session alive and its deadline fresh, login time kept', async () => {
        const connectedAtMs = now();
        await connectTeacher(teacherSocket('sid-1'), { presenceTtlS: 1, nowMs: connectedAtMs });
        await h.clock.advance(600);
        const refreshedAtMs = now();
        expect(
          await refresh([teacherSocket('sid-1')], { nowMs: refreshedAtMs, presenceTtlS: 2 }),
        ).toEqual(['refreshed']);
        await h.clock.advance(1000);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
        expect(await h.store.snapshot(ORG)).toMatchObject([{ loginTimeS: epochAt(connectedAtMs) }]);
        expect(await h.store.nextDueAtMs()).toBe(refreshedAtMs + 2000);
      });

      it('connects a session in its grace period again', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await disconnectTeacher(teacherSocket('sid-1'));
        const nowMs = now() + 3000;
        expect(await refresh([teacherSocket('sid-1')], { nowMs })).toEqual(['reconnected']);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
        expect(await h.store.snapshot(ORG)).toMatchObject([{ phase: 'connected', sinceMs: nowMs }]);
        expect(await h.store.nextDueAtMs()).toBe(nowMs + LONG_S * 1000);
      });

      it('brings back a session that lapsed while connected', async () => {
        await connectTeacher(teacherSocket('sid-1'), { presenceTtlS: 1 });
        await h.clock.advance(1000 + PAST_MS);
        expect(await refresh([teacherSocket('sid-1')])).toEqual(['refreshed']);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
      });

      it('leaves a logged-out teacher, and one whose grace period is over, alone', async () => {
        await connectTeacher(teacherSocket('sid-1', 't-2'));
        await h.store.logoutTeacher({ orgId: ORG, userId: 't-2' });
        await graceOver();
        expect(await refresh([teacherSocket('sid-1', 't-2'), teacherSocket('sid-1')])).toEqual([
          'ended',
          'ended',
        ]);
        expect(await h.store.isTeacherOnline({ orgId: ORG, userId: 't-2' })).toBe(false);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        expect(await h.store.snapshot(ORG)).toMatchObject([{ userId: 't-1', phase: 'grace' }]);
      });

      it('points a directory that names a socket no longer live at a live one', async () => {
        const startMs = now();
        await connectTeacher(teacherSocket('sid-1'), { nowMs: startMs, presenceTtlS: 10 });
        await joined(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2'), { nowMs: startMs, presenceTtlS: 10 });
        expect(await directorySid(TEACHER)).toBe('sid-2');
        await refresh([teacherSocket('sid-1')], { nowMs: startMs + 11_000, presenceTtlS: 10 });
        expect(await directorySid(TEACHER)).toBe('sid-1');
        expect(await connectTeacher(teacherSocket('sid-3'))).toMatchObject({ lessonId: LESSON });
      });

      it('answers in input order', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2', 't-2'));
        await disconnectTeacher(teacherSocket('sid-2', 't-2'));
        expect(
          await refresh([
            teacherSocket('sid-9', 't-9'),
            teacherSocket('sid-2', 't-2'),
            teacherSocket('sid-1'),
          ]),
        ).toEqual(['ended', 'reconnected', 'refreshed']);
      });
    });

    describe('isTeacherOnline', () => {
      it('is true while connected and false in the grace period, after logout and for a stranger', async () => {
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        await connectTeacher(teacherSocket('sid-1'));
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
        expect(await h.store.isTeacherOnline({ orgId: OTHER_ORG, userId: 't-1' })).toBe(false);
        await disconnectTeacher(teacherSocket('sid-1'));
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        await connectTeacher(teacherSocket('sid-2'));
        await h.store.logoutTeacher(TEACHER);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
      });
    });

    describe('disconnectStudent', () => {
      it('keeps the directory entry of the current socket for lessonTtlS, so a reconnect finds the lesson', async () => {
        const socket = await seatedStudent('s-1');
        expect(await h.store.disconnectStudent({ socket, lessonTtlS: 2 })).toEqual({
          current: true,
          lessonId: LESSON,
        });
        await h.clock.advance(1000);
        expect(await connectStudent(studentSocket('sid-again'))).toEqual({ lessonId: LESSON });
        await h.store.disconnectStudent({ socket: studentSocket('sid-again'), lessonTtlS: 1 });
        await h.clock.advance(1000 + PAST_MS);
        expect(await connectStudent(studentSocket('sid-later'))).toEqual({ lessonId: null });
      });

      it('changes nothing for an older socket of the same student', async () => {
        const old = await seatedStudent('s-1');
        await connectStudent(studentSocket('sid-new'));
        expect(await h.store.disconnectStudent({ socket: old, lessonTtlS: 1 })).toEqual({
          current: false,
          lessonId: null,
        });
        await h.clock.advance(1000 + PAST_MS);
        expect(await connectStudent(studentSocket('sid-newest'))).toEqual({ lessonId: LESSON });
      });
    });

    describe('logoutTeacher', () => {
      it('ends the presence of every device, not the lesson, and says whether there was a session', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectTeacher(teacherSocket('sid-2'));
        await joined(teacherSocket('sid-2'));
        expect(await h.store.logoutTeacher(TEACHER)).toBe(true);
        expect(await h.store.logoutTeacher(TEACHER)).toBe(false);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        expect(await h.store.snapshot(ORG)).toEqual([]);
        expect(await h.store.nextDueAtMs()).toBeNull();
        expect(await settle(TEACHER, { nowMs: now() + 2 * LONG_S * 1000 })).toEqual({
          kind: 'none',
        });
        expect(await disconnectTeacher(teacherSocket('sid-1'))).toEqual({ kind: 'not_live' });
        expect(await connectTeacher(teacherSocket('sid-3'))).toMatchObject({
          change: 'new_session',
          lessonId: LESSON,
        });
      });
    });

    describe('startCooldown', () => {
      it('names the directory’s socket only when it is that org’s teacher', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await connectStudent(studentSocket('sid-s'));
        expect(
          await h.store.startCooldown({
            teacher: { orgId: OTHER_ORG, userId: 't-1' },
            cooldownS: 1,
          }),
        ).toEqual({
          sid: null,
        });
        expect(
          await h.store.startCooldown({ teacher: { orgId: ORG, userId: 's-1' }, cooldownS: 1 }),
        ).toEqual({
          sid: null,
        });
        expect(await h.store.startCooldown({ teacher: TEACHER, cooldownS: 1 })).toEqual({
          sid: 'sid-1',
        });
      });
    });

    describe('joinLesson', () => {
      it('asks for the seat map when the lesson has none and none was given, changing nothing', async () => {
        const socket = studentSocket('sid-s');
        await connectStudent(socket);
        expect(await join(socket, { seats: null })).toEqual({ kind: 'needs_seat_map' });
        expect(await claim(socket, '1')).toEqual({ ok: false, error: 'not_in_lesson' });
        expect(await connectStudent(studentSocket('sid-s2'))).toEqual({ lessonId: null });
      });

      it('creates the seat map from the seats given, holders included, and records the lesson', async () => {
        const socket = studentSocket('sid-s');
        await connectStudent(socket);
        const recorded = { ...initialSeatMap(3), '2': 's-9' };
        expect(await join(socket, { seats: recorded })).toEqual({
          kind: 'joined',
          seats: recorded,
          previousLessonId: null,
        });
        expect(await connectStudent(studentSocket('sid-s2'))).toEqual({ lessonId: LESSON });
      });

      it('never resets a seat map that exists', async () => {
        const student = await seatedStudent('s-1');
        await claim(student, '2');
        const teacher = teacherSocket('sid-1');
        await connectTeacher(teacher);
        expect((await joined(teacher, { seats: initialSeatMap(5) })).seats).toEqual({
          '1': '',
          '2': 's-1',
          '3': '',
        });
        expect((await joined(teacher, { seats: null })).seats).toMatchObject({ '2': 's-1' });
      });

      it('creates one seat map however many first joiners race', async () => {
        const students = Array.from({ length: 10 }, (_, i) => studentSocket(`sid-${i}`, `s-${i}`));
        await Promise.all(students.map((socket) => connectStudent(socket)));
        const [first, ...others] = students as [SocketOf, ...SocketOf[]];
        await Promise.all([
          (async () => {
            await joined(first);
            await claim(first, '1');
          })(),
          ...others.map((socket) => joined(socket)),
        ]);
        expect(await seatsOf()).toEqual({ '1': 's-0', '2': '', '3': '' });
      });

      it('lets the lesson’s seats and members lapse together after lessonTtlS, each join renewing them', async () => {
        const teacher = teacherSocket('sid-1');
        await connectTeacher(teacher);
        await joined(teacher, { lessonTtlS: 1 });
        await h.clock.advance(600);
        const student = studentSocket('sid-s');
        await connectStudent(student);
        await joined(student, { lessonTtlS: 1 });
        await h.clock.advance(600);
        expect(await claim(student, '1')).toMatchObject({ ok: true });
        await h.clock.advance(400 + PAST_MS);
        expect(await claim(student, '2')).toEqual({ ok: false, error: 'not_in_lesson' });
        expect(await join(teacher, { seats: null })).toEqual({ kind: 'needs_seat_map' });
      });

      it('returns the previous lesson when the user moves to another one', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await joined(teacherSocket('sid-1'), { lessonId: 'lesson-a' });
        const moved = await joined(teacherSocket('sid-1'), { lessonId: 'lesson-b' });
        expect(moved.previousLessonId).toBe('lesson-a');
        expect(await h.store.snapshot(ORG)).toMatchObject([{ lessonId: 'lesson-b' }]);
        expect(await connectTeacher(teacherSocket('sid-2'))).toMatchObject({
          lessonId: 'lesson-b',
        });
      });

      it('records the membership of a replaced socket but leaves the directory alone', async () => {
        const old = studentSocket('sid-old');
        await connectStudent(old);
        await connectStudent(studentSocket('sid-new'));
        expect((await joined(old)).previousLessonId).toBeNull();
        expect(await claim(old, '1')).toMatchObject({ ok: true });
        expect(await connectStudent(studentSocket('sid-newest'))).toEqual({ lessonId: null });
      });
    });

    describe('undoJoinLesson', () => {
      it('takes the membership back and restores the previous lesson', async () => {
        const socket = teacherSocket('sid-1');
        await connectTeacher(socket);
        await joined(socket, { lessonId: 'lesson-a' });
        await joined(socket, { lessonId: 'lesson-b' });
        await h.store.undoJoinLesson({
          socket,
          lessonId: 'lesson-b',
          previousLessonId: 'lesson-a',
        });
        expect(await h.store.snapshot(ORG)).toMatchObject([{ lessonId: 'lesson-a' }]);
        expect(await connectTeacher(teacherSocket('sid-2'))).toMatchObject({
          lessonId: 'lesson-a',
        });
      });

      it('leaves no lesson when there was no previous one', async () => {
        const socket = studentSocket('sid-s');
        await connectStudent(socket);
        await joined(socket);
        await h.store.undoJoinLesson({ socket, lessonId: LESSON, previousLessonId: null });
        expect(await claim(socket, '1')).toEqual({ ok: false, error: 'not_in_lesson' });
        expect(await connectStudent(studentSocket('sid-s2'))).toEqual({ lessonId: null });
      });

      it('leaves a membership and a directory entry that a newer socket took over', async () => {
        const older = await seatedStudent('s-1');
        const newer = studentSocket('sid-new');
        await connectStudent(newer);
        await joined(newer);
        await h.store.undoJoinLesson({ socket: older, lessonId: LESSON, previousLessonId: null });
        expect(await claim(newer, '1')).toMatchObject({ ok: true });
        expect(await connectStudent(studentSocket('sid-newest'))).toEqual({ lessonId: LESSON });
      });
    });

    describe('claimSeat', () => {
      it('refuses a student who has not joined the lesson, changing nothing', async () => {
        await seatedStudent('s-1');
        const stranger = studentSocket('sid-9', 's-9');
        await connectStudent(stranger);
        expect(await claim(stranger, '1')).toEqual({ ok: false, error: 'not_in_lesson' });
        expect(await seatsOf()).toEqual(initialSeatMap(3));
      });

      it('refuses a student of another org whose id is the same, and leaves the seats of the lesson alone', async () => {
        const member = await seatedStudent('s-1');
        const sameIdOtherOrg = studentSocket('sid-other', 's-1', OTHER_ORG);
        await connectStudent(sameIdOtherOrg);
        expect(await claim(sameIdOtherOrg, '1')).toEqual({ ok: false, error: 'not_in_lesson' });
        expect(await seatsOf()).toEqual(initialSeatMap(3));
        expect(await claim(member, '1')).toMatchObject({ ok: true });
      });

      it('asks for the seat map when the student is a member but the map is gone', async () => {
        const student = studentSocket('sid-s');
        await h.store.restoreSockets({
          sockets: [{ socket: student, epoch: null, lessonId: LESSON }],
          nowMs: now(),
          presenceTtlS: LONG_S,
          lessonTtlS: LONG_S,
        });
        expect(await claim(student, '1')).toEqual({ ok: false, error: 'needs_seat_map' });
        const recorded = { ...initialSeatMap(3), '3': 's-1' };
        await h.store.ensureSeatMap({ lessonId: LESSON, seats: recorded, lessonTtlS: LONG_S });
        await h.store.ensureSeatMap({
          lessonId: LESSON,
          seats: initialSeatMap(3),
          lessonTtlS: LONG_S,
        });
        expect(await claim(student, '1')).toEqual({
          ok: true,
          value: { alreadyHeld: false, releasedSeatId: '3' },
        });
        expect(await seatsOf()).toEqual({ '1': 's-1', '2': '', '3': '' });
      });

      it('refuses a seat that is not in the seat map, changing nothing', async () => {
        const student = await seatedStudent('s-1');
        expect(await claim(student, '4')).toEqual({ ok: false, error: 'seat_not_found' });
        expect(await seatsOf()).toEqual(initialSeatMap(3));
      });

      it('gives a free seat to the student', async () => {
        const student = await seatedStudent('s-1');
        expect(await claim(student, '2')).toEqual({
          ok: true,
          value: { alreadyHeld: false, releasedSeatId: null },
        });
        expect(await seatsOf()).toEqual({ '1': '', '2': 's-1', '3': '' });
      });

      it('refuses a seat held by another student, changing nothing', async () => {
        const first = await seatedStudent('s-1');
        const second = await seatedStudent('s-2');
        await claim(first, '2');
        await claim(second, '3');
        expect(await claim(second, '2')).toEqual({ ok: false, error: 'seat_taken' });
        expect(await seatsOf()).toEqual({ '1': '', '2': 's-1', '3': 's-2' });
      });

      it('moves a student, freeing the seat it left', async () => {
        const student = await seatedStudent('s-1');
        await claim(student, '1');
        expect(await claim(student, '3')).toEqual({
          ok: true,
          value: { alreadyHeld: false, releasedSeatId: '1' },
        });
        expect(await seatsOf()).toEqual({ '1': '', '2': '', '3': 's-1' });
      });

      it('tells a student who already holds the seat that nothing changed', async () => {
        const student = await seatedStudent('s-1');
        await claim(student, '2');
        expect(await claim(student, '2')).toEqual({
          ok: true,
          value: { alreadyHeld: true, releasedSeatId: null },
        });
      });

      it('gives a seat to exactly one of many students claiming it at once', async () => {
        const students = [];
        for (let i = 0; i < 12; i++) students.push(await seatedStudent(`s-${i}`));
        const results = await Promise.all(students.map((socket) => claim(socket, '1')));
        const winners = students.filter((_, i) => results[i]?.ok);
        expect(winners).toHaveLength(1);
        expect(results.filter((result) => !result.ok)).toEqual(
          Array(11).fill({ ok: false, error: 'seat_taken' }),
        );
        expect(await seatsOf()).toEqual({ '1': winners[0]?.identity.userId, '2': '', '3': '' });
      });

      it('leaves a student racing for several seats on exactly one', async () => {
        const student = await seatedStudent('s-1');
        await Promise.all(['1', '2', '3'].map((seat) => claim(student, seat)));
        const holders = Object.values(await seatsOf());
        expect(holders.filter((holder) => holder === 's-1')).toHaveLength(1);
      });
    });

    describe('revertSeatClaim', () => {
      const revert = (
        seatId: string,
        change: { alreadyHeld: boolean; releasedSeatId: string | null },
      ) => h.store.revertSeatClaim({ lessonId: LESSON, studentId: 's-1', seatId, change });

      it('frees the seat taken and gives back the seat left', async () => {
        const student = await seatedStudent('s-1');
        await claim(student, '1');
        const moved = await claim(student, '2');
        if (!moved.ok) throw new Error('the move should succeed');
        await revert('2', moved.value);
        expect(await seatsOf()).toEqual({ '1': 's-1', '2': '', '3': '' });
      });

      it('keeps a seat the student already held', async () => {
        const student = await seatedStudent('s-1');
        await claim(student, '1');
        await revert('1', { alreadyHeld: true, releasedSeatId: null });
        expect(await seatsOf()).toEqual({ '1': 's-1', '2': '', '3': '' });
      });

      it('does not give back a seat another student took meanwhile', async () => {
        const student = await seatedStudent('s-1');
        const other = await seatedStudent('s-2');
        await claim(student, '1');
        const moved = await claim(student, '2');
        if (!moved.ok) throw new Error('the move should succeed');
        await claim(other, '1');
        await revert('2', moved.value);
        expect(await seatsOf()).toEqual({ '1': 's-2', '2': '', '3': '' });
      });
    });

    describe('dueSessionEnds and nextDueAtMs', () => {
      it('have nothing to tell while no session is pending', async () => {
        expect(await h.store.nextDueAtMs()).toBeNull();
        expect(await h.store.dueSessionEnds(now() + LONG_S * 1000, 10)).toEqual([]);
      });

      it('list due sessions earliest deadline first, at most the limit', async () => {
        const baseMs = now();
        await connectTeacher(teacherSocket('sid-a', 't-a'), { nowMs: baseMs + 300 });
        await connectTeacher(teacherSocket('sid-b', 't-b', OTHER_ORG), { nowMs: baseMs + 100 });
        await connectTeacher(teacherSocket('sid-c', 't-c'), { nowMs: baseMs + 200 });
        const ttlMs = LONG_S * 1000;
        expect(await h.store.nextDueAtMs()).toBe(baseMs + 100 + ttlMs);
        expect(await h.store.dueSessionEnds(baseMs + ttlMs + 300, 2)).toEqual([
          { orgId: OTHER_ORG, userId: 't-b' },
          { orgId: ORG, userId: 't-c' },
        ]);
        expect(await h.store.dueSessionEnds(baseMs + ttlMs + 150, 10)).toEqual([
          { orgId: OTHER_ORG, userId: 't-b' },
        ]);
      });
    });

    describe('settleExpiredSession', () => {
      it('does nothing for a teacher who is alive, not due, or has no session', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        const farFutureMs = now() + 2 * LONG_S * 1000;
        expect(await settle(TEACHER, { nowMs: now() })).toEqual({ kind: 'none' });
        expect(await settle(TEACHER, { nowMs: farFutureMs })).toEqual({ kind: 'none' });
        expect(await settle({ orgId: ORG, userId: 't-9' }, { nowMs: farFutureMs })).toEqual({
          kind: 'none',
        });
      });

      it('starts the grace period of a connected session nobody refreshed (node_lost), then claims it', async () => {
        const connectedAtMs = now();
        await connectTeacher(teacherSocket('sid-1'), { presenceTtlS: 1, nowMs: connectedAtMs });
        await joined(teacherSocket('sid-1'));
        await h.clock.advance(1000 + PAST_MS);
        const settledAtMs = now();
        expect(await settle(TEACHER, { nowMs: settledAtMs, graceS: 1 })).toEqual({
          kind: 'grace',
          lessonId: LESSON,
          deadlineMs: settledAtMs + 1000,
        });
        expect(await h.store.snapshot(ORG)).toMatchObject([
          { phase: 'grace', sinceMs: settledAtMs, lessonId: LESSON },
        ]);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        expect(await settle(TEACHER, { nowMs: settledAtMs + 999 })).toEqual({ kind: 'none' });
        await h.clock.advance(1000 + PAST_MS);
        expect(await settle(TEACHER, { nowMs: settledAtMs + 1000 })).toEqual({
          kind: 'claimed',
          epoch: epochAt(connectedAtMs),
        });
      });

      it('gives the claim on a session whose grace period is over to exactly one of many concurrent callers', async () => {
        const { epoch } = await graceOver();
        const nowMs = now();
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, () => settle(TEACHER, { nowMs })),
        );
        expect(outcomes.filter((outcome) => outcome.kind !== 'none')).toEqual([
          { kind: 'claimed', epoch },
        ]);
      });

      it('hides a claimed session until its lease ends, then lets it be claimed again', async () => {
        const { epoch } = await graceOver();
        const claimedAtMs = now();
        expect(await settle(TEACHER, { nowMs: claimedAtMs, leaseMs: 5000 })).toEqual({
          kind: 'claimed',
          epoch,
        });
        expect(await h.store.dueSessionEnds(claimedAtMs, 10)).toEqual([]);
        expect(await h.store.nextDueAtMs()).toBe(claimedAtMs + 5000);
        expect(await settle(TEACHER, { nowMs: claimedAtMs + 4999 })).toEqual({ kind: 'none' });
        expect(await h.store.dueSessionEnds(claimedAtMs + 5000, 10)).toEqual([TEACHER]);
        expect(await settle(TEACHER, { nowMs: claimedAtMs + 5000 })).toEqual({
          kind: 'claimed',
          epoch,
        });
      });

      it('refuses the claim once the teacher reconnected', async () => {
        await graceOver();
        await connectTeacher(teacherSocket('sid-2'));
        expect(await settle(TEACHER, { nowMs: now() + 1000 })).toEqual({ kind: 'none' });
      });
    });

    describe('completeSessionEnd', () => {
      it('ends a claimed session for good', async () => {
        const { epoch } = await graceOver();
        const nowMs = now();
        await settle(TEACHER, { nowMs });
        await h.store.completeSessionEnd(TEACHER, epoch);
        expect(await h.store.nextDueAtMs()).toBeNull();
        expect(await h.store.snapshot(ORG)).toEqual([]);
        expect(await settle(TEACHER, { nowMs: nowMs + LONG_S * 1000 })).toEqual({ kind: 'none' });
      });

      it('leaves a newer session alone when completing with an older epoch', async () => {
        const { epoch: oldEpoch } = await graceOver();
        await settle(TEACHER);
        const reconnectedAtMs = now();
        const newEpoch = epochOf(
          await connectTeacher(teacherSocket('sid-2'), { presenceTtlS: 1, nowMs: reconnectedAtMs }),
        );
        expect(newEpoch).toBeGreaterThan(oldEpoch);
        await h.store.completeSessionEnd(TEACHER, oldEpoch);
        expect(await h.store.nextDueAtMs()).toBe(reconnectedAtMs + 1000);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
      });
    });

    describe('snapshot', () => {
      it('lists the org’s teachers with a session, by user id, and nobody else', async () => {
        const nowMs = now();
        await connectTeacher(teacherSocket('sid-2', 't-2'), { nowMs });
        await connectTeacher(teacherSocket('sid-1'), { nowMs });
        await joined(teacherSocket('sid-1'));
        await disconnectTeacher(teacherSocket('sid-1'), { nowMs: nowMs + 10 });
        await connectTeacher(teacherSocket('sid-3', 't-3'), { nowMs });
        await h.store.logoutTeacher({ orgId: ORG, userId: 't-3' });
        await connectTeacher(teacherSocket('sid-b', 't-1', OTHER_ORG), { nowMs });
        expect(await h.store.snapshot(ORG)).toEqual([
          {
            userId: 't-1',
            phase: 'grace',
            loginTimeS: epochAt(nowMs),
            sinceMs: nowMs + 10,
            lessonId: LESSON,
          },
          {
            userId: 't-2',
            phase: 'connected',
            loginTimeS: epochAt(nowMs),
            sinceMs: nowMs,
            lessonId: null,
          },
        ]);
        expect(await h.store.snapshot('org-without-teachers')).toEqual([]);
      });
    });

    describe('continuity', () => {
      it('counts the first look at an empty store as a loss, and later looks as none', async () => {
        const first = await h.store.checkContinuity(null);
        expect(first.lost).toBe(true);
        const second = await h.store.checkContinuity(first.mark);
        expect(second.lost).toBe(false);
        expect((await h.store.checkContinuity(second.mark)).lost).toBe(false);
        expect((await h.store.checkContinuity(null)).lost).toBe(false);
      });

      it('tells every node that looked before of a restart empty, once, with a new mark', async () => {
        const { mark: seenByA } = await h.store.checkContinuity(null);
        const { mark: seenByB } = await h.store.checkContinuity(null);
        await h.restartEmpty();
        const a = await h.store.checkContinuity(seenByA);
        const b = await h.store.checkContinuity(seenByB);
        expect([a.lost, b.lost]).toEqual([true, true]);
        expect(a.mark).not.toBe(seenByA);
        expect((await h.store.checkContinuity(a.mark)).lost).toBe(false);
      });

      it('says a loss is reconciled once its cooldowns were restored with its mark, and only until the next loss', async () => {
        const first = await h.store.checkContinuity(null);
        expect(first.reconciled).toBe(false);
        expect((await h.store.checkContinuity(first.mark)).reconciled).toBe(false);
        await h.store.restoreCooldowns({ cooldowns: [], nowMs: now(), mark: first.mark });
        const later = await h.store.checkContinuity(first.mark);
        expect(later).toMatchObject({ lost: false, reconciled: true });
        await h.restartEmpty();
        const after = await h.store.checkContinuity(later.mark);
        expect(after).toMatchObject({ lost: true, reconciled: false });
        // A restore for the loss before marks nothing in the new one.
        await h.store.restoreCooldowns({ cooldowns: [], nowMs: now(), mark: first.mark });
        expect((await h.store.checkContinuity(after.mark)).reconciled).toBe(false);
      });

      it('counts a store restarted before anyone looked as a loss at the first look', async () => {
        await connectTeacher(teacherSocket('sid-1'));
        await h.restartEmpty();
        expect((await h.store.checkContinuity(null)).lost).toBe(true);
      });
    });

    describe('claimReconciliation', () => {
      it('is won by exactly one node per loss, whatever mark each node holds, and again after the lease', async () => {
        await h.store.checkContinuity(null);
        const marks = await Promise.all(
          Array.from({ length: 5 }, async () => (await h.store.checkContinuity(null)).mark),
        );
        const claims = await Promise.all(
          marks.map((mark) => h.store.claimReconciliation(mark, 2000)),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        await h.clock.advance(2000 + PAST_MS);
        expect(await h.store.claimReconciliation(marks[0] as string, 2000)).toBe(true);
      });

      it('can be won again after another loss', async () => {
        const before = await h.store.checkContinuity(null);
        expect(await h.store.claimReconciliation(before.mark, LONG_S * 1000)).toBe(true);
        await h.restartEmpty();
        const after = await h.store.checkContinuity(before.mark);
        expect(await h.store.claimReconciliation(after.mark, LONG_S * 1000)).toBe(true);
      });
    });

    describe('restoreSockets', () => {
      it('puts back the sockets a node holds after a loss: sessions, directory entries and memberships', async () => {
        const teacher = teacherSocket('sid-1');
        const student = studentSocket('sid-s');
        const connectedAtMs = now();
        const epoch = epochOf(await connectTeacher(teacher, { nowMs: connectedAtMs }));
        await joined(teacher);
        await connectStudent(student);
        await joined(student);
        await h.restartEmpty();
        const restoredAtMs = now() + 1000;
        expect(
          await h.store.restoreSockets({
            sockets: [
              { socket: managerSocket('sid-m'), epoch: null, lessonId: null },
              { socket: student, epoch: null, lessonId: LESSON },
              { socket: teacher, epoch, lessonId: LESSON },
            ],
            nowMs: restoredAtMs,
            presenceTtlS: 60,
            lessonTtlS: LONG_S,
          }),
        ).toEqual([TEACHER]);
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
        expect(await h.store.snapshot(ORG)).toEqual([
          {
            userId: 't-1',
            phase: 'connected',
            loginTimeS: epoch,
            sinceMs: restoredAtMs,
            lessonId: LESSON,
          },
        ]);
        expect(await h.store.nextDueAtMs()).toBe(restoredAtMs + 60_000);
        expect(await directorySid(TEACHER)).toBe('sid-1');
        expect(await disconnectTeacher(teacher)).toMatchObject({ kind: 'grace', lessonId: LESSON });
        expect(await claim(student, '1')).toEqual({ ok: false, error: 'needs_seat_map' });
        expect(await connectStudent(studentSocket('sid-s2'))).toEqual({ lessonId: LESSON });
      });

      it('creates no session for a teacher who has one, and leaves what exists alone', async () => {
        await connectTeacher(teacherSocket('sid-2'));
        await joined(teacherSocket('sid-2'), { lessonId: 'lesson-b' });
        expect(
          await h.store.restoreSockets({
            sockets: [{ socket: teacherSocket('sid-1'), epoch: epochAt(now()), lessonId: LESSON }],
            nowMs: now(),
            presenceTtlS: LONG_S,
            lessonTtlS: LONG_S,
          }),
        ).toEqual([]);
        expect(await directorySid(TEACHER)).toBe('sid-2');
        expect(await disconnectTeacher(teacherSocket('sid-2'))).toEqual({
          kind: 'other_devices',
          lessonId: 'lesson-b',
        });
      });
    });

    describe('restoreSessions', () => {
      it('gives each teacher with an active lesson and no session a grace period that ends unless it comes back', async () => {
        const nowMs = now();
        await connectTeacher(teacherSocket('sid-2', 't-2'), { nowMs });
        const restored = await h.store.restoreSessions({
          teachers: [
            { teacher: TEACHER, lessonId: LESSON },
            { teacher: { orgId: ORG, userId: 't-2' }, lessonId: 'lesson-2' },
            { teacher: { orgId: ORG, userId: 't-3' }, lessonId: 'lesson-3' },
          ],
          nowMs,
          graceS: 1,
        });
        expect(restored).toEqual([TEACHER, { orgId: ORG, userId: 't-3' }]);
        expect(await h.store.snapshot(ORG)).toEqual([
          {
            userId: 't-1',
            phase: 'grace',
            loginTimeS: epochAt(nowMs),
            sinceMs: nowMs,
            lessonId: LESSON,
          },
          {
            userId: 't-2',
            phase: 'connected',
            loginTimeS: epochAt(nowMs),
            sinceMs: nowMs,
            lessonId: null,
          },
          {
            userId: 't-3',
            phase: 'grace',
            loginTimeS: epochAt(nowMs),
            sinceMs: nowMs,
            lessonId: 'lesson-3',
          },
        ]);
        expect(await connectTeacher(teacherSocket('sid-3', 't-3'))).toMatchObject({
          change: 'reconnect',
          lessonId: 'lesson-3',
        });
        await h.clock.advance(1000 + PAST_MS);
        expect(await h.store.dueSessionEnds(nowMs + 1000, 10)).toEqual([TEACHER]);
        expect(await settle(TEACHER, { nowMs: nowMs + 1000 })).toEqual({
          kind: 'claimed',
          epoch: epochAt(nowMs),
        });
      });
    });

    describe('restoreCooldowns', () => {
      it('sets the cooldowns still running again with what is left, never shortening one', async () => {
        const nowMs = now();
        const other = { orgId: ORG, userId: 't-2' };
        await h.store.startCooldown({ teacher: other, cooldownS: LONG_S });
        await h.store.restoreCooldowns({
          cooldowns: [
            { teacher: TEACHER, untilMs: nowMs + 1500 },
            { teacher: other, untilMs: nowMs + 1500 },
            { teacher: { orgId: ORG, userId: 't-3' }, untilMs: nowMs - 1 },
          ],
          nowMs,
          mark: (await h.store.checkContinuity(null)).mark,
        });
        const refused = await connectTeacher(teacherSocket('sid-1'));
        expect(refused).toMatchObject({ kind: 'cooldown' });
        expect(refused.kind === 'cooldown' && refused.remainingMs).toBeLessThanOrEqual(1500);
        expect(await connectTeacher(teacherSocket('sid-3', 't-3'))).toMatchObject({
          kind: 'connected',
        });
        await h.clock.advance(1500 + PAST_MS);
        expect(await connectTeacher(teacherSocket('sid-1'))).toMatchObject({ kind: 'connected' });
        expect(await connectTeacher(teacherSocket('sid-2', 't-2'))).toMatchObject({
          kind: 'cooldown',
        });
      });
    });

    describe('connectTeacher after a loss', () => {
      const ask = (socket: SocketOf, noCooldownInDatabase?: boolean) =>
        h.store.connectTeacher({
          socket,
          nowMs: now(),
          presenceTtlS: LONG_S,
          lessonTtlS: LONG_S,
          ...(noCooldownInDatabase === undefined ? {} : { noCooldownInDatabase }),
        });
      const restore = (mark: string) =>
        h.store.restoreCooldowns({ cooldowns: [], nowMs: now(), mark });

      it('is unverified, writing nothing, until the cooldowns of the loss are restored', async () => {
        const { mark } = await h.store.checkContinuity(null);
        const socket = teacherSocket('sid-1');
        expect(await ask(socket)).toEqual({ kind: 'unverified' });
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(false);
        expect(await h.store.snapshot(ORG)).toEqual([]);
        await restore(mark);
        expect(await ask(socket)).toMatchObject({ kind: 'connected', change: 'new_session' });
        // A cooldown key is the store's own answer, restored or not.
        await h.store.startCooldown({ teacher: TEACHER, cooldownS: LONG_S });
        await h.restartEmpty();
        await h.store.startCooldown({ teacher: TEACHER, cooldownS: LONG_S });
        expect(await ask(socket)).toMatchObject({ kind: 'cooldown' });
      });

      it('connects a teacher the database holds no cooldown for before the restore', async () => {
        await h.store.checkContinuity(null);
        expect(await ask(teacherSocket('sid-1'), true)).toMatchObject({ kind: 'connected' });
        expect(await h.store.isTeacherOnline(TEACHER)).toBe(true);
      });

      it('stays unverified after a restore made for an earlier loss', async () => {
        const { mark: before } = await h.store.checkContinuity(null);
        await h.restartEmpty();
        await h.store.checkContinuity(before);
        await restore(before);
        expect(await ask(teacherSocket('sid-1'))).toEqual({ kind: 'unverified' });
      });
    });
  });

  describe(`PresenceStore contract, fencing: ${name}`, () => {
    let f: LateCallHarness;

    beforeAll(async () => {
      f = await lateCalls();
    });

    afterAll(async () => {
      await f.close();
    });

    /** Users and lessons of their own per test, since these tests share one store. */
    let unique = 0;
    const fresh = (prefix: string) => {
      unique += 1;
      return `${prefix}-fenced-${unique}`;
    };
    const freshTeacher = () => teacherSocket(fresh('sid'), fresh('t'));

    const expectUnavailable = (answer: PromiseSettledResult<unknown>) => {
      expect(answer.status).toBe('rejected');
      expect(answer.status === 'rejected' && answer.reason).toBeInstanceOf(
        DependencyUnavailableError,
      );
    };

    it('applies nothing of a connect that reached it after its caller gave up', async () => {
      const socket = freshTeacher();
      const answer = await f.late((store) =>
        store.connectTeacher({
          socket,
          nowMs: f.nowMs(),
          presenceTtlS: LONG_S,
          lessonTtlS: LONG_S,
          noCooldownInDatabase: true,
        }),
      );
      expectUnavailable(answer);
      expect(await f.store.isTeacherOnline(socket.identity)).toBe(false);
      expect(await f.store.snapshot(ORG)).not.toContainEqual(
        expect.objectContaining({ userId: socket.identity.userId }),
      );
      const { sid } = await f.store.startCooldown({ teacher: socket.identity, cooldownS: 1 });
      expect(sid).toBeNull();
    });

    it('applies nothing of a disconnect that reached it after its caller gave up', async () => {
      const socket = freshTeacher();
      const nowMs = f.nowMs();
      await f.store.connectTeacher({
        socket,
        nowMs,
        presenceTtlS: LONG_S,
        lessonTtlS: LONG_S,
        noCooldownInDatabase: true,
      });
      const answer = await f.late((store) =>
        store.disconnectTeacher({ socket, nowMs, graceS: LONG_S, lessonTtlS: LONG_S }),
      );
      expectUnavailable(answer);
      expect(await f.store.isTeacherOnline(socket.identity)).toBe(true);
    });

    it('applies nothing of a seat claim that reached it after its caller gave up', async () => {
      const lessonId = fresh('lesson');
      const student = studentSocket(fresh('sid'), fresh('s'));
      await f.store.connectStudent({ socket: student, lessonTtlS: LONG_S });
      await f.store.joinLesson({
        socket: student,
        lessonId,
        seatCount: 3,
        lessonTtlS: LONG_S,
        seats: initialSeatMap(3),
      });
      expectUnavailable(
        await f.late((store) => store.claimSeat({ socket: student, lessonId, seatId: '1' })),
      );
      const again = await f.store.joinLesson({
        socket: student,
        lessonId,
        seatCount: 3,
        lessonTtlS: LONG_S,
      });
      expect(again).toMatchObject({ kind: 'joined', seats: initialSeatMap(3) });
    });
  });
}
