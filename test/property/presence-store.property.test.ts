import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { VirtualClock } from '../../sim/virtual-clock.js';
import { InMemoryPresenceStore } from '../../src/adapters/in-memory/in-memory-presence-store.js';
import { RedisPresenceStore } from '../../src/adapters/redis/redis-presence-store.js';
import type { PresenceStore, SocketOf } from '../../src/application/ports/presence-store.js';
import type { Id } from '../../src/domain/ids.js';
import type { SessionEpoch } from '../../src/domain/session.js';
import { deleteKeys, quietClient, uniquePrefix } from '../adapters/redis/fixtures.js';
import { hasRedis, REDIS_URL } from '../support/services.js';
import { budget } from './fast-check-budget.js';

/**
 * Model-based tests of the PresenceStore port: random sequences of its operations, each answer
 * compared with a small model of what the store means — who holds each user's current socket,
 * which teachers are alive, which sessions are owed an end, who sits where — rather than of how
 * it keeps keys and TTLs. Time only moves by whole seconds between operations and by an hour in
 * `expire`, which lets every alive hash lapse while cooldowns and lessons outlast it, so the same
 * commands run on the in-memory store (virtual time) and on real Redis (keys deleted as expiry
 * deletes them).
 */
const ORG = 'org-p';
const TEACHERS = ['t1', 't2'] as const;
const STUDENTS = ['s1', 's2'] as const;
const LESSONS = ['L1', 'L2'] as const;
const SEAT_COUNT = 2;
const PRESENCE_TTL_S = 600;
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
  /** Time moves an hour: every alive hash has expired (and nothing else has). */
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
    // Expiry deletes the key; every other TTL here is far longer than the hour that passes.
    expire: async () => {
      offsetMs += HOUR_MS;
      await deleteKeys(redis, `${keyPrefix}alive:`);
    },
    restartEmpty: () => deleteKeys(redis, keyPrefix),
    close: () => deleteKeys(redis, keyPrefix),
  };
}

interface Model {
  nextSid: number;
  /** Every socket a client holds, current or not (a store restart does not close them). */
  readonly sockets: Map<Id, string[]>;
  /** The user's current socket and lesson, as the directory names them. */
  readonly directory: Map<Id, { sid: string; lesson: Id | null }>;
  readonly alive: Map<Id, 'connect' | 'disconnect'>;
  /** The epoch each TeacherApp socket's connect started, as its node keeps it for refreshes. */
  readonly socketEpochs: Map<string, SessionEpoch>;
  /** Teachers with a session that has not ended or been logged out, by its epoch. */
  readonly sessions: Map<Id, SessionEpoch>;
  /** Sessions whose end is claimed, with the epoch the claim returned. */
  readonly claimed: Map<Id, SessionEpoch>;
  readonly cooling: Set<Id>;
  /** Lesson → the users who joined it (teachers and students). */
  readonly members: Map<Id, Set<Id>>;
  /** Lesson → seat → student, for lessons whose seat map exists. */
  readonly seats: Map<Id, Map<string, Id>>;
}

const emptyModel = (): Model => ({
  nextSid: 0,
  sockets: new Map(),
  socketEpochs: new Map(),
  directory: new Map(),
  alive: new Map(),
  sessions: new Map(),
  claimed: new Map(),
  cooling: new Set(),
  members: new Map(),
  seats: new Map(),
});

const socketOf = (userId: Id, sid: string): SocketOf => ({
  sid,
  identity: TEACHERS.includes(userId as (typeof TEACHERS)[number])
    ? { userId, orgId: ORG, role: 'teacher', kind: 'teacher_app' }
    : { userId, orgId: ORG, role: 'student', kind: 'student_web' },
});

const teacher = (userId: Id) => ({ orgId: ORG, userId });
const epochNow = (real: StoreUnderTest) => Math.floor(real.nowMs() / 1000);

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

/** The user's newest socket, or a new one when it has none; `older` picks an earlier one. */
function pickSocket(model: Model, userId: Id, older: boolean): string {
  const held = model.sockets.get(userId) ?? [];
  if (held.length === 0 || (!older && held.length < 3)) {
    model.nextSid += 1;
    const sid = `sid-${model.nextSid}`;
    model.sockets.set(userId, [...held, sid]);
    return sid;
  }
  return (older ? held[0] : held.at(-1)) as string;
}

function newSession(model: Model, userId: Id, sid: string, lesson: Id | null, epoch: SessionEpoch) {
  model.directory.set(userId, { sid, lesson });
  model.alive.set(userId, 'connect');
  model.sessions.set(userId, epoch);
  model.claimed.delete(userId);
}

const teacherId = fc.constantFrom(...TEACHERS);
const studentId = fc.constantFrom(...STUDENTS);
const lessonId = fc.constantFrom(...LESSONS);

const joinLesson = step(
  'joinLesson',
  fc.tuple(fc.constantFrom(...TEACHERS, ...STUDENTS), lessonId),
  async ([userId, lesson], model, real) => {
    const sid = pickSocket(model, userId, false);
    const answer = await real.store.joinLesson({
      socket: socketOf(userId, sid),
      lessonId: lesson,
      seatCount: SEAT_COUNT,
      lessonTtlS: LESSON_TTL_S,
    });
    let seats = model.seats.get(lesson);
    if (seats === undefined) {
      seats = new Map();
      model.seats.set(lesson, seats);
    }
    const expected = Object.fromEntries(
      Array.from({ length: SEAT_COUNT }, (_, n) => [String(n + 1), seats.get(String(n + 1)) ?? '']),
    );
    const entry = model.directory.get(userId);
    same(answer, { seats: expected, previousLessonId: entry?.lesson ?? null }, 'joinLesson');
    const members = model.members.get(lesson) ?? new Set<Id>();
    model.members.set(lesson, members.add(userId));
    if (entry?.sid === sid) entry.lesson = lesson;
  },
);

const claimSeat = step(
  'claimSeat',
  fc.tuple(studentId, lessonId, fc.integer({ min: 1, max: SEAT_COUNT + 1 })),
  async ([student, lesson, seatNumber], model, real) => {
    const seatId = String(seatNumber);
    const answer = await real.store.claimSeat({ lessonId: lesson, studentId: student, seatId });
    const seats = model.seats.get(lesson);
    const holder = seats?.get(seatId);
    const held =
      seats === undefined ? undefined : [...seats].find(([, who]) => who === student)?.[0];
    let expected: unknown;
    if (seats === undefined || !model.members.get(lesson)?.has(student)) {
      expected = { ok: false, error: 'not_in_lesson' };
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

/** Joins and seat claims weigh three times as much: seat races need several of them in a row. */
const commands = [
  joinLesson,
  joinLesson,
  joinLesson,
  claimSeat,
  claimSeat,
  claimSeat,
  step('connectTeacher', teacherId, async (userId, model, real) => {
    model.nextSid += 1;
    const sid = `sid-${model.nextSid}`;
    model.sockets.set(userId, [...(model.sockets.get(userId) ?? []), sid]);
    const outcome = await real.store.connectTeacher({
      socket: socketOf(userId, sid),
      nowMs: real.nowMs(),
      presenceTtlS: PRESENCE_TTL_S,
      lessonTtlS: LESSON_TTL_S,
    });
    if (model.cooling.has(userId)) {
      same(outcome.kind, 'cooldown', `connectTeacher(${userId}) while cooling down`);
      return;
    }
    const lesson = model.directory.get(userId)?.lesson ?? null;
    same(outcome, { kind: 'connected', epoch: epochNow(real), lessonId: lesson }, 'connectTeacher');
    newSession(model, userId, sid, lesson, epochNow(real));
    model.socketEpochs.set(sid, epochNow(real));
    if (lesson !== null) model.members.get(lesson)?.add(userId);
  }),
  step('connectStudent', studentId, async (userId, model, real) => {
    const sid = pickSocket(model, userId, false);
    const lesson = model.directory.get(userId)?.lesson ?? null;
    const answer = await real.store.connectStudent({
      socket: socketOf(userId, sid),
      lessonTtlS: LESSON_TTL_S,
    });
    same(answer, { lessonId: lesson }, 'connectStudent');
    model.directory.set(userId, { sid, lesson });
    if (lesson !== null) model.members.get(lesson)?.add(userId);
  }),
  step(
    'disconnectTeacher',
    fc.tuple(teacherId, fc.boolean()),
    async ([userId, older], model, real) => {
      if ((model.sockets.get(userId) ?? []).length === 0) return;
      const sid = pickSocket(model, userId, older);
      const outcome = await real.store.disconnectTeacher({
        socket: socketOf(userId, sid),
        nowMs: real.nowMs(),
        graceS: PRESENCE_TTL_S,
        lessonTtlS: LESSON_TTL_S,
      });
      const entry = model.directory.get(userId);
      const current = entry?.sid === sid;
      same(
        outcome,
        { current, lessonId: current ? (entry?.lesson ?? null) : null },
        'disconnectTeacher',
      );
      if (current && model.alive.has(userId)) model.alive.set(userId, 'disconnect');
    },
  ),
  step(
    'refreshTeacher',
    fc.tuple(teacherId, fc.boolean()),
    async ([userId, older], model, real) => {
      const connected = (model.sockets.get(userId) ?? []).filter((sid) =>
        model.socketEpochs.has(sid),
      );
      const sid = older ? connected[0] : connected.at(-1);
      if (sid === undefined) return;
      const epoch = model.socketEpochs.get(sid) as SessionEpoch;
      await real.store.refreshTeachers({
        teachers: [{ socket: socketOf(userId, sid), epoch }],
        nowMs: real.nowMs(),
        presenceTtlS: PRESENCE_TTL_S,
        lessonTtlS: LESSON_TTL_S,
      });
      const entry = model.directory.get(userId);
      if (entry === undefined) {
        // The directory a restart emptied: the socket registers again with its own epoch.
        newSession(model, userId, sid, null, epoch);
      } else if (
        entry.sid !== sid &&
        model.alive.has(userId) &&
        (model.sessions.get(userId) ?? epoch) < epoch
      ) {
        // An older session holds the directory: the newer socket wins it back, lesson and all.
        newSession(model, userId, sid, entry.lesson, epoch);
        if (entry.lesson !== null) model.members.get(entry.lesson)?.add(userId);
      }
    },
  ),
  step('logoutTeacher', teacherId, async (userId, model, real) => {
    await real.store.logoutTeacher(teacher(userId));
    model.alive.delete(userId);
    model.sessions.delete(userId);
    model.claimed.delete(userId);
  }),
  step('startCooldown', teacherId, async (userId, model, real) => {
    const answer = await real.store.startCooldown({
      teacher: teacher(userId),
      cooldownS: COOLDOWN_S,
    });
    same(answer, { sid: model.directory.get(userId)?.sid ?? null }, 'startCooldown');
    model.cooling.add(userId);
  }),
  step('expire', fc.constant(null), async (_none, model, real) => {
    await real.expire();
    model.alive.clear();
    // Claims are leases: an hour later they have lapsed and the sessions are due again.
    model.claimed.clear();
  }),
  step('restartEmpty', fc.constant(null), async (_none, model, real) => {
    await real.restartEmpty();
    for (const map of [
      model.directory,
      model.alive,
      model.sessions,
      model.claimed,
      model.members,
      model.seats,
    ]) {
      map.clear();
    }
    model.cooling.clear();
  }),
  step('dueSessionEnds', fc.constant(null), async (_none, model, real) => {
    const due = await real.store.dueSessionEnds(real.nowMs(), 100);
    const expected = [...model.sessions.keys()].filter(
      (userId) => !model.alive.has(userId) && !model.claimed.has(userId),
    );
    same(due.map((ref) => ref.userId).sort(), expected.sort(), 'dueSessionEnds');
  }),
  step('claimSessionEnd', teacherId, async (userId, model, real) => {
    const claim = await real.store.claimSessionEnd(teacher(userId), real.nowMs(), LEASE_MS);
    const epoch = model.sessions.get(userId);
    const claimable = epoch !== undefined && !model.alive.has(userId) && !model.claimed.has(userId);
    same(claim, claimable ? { epoch } : null, `claimSessionEnd(${userId})`);
    if (claimable) model.claimed.set(userId, epoch);
  }),
  step(
    'completeSessionEnd',
    fc.tuple(teacherId, fc.boolean()),
    async ([userId, stale], model, real) => {
      // With the epoch of the claim, or of a session long gone (which must change nothing).
      const claimed = model.claimed.get(userId);
      const epoch = stale || claimed === undefined ? 1 : claimed;
      await real.store.completeSessionEnd(teacher(userId), epoch);
      if (model.sessions.get(userId) === epoch && !model.alive.has(userId)) {
        model.sessions.delete(userId);
        model.claimed.delete(userId);
      }
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
    await runModel(inMemory, 500);
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
