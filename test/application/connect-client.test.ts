import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { epochAt } from '../../src/domain/session.js';
import { protocolKeys } from '../support/protocol-keys.js';
import {
  ADA,
  ADA_MANAGING,
  aliveKey,
  classroom,
  GRACE,
  LINUS,
  MATH,
  ORG,
  OTHER_ADMIN,
  OTHER_ORG,
  student,
  token,
} from './classroom.js';

const errorOf = (result: { ok: boolean; error?: unknown }) => (result.ok ? null : result.error);

describe('ConnectClient', () => {
  describe('refusing a handshake', () => {
    it('refuses an unknown role and product_type combination before looking at the token', async () => {
      const c = classroom();
      const teacherToken = await token(ADA);
      for (const fields of [
        { role: 'guest', orgId: ORG, token: 'not-a-token' },
        { role: 'admin', orgId: ORG, token: teacherToken },
        { role: 'student', orgId: ORG, productType: 'manager', token: teacherToken },
        { role: 'teacher', orgId: ORG, productType: 'teacher', token: teacherToken },
        { orgId: ORG, token: teacherToken },
      ]) {
        expect(errorOf(await c.handshake('sid', fields))).toMatchObject({
          code: 'invalid_handshake',
        });
      }
    });

    it('refuses a TeacherApp or ManagerWeb without a valid org_id', async () => {
      const c = classroom();
      for (const fields of [
        { role: 'teacher', token: 'not-a-token' },
        { role: 'teacher', orgId: 'demo:org', token: await token(ADA) },
        { role: 'admin', productType: 'manager', token: await token(LINUS) },
      ]) {
        expect(errorOf(await c.handshake('sid', fields))).toMatchObject({
          code: 'invalid_handshake',
        });
      }
    });

    it('refuses a missing, forged or expired token as unauthorized', async () => {
      const c = classroom();
      for (const fields of [
        { role: 'teacher', orgId: ORG },
        { role: 'teacher', orgId: ORG, token: '' },
        { role: 'teacher', orgId: ORG, token: 'not-a-token' },
        { role: 'teacher', orgId: ORG, token: await token(ADA, { secret: 'someone-else' }) },
        {
          role: 'teacher',
          orgId: ORG,
          token: await token(ADA, { ttlS: 60, ageS: 3600, nowMs: c.clock.nowMs() }),
        },
      ]) {
        expect(errorOf(await c.handshake('sid', fields))).toMatchObject({ code: 'unauthorized' });
      }
    });

    it('checks the token before comparing the handshake with it', async () => {
      const c = classroom();
      const forged = await token(ADA, { secret: 'someone-else' });
      const refused = await c.handshake('sid', {
        role: 'student',
        orgId: OTHER_ORG,
        token: forged,
      });
      expect(errorOf(refused)).toMatchObject({ code: 'unauthorized' });
    });

    it('refuses a handshake whose role or org_id disagrees with the token as forbidden', async () => {
      const c = classroom();
      const teacherToken = await token(ADA);
      for (const fields of [
        { role: 'student', orgId: ORG, token: teacherToken },
        { role: 'teacher', orgId: OTHER_ORG, token: teacherToken },
        { role: 'admin', orgId: ORG, productType: 'manager', token: teacherToken },
      ]) {
        expect(errorOf(await c.handshake('sid', fields))).toMatchObject({ code: 'forbidden' });
      }
    });

    it('refuses a forced-out teacher with the whole seconds left, rounded up and at least one', async () => {
      const c = classroom();
      const manager = await c.connect('linus', LINUS);
      await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG });
      const cooldownMs = DEFAULT_TIMINGS.cooldownS * 1000;
      const attempt = async () =>
        errorOf(await c.handshake('ada', { ...ADA, token: await token(ADA) }));

      expect(await attempt()).toMatchObject({
        code: 'cooldown',
        retryAfterS: DEFAULT_TIMINGS.cooldownS,
      });
      c.clock.advance(cooldownMs - 1500);
      expect(await attempt()).toMatchObject({ code: 'cooldown', retryAfterS: 2 });
      c.clock.advance(1499);
      expect(await attempt()).toMatchObject({ code: 'cooldown', retryAfterS: 1 });
      c.clock.advance(1);
      expect(await attempt()).toBeNull();
    });

    it('refuses a forced-out teacher by the database while the store that lost its data has not restored the cooldowns', async () => {
      const c = classroom();
      const manager = await c.connect('linus', LINUS);
      await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG });
      c.clock.advance(60_000);
      c.store.restartEmpty();
      const attempt = async () =>
        errorOf(await c.handshake('ada', { ...ADA, token: await token(ADA) }));

      // No node has looked at the store since it lost the cooldown key: the ledger answers.
      expect(await attempt()).toMatchObject({
        code: 'cooldown',
        retryAfterS: DEFAULT_TIMINGS.cooldownS - 60,
      });
      expect(c.store.inspect().directory[ADA.userId]).toBeUndefined();
      // Without a cooldown in the database, the teacher gets in before any reconciliation.
      c.clock.advance((DEFAULT_TIMINGS.cooldownS - 60) * 1000);
      expect(await attempt()).toBeNull();
    });

    it('checks token and handshake before the cooldown', async () => {
      const c = classroom();
      const manager = await c.connect('linus', LINUS);
      await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG });
      const forged = await token(ADA, { secret: 'someone-else' });
      expect(
        errorOf(await c.handshake('ada', { role: 'teacher', orgId: ORG, token: forged })),
      ).toMatchObject({ code: 'unauthorized' });
      expect(
        errorOf(
          await c.handshake('ada', { role: 'teacher', orgId: OTHER_ORG, token: await token(ADA) }),
        ),
      ).toMatchObject({ code: 'forbidden' });
    });

    it('leaves no trace of a refused socket', async () => {
      const c = classroom();
      await c.connect('linus', LINUS);
      c.heard();
      const before = protocolKeys(c.store);
      await c.handshake('sid', { role: 'teacher', orgId: OTHER_ORG, token: await token(ADA) });
      expect(protocolKeys(c.store)).toEqual(before);
      expect(c.heard()).toEqual([]);
      expect(c.analytics.events).toEqual([]);
    });

    it('answers unavailable when the presence store cannot be reached', async () => {
      const c = classroom();
      c.presence.setUp(false);
      for (const user of [ADA, student(1)]) {
        const result = await c.handshake('sid', { ...user, token: await token(user) });
        expect(errorOf(result)).toMatchObject({ code: 'unavailable' });
      }
    });
  });

  describe('admitting a socket', () => {
    it('admits a TeacherApp: presence written, only its own org’s managers told', async () => {
      const c = classroom();
      await c.connect('linus', LINUS);
      await c.connect('other-admin', OTHER_ADMIN);
      const nowMs = c.clock.nowMs();
      c.heard();
      const result = await c.handshake('ada', { ...ADA, token: await token(ADA, { nowMs }) });
      expect(result).toEqual({
        ok: true,
        value: {
          socket: {
            sid: 'ada',
            identity: { userId: 't-ada', orgId: ORG, role: 'teacher', kind: 'teacher_app' },
          },
          tokenExpiresAtS: Math.floor(nowMs / 1000) + 600,
          epoch: epochAt(nowMs),
          lessonId: null,
        },
      });
      expect(protocolKeys(c.store)).toEqual({
        [aliveKey(ADA)]: {
          login_time: String(Math.floor(c.clock.nowMs() / 1000)),
          state: 'connect',
        },
        't-ada': '{"sid":"ada","client_id":"t-ada","role":"teacher","org_id":"demo-org"}',
      });
      expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
      expect(c.notifier.membersOf({ kind: 'teacher_apps', teacher: ADA })).toEqual(['ada']);
      expect(c.analytics.events).toEqual([]);
    });

    it('admits a StudentWeb with or without org_id, writing its directory entry only', async () => {
      const c = classroom();
      const s1 = student(1);
      const withoutOrg = await c.handshake('s1', { role: 'student', token: await token(s1) });
      expect(withoutOrg.ok && withoutOrg.value.socket.identity).toEqual({
        userId: 's-1',
        orgId: ORG,
        role: 'student',
        kind: 'student_web',
      });
      expect((await c.handshake('s2', { ...student(2), token: await token(student(2)) })).ok).toBe(
        true,
      );
      expect(Object.keys(protocolKeys(c.store)).sort()).toEqual(['s-1', 's-2']);
      expect(c.heard()).toEqual([]);
    });

    it('admits a ManagerWeb of either role into its org’s manager room, writing no presence', async () => {
      const c = classroom();
      await c.connect('linus', LINUS);
      await c.connect('ada-managing', ADA_MANAGING);
      expect(c.notifier.membersOf({ kind: 'org_managers', orgId: ORG })).toEqual([
        'linus',
        'ada-managing',
      ]);
      expect(protocolKeys(c.store)).toEqual({});
    });

    it('puts a reconnecting teacher back into its lesson and tracks the reconnect', async () => {
      const c = classroom();
      await c.connect('linus', LINUS);
      const first = await c.joined('ada-1', ADA, MATH);
      await c.disconnect(first);
      c.heard();
      const result = await c.handshake('ada-2', { ...ADA, token: await token(ADA) });
      expect(result.ok && result.value.lessonId).toBe(MATH);
      expect(c.notifier.membersOf({ kind: 'lesson', lessonId: MATH })).toEqual(['ada-2']);
      expect(c.notifier.membersOf({ kind: 'lesson_teachers', lessonId: MATH })).toEqual(['ada-2']);
      expect(protocolKeys(c.store)[`lesson_teacher_${MATH}`]).toEqual({ 't-ada': 'ada-2' });
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
      expect(c.analytics.events.at(-1)).toEqual({
        name: 'reconnect',
        distinctId: 't-ada',
        lessonId: MATH,
        orgId: ORG,
        role: 'teacher',
        client: 'teacher_app',
        timeMs: c.clock.nowMs(),
        insertId: 'insert-2',
      });
      expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
    });

    it('puts a reconnecting student back into its lesson room and tracks the reconnect', async () => {
      const c = classroom();
      const s1 = student(1);
      await c.disconnect(await c.joined('s1-a', s1, MATH));
      const result = await c.handshake('s1-b', { ...s1, token: await token(s1) });
      expect(result.ok && result.value.lessonId).toBe(MATH);
      expect(c.notifier.membersOf({ kind: 'lesson', lessonId: MATH })).toEqual(['s1-b']);
      expect(c.notifier.membersOf({ kind: 'lesson_teachers', lessonId: MATH })).toEqual([]);
      expect(protocolKeys(c.store)[`lesson_student_${MATH}`]).toEqual({ 's-1': 's1-b' });
      expect(c.analytics.events.map(({ name, client }) => [name, client])).toEqual([
        ['disconnect', 'student_web'],
        ['reconnect', 'student_web'],
      ]);
    });

    it('does not put a teacher into another teacher’s lesson', async () => {
      const c = classroom();
      await c.disconnect(await c.joined('ada-1', ADA, MATH));
      const result = await c.handshake('grace', { ...GRACE, token: await token(GRACE) });
      expect(result.ok && result.value.lessonId).toBeNull();
    });
  });
});
