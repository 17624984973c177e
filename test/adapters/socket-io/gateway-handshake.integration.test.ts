import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../../src/adapters/jwt/sign-access-token.js';
import { SOCKET_PATH } from '../../../src/adapters/socket-io/socket-server.js';
import { protocolKeys } from '../../support/protocol-keys.js';
import { ack, Classroom, type Identity, SECRET } from './classroom-harness.js';

const ADA: Identity = { sub: 't-ada', org: 'north', role: 'teacher' };
const SAM: Identity = { sub: 's-1', org: 'north', role: 'student' };

/**
 * The Engine.IO v4 long-polling handshake by hand, for what socket.io-client cannot send: a
 * repeated query parameter. Resolves with the namespace's answer packet.
 */
async function rawHandshake(url: string, query: string): Promise<string> {
  const base = `${url}${SOCKET_PATH}/?EIO=4&transport=polling`;
  const open = await (await fetch(`${base}&${query}`)).text();
  const { sid } = JSON.parse(open.slice(1)) as { sid: string };
  await fetch(`${base}&sid=${sid}`, { method: 'POST', body: '40/classroom,' });
  return (await fetch(`${base}&sid=${sid}`)).text();
}

describe('Gateway handshake', () => {
  let classroom: Classroom;

  beforeEach(async () => {
    classroom = await Classroom.start();
  });

  afterEach(async () => {
    await classroom.stop();
  });

  const refusal = async (fields: Record<string, unknown>, via: 'query' | 'auth' = 'query') =>
    classroom.refusal(
      via === 'query' ? { query: fields as Record<string, string> } : { auth: fields },
    );

  describe('admits', () => {
    it.each(['default', 'websocket'] as const)(
      'every client kind through the query string over the %s transport',
      async (transport) => {
        await classroom.connect(ADA, { transport });
        await classroom.connect(SAM, { transport });
        await classroom.connect(
          { sub: 'm-linus', org: 'north', role: 'admin' },
          { transport, productType: 'manager' },
        );
        await classroom.connect(
          { sub: 't-grace', org: 'north', role: 'teacher' },
          { transport, productType: 'manager' },
        );
        expect(
          classroom.parts.observed.filter((call) => call.call === 'connected').map((c) => c.args),
        ).toEqual([['teacher_app'], ['student_web'], ['manager_web'], ['manager_web']]);
      },
    );

    it('every field through the auth object, with auth.token as a synonym of auth.auth', async () => {
      const token = await classroom.token(ADA);
      const socket = classroom.socket({ auth: { role: 'teacher', org_id: 'north', token } });
      await new Promise((connected) =>
        socket.once('connect', () => connected(undefined)).connect(),
      );
      expect(
        await ack(socket, 'join_lesson', { user_id: 't-ada', lesson_id: 'math', role: 'teacher' }),
      ).toMatchObject({ ok: true });
    });

    it('a student without an org_id, taking the org from the token', async () => {
      const token = await classroom.token(SAM);
      const student = classroom.socket({ query: { role: 'student', auth: token } });
      await new Promise((connected) =>
        student.once('connect', () => connected(undefined)).connect(),
      );
      expect(
        await ack(student, 'join_lesson', { user_id: 's-1', lesson_id: 'math', role: 'student' }),
      ).toMatchObject({ ok: true });
    });
  });

  describe('refuses with unauthorized', () => {
    it('a missing token', async () => {
      expect(await refusal({ role: 'teacher', org_id: 'north' })).toEqual({
        message: 'unauthorized',
        data: { code: 'unauthorized', message: expect.any(String) },
      });
    });

    it.each([
      ['a malformed token', async () => 'not-a-jwt'],
      [
        'a token signed with another secret',
        () =>
          signAccessToken({
            secret: 'another-secret-of-enough-length!!',
            sub: 't-ada',
            orgId: 'north',
            role: 'teacher',
            ttlS: 60,
            nowS: Math.floor(Date.now() / 1000),
          }),
      ],
      [
        'an expired token',
        () =>
          signAccessToken({
            secret: SECRET,
            sub: 't-ada',
            orgId: 'north',
            role: 'teacher',
            ttlS: 60,
            // Expired on the node's clock, the one that checks `exp`.
            nowS: Math.floor(classroom.clock.nowMs() / 1000) - 3_600,
          }),
      ],
    ])('%s', async (_what, makeToken) => {
      const auth = await makeToken();
      expect(await refusal({ role: 'teacher', org_id: 'north', auth })).toMatchObject({
        message: 'unauthorized',
      });
    });
  });

  describe('refuses with invalid_handshake', () => {
    it.each([
      ['an unknown role', { role: 'janitor', org_id: 'north' }],
      ['a student with product_type manager', { role: 'student', product_type: 'manager' }],
      ['an admin without product_type', { role: 'admin', org_id: 'north' }],
      ['an unknown product_type', { role: 'teacher', org_id: 'north', product_type: 'tv' }],
      ['a TeacherApp without org_id', { role: 'teacher' }],
      ['a ManagerWeb without org_id', { role: 'admin', product_type: 'manager' }],
      ['an org_id that is not an id', { role: 'teacher', org_id: 'no:rth' }],
    ])('%s, even with a valid token', async (_what, fields) => {
      const auth = await classroom.token(ADA);
      expect(await refusal({ ...fields, auth })).toEqual({
        message: 'invalid_handshake',
        data: { code: 'invalid_handshake', message: expect.any(String) },
      });
    });

    it('a field of the auth object that is not a string', async () => {
      const auth = await classroom.token(ADA);
      expect(await refusal({ role: ['teacher'], org_id: 'north', auth }, 'auth')).toMatchObject({
        message: 'invalid_handshake',
      });
    });

    it('a query parameter given twice', async () => {
      const auth = await classroom.token(ADA);
      const answer = await rawHandshake(
        classroom.parts.url,
        `role=teacher&role=teacher&org_id=north&auth=${auth}`,
      );
      expect(answer).toMatch(/^44\/classroom,/);
      expect(JSON.parse(answer.slice('44/classroom,'.length))).toMatchObject({
        message: 'invalid_handshake',
      });
    });

    it('before looking at the token', async () => {
      expect(await refusal({ role: 'janitor', org_id: 'north' })).toMatchObject({
        message: 'invalid_handshake',
      });
    });
  });

  describe('refuses with forbidden', () => {
    it('a handshake role that is not the token’s', async () => {
      const auth = await classroom.token(SAM);
      expect(await refusal({ role: 'teacher', org_id: 'north', auth })).toEqual({
        message: 'forbidden',
        data: { code: 'forbidden', message: expect.any(String) },
      });
    });

    it('a handshake org_id that is not the token’s, and writes nothing', async () => {
      const auth = await classroom.token(ADA);
      expect(await refusal({ role: 'teacher', org_id: 'south', auth })).toMatchObject({
        message: 'forbidden',
      });
      expect(protocolKeys(classroom.parts.store)).toEqual({});
    });

    it('before the cooldown', async () => {
      const linus = await classroom.manager('m-linus');
      await ack(linus.socket, 'force_logout', { user_id: 't-ada', org_id: 'north' });
      const auth = await classroom.token(ADA);
      expect(await refusal({ role: 'teacher', org_id: 'south', auth })).toMatchObject({
        message: 'forbidden',
      });
    });
  });

  describe('refuses with cooldown', () => {
    it('a teacher forced out, with the whole seconds left rounded up', async () => {
      const linus = await classroom.manager('m-linus');
      await ack(linus.socket, 'force_logout', { user_id: 't-ada', org_id: 'north' });
      await expect(classroom.connect(ADA)).rejects.toMatchObject({
        message: 'cooldown',
        data: { code: 'cooldown', message: expect.any(String), retry_after_s: 300 },
      });
      classroom.clock.advance(1_500);
      await expect(classroom.connect(ADA, { viaAuth: true })).rejects.toMatchObject({
        data: { retry_after_s: 299 },
      });
      classroom.clock.advance(298_500);
      await classroom.connect(ADA);
    });

    it('only for the TeacherApp: the teacher’s ManagerWeb still connects', async () => {
      const linus = await classroom.manager('m-linus');
      await ack(linus.socket, 'force_logout', { user_id: 't-ada', org_id: 'north' });
      await classroom.connect(ADA, { productType: 'manager' });
    });
  });

  describe('refuses with unavailable', () => {
    it('while the presence store cannot be reached, and admits again once it can', async () => {
      classroom.parts.presence.setUp(false);
      await expect(classroom.connect(ADA)).rejects.toEqual(
        expect.objectContaining({
          message: 'unavailable',
          data: { code: 'unavailable', message: expect.any(String) },
        }),
      );
      await expect(classroom.connect(SAM)).rejects.toMatchObject({ message: 'unavailable' });
      classroom.parts.presence.setUp(true);
      await classroom.connect(ADA);
    });

    it('when the core throws, logging it once and leaving no room membership behind', async () => {
      classroom.parts.notifier.failEmits = true;
      await expect(classroom.connect(ADA)).rejects.toMatchObject({
        message: 'unavailable',
        data: { message: expect.not.stringContaining('exploded') },
      });
      expect(classroom.errorLogs()).toEqual([
        expect.objectContaining({ err: expect.objectContaining({ message: 'notifier exploded' }) }),
      ]);
      expect(classroom.parts.namespace.adapter.rooms.has('teacher-app:north:t-ada')).toBe(false);

      classroom.parts.notifier.failEmits = false;
      const ada = await classroom.connect(ADA);
      expect(await ada.join('math')).toMatchObject({ ok: true });
    });

    it('once the gateway is closing', async () => {
      await classroom.parts.gateway.close();
      await expect(classroom.connect(ADA)).rejects.toMatchObject({ message: 'unavailable' });
    });
  });
});
