import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../src/application/errors.js';
import type { SocketOf } from '../../src/application/ports/presence-store.js';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { protocolKeys } from '../support/protocol-keys.js';
import {
  ADA,
  aliveKey,
  type Classroom,
  classroom,
  LINUS,
  MATH,
  ORG,
  student,
} from './classroom.js';

/** The transport lets the socket go, then DisconnectClient decides; resolves to its decision. */
function decide(c: Classroom, socket: SocketOf, loggedOut = false) {
  c.notifier.disconnect(socket.sid);
  return c.use('disconnectClient').execute({ socket, loggedOut, reason: 'transport close' });
}

const GRACE_MS = DEFAULT_TIMINGS.disconnectGraceS * 1000;
const NOTHING = { lessonId: null, deadlineMs: null, unknownToStore: false };

describe('DisconnectClient', () => {
  it('starts the grace period of a TeacherApp, tells its managers and tracks the lesson', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const ada = await c.joined('ada', ADA, MATH);
    c.heard();
    const nowMs = c.clock.nowMs();
    expect(await decide(c, ada)).toEqual({
      lessonId: MATH,
      deadlineMs: nowMs + GRACE_MS,
      unknownToStore: false,
    });
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
    expect(await c.presence.nextDueAtMs()).toBe(nowMs + GRACE_MS);
    expect(c.heard()).toEqual([
      ['linus', 'teacher_disconnect', { user_id: 't-ada', reason: 'transport close' }],
    ]);
    expect(c.analytics.events).toEqual([
      {
        name: 'disconnect',
        distinctId: 't-ada',
        lessonId: MATH,
        orgId: ORG,
        role: 'teacher',
        client: 'teacher_app',
        timeMs: nowMs,
        insertId: 'insert-1',
      },
    ]);
  });

  it('does not track a teacher who was in no lesson', async () => {
    const c = classroom();
    const nowMs = c.clock.nowMs();
    expect(await decide(c, await c.connect('ada', ADA))).toEqual({
      lessonId: null,
      deadlineMs: nowMs + GRACE_MS,
      unknownToStore: false,
    });
    expect(c.analytics.events).toEqual([]);
  });

  it('leaves a newer socket of the same teacher connected and tells nobody', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const older = await c.connect('ada-phone', ADA);
    await c.connect('ada-laptop', ADA);
    c.heard();
    const dueAtMs = await c.presence.nextDueAtMs();
    expect(await decide(c, older)).toEqual(NOTHING);
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
    expect(await c.presence.nextDueAtMs()).toBe(dueAtMs);
    expect(c.heard()).toEqual([]);
  });

  it('writes nothing and tells nobody for a socket that logged out', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const ada = await c.joined('ada', ADA, MATH);
    await c.use('logout').execute({ socket: ada, userId: ADA.userId, orgId: ORG });
    c.heard();
    const before = protocolKeys(c.store);
    expect(await decide(c, ada, true)).toEqual(NOTHING);
    expect(protocolKeys(c.store)).toEqual(before);
    expect(c.heard()).toEqual([]);
    expect(c.analytics.events).toEqual([]);
  });

  it('tracks a student leaving a lesson and keeps its directory entry for the lesson TTL', async () => {
    const c = classroom();
    const s1 = await c.joined('s1', student(1), MATH);
    expect(await decide(c, s1)).toEqual({ ...NOTHING, lessonId: MATH });
    expect(c.analytics.events.map(({ name, client }) => [name, client])).toEqual([
      ['disconnect', 'student_web'],
    ]);
    c.clock.advance(DEFAULT_TIMINGS.lessonTtlS * 1000 - 1);
    expect(protocolKeys(c.store)).toHaveProperty(['s-1']);
    c.clock.advance(1);
    expect(protocolKeys(c.store)).not.toHaveProperty(['s-1']);
  });

  it('lets a ManagerWeb go without a trace', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    c.heard();
    expect(await decide(c, manager)).toEqual(NOTHING);
    expect(protocolKeys(c.store)).toEqual({});
    expect(c.heard()).toEqual([]);
  });

  it('throws when the presence store cannot be reached, since nobody is left to answer', async () => {
    const c = classroom();
    const ada = await c.connect('ada', ADA);
    c.presence.setUp(false);
    await expect(decide(c, ada)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});

describe('DisconnectClient and the presence history', () => {
  const historyOf = (c: Classroom) =>
    c
      .use('presenceLog')
      .history({ orgId: ORG, userId: ADA.userId, limit: 10 })
      .then((records) => records.map(({ kind, reason }) => [kind, reason]));

  it('records the last socket’s disconnect with Socket.IO’s reason', async () => {
    const c = classroom();
    await decide(c, await c.connect('ada', ADA));
    expect(await historyOf(c)).toEqual([
      ['disconnect', 'transport close'],
      ['connect', 'new_session'],
    ]);
  });

  it('records an older device leaving as replaced, and keeps the teacher online', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const phone = await c.connect('ada-phone', ADA);
    await c.connect('ada-laptop', ADA);
    c.heard();
    expect(await decide(c, phone)).toEqual(NOTHING);
    expect(await historyOf(c)).toEqual([
      ['disconnect', 'replaced'],
      ['connect', 'new_session'],
    ]);
    expect(c.heard()).toEqual([]);
    expect(await c.presence.isTeacherOnline(ADA)).toBe(true);
  });

  it('tells the managers again that the teacher is online when a replayed disconnect finds another device', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const phone = await c.connect('ada-phone', ADA);
    const leftAtMs = c.clock.nowMs();
    // The phone's node lost its link as the phone left: its managers heard teacher_disconnect
    // at once. Meanwhile Ada came back on her laptop, which changed no presence.
    await c.connect('ada-laptop', ADA);
    c.clock.advance(5_000);
    c.heard();
    c.notifier.disconnect(phone.sid);
    const replayed = await c.use('disconnectClient').execute({
      socket: phone,
      loggedOut: false,
      reason: 'transport close',
      atMs: leftAtMs,
    });
    expect(replayed).toEqual(NOTHING);
    expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
  });

  it('tells the managers again that the teacher is online when a replayed disconnect finds its socket lapsed and another device live', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const phone = await c.connect('ada-phone', ADA);
    const leftAtMs = c.clock.nowMs();
    const laptop = await c.connect('ada-laptop', ADA);
    // The phone's node stayed cut off past the presence TTL, while the laptop's node refreshed it.
    c.clock.advance(DEFAULT_TIMINGS.presenceTtlS * 1000 + 1);
    await c.use('refreshPresence').execute([c.teacherPresence(laptop)]);
    c.heard();
    c.notifier.disconnect(phone.sid);
    const replayed = await c.use('disconnectClient').execute({
      socket: phone,
      loggedOut: false,
      reason: 'transport close',
      atMs: leftAtMs,
    });
    expect(replayed).toEqual({ ...NOTHING, unknownToStore: true });
    expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
  });

  it('hands the lesson membership of a newer device that leaves to the one that stays', async () => {
    const c = classroom();
    await c.joined('ada-phone', ADA, MATH);
    // A second device of a teacher in a lesson rejoins it and becomes its member.
    const laptop = await c.connect('ada-laptop', ADA);
    expect(protocolKeys(c.store)[`lesson_teacher_${MATH}`]).toEqual({ 't-ada': 'ada-laptop' });
    await decide(c, laptop);
    expect(protocolKeys(c.store)[`lesson_teacher_${MATH}`]).toEqual({ 't-ada': 'ada-phone' });
  });

  it('says so when the store does not know a socket that should be live', async () => {
    const c = classroom();
    const ada = await c.connect('ada', ADA);
    c.store.restartEmpty();
    expect(await decide(c, ada)).toEqual({ ...NOTHING, unknownToStore: true });
  });
});
