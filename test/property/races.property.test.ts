import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SequentialIdSource } from '../../sim/sequential-id-source.js';
import { VirtualClock } from '../../sim/virtual-clock.js';
import { InMemoryAnalytics } from '../../src/adapters/in-memory/in-memory-analytics.js';
import { InMemoryLessonRepository } from '../../src/adapters/in-memory/in-memory-lesson-repository.js';
import { InMemoryNotifier } from '../../src/adapters/in-memory/in-memory-notifier.js';
import { InMemoryPresenceStore } from '../../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import { DependencyUnavailableError } from '../../src/application/errors.js';
import type { LessonRepository } from '../../src/application/ports/lesson-repository.js';
import type { SocketOf } from '../../src/application/ports/presence-store.js';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { buildNode, resolve, type Services } from '../../src/composition-root.js';
import type { ClientIdentity } from '../../src/domain/clients.js';
import type { Id } from '../../src/domain/ids.js';
import type { Lesson } from '../../src/domain/lesson.js';
import { protocolKeys } from '../support/protocol-keys.js';
import { claimsAsTokens, handshakeOf } from './claims-as-tokens.js';
import { budget } from './fast-check-budget.js';

/**
 * Races between use cases running at the same time, as they do on several nodes: every port
 * call (store, database, notifier) waits for fast-check's scheduler, which releases them in a
 * random order, so each run tries another interleaving of the use cases' steps. Each store call is
 * itself atomic, as the Redis scripts are. The properties are what must hold whatever the order.
 */
const ORG = 'o1';
const TEACHER = 'ta';
const LESSONS: readonly Lesson[] = [
  { id: 'L1', orgId: ORG, teacherId: TEACHER, title: null, seatCount: 2, status: 'scheduled' },
  { id: 'L2', orgId: ORG, teacherId: TEACHER, title: null, seatCount: 2, status: 'scheduled' },
];
const GRACE_MS = DEFAULT_TIMINGS.disconnectGraceS * 1000;
const NOTIFIER_PORT = new Set(['join', 'emit', 'forceOut']);

interface Gate {
  scheduler: fc.Scheduler | null;
  /** Port calls in the order they ran, with the answer where it matters. */
  readonly ran: string[];
}

/**
 * The port with each call held until the scheduler releases it (while a scheduler is set: set-up
 * runs unscheduled). `only` limits which methods are ports, for the notifier's transport calls.
 */
function scheduled<T extends object>(port: T, name: string, gate: Gate, only?: Set<string>): T {
  return new Proxy(port, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || (only !== undefined && !only.has(String(key)))) {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: unknown[]) => {
        const call = `${name}.${String(key)}`;
        if (gate.scheduler !== null) await gate.scheduler.schedule(Promise.resolve(), call);
        const answer = await value.apply(target, args);
        gate.ran.push(
          key === 'settleExpiredSession' ? `${call} → ${(answer as { kind: string }).kind}` : call,
        );
        return answer;
      };
    },
  });
}

/** A database whose attendance writes fail for some students, as during an outage. */
function failingAttendance(
  database: InMemoryLessonRepository,
  failing: ReadonlySet<Id>,
): LessonRepository {
  return new Proxy(database, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'recordAttendance')
        return typeof value === 'function' ? value.bind(target) : value;
      return (attendance: { studentId: Id }, nowMs: number) =>
        failing.has(attendance.studentId)
          ? Promise.reject(new DependencyUnavailableError('database'))
          : target.recordAttendance(attendance as never, nowMs);
    },
  });
}

/** The node on scheduled in-memory ports, driven as the gateway drives it. */
function service(options: { failingAttendance?: ReadonlySet<Id> } = {}) {
  const gate: Gate = { scheduler: null, ran: [] };
  const clock = new VirtualClock();
  const store = new InMemoryPresenceStore(clock, { bornWithItsDatabase: true });
  const database = new InMemoryLessonRepository({ lessons: LESSONS, quizzes: [], tasks: [] });
  const heard: Array<{ sid: string; name: string; userId?: Id }> = [];
  const forcedOff: string[] = [];
  const notifier = new InMemoryNotifier({
    deliver: (sid, event) => {
      const userId = 'user_id' in event.payload ? event.payload.user_id : undefined;
      heard.push({ sid, name: event.name, ...(userId === undefined ? {} : { userId }) });
    },
    disconnect: (sid) => forcedOff.push(sid),
  });
  const presence = scheduled(store, 'presence', gate);
  const container = buildNode({
    jwt: { secret: 'unused' },
    adapters: {
      clock,
      ids: new SequentialIdSource('insert'),
      presence: { store: presence, expiryFeed: new InMemorySessionExpiryFeed(store) },
      lessons: scheduled(
        failingAttendance(database, options.failingAttendance ?? new Set()),
        'lessons',
        gate,
      ),
      notifier: scheduled(notifier, 'notifier', gate, NOTIFIER_PORT),
      analytics: new InMemoryAnalytics(),
      tokens: claimsAsTokens,
    },
  });
  const use = <K extends keyof Services>(key: K): Services[K] => resolve(container, key);
  const node = use('node');

  /** A handshake as the gateway runs it; a socket closed meanwhile (forced out) is let go. */
  async function connect(
    sid: string,
    identity: Omit<ClientIdentity, 'kind'>,
    productType?: 'manager',
  ) {
    notifier.connect(sid);
    const result = await node.admit(sid, handshakeOf(identity, productType));
    if (!result.ok) notifier.disconnect(sid);
    else if (!notifier.isConnected(sid)) await node.disconnect(sid, 'transport close');
    else node.connected(sid);
    return result;
  }

  /** The transport lets the socket go; the node handles its disconnect. */
  async function disconnect(socket: SocketOf) {
    notifier.disconnect(socket.sid);
    await node.disconnect(socket.sid, 'transport close');
  }

  const join = (socket: SocketOf, lessonId: Id) =>
    use('joinLesson').execute({
      socket,
      userId: socket.identity.userId,
      lessonId,
      role: socket.identity.role,
    });

  async function joined(sid: string, identity: Omit<ClientIdentity, 'kind'>, lessonId: Id) {
    const result = await connect(sid, identity);
    if (!result.ok) throw new Error(`${identity.userId} was refused: ${result.error.code}`);
    const answer = await join(result.value.socket, lessonId);
    if (!answer.ok) throw new Error(`${identity.userId} could not join: ${answer.error.code}`);
    return result.value.socket;
  }

  /** Runs `work` concurrently under the scheduler until all of it has settled. */
  async function race<const T extends readonly (() => Promise<unknown>)[]>(
    scheduler: fc.Scheduler,
    work: T,
  ): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
    gate.scheduler = scheduler;
    gate.ran.length = 0;
    return scheduler.waitFor(Promise.all(work.map((run) => run()))) as never;
  }

  const alive = () =>
    protocolKeys(store)[`alive:org_${ORG}_user_${TEACHER}`] as Record<string, string> | undefined;
  const status = async (lessonId: Id) => (await database.findLesson(lessonId))?.status;
  const at = (call: string) => gate.ran.findIndex((ran) => ran.startsWith(call));

  return {
    gate,
    clock,
    store,
    node,
    notifier,
    heard,
    forcedOff,
    use,
    connect,
    disconnect,
    join,
    joined,
    race,
    alive,
    status,
    at,
  };
}

const TEACHER_ID = { userId: TEACHER, orgId: ORG, role: 'teacher' as const };
const ADMIN = { userId: 'm1', orgId: ORG, role: 'admin' as const };
const student = (n: number) => ({ userId: `s${n}`, orgId: ORG, role: 'student' as const });

describe('races between use cases, interleaved at every port call', () => {
  it('session end against a reconnect, three nodes’ expiry notifications and a sweep: the session ends at most once and never takes the new session’s deadline', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (scheduler) => {
        const s = service();
        await s.connect('mgr', ADMIN, 'manager');
        const old = await s.joined('a1', TEACHER_ID, 'L1');
        await s.joined('k1', student(1), 'L1');
        await s.disconnect(old);
        s.clock.advance(GRACE_MS);
        s.heard.length = 0;

        const expiry = () => s.use('endExpiredSession').execute({ orgId: ORG, userId: TEACHER });
        const [n1, n2, n3, swept] = await s.race(scheduler, [
          expiry,
          expiry,
          expiry,
          () => s.use('sweepOverdueSessions').execute(),
          async () => {
            const back = await s.connect('a2', TEACHER_ID);
            if (back.ok) await s.join(back.value.socket, 'L1');
          },
        ]);

        const ends = [n1, n2, n3].filter((end) => end.ok && end.value.ended).length + swept;
        expect(ends).toBeLessThanOrEqual(1);
        const claimedAt = s.gate.ran.indexOf('presence.settleExpiredSession → claimed');
        const reconnectedAt = s.at('presence.connectTeacher');
        if (ends === 1) {
          // The end took effect before the reconnect: the store linearised the claim first.
          expect(claimedAt).toBeLessThan(reconnectedAt);
          expect(await s.status('L1')).toBe('ended');
        } else {
          expect(await s.status('L1')).toBe('active');
        }
        expect(s.heard.filter((h) => h.sid === 'mgr' && h.name === 'logout')).toHaveLength(ends);
        // The reconnected teacher is alive, and its own session still has a deadline: were its
        // node to die now, the session would end one presence TTL later.
        expect(s.alive()).toMatchObject({ state: 'connect' });
        const dueLater = await s.store.dueSessionEnds(
          s.clock.nowMs() + DEFAULT_TIMINGS.presenceTtlS * 1000,
          10,
        );
        expect(dueLater).toEqual([{ orgId: ORG, userId: TEACHER }]);
      }),
      budget(300),
    );
  });

  it('force_logout against a reconnect from another device: nothing admitted after the cooldown started, and no TeacherApp left connected', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.boolean(), async (scheduler, joinsMeanwhile) => {
        const s = service();
        const admin = await s.connect('mgr', ADMIN, 'manager');
        if (!admin.ok) throw new Error('the admin was refused');
        const first = await s.joined('a1', TEACHER_ID, 'L1');

        const [forced, second] = await s.race(scheduler, [
          async () => {
            const answer = await s
              .use('forceLogout')
              .execute({ socket: admin.value.socket, userId: TEACHER, orgId: ORG });
            // The nodes holding the forced-out sockets handle their disconnects.
            for (const sid of s.forcedOff.splice(0)) {
              await s.node.disconnect(sid, 'io server disconnect');
            }
            return answer;
          },
          async () => {
            if (joinsMeanwhile) await s.join(first, 'L2');
            return s.connect('a2', TEACHER_ID);
          },
        ]);

        expect(forced).toMatchObject({ ok: true });
        const cooldownAt = s.at('presence.startCooldown');
        const admittedAt = s.at('presence.connectTeacher');
        if (admittedAt > cooldownAt)
          expect(second).toMatchObject({ ok: false, error: { code: 'cooldown' } });
        for (const sid of ['a1', 'a2']) expect(s.notifier.isConnected(sid)).toBe(false);
        // Whichever socket was the teacher's last, its disconnect started the grace period.
        expect(s.alive()).toMatchObject({ state: 'disconnect' });
      }),
      budget(300),
    );
  });

  it('a stale disconnect against the reconnect that replaced it: the teacher stays alive on the new socket, managers hear of the disconnect only if it came first, and their last word is teacher_connect', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (scheduler) => {
        const s = service();
        await s.connect('mgr', ADMIN, 'manager');
        const old = await s.joined('a1', TEACHER_ID, 'L1');
        s.heard.length = 0;

        const [, back] = await s.race(scheduler, [
          async () => s.disconnect(old),
          async () => s.connect('a2', TEACHER_ID),
        ]);

        expect(back).toMatchObject({ ok: true });
        expect(s.alive()).toMatchObject({ state: 'connect' });
        expect(JSON.parse(protocolKeys(s.store)[TEACHER] as string)).toMatchObject({
          sid: 'a2',
          lesson_id: 'L1',
        });
        const cameFirst = s.at('presence.disconnectTeacher') < s.at('presence.connectTeacher');
        const toManager = s.heard.filter((h) => h.sid === 'mgr');
        const announced = toManager.filter((h) => h.name === 'teacher_disconnect');
        expect(announced).toHaveLength(cameFirst ? 1 : 0);
        expect(toManager.at(-1)?.name).toBe('teacher_connect');
      }),
      budget(300),
    );
  });

  it('an old session’s end against the teacher’s next session starting a scheduled lesson: the new lesson stays active', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (scheduler) => {
        const s = service();
        const old = await s.joined('a1', TEACHER_ID, 'L1');
        await s.disconnect(old);
        s.clock.advance(GRACE_MS);

        const [, joinedL2] = await s.race(scheduler, [
          () => s.use('endExpiredSession').execute({ orgId: ORG, userId: TEACHER }),
          async () => {
            const back = await s.connect('a2', TEACHER_ID);
            return back.ok ? s.join(back.value.socket, 'L2') : null;
          },
        ]);

        if (joinedL2?.ok) expect(await s.status('L2')).toBe('active');
      }),
      budget(300),
    );
  });

  it('students racing for two seats, some of their attendance writes failing: one student per seat, one seat per student, and every answer true', async () => {
    const students = [1, 2, 3, 4];
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom('1', '2'), { minLength: 4, maxLength: 4 }),
        fc.subarray(students),
        async (scheduler, wanted, failing) => {
          const s = service({ failingAttendance: new Set(failing.map((n) => `s${n}`)) });
          const sockets = [];
          for (const n of students) sockets.push(await s.joined(`k${n}`, student(n), 'L1'));

          const answers = await s.race(
            scheduler,
            sockets.map(
              (socket, index) => async () =>
                s.use('setStudentName').execute({
                  socket,
                  lessonId: 'L1',
                  studentId: socket.identity.userId,
                  displayName: socket.identity.userId,
                  seatId: wanted[index] as string,
                }),
            ),
          );

          const seats = protocolKeys(s.store).lesson_seat_L1 as Record<string, string>;
          const winners = answers.flatMap((answer, index) =>
            answer.ok ? [[wanted[index], `s${students[index]}`]] : [],
          );
          // Every ok answer holds its seat, and nobody holds a seat they were not answered ok for.
          expect(Object.fromEntries(winners)).toEqual(
            Object.fromEntries(Object.entries(seats).filter(([, who]) => who !== '')),
          );
          expect(new Set(winners.map(([seat]) => seat)).size).toBe(winners.length);
          for (const n of failing) {
            expect(answers[students.indexOf(n)]).toMatchObject({ ok: false });
          }
        },
      ),
      budget(300),
    );
  });
});
