import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { VirtualClock } from '../../sim/virtual-clock.js';
import { InMemoryPresenceStore } from '../../src/adapters/in-memory/in-memory-presence-store.js';
import { RedisPresenceStore } from '../../src/adapters/redis/redis-presence-store.js';
import type { PresenceStore, SocketOf } from '../../src/application/ports/presence-store.js';
import type { Id } from '../../src/domain/ids.js';
import type { PresencePhase } from '../../src/domain/presence.js';
import { initialSeatMap } from '../../src/domain/seat-map.js';
import { epochAt, type SessionEpoch } from '../../src/domain/session.js';
import { deleteKeys, quietClient, uniquePrefix } from '../adapters/redis/fixtures.js';
import { hasRedis, REDIS_URL } from '../support/services.js';
import { budget } from './fast-check-budget.js';

/**
 * Model-based tests of the PresenceStore port: random sequences of its operations, each answer
 * compared with a small model of what the store means — which sockets keep each teacher's session
 * connected, which sessions are in their grace period or owed an end, who the directory names,
 * who sits where — rather than of how it keeps keys and TTLs. Time moves by whole seconds between
 * operations and by an hour in `expire`, which lets every session's liveness lapse (sockets and
 * alive hashes) while cooldowns and lessons outlast it, so the same commands run on the
 * in-memory store (virtual time) and on real Redis (keys deleted as expiry deletes them).
 */
const ORG = 'org-p';
const TEACHERS = ['t1', 't2'] as const;
const STUDENTS = ['s1', 's2'] as const;
const LESSONS = ['L1', 'L2'] as const;
const SEAT_COUNT = 2;
const PRESENCE_TTL_S = 600;
const GRACE_S = 600;
const LESSON_TTL_S = 7 * 86_400;
const COOLDOWN_S = 86_400;
/** Longer than any run's one-second ticks, so a claim lapses only when `expire` moves an hour. */
const LEASE_MS = 600_000;
const HOUR_MS = 3_600_000;

interface StoreUnderTest {
  readonly store: PresenceStore;
  nowMs(): number;
  /** Time moves one second. */
  tick(): void;
  /** Time moves an hour: every session's liveness has lapsed (and nothing else has). */
  expire(): Promise<void>;
  restartEmpty(): Promise<void>;
  close(): Promise<void>;
}

function inMemory(): StoreUnderTest {
  const clock = new VirtualClock();
  const store = new InMemoryPresenceStore(clock);
  return {
    store,
    nowMs: () => clock.nowMs(),
    tick: () => clock.advance(1_000),
    expire: async () => clock.advance(HOUR_MS),
    restartEmpty: async () => store.restartEmpty(),
    close: async () => {},
  };
}

function onRedis(redis: Redis): StoreUnderTest {
  const keyPrefix = uniquePrefix();
  const store = new RedisPresenceStore(redis, { keyPrefix });
  let offsetMs = 0;
  return {
    store,
    nowMs: () => Date.now() + offsetMs,
    tick: () => {
      offsetMs += 1_000;
    },
    // Expiry deletes the alive hashes; live sockets and deadlines are scored in the caller's time,
    // which moves; every other TTL here is far longer than the hour that passes.
    expire: async () => {
      offsetMs += HOUR_MS;
      await deleteKeys(redis, `${keyPrefix}alive:`);
    },
    restartEmpty: () => deleteKeys(redis, keyPrefix),
    close: () => deleteKeys(redis, keyPrefix),
  };
}

interface Session {
  phase: PresencePhase;
  /** The session's liveness (the alive hash) has not lapsed. */
  alive: boolean;
  epoch: SessionEpoch;
  sinceMs: number;
  lesson: Id | null;
  /** Its live sockets, the one connected or refreshed last at the end. */
  live: string[];
  /** An hour passed since `live` was last touched: every socket in it has lapsed. */
  lapsed: boolean;
  /** Its deadline has passed. */
  due: boolean;
  /** The epoch a claim on its end returned, while the claim's lease runs. */
  claimed: SessionEpoch | null;
}

interface Model {
  nextSid: number;
  /** Every socket a client holds, current or not (a store restart does not close them). */
  readonly sockets: Map<Id, string[]>;
  /** TeacherApp sockets that were admitted, as their node keeps them for refreshes. */
  readonly admitted: Set<string>;
  /** The user's socket and lesson, as the directory names them. */
  readonly directory: Map<Id, { sid: string; lesson: Id | null }>;
  readonly sessions: Map<Id, Session>;
  readonly cooling: Set<Id>;
  /** Lesson → user → the sid its membership names. */
  readonly members: Map<Id, Map<Id, string>>;
  /** Lesson → seat → student, for lessons whose seat map exists. */
  readonly seats: Map<Id, Map<string, Id>>;
  /** Whether the store holds a continuity mark (it has been looked at since it last started). */
  marked: boolean;
}

const emptyModel = (): Model => ({
  nextSid: 0,
  sockets: new Map(),
  admitted: new Set(),
  directory: new Map(),
  sessions: new Map(),
  cooling: new Set(),
  members: new Map(),
  seats: new Map(),
  marked: false,
});

const isTeacher = (userId: Id) => TEACHERS.includes(userId as (typeof TEACHERS)[number]);

const socketOf = (userId: Id, sid: string): SocketOf => ({
  sid,
  identity: isTeacher(userId)
    ? { userId, orgId: ORG, role: 'teacher', kind: 'teacher_app' }
    : { userId, orgId: ORG, role: 'student', kind: 'student_web' },
});

const teacher = (userId: Id) => ({ orgId: ORG, userId });

type Step = fc.AsyncCommand<Model, StoreUnderTest>;

/** A command: `run` plays it on the store and on the model and throws on any disagreement. */
function step<A>(
  name: string,
  args: fc.Arbitrary<A>,
  run: (a: A, model: Model, real: StoreUnderTest) => Promise<void>,
): fc.Arbitrary<Step> {
  return args.map((a) => ({
    check: () => true,
    run: async (model, real) => {
      real.tick();
      await run(a, model, real);
    },
    toString: () => `${name}(${JSON.stringify(a)})`,
  }));
}

function same(actual: unknown, expected: unknown, what: string): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`${what}: the store answered ${a}, the model expected ${e}`);
}

function newSocket(model: Model, userId: Id): string {
  model.nextSid += 1;
  const sid = `sid-${model.nextSid}`;
  model.sockets.set(userId, [...(model.sockets.get(userId) ?? []), sid]);
  return sid;
}

/** The user's newest socket, or a new one when it has none; `older` picks the first one. */
function pickSocket(model: Model, userId: Id, older: boolean): string {
  const held = model.sockets.get(userId) ?? [];
  if (held.length === 0) return newSocket(model, userId);
  return (older ? held[0] : held.at(-1)) as string;
}

/** Lapsed sockets are forgotten by the next operation that keeps the session's sockets. */
function dropLapsed(session: Session): void {
  if (session.lapsed) session.live = [];
  session.lapsed = false;
}

/** The socket is live again, as the one touched last, and the session alive. */
function makeLive(session: Session, sid: string): void {
  dropLapsed(session);
  session.live = [...session.live.filter((other) => other !== sid), sid];
  session.alive = true;
  session.due = false;
}

const membersOf = (model: Model, lesson: Id): Map<Id, string> => {
  let members = model.members.get(lesson);
  if (members === undefined) {
    members = new Map();
    model.members.set(lesson, members);
  }
  return members;
};

const teacherId = fc.constantFrom(...TEACHERS);
const studentId = fc.constantFrom(...STUDENTS);
const lessonId = fc.constantFrom(...LESSONS);

const joinLesson = step(
  'joinLesson',
  fc.tuple(fc.constantFrom(...TEACHERS, ...STUDENTS), lessonId, fc.boolean()),
  async ([userId, lesson, withSeats], model, real) => {
    const sid = pickSocket(model, userId, false);
    const answer = await real.store.joinLesson({
      socket: socketOf(userId, sid),
      lessonId: lesson,
      seatCount: SEAT_COUNT,
      lessonTtlS: LESSON_TTL_S,
      ...(withSeats ? { seats: initialSeatMap(SEAT_COUNT) } : {}),
    });
    let seats = model.seats.get(lesson);
    if (seats === undefined && !withSeats) {
      same(answer, { kind: 'needs_seat_map' }, 'joinLesson without seats');
      return;
    }
    if (seats === undefined) {
      seats = new Map();
      model.seats.set(lesson, seats);
    }
    const expected = Object.fromEntries(
      Array.from({ length: SEAT_COUNT }, (_, n) => [String(n + 1), seats.get(String(n + 1)) ?? '']),
    );
    const entry = model.directory.get(userId);
    same(
      answer,
      { kind: 'joined', seats: expected, previousLessonId: entry?.lesson ?? null },
      'joinLesson',
    );
    membersOf(model, lesson).set(userId, sid);
    if (entry?.sid === sid) entry.lesson = lesson;
    const session = model.sessions.get(userId);
    if (session?.live.includes(sid)) session.lesson = lesson;
  },
);

const claimSeat = step(
  'claimSeat',
  fc.tuple(studentId, lessonId, fc.integer({ min: 1, max: SEAT_COUNT + 1 }), fc.boolean()),
  async ([student, lesson, seatNumber, older], model, real) => {
    const seatId = String(seatNumber);
    const sid = pickSocket(model, student, older);
    const answer = await real.store.claimSeat({
      socket: socketOf(student, sid),
      lessonId: lesson,
      seatId,
    });
    const seats = model.seats.get(lesson);
    const holder = seats?.get(seatId);
    const held =
      seats === undefined ? undefined : [...seats].find(([, who]) => who === student)?.[0];
    let expected: unknown;
    if (model.members.get(lesson)?.get(student) !== sid) {
      expected = { ok: false, error: 'not_in_lesson' };
    } else if (seats === undefined) {
      expected = { ok: false, error: 'needs_seat_map' };
    } else if (seatNumber > SEAT_COUNT) {
      expected = { ok: false, error: 'seat_not_found' };
    } else if (holder !== undefined && holder !== student) {
      expected = { ok: false, error: 'seat_taken' };
    } else if (holder === student) {
      expected = { ok: true, value: { alreadyHeld: true, releasedSeatId: null } };
    } else {
      expected = { ok: true, value: { alreadyHeld: false, releasedSeatId: held ?? null } };
      if (held !== undefined) seats.delete(held);
      seats.set(seatId, student);
    }
    same(answer, expected, `claimSeat(${student}, ${lesson}, ${seatId})`);
  },
);

const connectTeacher = step('connectTeacher', teacherId, async (userId, model, real) => {
  const sid = newSocket(model, userId);
  const nowMs = real.nowMs();
  const outcome = await real.store.connectTeacher({
    socket: socketOf(userId, sid),
    nowMs,
    presenceTtlS: PRESENCE_TTL_S,
    lessonTtlS: LESSON_TTL_S,
    // The model's cooldowns are the store's own; the database behind it holds none.
    noCooldownInDatabase: true,
  });
  if (model.cooling.has(userId)) {
    same(outcome.kind, 'cooldown', `connectTeacher(${userId}) while cooling down`);
    return;
  }
  const session = model.sessions.get(userId);
  const change =
    session === undefined
      ? 'new_session'
      : session.phase === 'connected'
        ? session.alive
          ? 'another_device'
          : 'reconnect'
        : session.alive
          ? 'reconnect'
          : 'new_session';
  const lesson =
    model.directory.get(userId)?.lesson ??
    (change === 'new_session' ? null : (session?.lesson ?? null));
  const epoch = epochAt(nowMs);
  same(outcome, { kind: 'connected', epoch, lessonId: lesson, change }, 'connectTeacher');
  model.admitted.add(sid);
  if (session === undefined || change === 'new_session') {
    model.sessions.set(userId, {
      phase: 'connected',
      alive: true,
      epoch,
      sinceMs: nowMs,
      lesson,
      live: [sid],
      lapsed: false,
      due: false,
      claimed: null,
    });
  } else {
    session.epoch = epoch;
    session.lesson = lesson;
    if (change === 'reconnect') {
      session.phase = 'connected';
      session.sinceMs = nowMs;
    }
    makeLive(session, sid);
  }
  model.directory.set(userId, { sid, lesson });
  if (lesson !== null) membersOf(model, lesson).set(userId, sid);
});

const disconnectTeacher = step(
  'disconnectTeacher',
  fc.tuple(teacherId, fc.boolean()),
  async ([userId, older], model, real) => {
    if ((model.sockets.get(userId) ?? []).length === 0) return;
    const sid = pickSocket(model, userId, older);
    const nowMs = real.nowMs();
    const outcome = await real.store.disconnectTeacher({
      socket: socketOf(userId, sid),
      nowMs,
      graceS: GRACE_S,
      lessonTtlS: LESSON_TTL_S,
    });
    const session = model.sessions.get(userId);
    if (session?.phase !== 'connected' || !session.live.includes(sid)) {
      same(outcome, { kind: 'not_live' }, 'disconnectTeacher');
      return;
    }
    session.live = session.live.filter((other) => other !== sid);
    dropLapsed(session);
    const latest = session.live.at(-1);
    if (latest !== undefined) {
      same(outcome, { kind: 'other_devices', lessonId: session.lesson }, 'disconnectTeacher');
      const entry = model.directory.get(userId);
      if (entry?.sid === sid) entry.sid = latest;
      return;
    }
    same(
      outcome,
      { kind: 'grace', lessonId: session.lesson, deadlineMs: nowMs + GRACE_S * 1000 },
      'disconnectTeacher',
    );
    Object.assign(session, { phase: 'grace', sinceMs: nowMs, alive: true, due: false });
  },
);

const refreshTeacher = step(
  'refreshTeacher',
  fc.tuple(teacherId, fc.boolean()),
  async ([userId, older], model, real) => {
    const admitted = (model.sockets.get(userId) ?? []).filter((sid) => model.admitted.has(sid));
    const sid = older ? admitted[0] : admitted.at(-1);
    if (sid === undefined) return;
    const nowMs = real.nowMs();
    const [outcome] = await real.store.refreshTeachers({
      teachers: [{ socket: socketOf(userId, sid), epoch: epochAt(nowMs) }],
      nowMs,
      presenceTtlS: PRESENCE_TTL_S,
      lessonTtlS: LESSON_TTL_S,
    });
    const session = model.sessions.get(userId);
    const expected =
      session === undefined
        ? 'ended'
        : session.phase === 'connected'
          ? 'refreshed'
          : session.alive
            ? 'reconnected'
            : 'ended';
    same(outcome, expected, `refreshTeacher(${userId}, ${sid})`);
    if (session === undefined || expected === 'ended') return;
    if (expected === 'reconnected') {
      session.phase = 'connected';
      session.sinceMs = nowMs;
    }
    makeLive(session, sid);
    const entry = model.directory.get(userId);
    if (entry === undefined) model.directory.set(userId, { sid, lesson: session.lesson });
    else if (!session.live.includes(entry.sid)) entry.sid = sid;
  },
);

/**
 * Joins and seat claims weigh three times as much (seat races need several in a row), and so do
 * a teacher's connects and disconnects (several devices need several in a row).
 */
const commands = [
  joinLesson,
  joinLesson,
  joinLesson,
  claimSeat,
  claimSeat,
  claimSeat,
  connectTeacher,
  connectTeacher,
  connectTeacher,
  disconnectTeacher,
  disconnectTeacher,
  disconnectTeacher,
  refreshTeacher,
  step('connectStudent', studentId, async (userId, model, real) => {
    const sid = pickSocket(model, userId, false);
    const lesson = model.directory.get(userId)?.lesson ?? null;
    const answer = await real.store.connectStudent({
      socket: socketOf(userId, sid),
      lessonTtlS: LESSON_TTL_S,
    });
    same(answer, { lessonId: lesson }, 'connectStudent');
    model.directory.set(userId, { sid, lesson });
    if (lesson !== null) membersOf(model, lesson).set(userId, sid);
  }),
  step('logoutTeacher', teacherId, async (userId, model, real) => {
    const had = await real.store.logoutTeacher(teacher(userId));
    same(had, model.sessions.has(userId), `logoutTeacher(${userId})`);
    model.sessions.delete(userId);
  }),
  step('startCooldown', teacherId, async (userId, model, real) => {
    const answer = await real.store.startCooldown({
      teacher: teacher(userId),
      cooldownS: COOLDOWN_S,
    });
    same(answer, { sid: model.directory.get(userId)?.sid ?? null }, 'startCooldown');
    model.cooling.add(userId);
  }),
  step('isTeacherOnline', teacherId, async (userId, model, real) => {
    const session = model.sessions.get(userId);
    same(
      await real.store.isTeacherOnline(teacher(userId)),
      session?.phase === 'connected' && session.alive,
      `isTeacherOnline(${userId})`,
    );
  }),
  step('snapshot', fc.constant(null), async (_none, model, real) => {
    const expected = [...model.sessions]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([userId, session]) => ({
        userId,
        phase: session.phase,
        loginTimeS: session.epoch,
        sinceMs: session.sinceMs,
        lessonId: session.lesson,
      }));
    same(await real.store.snapshot(ORG), expected, 'snapshot');
  }),
  step('expire', fc.constant(null), async (_none, model, real) => {
    await real.expire();
    for (const session of model.sessions.values()) {
      session.alive = false;
      session.lapsed = true;
      session.due = true;
      // Claims are leases: an hour later they have lapsed and the sessions are due again.
      session.claimed = null;
    }
  }),
  step('restartEmpty', fc.constant(null), async (_none, model, real) => {
    await real.restartEmpty();
    for (const map of [model.directory, model.sessions, model.members, model.seats]) map.clear();
    model.cooling.clear();
    model.marked = false;
  }),
  step('checkContinuity', fc.constant(null), async (_none, model, real) => {
    const { lost } = await real.store.checkContinuity(null);
    same(lost, !model.marked, 'checkContinuity');
    model.marked = true;
  }),
  step('dueSessionEnds', fc.constant(null), async (_none, model, real) => {
    const due = await real.store.dueSessionEnds(real.nowMs(), 100);
    const expected = [...model.sessions]
      .filter(([, session]) => session.due && session.claimed === null)
      .map(([userId]) => userId);
    same(due.map((ref) => ref.userId).sort(), expected.sort(), 'dueSessionEnds');
  }),
  step('settleExpiredSession', teacherId, async (userId, model, real) => {
    const nowMs = real.nowMs();
    const outcome = await real.store.settleExpiredSession({
      teacher: teacher(userId),
      nowMs,
      graceS: GRACE_S,
      leaseMs: LEASE_MS,
    });
    const session = model.sessions.get(userId);
    const what = `settleExpiredSession(${userId})`;
    if (session === undefined || !session.due || session.claimed !== null) {
      same(outcome, { kind: 'none' }, what);
    } else if (session.phase === 'connected') {
      same(
        outcome,
        { kind: 'grace', lessonId: session.lesson, deadlineMs: nowMs + GRACE_S * 1000 },
        what,
      );
      Object.assign(session, {
        phase: 'grace',
        sinceMs: nowMs,
        alive: true,
        due: false,
        live: [],
        lapsed: false,
      });
    } else {
      same(outcome, { kind: 'claimed', epoch: session.epoch }, what);
      session.claimed = session.epoch;
    }
  }),
  step(
    'completeSessionEnd',
    fc.tuple(teacherId, fc.boolean()),
    async ([userId, stale], model, real) => {
      // With the epoch of the claim, or of a session long gone (which must change nothing).
      const session = model.sessions.get(userId);
      const epoch = stale || session?.claimed == null ? 1 : session.claimed;
      await real.store.completeSessionEnd(teacher(userId), epoch);
      if (session?.epoch === epoch && !session.alive) model.sessions.delete(userId);
    },
  ),
];

async function runModel(make: () => StoreUnderTest, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'large' }), async (steps) => {
      const real = make();
      try {
        await fc.asyncModelRun(() => ({ model: emptyModel(), real }), steps);
      } finally {
        await real.close();
      }
    }),
    budget(numRuns),
  );
}

describe('PresenceStore, model-based', () => {
  it('the in-memory store answers every sequence of operations as the model does', async () => {
    await runModel(inMemory, 2000);
  });
});

describe.runIf(hasRedis)('PresenceStore on real Redis, model-based', () => {
  it('the Redis store answers every sequence of operations as the model does', async () => {
    const redis = quietClient(REDIS_URL, 'classroom-property-test');
    try {
      await runModel(() => onRedis(redis), 40);
    } finally {
      redis.disconnect();
    }
  });
});
