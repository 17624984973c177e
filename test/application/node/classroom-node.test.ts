import { describe, expect, it } from 'vitest';
import type { ClientRequest, NodeObserver } from '../../../src/application/node/classroom-node.js';
import type { SocketOf } from '../../../src/application/ports/presence-store.js';
import { DEFAULT_TIMINGS } from '../../../src/application/settings.js';
import { domainError } from '../../../src/domain/errors.js';
import { fail, ok } from '../../../src/domain/result.js';
import { protocolKeys } from '../../support/protocol-keys.js';
import {
  ADA,
  aliveKey,
  type Classroom,
  classroom,
  GRACE,
  LINUS,
  MATH,
  ORG,
  student,
  token,
} from '../classroom.js';

const PRESENCE_TTL_MS = DEFAULT_TIMINGS.presenceTtlS * 1000;
const GRACE_MS = DEFAULT_TIMINGS.disconnectGraceS * 1000;

const send = (c: Classroom, socket: SocketOf, request: ClientRequest) =>
  c.node.request(socket.sid, ok(request));

const joinMath = (socket: SocketOf): ClientRequest => ({
  name: 'join_lesson',
  userId: socket.identity.userId,
  lessonId: MATH,
  role: socket.identity.role,
});

/** Collects what the node reports, as the service's log would. */
function recorder() {
  const failures: Array<{ what: string; error: unknown }> = [];
  const observer: NodeObserver = { failed: (what, error) => failures.push({ what, error }) };
  return { failures, observer };
}

describe('ClassroomNode', () => {
  describe('admission', () => {
    it('holds an admitted socket until its disconnect, and a refused one not at all', async () => {
      const c = classroom();
      const ada = await c.connect('ada', ADA);
      const refused = await c.handshake('intruder', { role: 'teacher', orgId: ORG, token: 'x' });
      expect(refused).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
      expect(c.node.holds('ada')).toBe(true);
      expect(c.node.holds('intruder')).toBe(false);
      await c.disconnect(ada);
      expect(c.node.holds('ada')).toBe(false);
    });

    it('refuses a handshake unavailable when ConnectClient throws, and reports it', async () => {
      const { failures, observer } = recorder();
      const c = classroom({
        observer,
        useCases: {
          connectClient: () => ({
            execute: () => Promise.reject(new Error('the store exploded')),
          }),
        },
      });
      const fields = { role: 'teacher', orgId: ORG, token: await token(ADA) };
      expect(await c.handshake('ada', fields)).toMatchObject({
        ok: false,
        error: { code: 'unavailable' },
      });
      expect(c.node.holds('ada')).toBe(false);
      expect(failures.map(({ what }) => what)).toEqual(['ConnectClient']);
    });
  });

  describe('requests', () => {
    it('run one at a time per socket, in arrival order', async () => {
      const c = classroom();
      const s1 = await c.connect('s1', student(1));
      // Sent back to back, as a client may: the seat claim finds the join already done.
      const [joined, seated] = await Promise.all([
        send(c, s1, joinMath(s1)),
        send(c, s1, {
          name: 'set_student_name',
          lessonId: MATH,
          studentId: 's-1',
          displayName: 'Alan',
          seatId: '3',
        }),
      ]);
      expect(joined).toMatchObject({ ok: true });
      expect(seated).toEqual({ ok: true, value: { seat_id: '3', display_name: 'Alan' } });
    });

    it('answer rate_limited past the burst, then again as the bucket refills', async () => {
      const c = classroom({ rateLimit: { perS: 1, burst: 2 } });
      const ada = await c.connect('ada', ADA);
      const answers = await Promise.all([1, 2, 3].map(() => send(c, ada, joinMath(ada))));
      expect(answers.map((answer) => (answer.ok ? 'ok' : answer.error.code))).toEqual([
        'ok',
        'ok',
        'rate_limited',
      ]);
      c.clock.advance(1000);
      expect(await send(c, ada, joinMath(ada))).toMatchObject({ ok: true });
    });

    it('pass on the door’s invalid_payload as the answer, in the socket’s turn', async () => {
      const c = classroom();
      const ada = await c.connect('ada', ADA);
      const invalid = fail(domainError('invalid_payload', 'Invalid payload: lesson_id.'));
      expect(await c.node.request(ada.sid, invalid)).toEqual(invalid);
    });

    it('answer internal when a use case throws, and unavailable when a dependency is away', async () => {
      const { failures, observer } = recorder();
      const c = classroom({ observer });
      const ada = await c.connect('ada', ADA);
      const findLesson = c.database.findLesson.bind(c.database);
      c.database.findLesson = () => Promise.reject(new Error('database exploded at line 42'));
      expect(await send(c, ada, joinMath(ada))).toEqual({
        ok: false,
        error: { code: 'internal', message: 'The server failed to handle this request.' },
      });
      c.database.findLesson = findLesson;
      c.database.setAvailable(false);
      expect(await send(c, ada, joinMath(ada))).toMatchObject({
        ok: false,
        error: { code: 'unavailable' },
      });
      expect(failures.map(({ what }) => what)).toEqual(['join_lesson']);
    });

    it('answer internal for a socket the node does not hold', async () => {
      const c = classroom();
      expect(await c.node.request('nobody', ok(joinMath(await c.connect('ada', ADA))))).toEqual(
        fail(domainError('internal', 'The server failed to handle this request.')),
      );
    });
  });

  describe('disconnects', () => {
    it('wait for the requests before them: a logout then a disconnect writes no grace period', async () => {
      const c = classroom();
      await c.connect('linus', LINUS);
      const ada = await c.connect('ada', ADA);
      c.heard();
      const logout = send(c, ada, { name: 'logout', userId: ADA.userId, orgId: ORG });
      const gone = c.disconnect(ada);
      await Promise.all([logout, gone]);
      expect(c.heard()).toEqual([['linus', 'logout', { user_id: 't-ada' }]]);
      expect(protocolKeys(c.store)).not.toHaveProperty([aliveKey(ADA)]);
    });

    it('stop refreshing a socket at once, before its turn comes', async () => {
      const c = classroom();
      const ada = await c.connect('ada', ADA);
      await c.connect('grace', GRACE);
      const gone = c.disconnect(ada);
      expect(c.node.presenceSockets().map(({ socket }) => socket.sid)).toEqual(['grace']);
      await gone;
    });

    it('start the grace period of a teacher the store lost before the node put it back', async () => {
      const c = classroom();
      await c.node.start();
      await c.connect('linus', LINUS);
      const ada = await c.connect('ada', ADA);
      c.store.restartEmpty();
      c.heard();
      // Ada leaves before the node's next refresh would have noticed the loss: she had no
      // active lesson, so nothing in the database gives her a grace period either.
      await c.disconnect(ada);
      await c.node.idle();
      expect(c.heard()).toContainEqual([
        'linus',
        'teacher_disconnect',
        { user_id: 't-ada', reason: 'transport close' },
      ]);
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
      expect(await c.presence.nextDueAtMs()).toBe(c.clock.nowMs() + GRACE_MS);
    });

    it('report a DisconnectClient that fails, and never reject', async () => {
      const { failures, observer } = recorder();
      const c = classroom({ observer });
      const ada = await c.connect('ada', ADA);
      c.presence.setUp(false);
      await expect(c.disconnect(ada)).resolves.toBeUndefined();
      expect(failures.map(({ what }) => what)).toEqual(['DisconnectClient']);
    });
  });

  describe('background loops on the scheduler', () => {
    it('keep a connected teacher present however long it stays', async () => {
      const c = classroom();
      await c.node.start();
      await c.connect('ada', ADA);
      await c.scheduler.advance(5 * PRESENCE_TTL_MS);
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
    });

    it('heal a store that lost its data when the node starts, before the first refresh is due', async () => {
      const c = classroom();
      await c.disconnect(await c.joined('ada', ADA, MATH));
      c.store.restartEmpty();
      await c.node.start();
      // The lesson's teacher has no session any more: the database gives it its grace period.
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
      expect(await c.presence.nextDueAtMs()).toBe(c.clock.nowMs() + GRACE_MS);
    });

    it('refresh only sockets that are neither logged out nor gone', async () => {
      const c = classroom();
      const ada = await c.connect('ada', ADA);
      await c.connect('grace', GRACE);
      await c.connect('s1', student(1));
      await send(c, ada, { name: 'logout', userId: ADA.userId, orgId: ORG });
      expect(c.node.presenceSockets()).toEqual([
        { socket: expect.objectContaining({ sid: 'grace' }), epoch: expect.any(Number) },
      ]);
    });

    it('end a session at the end of its grace by the deadline timer, long before the next sweep', async () => {
      const c = classroom({ sweepIntervalS: 3600 });
      await c.node.start();
      await c.connect('linus', LINUS);
      const ada = await c.joined('ada', ADA, MATH);
      await c.disconnect(ada);
      c.heard();
      await c.scheduler.advance(GRACE_MS + 1000);
      expect(c.heard()).toEqual([['linus', 'logout', { user_id: 't-ada' }]]);
      expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'ended' });
    });

    it('give a session whose node died its grace period once its presence ran out, then end it', async () => {
      const c = classroom();
      // A teacher admitted by a node that died: nobody refreshes it.
      await c.presence.connectTeacher({
        socket: { sid: 'lost', identity: { ...ADA, kind: 'teacher_app' } },
        nowMs: c.clock.nowMs(),
        presenceTtlS: DEFAULT_TIMINGS.presenceTtlS,
        lessonTtlS: DEFAULT_TIMINGS.lessonTtlS,
      });
      await c.connect('linus', LINUS);
      await c.node.start();
      c.heard();
      await c.scheduler.advance(PRESENCE_TTL_MS + 5_000);
      expect(c.heard()).toEqual([
        ['linus', 'teacher_disconnect', { user_id: 't-ada', reason: 'node_lost' }],
      ]);
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
      await c.scheduler.advance(GRACE_MS);
      expect(c.heard()).toEqual([['linus', 'logout', { user_id: 't-ada' }]]);
      expect(protocolKeys(c.store)).not.toHaveProperty([aliveKey(ADA)]);
      expect(await c.presence.nextDueAtMs()).toBeNull();
    });

    it('end a session when the expiry feed tells of it', async () => {
      const ended: string[] = [];
      const c = classroom({
        sweepIntervalS: 3600,
        useCases: {
          endExpiredSession: (real) => ({
            execute: async (teacher) => {
              const result = await real.execute(teacher);
              if (result.ok && result.value.ended) ended.push(teacher.userId);
              return result;
            },
          }),
        },
      });
      await c.node.start();
      await c.disconnect(await c.connect('ada', ADA));
      c.clock.advance(GRACE_MS);
      expect(c.expiryFeed.tick()).toBe(1);
      await c.node.idle();
      expect(ended).toEqual(['t-ada']);
    });
  });

  describe('presence for managers (PROTOCOL §5a)', () => {
    it('sends a manager its org’s presence right after it connects', async () => {
      const c = classroom();
      const since = Math.floor(c.clock.nowMs() / 1000);
      await c.joined('ada', ADA, MATH);
      c.heard();
      await c.connect('linus', LINUS);
      expect(c.heard()).toEqual([
        [
          'linus',
          'presence_state',
          {
            teachers: [
              { user_id: 't-ada', state: 'connect', login_time: since, since, lesson_id: MATH },
            ],
          },
        ],
      ]);
    });

    it('answers get_presence with the same snapshot, to managers only', async () => {
      const c = classroom();
      const ada = await c.connect('ada', ADA);
      await c.disconnect(ada);
      const linus = await c.connect('linus', LINUS);
      const [[, , snapshot]] = c.heard().filter(([, name]) => name === 'presence_state') as [
        [string, string, unknown],
      ];
      expect(await send(c, linus, { name: 'get_presence' })).toEqual({ ok: true, value: snapshot });
      expect(snapshot).toMatchObject({ teachers: [{ user_id: 't-ada', state: 'disconnect' }] });
      const grace = await c.connect('grace', GRACE);
      expect(await send(c, grace, { name: 'get_presence' })).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
    });
    it('sends every manager it holds a fresh snapshot when its link to the other nodes is back', async () => {
      const restored: Array<() => void> = [];
      const c = classroom({
        link: { reaches: () => true, onRestored: (listener) => restored.push(listener) },
      });
      await c.node.start();
      const linus = await c.connect('linus', LINUS);
      const margaret = await c.connect('margaret', { ...LINUS, userId: 'm-margaret' });
      await c.connect('ada', ADA);
      await c.disconnect(margaret);
      c.heard();
      for (const listener of restored) listener();
      await c.node.idle();
      expect(c.heard()).toEqual([
        [
          linus.sid,
          'presence_state',
          { teachers: [expect.objectContaining({ user_id: 't-ada', state: 'connect' })] },
        ],
      ]);
    });

    it('sends a manager admitted while the store was away its snapshot once it is back', async () => {
      const c = classroom();
      await c.connect('ada', ADA);
      c.presence.setUp(false);
      await c.connect('linus', LINUS);
      await c.scheduler.advance(10_000);
      expect(c.heard()).toEqual([]);
      c.presence.setUp(true);
      // Tried again after 1 s, 2 s, 4 s, 8 s: the next try comes 16 s after the one at 15 s.
      await c.scheduler.advance(20_000);
      expect(c.heard()).toEqual([
        [
          'linus',
          'presence_state',
          { teachers: [expect.objectContaining({ user_id: 't-ada', state: 'connect' })] },
        ],
      ]);
      await c.scheduler.advance(60_000);
      expect(c.heard()).toEqual([]);
    });
  });

  describe('a link to the store that is down (PROTOCOL §6a.4)', () => {
    it('keeps a teacher’s disconnect, tells its managers at once, and writes it when the link is back', async () => {
      const c = classroom();
      await c.node.start();
      await c.connect('linus', LINUS);
      const ada = await c.joined('ada', ADA, MATH);
      c.heard();
      c.presence.setUp(false);
      const leftAtMs = c.clock.nowMs();
      await c.disconnect(ada);
      expect(c.heard()).toEqual([
        ['linus', 'teacher_disconnect', { user_id: 't-ada', reason: 'transport close' }],
      ]);
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
      await c.scheduler.advance(3_000);
      c.presence.setUp(true);
      await c.scheduler.advance(1_000);
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
      // The grace period counts from when the socket went, not from when it was written.
      expect(await c.presence.nextDueAtMs()).toBe(leftAtMs + GRACE_MS);
      expect(c.heard()).toEqual([
        ['linus', 'teacher_disconnect', { user_id: 't-ada', reason: 'transport close' }],
      ]);
      const [last] = await c.use('presenceLog').history({ orgId: ORG, userId: 't-ada', limit: 1 });
      expect(last).toMatchObject({ kind: 'disconnect', reason: 'transport close', atMs: leftAtMs });
    });
  });

  describe('token lifetime (PROTOCOL §2a)', () => {
    /** A teacher connected with a token that runs out `ttlS` from the harness's now. */
    async function connectedFor(c: Classroom, ttlS: number) {
      const nowMs = c.clock.nowMs();
      const fields = { role: 'teacher', orgId: ORG, token: await token(ADA, { ttlS, nowMs }) };
      const admitted = await c.handshake('ada', fields);
      if (!admitted.ok) throw new Error(`refused: ${admitted.error.code}`);
      return { socket: admitted.value.socket, expS: Math.floor(nowMs / 1000) + ttlS };
    }

    /** The node closed the socket: the transport then reports it gone, as Socket.IO does. */
    async function closedByTheServer(c: Classroom, sid: string) {
      expect(c.forcedOut).toContain(sid);
      await c.node.disconnect(sid, 'io server disconnect');
    }

    it('warns 30 s before exp, once, then says it expired and closes the socket at exp', async () => {
      const c = classroom();
      await c.node.start();
      await c.connect('linus', LINUS);
      const { socket, expS } = await connectedFor(c, 120);
      c.heard();
      await c.scheduler.advance(89_000);
      expect(c.heard()).toEqual([]);
      await c.scheduler.advance(2_000);
      expect(c.heard()).toEqual([['ada', 'token_expiring', { exp: expS }]]);
      await c.scheduler.advance(28_000);
      expect(c.heard()).toEqual([]);
      await c.scheduler.advance(2_000);
      expect(c.heard()).toEqual([['ada', 'token_expired', {}]]);
      await closedByTheServer(c, socket.sid);
      expect(c.heard()).toEqual([
        ['linus', 'teacher_disconnect', { user_id: 't-ada', reason: 'token_expired' }],
      ]);
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
    });

    it('warns at once when less than 30 s are left', async () => {
      const c = classroom();
      await c.node.start();
      const { expS } = await connectedFor(c, 10);
      await c.scheduler.advance(0);
      expect(c.heard()).toEqual([['ada', 'token_expiring', { exp: expS }]]);
    });

    it('moves the expiry with a fresh token of the same identity, changing nothing else', async () => {
      const c = classroom();
      await c.node.start();
      await c.connect('linus', LINUS);
      const { socket } = await connectedFor(c, 60);
      await c.scheduler.advance(50_000);
      c.heard();
      const before = protocolKeys(c.store);
      const fresh = await token(ADA, { ttlS: 600, nowMs: c.clock.nowMs() });
      const answer = await send(c, socket, { name: 'refresh_token', token: fresh });
      const newExpS = Math.floor(c.clock.nowMs() / 1000) + 600;
      expect(answer).toEqual({ ok: true, value: { exp: newExpS } });
      expect(protocolKeys(c.store)).toEqual(before);
      await c.scheduler.advance(60_000);
      expect(c.heard()).toEqual([]);
      expect(c.node.holds('ada')).toBe(true);
      await c.scheduler.advance(530_000);
      expect(c.heard()).toEqual([['ada', 'token_expiring', { exp: newExpS }]]);
    });

    it('refuses a token of another identity as forbidden and a bad one as unauthorized', async () => {
      const c = classroom();
      const { socket } = await connectedFor(c, 600);
      const nowMs = c.clock.nowMs();
      expect(
        await send(c, socket, { name: 'refresh_token', token: await token(GRACE, { nowMs }) }),
      ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await send(c, socket, { name: 'refresh_token', token: 'not-a-jwt' })).toMatchObject({
        ok: false,
        error: { code: 'unauthorized' },
      });
    });

    it('answers unauthorized to a request that arrives after exp', async () => {
      const c = classroom();
      const { socket } = await connectedFor(c, 60);
      c.clock.advance(60_000);
      expect(await send(c, socket, joinMath(socket))).toMatchObject({
        ok: false,
        error: { code: 'unauthorized' },
      });
    });
  });

  describe('close', () => {
    it('refuses new handshakes and waits for the disconnects in progress', async () => {
      const c = classroom();
      await c.node.start();
      const ada = await c.connect('ada', ADA);
      const gone = c.disconnect(ada);
      await c.node.close();
      await gone;
      expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
      const fields = { role: 'teacher', orgId: ORG, token: await token(GRACE) };
      expect(await c.handshake('grace', fields)).toMatchObject({
        ok: false,
        error: { code: 'unavailable' },
      });
    });
  });
});
