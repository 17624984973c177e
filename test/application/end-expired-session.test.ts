import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import type { TeacherRef } from '../../src/domain/clients.js';
import {
  ADA,
  ART,
  type Classroom,
  classroom,
  GRACE,
  LINUS,
  MATH,
  OTHER_ADMIN,
  student,
} from './classroom.js';

const GRACE_MS = DEFAULT_TIMINGS.disconnectGraceS * 1000;

/** Ada teaches maths to s-1 with both managers watching, then her TeacherApp goes away. */
async function adaLeavesHerLesson() {
  const c = classroom();
  await c.connect('linus', LINUS);
  await c.connect('other-admin', OTHER_ADMIN);
  const ada = await c.joined('ada', ADA, MATH);
  await c.joined('s1', student(1), MATH);
  await c.disconnect(ada);
  c.heard();
  return c;
}

const statusOf = (c: Classroom) => {
  const rows = c.database.snapshot();
  return {
    lessons: Object.fromEntries(rows.lessons.map((row) => [row.id, [row.status, row.endedAtMs]])),
    quizzes: rows.quizzes.map((row) => [row.id, row.status, row.closedAtMs]),
    tasks: rows.tasks.map((row) => [row.id, row.status, row.closedAtMs]),
  };
};

describe('EndExpiredSession and SweepOverdueSessions', () => {
  it('end the lesson, its quizzes and tasks when the grace period expires, and tell its org', async () => {
    const c = await adaLeavesHerLesson();
    const expired: TeacherRef[] = [];
    await c.expiryFeed.start((teacher) => expired.push(teacher));
    c.clock.advance(GRACE_MS);
    expect(c.expiryFeed.tick()).toBe(1);
    expect(expired).toEqual([{ orgId: ADA.orgId, userId: ADA.userId }]);

    const endedAtMs = c.clock.nowMs();
    expect(await c.use('endExpiredSession').execute(expired[0] as TeacherRef)).toEqual({
      ok: true,
      value: { ended: true, lessonIds: [MATH] },
    });
    expect(statusOf(c)).toEqual({
      lessons: { [MATH]: ['ended', endedAtMs], [ART]: ['scheduled', null] },
      quizzes: [['quiz-1', 'closed', endedAtMs]],
      tasks: [['task-1', 'closed', endedAtMs]],
    });
    expect(c.heard()).toEqual([
      ['s1', 'lesson_ended', { lesson_id: MATH }],
      ['linus', 'logout', { user_id: 't-ada' }],
    ]);
  });

  it('end a session once: a later sweep and a repeated expiry do nothing', async () => {
    const c = await adaLeavesHerLesson();
    c.clock.advance(GRACE_MS);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(1);
    c.heard();
    const after = statusOf(c);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    expect(await c.use('endExpiredSession').execute(ADA)).toEqual({
      ok: true,
      value: { ended: false },
    });
    expect(statusOf(c)).toEqual(after);
    expect(c.heard()).toEqual([]);
  });

  it('leave the lesson of a teacher who came back before the session was claimed', async () => {
    const c = await adaLeavesHerLesson();
    c.clock.advance(GRACE_MS);
    await c.connect('ada-2', ADA);
    c.heard();
    expect(await c.use('endExpiredSession').execute(ADA)).toEqual({
      ok: true,
      value: { ended: false },
    });
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'active' });
    expect(c.heard()).toEqual([]);
  });

  it('do not end a session before its grace period is over', async () => {
    const c = await adaLeavesHerLesson();
    c.clock.advance(GRACE_MS - 1);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    expect(await c.use('endExpiredSession').execute(ADA)).toMatchObject({
      value: { ended: false },
    });
  });

  it('tell the managers a session ended even when no lesson was active', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    await c.connect('grace', GRACE);
    c.heard();
    c.clock.advance(DEFAULT_TIMINGS.presenceTtlS * 1000);
    // Nobody refreshed it: its grace period starts first (node_lost), then the session ends.
    expect(await c.use('endExpiredSession').execute(GRACE)).toEqual({
      ok: true,
      value: { ended: false, graceUntilMs: c.clock.nowMs() + GRACE_MS },
    });
    expect(c.heard()).toEqual([
      ['linus', 'teacher_disconnect', { user_id: 't-grace', reason: 'node_lost' }],
    ]);
    c.clock.advance(GRACE_MS);
    expect(await c.use('endExpiredSession').execute(GRACE)).toEqual({
      ok: true,
      value: { ended: true, lessonIds: [] },
    });
    expect(c.heard()).toEqual([['linus', 'logout', { user_id: 't-grace' }]]);
    expect(await c.database.findLesson(ART)).toMatchObject({ status: 'scheduled' });
  });

  it('end the lesson exactly once after the database was down: the claim lapses and a later sweep retries', async () => {
    const c = await adaLeavesHerLesson();
    c.clock.advance(GRACE_MS);
    c.database.setAvailable(false);
    expect(await c.use('endExpiredSession').execute(ADA)).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
    c.database.setAvailable(true);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'active' });
    expect(c.heard()).toEqual([]);

    c.clock.advance(DEFAULT_TIMINGS.sessionEndLeaseMs);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(1);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'ended' });
    expect(c.heard()).toEqual([
      ['s1', 'lesson_ended', { lesson_id: MATH }],
      ['linus', 'logout', { user_id: 't-ada' }],
    ]);
  });

  it('answer unavailable when the presence store cannot be reached, and the sweep ends nothing', async () => {
    const c = await adaLeavesHerLesson();
    c.clock.advance(GRACE_MS);
    c.presence.setUp(false);
    expect(await c.use('endExpiredSession').execute(ADA)).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
    await expect(c.use('sweepOverdueSessions').execute()).rejects.toThrow();
    c.presence.setUp(true);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(1);
  });
});
