import fc from 'fast-check';
import { describe, it } from 'vitest';
import { SequentialIdSource } from '../../sim/sequential-id-source.js';
import { VirtualClock } from '../../sim/virtual-clock.js';
import { VirtualScheduler } from '../../sim/virtual-scheduler.js';
import { InMemoryAnalytics } from '../../src/adapters/in-memory/in-memory-analytics.js';
import { InMemoryLessonRepository } from '../../src/adapters/in-memory/in-memory-lesson-repository.js';
import { InMemoryNotifier } from '../../src/adapters/in-memory/in-memory-notifier.js';
import { InMemoryPresenceStore } from '../../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import type { ClassroomNode, ClientRequest } from '../../src/application/node/classroom-node.js';
import type { SocketOf } from '../../src/application/ports/presence-store.js';
import type { Timings } from '../../src/application/settings.js';
import { buildNode, resolve, type Services } from '../../src/composition-root.js';
import type { ClientIdentity } from '../../src/domain/clients.js';
import type { Id } from '../../src/domain/ids.js';
import type { Lesson, LessonStatus } from '../../src/domain/lesson.js';
import { claimsAsTokens, handshakeOf } from './claims-as-tokens.js';
import { budget } from './fast-check-budget.js';

/**
 * Model-based tests of the node and its use cases, wired as in production on the in-memory
 * adapters and virtual time: random sequences of what clients and time do, each checked against a
 * small model of the school — who is online, who is in the grace period until when, who cools
 * down, which lessons run or ended, who sits where. Clients go through the node as the gateway
 * sends them (admission, requests, disconnects), and time passing runs the node's own background
 * loops (presence refresh, deadline sweep and timer). After every command the acknowledgements,
 * every event each client heard, and the database's lesson rows must be what the model says.
 */
const ORG = 'o1';
const TEACHERS = ['ta', 'tb'] as const;
const STUDENTS = ['s1', 's2', 's3'] as const;
const SEAT_COUNT = 2;
const LESSONS: readonly Lesson[] = [
  {
    id: 'L1',
    orgId: ORG,
    teacherId: 'ta',
    title: null,
    seatCount: SEAT_COUNT,
    status: 'scheduled',
  },
  {
    id: 'L2',
    orgId: ORG,
    teacherId: 'ta',
    title: null,
    seatCount: SEAT_COUNT,
    status: 'scheduled',
  },
  {
    id: 'L3',
    orgId: ORG,
    teacherId: 'tb',
    title: null,
    seatCount: SEAT_COUNT,
    status: 'scheduled',
  },
  // Another org's lesson: asking for it must look exactly like asking for nothing.
  {
    id: 'X1',
    orgId: 'o2',
    teacherId: 'tx',
    title: null,
    seatCount: SEAT_COUNT,
    status: 'scheduled',
  },
];
const TIMINGS: Timings = {
  presenceTtlS: 60,
  disconnectGraceS: 120,
  cooldownS: 90,
  lessonTtlS: 86_400,
  sessionEndLeaseMs: 30_000,
};
const MANAGER = 'mgr';

type Heard = string;

/** The service and what its clients hold and heard. */
class School {
  readonly clock = new VirtualClock();
  readonly scheduler = new VirtualScheduler(this.clock);
  readonly database = new InMemoryLessonRepository({ lessons: LESSONS, quizzes: [], tasks: [] });
  readonly notifier = new InMemoryNotifier({
    deliver: (sid, event) =>
      this.heard.push(`${sid} ${event.name} ${JSON.stringify(event.payload)}`),
    disconnect: (sid) => this.forcedOff.push(sid),
  });
  readonly use: <K extends keyof Services>(key: K) => Services[K];
  readonly node: ClassroomNode;
  heard: Heard[] = [];
  forcedOff: string[] = [];
  /** Each teacher's TeacherApp socket, if it has one open. */
  readonly teacherApps = new Map<Id, SocketOf>();
  /** Logged-out TeacherApp sockets still open after their teacher connected again elsewhere. */
  readonly loggedOutApps = new Map<string, SocketOf>();
  readonly studentWebs = new Map<Id, SocketOf>();
  private sockets = 0;

  constructor() {
    const store = new InMemoryPresenceStore(this.clock, { bornWithItsDatabase: true });
    const container = buildNode({
      jwt: { secret: 'unused' },
      timings: TIMINGS,
      adapters: {
        clock: this.clock,
        scheduler: this.scheduler,
        ids: new SequentialIdSource('insert'),
        // Nobody ticks the feed: sessions end through the node's own sweep and deadline timer.
        presence: { store, expiryFeed: new InMemorySessionExpiryFeed(store) },
        lessons: this.database,
        notifier: this.notifier,
        analytics: new InMemoryAnalytics(),
        tokens: claimsAsTokens,
      },
    });
    this.use = (key) => resolve(container, key);
    this.node = this.use('node');
  }

  newSid(userId: Id): string {
    this.sockets += 1;
    return `${userId}#${this.sockets}`;
  }

  async handshake(sid: string, identity: Omit<ClientIdentity, 'kind'>, productType?: 'manager') {
    this.notifier.connect(sid);
    const result = await this.node.admit(sid, handshakeOf(identity, productType));
    if (result.ok) this.node.connected(sid);
    else this.notifier.disconnect(sid);
    return result;
  }

  /** A request as the gateway hands it to the node, payload already validated. */
  request(socket: SocketOf, request: ClientRequest) {
    return this.node.request(socket.sid, { ok: true, value: request });
  }

  /** The transport lets the socket go, for `reason`; the node handles its disconnect. */
  async disconnect(socket: SocketOf, reason = 'transport close') {
    this.notifier.disconnect(socket.sid);
    await this.node.disconnect(socket.sid, reason);
  }

  /** Events heard since the last call, in a stable order. */
  takeHeard(): Heard[] {
    const heard = this.heard.sort();
    this.heard = [];
    return heard;
  }

  async statuses(): Promise<Record<Id, LessonStatus>> {
    const rows = this.database.snapshot().lessons;
    return Object.fromEntries(rows.map((row) => [row.id, row.status]));
  }
}

/** A TeacherApp socket and the lessons it joined: it hears `lesson_ended` for them while open. */
interface TeacherApp {
  readonly sid: string;
  loggedOut: boolean;
  readonly lessons: Set<Id>;
}

interface Model {
  nowMs: number;
  readonly teacherApps: Map<Id, TeacherApp>;
  /** Logged-out apps left open while their teacher connected again. */
  readonly loggedOutApps: Array<TeacherApp & { readonly teacher: Id }>;
  /** Teachers whose current socket went away: their session ends at that time. */
  readonly graceUntilMs: Map<Id, number>;
  readonly cooldownUntilMs: Map<Id, number>;
  readonly status: Map<Id, LessonStatus>;
  /** The lesson each user last joined: a reconnect puts them back into it. */
  readonly lastLesson: Map<Id, Id>;
  readonly joined: Map<Id, Set<Id>>;
  readonly seats: Map<Id, Map<string, Id>>;
}

type Command = fc.AsyncCommand<Model, School>;

function same(actual: unknown, expected: unknown, what: string): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`${what}: the service gave ${a}, the model expected ${e}`);
}

const heard = (sid: string, name: string, payload: object): Heard =>
  `${sid} ${name} ${JSON.stringify(payload)}`;

/** What the manager hears when teacher `t` comes, goes or ends. */
const managerHears = (name: string, t: Id) => heard(MANAGER, name, { user_id: t });

/** What the manager hears when teacher `t`'s app went away for `reason`. */
const teacherLeft = (t: Id, reason: string) =>
  heard(MANAGER, 'teacher_disconnect', { user_id: t, reason });

/** The seat map of a join_lesson answer's data. */
const seatsIn = (data: unknown) => (data as { seats: Record<string, string> }).seats;

function seatsOf(model: Model, lessonId: Id): Record<string, string> {
  const taken = model.seats.get(lessonId) ?? new Map<string, Id>();
  return Object.fromEntries(
    Array.from({ length: SEAT_COUNT }, (_, n) => [String(n + 1), taken.get(String(n + 1)) ?? '']),
  );
}

/** A command whose `run` plays it and checks what was heard and what the database holds. */
function command<A>(
  name: string,
  args: fc.Arbitrary<A>,
  check: (a: A, model: Model) => boolean,
  run: (a: A, model: Model, real: School) => Promise<Heard[]>,
): fc.Arbitrary<Command> {
  return args.map((a) => ({
    check: (model) => check(a, model),
    run: async (model, real) => {
      const expected = await run(a, model, real);
      same(real.takeHeard(), [...expected].sort(), `events heard after ${name}`);
      same(await real.statuses(), Object.fromEntries(model.status), `lessons after ${name}`);
    },
    toString: () => `${name}(${JSON.stringify(a)})`,
  }));
}

const teacher = fc.constantFrom(...TEACHERS);
const student = fc.constantFrom(...STUDENTS);
const lesson = fc.constantFrom(...LESSONS.map((row) => row.id));
const always = () => true;

/** Starts the lesson when its own teacher joins a scheduled one. */
function joinAnswerExpected(model: Model, userId: Id, lessonId: Id, isTeacher: boolean) {
  const row = LESSONS.find((candidate) => candidate.id === lessonId) as Lesson;
  if (row.orgId !== ORG) return 'lesson_not_found';
  if (isTeacher && row.teacherId !== userId) return 'forbidden';
  if (model.status.get(lessonId) === 'ended') return 'lesson_ended';
  return 'ok';
}

const commands = [
  command(
    'teacherConnects',
    teacher,
    // A teacher logged out on an app that stays open may connect again from another one.
    (t, model) => model.teacherApps.get(t)?.loggedOut !== false,
    async (t, model, real) => {
      const sid = real.newSid(t);
      const result = await real.handshake(sid, { userId: t, orgId: ORG, role: 'teacher' });
      const cooling = model.nowMs < (model.cooldownUntilMs.get(t) ?? 0);
      if (cooling) {
        same(result.ok ? 'ok' : result.error.code, 'cooldown', `teacherConnects(${t})`);
        return [];
      }
      const back = model.lastLesson.get(t) ?? null;
      same(result.ok ? result.value.lessonId : result.error.code, back, `teacherConnects(${t})`);
      if (!result.ok) return [];
      const loggedOut = real.teacherApps.get(t);
      const modelledLoggedOut = model.teacherApps.get(t);
      if (loggedOut !== undefined && modelledLoggedOut !== undefined) {
        real.loggedOutApps.set(loggedOut.sid, loggedOut);
        model.loggedOutApps.push({ ...modelledLoggedOut, teacher: t });
      }
      real.teacherApps.set(t, result.value.socket);
      model.teacherApps.set(t, {
        sid,
        loggedOut: false,
        lessons: new Set(back === null ? [] : [back]),
      });
      model.graceUntilMs.delete(t);
      return [managerHears('teacher_connect', t)];
    },
  ),
  command(
    'teacherLeaves',
    teacher,
    (t, model) => model.teacherApps.has(t),
    async (t, model, real) => {
      const app = real.teacherApps.get(t);
      const modelled = model.teacherApps.get(t);
      if (app === undefined || modelled === undefined) throw new Error(`${t} has no app`);
      await real.disconnect(app);
      real.teacherApps.delete(t);
      model.teacherApps.delete(t);
      if (modelled.loggedOut) return [];
      model.graceUntilMs.set(t, model.nowMs + TIMINGS.disconnectGraceS * 1000);
      return [teacherLeft(t, 'transport close')];
    },
  ),
  command(
    'teacherLogsOut',
    teacher,
    (t, model) => model.teacherApps.get(t)?.loggedOut === false,
    async (t, model, real) => {
      const app = real.teacherApps.get(t);
      if (app === undefined) throw new Error(`${t} has no app`);
      const answer = await real.request(app, { name: 'logout', userId: t, orgId: ORG });
      same(answer, { ok: true, value: {} }, `teacherLogsOut(${t})`);
      const modelled = model.teacherApps.get(t);
      if (modelled !== undefined) modelled.loggedOut = true;
      return [managerHears('logout', t)];
    },
  ),
  command(
    'loggedOutAppCloses',
    fc.nat(),
    (_, model) => model.loggedOutApps.length > 0,
    async (n, model, real) => {
      const [left] = model.loggedOutApps.splice(n % model.loggedOutApps.length, 1);
      const app = real.loggedOutApps.get(left?.sid ?? '');
      if (app === undefined) throw new Error(`${left?.sid} is not open`);
      real.loggedOutApps.delete(app.sid);
      await real.disconnect(app);
      return [];
    },
  ),
  command('adminForcesOut', teacher, always, async (t, model, real) => {
    const admin: SocketOf = {
      sid: MANAGER,
      identity: { userId: 'm1', orgId: ORG, role: 'admin', kind: 'manager_web' },
    };
    const answer = await real.use('forceLogout').execute({ socket: admin, userId: t, orgId: ORG });
    const app = model.teacherApps.get(t);
    // Every open app of the teacher is forced off, logged out or not.
    const loggedOut = model.loggedOutApps.filter((left) => left.teacher === t);
    const apps = [...(app === undefined ? [] : [app]), ...loggedOut].map((open) => open.sid);
    same(answer, { ok: true, value: { delivered: apps.length > 0 } }, `adminForcesOut(${t})`);
    same(real.forcedOff.splice(0).sort(), apps.sort(), `apps forced off by adminForcesOut(${t})`);
    model.cooldownUntilMs.set(t, model.nowMs + TIMINGS.cooldownS * 1000);
    const expected: Heard[] = [];
    for (const sid of apps) {
      const held = real.teacherApps.get(t)?.sid === sid ? real.teacherApps.get(t) : undefined;
      const socket = held ?? real.loggedOutApps.get(sid);
      if (socket === undefined) throw new Error(`${sid} is not open`);
      expected.push(heard(sid, 'force_logout', { user_id: t }));
      await real.disconnect(socket, 'io server disconnect');
      if (held === undefined) real.loggedOutApps.delete(sid);
      else real.teacherApps.delete(t);
    }
    model.loggedOutApps.splice(
      0,
      model.loggedOutApps.length,
      ...model.loggedOutApps.filter((left) => left.teacher !== t),
    );
    if (app !== undefined) {
      model.teacherApps.delete(t);
      if (!app.loggedOut) {
        model.graceUntilMs.set(t, model.nowMs + TIMINGS.disconnectGraceS * 1000);
        expected.push(teacherLeft(t, 'io server disconnect'));
      }
    }
    return expected;
  }),
  command(
    'teacherJoins',
    fc.tuple(teacher, lesson),
    ([t], model) => model.teacherApps.has(t),
    async ([t, lessonId], model, real) => {
      const app = real.teacherApps.get(t);
      if (app === undefined) throw new Error(`${t} has no app`);
      const answer = await real.request(app, {
        name: 'join_lesson',
        userId: t,
        lessonId,
        role: 'teacher',
      });
      const expected = joinAnswerExpected(model, t, lessonId, true);
      same(answer.ok ? 'ok' : answer.error.code, expected, `teacherJoins(${t}, ${lessonId})`);
      if (!answer.ok) return [];
      same(seatsIn(answer.value), seatsOf(model, lessonId), `seats shown to ${t} in ${lessonId}`);
      if (model.status.get(lessonId) === 'scheduled') model.status.set(lessonId, 'active');
      model.lastLesson.set(t, lessonId);
      model.teacherApps.get(t)?.lessons.add(lessonId);
      return [];
    },
  ),
  command('studentJoins', fc.tuple(student, lesson), always, async ([s, lessonId], model, real) => {
    const socket = real.studentWebs.get(s) as SocketOf;
    const answer = await real.request(socket, {
      name: 'join_lesson',
      userId: s,
      lessonId,
      role: 'student',
    });
    const expected = joinAnswerExpected(model, s, lessonId, false);
    same(answer.ok ? 'ok' : answer.error.code, expected, `studentJoins(${s}, ${lessonId})`);
    if (!answer.ok) return [];
    same(seatsIn(answer.value), seatsOf(model, lessonId), `seats shown to ${s} in ${lessonId}`);
    model.joined.get(s)?.add(lessonId);
    model.lastLesson.set(s, lessonId);
    return [];
  }),
  command(
    'studentSits',
    fc.tuple(student, lesson, fc.integer({ min: 1, max: SEAT_COUNT + 1 })),
    always,
    async ([s, lessonId, seatNumber], model, real) => {
      const seatId = String(seatNumber);
      const answer = await real.request(real.studentWebs.get(s) as SocketOf, {
        name: 'set_student_name',
        lessonId,
        studentId: s,
        displayName: `Student ${s}`,
        seatId,
      });
      const taken = model.seats.get(lessonId) ?? new Map<string, Id>();
      const holder = taken.get(seatId);
      let expected = 'ok';
      if (!model.joined.get(s)?.has(lessonId)) expected = 'not_in_lesson';
      else if (seatNumber > SEAT_COUNT) expected = 'seat_not_found';
      else if (holder !== undefined && holder !== s) expected = 'seat_taken';
      same(
        answer.ok ? 'ok' : answer.error.code,
        expected,
        `studentSits(${s}, ${lessonId}, ${seatId})`,
      );
      if (!answer.ok) return [];
      for (const [seat, who] of taken) if (who === s) taken.delete(seat);
      model.seats.set(lessonId, taken.set(seatId, s));
      const payload = { display_name: `Student ${s}`, seat_id: seatId, student_id: s };
      // The lesson's teacher sockets hear it, a logged-out app that is still open among them.
      return [...model.teacherApps.values(), ...model.loggedOutApps]
        .filter((app) => app.lessons.has(lessonId))
        .map((app) => heard(app.sid, 'set_student_name', payload));
    },
  ),
  // Steps that never add up to the grace period, so that no check falls on the very moment a
  // deadline is due, when the sweep may or may not have run yet: the node ends a session at its
  // deadline or up to a deadline timer's margin later.
  command('timePasses', fc.constantFrom(7, 41, 131), always, async (seconds, model, real) => {
    const expected: Heard[] = [];
    await real.scheduler.advance(seconds * 1000);
    model.nowMs += seconds * 1000;
    for (const [t, untilMs] of model.graceUntilMs) {
      if (untilMs > model.nowMs) continue;
      model.graceUntilMs.delete(t);
      expected.push(managerHears('logout', t));
      for (const row of LESSONS) {
        if (row.teacherId !== t || model.status.get(row.id) !== 'active') continue;
        model.status.set(row.id, 'ended');
        // Every socket in the lesson hears it: a logged-out app of the teacher that joined it too.
        for (const app of [...model.teacherApps.values(), ...model.loggedOutApps]) {
          if (app.lessons.has(row.id))
            expected.push(heard(app.sid, 'lesson_ended', { lesson_id: row.id }));
        }
        for (const s of STUDENTS) {
          if (model.joined.get(s)?.has(row.id)) {
            expected.push(
              heard(real.studentWebs.get(s)?.sid ?? s, 'lesson_ended', { lesson_id: row.id }),
            );
          }
        }
      }
    }
    return expected;
  }),
];

async function setUp(): Promise<{ model: Model; real: School }> {
  const real = new School();
  // The node's first look at the store, which holds no mark yet: a fresh store counts as one that
  // lost its data, and nothing of the school is in it to lose.
  await real.use('healStore').execute([]);
  await real.node.start();
  await real.handshake(MANAGER, { userId: 'm1', orgId: ORG, role: 'admin' }, 'manager');
  for (const s of STUDENTS) {
    const result = await real.handshake(real.newSid(s), { userId: s, orgId: ORG, role: 'student' });
    if (!result.ok) throw new Error(`${s} could not connect`);
    real.studentWebs.set(s, result.value.socket);
  }
  real.takeHeard();
  const model: Model = {
    nowMs: 0,
    teacherApps: new Map(),
    loggedOutApps: [],
    graceUntilMs: new Map(),
    cooldownUntilMs: new Map(),
    status: new Map(LESSONS.map((row) => [row.id, row.status])),
    lastLesson: new Map(),
    joined: new Map(STUDENTS.map((s) => [s, new Set<Id>()])),
    seats: new Map(),
  };
  return { model, real };
}

describe('the use cases, model-based', () => {
  it('answer, notify and end lessons as a small model of the school says, whatever clients and time do', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 50, size: 'large' }), async (steps) => {
        await fc.asyncModelRun(setUp, steps);
      }),
      budget(200),
    );
  });
});
