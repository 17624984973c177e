import { describe, expect, it } from 'vitest';
import type { HeldSocketState, SocketOf } from '../../src/application/ports/presence-store.js';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { ok } from '../../src/domain/result.js';
import { epochAt } from '../../src/domain/session.js';
import { protocolKeys } from '../support/protocol-keys.js';
import { ADA, aliveKey, classroom, GRACE, LINUS, MATH, ORG, student } from './classroom.js';

const GRACE_MS = DEFAULT_TIMINGS.disconnectGraceS * 1000;

const held = (
  socket: SocketOf,
  epoch: number | null,
  lessonId: string | null,
): HeldSocketState => ({
  socket,
  epoch,
  lessonId,
});

describe('HealStore', () => {
  it('finds nothing to heal in a store that kept its data', async () => {
    const c = classroom();
    const ada = await c.joined('ada', ADA, MATH);
    const heal = c.use('healStore');
    // The first look at a store that holds no mark counts as a loss (nothing to put back here).
    await heal.execute([]);
    expect(await heal.execute([held(ada, epochAt(c.clock.nowMs()), MATH)])).toEqual({
      lost: false,
      ended: [],
    });
  });

  it('puts back what the node holds after the store restarted empty, and tells the managers', async () => {
    const c = classroom();
    const heal = c.use('healStore');
    await heal.execute([]);
    await c.connect('linus', LINUS);
    const connectedAtMs = c.clock.nowMs();
    const ada = await c.joined('ada', ADA, MATH);
    const s1 = await c.joined('s1', student(1), MATH);
    c.clock.advance(5_000);
    c.store.restartEmpty();
    c.heard();
    expect(
      await heal.execute([held(ada, epochAt(connectedAtMs), MATH), held(s1, null, MATH)]),
    ).toEqual({ lost: true, ended: [] });
    expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
    const keys = protocolKeys(c.store);
    expect(keys[aliveKey(ADA)]).toEqual({
      login_time: String(epochAt(connectedAtMs)),
      state: 'connect',
    });
    expect(keys[`lesson_teacher_${MATH}`]).toEqual({ 't-ada': 'ada' });
    expect(keys[`lesson_student_${MATH}`]).toEqual({ 's-1': 's1' });
  });

  it('does not put back a teacher who logged out on another device before the loss, and says its socket’s session ended', async () => {
    const c = classroom();
    const heal = c.use('healStore');
    await heal.execute([]);
    await c.connect('linus', LINUS);
    const connectedAtMs = c.clock.nowMs();
    const laptop = await c.joined('ada', ADA, MATH);
    const tablet = await c.joined('ada-tablet', ADA, MATH);
    c.clock.advance(5_000);
    const { orgId, userId } = laptop.identity;
    expect(await c.use('logout').execute({ socket: laptop, userId, orgId })).toEqual(ok({}));
    // The store forgets the logout before the tablet's node refreshed and learnt of it.
    c.clock.advance(1_000);
    c.store.restartEmpty();
    c.heard();
    expect(await heal.execute([held(tablet, epochAt(connectedAtMs), MATH)])).toEqual({
      lost: true,
      ended: ['ada-tablet'],
    });
    expect(c.heard()).toEqual([]);
    // Not connected: only the reconciliation's grace period for her active lesson.
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
    // A session that began after the logout is put back as usual.
    c.clock.advance(1_000);
    const phone = await c.connect('ada-phone', ADA);
    c.store.restartEmpty();
    c.heard();
    const { epoch } = c.teacherPresence(phone);
    expect(await heal.execute([held(phone, epoch, null)])).toEqual({
      lost: true,
      ended: [],
    });
    expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
  });

  it('tells the managers of a teacher it put back whose session another node had restored in grace', async () => {
    const c = classroom();
    const heal = c.use('healStore');
    await heal.execute([]);
    await c.connect('linus', LINUS);
    const connectedAtMs = c.clock.nowMs();
    const ada = await c.joined('ada', ADA, MATH);
    c.store.restartEmpty();
    // The node that reconciles the loss looks first: Ada has an active lesson and, as far as the
    // store knows, no presence, so she gets a grace period — a manager's snapshot says offline.
    const other = c.store.link();
    const { mark } = await other.checkContinuity(null);
    await other.claimReconciliation(mark, DEFAULT_TIMINGS.sessionEndLeaseMs);
    await other.restoreSessions({
      teachers: [{ teacher: ADA, lessonId: MATH }],
      nowMs: c.clock.nowMs(),
      graceS: DEFAULT_TIMINGS.disconnectGraceS,
    });
    c.heard();
    await heal.execute([held(ada, epochAt(connectedAtMs), MATH)]);
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
    expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
  });

  it('records a teacher it puts back as reconnected when its history last said it left, and only then', async () => {
    const c = classroom();
    const heal = c.use('healStore');
    await heal.execute([]);
    const connectedAtMs = c.clock.nowMs();
    const ada = await c.connect('ada', ADA);
    const grace = await c.connect('grace', GRACE);
    // Ada's node lost its link for longer than the presence TTL: another node started her grace
    // period as node_lost. Then the store restarted empty, before her node could refresh her.
    c.clock.advance(DEFAULT_TIMINGS.presenceTtlS * 1000 + 1);
    await c.use('refreshPresence').execute([c.teacherPresence(grace)]);
    expect(await c.use('endExpiredSession').execute(ADA)).toEqual(
      ok({ ended: false, graceUntilMs: c.clock.nowMs() + GRACE_MS }),
    );
    c.store.restartEmpty();
    const history = async (userId: string) =>
      (await c.use('presenceLog').history({ orgId: ORG, userId, limit: 10 })).map(
        ({ kind, reason }) => [kind, reason],
      );
    const graceBefore = await history(GRACE.userId);
    const epoch = epochAt(connectedAtMs);
    await heal.execute([held(ada, epoch, null), held(grace, epoch, null)]);
    expect((await history(ADA.userId)).slice(0, 2)).toEqual([
      ['connect', 'reconnect'],
      ['disconnect', 'node_lost'],
    ]);
    // Grace stayed connected throughout: nothing changed, nothing is recorded.
    expect(await history(GRACE.userId)).toEqual(graceBefore);
  });

  it('puts back, on its first look, what the node admitted before: a loss another node saw first', async () => {
    const c = classroom();
    const connectedAtMs = c.clock.nowMs();
    const ada = await c.joined('ada', ADA, MATH);
    const s1 = await c.joined('s1', student(1), MATH);
    c.store.restartEmpty();
    // Another node's first look after the restart is the one that finds the loss.
    expect((await c.store.link().checkContinuity(null)).lost).toBe(true);
    const heal = c.use('healStore');
    expect(
      await heal.execute([held(ada, epochAt(connectedAtMs), MATH), held(s1, null, MATH)]),
    ).toEqual({ lost: false, ended: [] });
    const keys = protocolKeys(c.store);
    expect(keys[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
    expect(keys[`lesson_student_${MATH}`]).toEqual({ 's-1': 's1' });
  });

  it('gives the teacher of an active lesson without a session a grace period, and ends it after', async () => {
    const c = classroom();
    const heal = c.use('healStore');
    await heal.execute([]);
    const ada = await c.joined('ada', ADA, MATH);
    await c.disconnect(ada);
    c.store.restartEmpty();
    await heal.execute([]);
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
    expect(await c.presence.nextDueAtMs()).toBe(c.clock.nowMs() + GRACE_MS);
    c.clock.advance(GRACE_MS);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(1);
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'ended' });
  });

  it('sets the cooldowns that were running again', async () => {
    const c = classroom();
    const heal = c.use('healStore');
    await heal.execute([]);
    const manager = await c.connect('linus', LINUS);
    await c.use('forceLogout').execute({ socket: manager, userId: GRACE.userId, orgId: ORG });
    c.store.restartEmpty();
    await heal.execute([]);
    expect(protocolKeys(c.store)).toHaveProperty([`cooldown:org_${ORG}_user_${GRACE.userId}`]);
  });

  it('tries the database again, once its claim’s lease is over, when it was away', async () => {
    const c = classroom();
    const heal = c.use('healStore');
    await heal.execute([]);
    const ada = await c.joined('ada', ADA, MATH);
    await c.disconnect(ada);
    c.store.restartEmpty();
    c.database.setAvailable(false);
    await expect(heal.execute([])).rejects.toThrow();
    c.database.setAvailable(true);
    expect(await heal.execute([])).toEqual({ lost: false, ended: [] });
    expect(protocolKeys(c.store)).not.toHaveProperty([aliveKey(ADA)]);
    c.clock.advance(DEFAULT_TIMINGS.sessionEndLeaseMs);
    await heal.execute([]);
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
  });

  it('leaves reconciling to the one node that claimed the loss, and takes it over once the claim’s lease is over', async () => {
    const c = classroom();
    const heal = c.use('healStore');
    await heal.execute([]);
    const ada = await c.joined('ada', ADA, MATH);
    await c.disconnect(ada);
    c.store.restartEmpty();
    const other = c.store.link();
    // Another node's claim on the same loss comes first; that node then dies before it puts
    // anything back.
    const { mark } = await other.checkContinuity(null);
    expect(await other.claimReconciliation(mark, DEFAULT_TIMINGS.sessionEndLeaseMs)).toBe(true);
    await heal.execute([]);
    expect(protocolKeys(c.store)).not.toHaveProperty([aliveKey(ADA)]);
    c.clock.advance(DEFAULT_TIMINGS.sessionEndLeaseMs);
    await heal.execute([]);
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
    // A node that starts now finds the loss reconciled: nothing is claimed or done again.
    c.clock.advance(DEFAULT_TIMINGS.sessionEndLeaseMs);
    expect(await c.store.link().checkContinuity(null)).toMatchObject({ reconciled: true });
  });
});
