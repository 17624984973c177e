import { setTimeout as delay } from 'node:timers/promises';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ownRedisMissing } from '../adapters/redis/redis-server-process.js';
import { failure } from '../adapters/socket-io/classroom-harness.js';
import { requirement } from '../support/requirements.js';
import { hasPostgres } from '../support/services.js';
import { ORG, readiness, type SessionTimings, useOwnRedis } from './deployment.js';
import { claimSeat, expectSessionKept, lessonUnderWay } from './session-scenario.js';

/** These suites stop, freeze and cut off a redis-server of their own (PROTOCOL §6a). */
const canFaultRedis = hasPostgres && requirement('redis-server', ownRedisMissing());

type Session = Awaited<ReturnType<typeof lessonUnderWay>>;

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

  it('refuse a second device of the teacher, seat claims and a connecting student with unavailable, and applies none of them once Redis resumes', async () => {
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
