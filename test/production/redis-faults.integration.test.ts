import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PresenceState } from '../../src/application/ports/realtime-notifier.js';
import { ack, failure } from '../adapters/socket-io/classroom-harness.js';
import { canStartOwnRedis, hasPostgres } from '../support/services.js';
import { type Node, ORG, readiness, type SessionTimings, useOwnRedis } from './deployment.js';
import { FailoverProxy } from './failover-proxy.js';
import {
  claimSeat,
  expectSessionEndedOnce,
  expectSessionKept,
  lessonUnderWay,
} from './session-scenario.js';

/** These suites stop, freeze and cut off a redis-server of their own (PROTOCOL §6a). */
const canFaultRedis = hasPostgres && canStartOwnRedis();

type Session = Awaited<ReturnType<typeof lessonUnderWay>>;

/**
 * A node whose link was cut is back within its 2 s reconnect backoff, and has replayed what it kept
 * (every second) or re-synced its managers; the rest is a loaded machine's slack.
 */
const LINK_BACK_MS = 5_000;

/**
 * A redis-server of the suite's own and, in front of it, a link (a TCP proxy) that a test cuts and
 * mends: a node started with `REDIS_URL: link().url` loses Redis alone.
 */
function useOwnRedisBehindLink() {
  const own = useOwnRedis();
  let proxy: FailoverProxy | undefined;
  beforeAll(async () => {
    proxy = await FailoverProxy.start([own.redis.url]);
  });
  afterAll(() => proxy?.stop());
  const link = () => {
    if (proxy === undefined) throw new Error('the link is not up yet');
    return proxy;
  };
  return { own, link };
}

describe.runIf(canFaultRedis)('Production nodes whose Redis stalls for 5 s', () => {
  /**
   * The stall outlasts the teacher's presence TTL, so a session nobody could refresh meanwhile may
   * go into its grace period when Redis resumes; a grace longer than a refresh interval gives the
   * connected teacher's node time to take it back.
   */
  const timings: SessionTimings = {
    PRESENCE_TTL_S: '3',
    DISCONNECT_GRACE_S: '3',
    SWEEP_INTERVAL_S: '1',
  };
  /** Five times the 1 s command timeout: every call made meanwhile has long been answered. */
  const STALL_MS = 5_000;
  const own = useOwnRedis();
  let session: Session;
  let newcomerId: string;
  let answers: {
    readonly secondDevice: { message: string; data: unknown };
    readonly seatClaims: unknown[];
    readonly newcomer: { message: string; data: unknown };
  };

  beforeAll(async () => {
    const { deployment } = own;
    const nodes = [
      await deployment.startNode({ ...timings }),
      await deployment.startNode({ ...timings }),
    ] as const;
    session = await lessonUnderWay(deployment, nodes);
    newcomerId = deployment.unique('s');

    own.redis.freeze();
    try {
      const frozenAtMs = Date.now();
      const [secondDevice, seatClaims, newcomer] = await Promise.all([
        deployment.teacherRefusal(nodes[1], session.teacherId),
        Promise.all(
          session.students.map((student, i) => claimSeat(student, session.lessonId, String(i + 1))),
        ),
        deployment.refusal(nodes[0], { sub: newcomerId, org: ORG, role: 'student' }),
      ]);
      answers = { secondDevice, seatClaims, newcomer };
      // The fault itself: Redis stays frozen for the whole stall, whatever was answered meanwhile.
      await delay(frozenAtMs + STALL_MS - Date.now());
    } finally {
      own.redis.thaw();
    }
    // A node is ready once Redis answered its PING, sent after every call the node made during the
    // stall on the same connection: by then Redis has run, or refused, all of them.
    for (const node of nodes) {
      await vi.waitFor(async () => expect((await readiness(node)).status).toBe(200), {
        timeout: 5_000,
      });
    }
  });

  it('refuse a second device of the teacher, seat claims and a connecting student with unavailable, and apply none of them once Redis resumes', async () => {
    const { deployment } = own;
    const { lessonId, teacherId, teacher, students } = session;
    expect(answers.secondDevice.message).toBe('unavailable');
    expect(answers.seatClaims).toEqual(students.map(() => failure('unavailable')));
    expect(answers.newcomer.message).toBe('unavailable');

    const seatsHeld = Object.values(await deployment.seatMap(lessonId)).filter((s) => s !== '');
    expect(seatsHeld).toEqual([]);
    expect(await deployment.attendance(lessonId)).toEqual({});
    expect(await deployment.redis.exists(deployment.key(newcomerId))).toBe(0);
    expect(JSON.parse((await deployment.redis.get(deployment.key(teacherId))) ?? '{}')).toEqual(
      expect.objectContaining({ sid: teacher.socket.id }),
    );
    expect(await deployment.redis.hgetall(deployment.key(`lesson_teacher_${lessonId}`))).toEqual({
      [teacherId]: teacher.socket.id,
    });
  });

  it('keep the session of the teacher whose first device stayed connected', async () => {
    const { deployment } = own;
    const { teacherId, teacher } = session;
    await expectSessionKept({ deployment, timings, ...session });
    expect(
      await deployment.redis.hget(deployment.key(`alive:org_${ORG}_user_${teacherId}`), 'state'),
    ).toBe('connect');
    expect(JSON.parse((await deployment.redis.get(deployment.key(teacherId))) ?? '{}')).toEqual(
      expect.objectContaining({ sid: teacher.socket.id }),
    );
  });
});

describe.runIf(canFaultRedis)(
  'Production nodes when Redis restarts empty while a teacher is in the grace period',
  () => {
    const timings: SessionTimings = {
      PRESENCE_TTL_S: '3',
      DISCONNECT_GRACE_S: '4',
      SWEEP_INTERVAL_S: '1',
    };
    const GRACE_MS = Number(timings.DISCONNECT_GRACE_S) * 1000;
    /** A node finds the loss at its first presence refresh (every third of the TTL) once back. */
    const HEAL_TIMEOUT_MS = Number(timings.PRESENCE_TTL_S) * 1000 + 2_000;
    const COOLDOWN_S = 30;
    const own = useOwnRedis();
    let nodes: readonly [Node, Node];
    let session: Session;
    let forced: { readonly teacherId: string; readonly fromMs: number; readonly toMs: number };
    let restartedAtMs: number;

    beforeAll(async () => {
      const { deployment } = own;
      const env = { ...timings, COOLDOWN_S: String(COOLDOWN_S) };
      nodes = [await deployment.startNode(env), await deployment.startNode(env)];
      session = await lessonUnderWay(deployment, nodes);
      expect(await claimSeat(session.students[0], session.lessonId, '2')).toMatchObject({
        ok: true,
      });

      const forcedId = deployment.unique('t');
      await deployment.teacher(nodes[1], forcedId);
      const fromMs = Date.now();
      const forceLogout = { user_id: forcedId, org_id: ORG };
      expect(await ack(session.managers[0].socket, 'force_logout', forceLogout)).toEqual({
        ok: true,
        data: { delivered: true },
      });
      forced = { teacherId: forcedId, fromMs, toMs: Date.now() };

      session.teacher.socket.disconnect();
      const alive = deployment.key(`alive:org_${ORG}_user_${session.teacherId}`);
      await vi.waitFor(async () =>
        expect(await deployment.redis.hget(alive, 'state')).toBe('disconnect'),
      );
      await own.redis.shutdownNoSave();
      await own.redis.restart();
      restartedAtMs = Date.now();
    });

    it('keep refusing a teacher whose cooldown was running, with the seconds it has left', async () => {
      const { deployment } = own;
      const cooldown = deployment.key(`cooldown:org_${ORG}_user_${forced.teacherId}`);
      await expect
        .poll(() => deployment.redis.exists(cooldown), { timeout: HEAL_TIMEOUT_MS })
        .toBe(1);

      const askedFromMs = Date.now();
      const refusal = await deployment.teacherRefusal(nodes[0], forced.teacherId);
      const askedToMs = Date.now();
      expect(refusal.message).toBe('cooldown');
      const leftS = (nowMs: number, forcedAtMs: number) =>
        Math.ceil((forcedAtMs + COOLDOWN_S * 1000 - nowMs) / 1000);
      const { retry_after_s } = refusal.data as { retry_after_s: number };
      expect(retry_after_s).toBeGreaterThanOrEqual(leftS(askedToMs, forced.fromMs));
      expect(retry_after_s).toBeLessThanOrEqual(leftS(askedFromMs, forced.toMs));
    });

    it('let the students who had joined claim seats, on a seat map holding the seats recorded', async () => {
      const { deployment } = own;
      const { lessonId, students } = session;
      const [seated, unseated] = students;
      await expect
        .poll(() => deployment.redis.hgetall(deployment.key(`lesson_student_${lessonId}`)), {
          timeout: HEAL_TIMEOUT_MS,
        })
        .toEqual({
          [seated.identity.sub]: seated.socket.id,
          [unseated.identity.sub]: unseated.socket.id,
        });

      expect(await claimSeat(unseated, lessonId, '2')).toEqual(failure('seat_taken'));
      expect(await claimSeat(unseated, lessonId, '3')).toMatchObject({ ok: true });
      expect(await claimSeat(seated, lessonId, '2')).toMatchObject({ ok: true });
      expect(await deployment.seatMap(lessonId)).toEqual({
        '1': '',
        '2': seated.identity.sub,
        '3': unseated.identity.sub,
        '4': '',
      });
    });

    it('end the lesson once, a grace period after the restart', async () => {
      const { deployment } = own;
      await expect
        .poll(async () => (await deployment.lessonRow(session.lessonId)).status, {
          timeout: HEAL_TIMEOUT_MS + GRACE_MS,
        })
        .toBe('ended');
      const ended = await expectSessionEndedOnce({ deployment, ...session });
      expect(ended.endedAtMs).toBeGreaterThanOrEqual(restartedAtMs + GRACE_MS - 50);
    });
  },
);

describe.runIf(canFaultRedis)(
  'Production nodes when one of them loses its link to Redis while its teacher disconnects',
  () => {
    /**
     * A grace period well apart from the presence TTL, so that a session ended when its last
     * refreshed presence ran out cannot pass for one ended after its grace.
     */
    const timings: SessionTimings = {
      PRESENCE_TTL_S: '4',
      DISCONNECT_GRACE_S: '6',
      SWEEP_INTERVAL_S: '1',
    };
    const GRACE_MS = Number(timings.DISCONNECT_GRACE_S) * 1000;
    /** A session ends within a sweep of its deadline; the rest is a loaded machine's slack. */
    const SESSION_END_SLACK_MS = Number(timings.SWEEP_INTERVAL_S) * 1000 + 1_500;
    /** Within the 1 s command timeout, and then some: a cut link is refused at once. */
    const AT_ONCE_MS = 2_000;
    const { own, link } = useOwnRedisBehindLink();

    it('tell the managers on that node at once and the others once the link is back, and end the lesson a grace period after the disconnect', async () => {
      const { deployment } = own;
      const cutOff = await deployment.startNode({ ...timings, REDIS_URL: link().url });
      const other = await deployment.startNode({ ...timings });
      const session = await lessonUnderWay(deployment, [cutOff, other]);
      const [managerOnCutOff, managerOnOther] = session.managers;
      const left = { user_id: session.teacherId, reason: 'client namespace disconnect' };

      link().cut();
      const leftAtMs = Date.now();
      session.teacher.socket.disconnect();
      await expect
        .poll(() => managerOnCutOff.events('teacher_disconnect'), { timeout: AT_ONCE_MS })
        .toEqual([left]);
      await managerOnOther.settle();
      expect(managerOnOther.events('teacher_disconnect')).toEqual([]);

      link().mend();
      await expect
        .poll(() => managerOnOther.events('teacher_disconnect'), { timeout: LINK_BACK_MS })
        .toEqual([left]);
      const ended = await expectSessionEndedOnce({ deployment, ...session });
      const endedAfterMs = (ended.endedAtMs ?? 0) - leftAtMs;
      expect(endedAfterMs).toBeGreaterThanOrEqual(GRACE_MS - 50);
      expect(endedAfterMs).toBeLessThan(GRACE_MS + SESSION_END_SLACK_MS);
    });
  },
);

describe.runIf(canFaultRedis)(
  'Production nodes when the node of a manager loses its link to Redis while a teacher on another node disconnects',
  () => {
    const timings: SessionTimings = {
      PRESENCE_TTL_S: '4',
      DISCONNECT_GRACE_S: '30',
      SWEEP_INTERVAL_S: '1',
    };
    const { own, link } = useOwnRedisBehindLink();

    it('send that manager presence_state again once the link is back, showing the teacher in the grace period', async () => {
      const { deployment } = own;
      const other = await deployment.startNode({ ...timings });
      const cutOff = await deployment.startNode({ ...timings, REDIS_URL: link().url });
      const session = await lessonUnderWay(deployment, [other, cutOff]);
      const [managerOnOther, managerOnCutOff] = session.managers;
      const left = { user_id: session.teacherId, reason: 'client namespace disconnect' };
      await managerOnCutOff.settle();
      const snapshotsBefore = managerOnCutOff.events('presence_state').length;

      link().cut();
      session.teacher.socket.disconnect();
      await expect
        .poll(() => managerOnOther.events('teacher_disconnect'), { timeout: 2_000 })
        .toEqual([left]);
      // Published while the cut-off node's subscriber was away: it never reaches that node.
      await managerOnCutOff.settle();
      expect(managerOnCutOff.events('teacher_disconnect')).toEqual([]);

      link().mend();
      const teacherIn = (state: unknown) =>
        (state as PresenceState).teachers.find((entry) => entry.user_id === session.teacherId);
      await expect
        .poll(
          () => managerOnCutOff.events('presence_state').slice(snapshotsBefore).map(teacherIn),
          { timeout: LINK_BACK_MS },
        )
        .toEqual([expect.objectContaining({ state: 'disconnect', lesson_id: session.lessonId })]);
    });
  },
);
