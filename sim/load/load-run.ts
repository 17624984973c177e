import { performance } from 'node:perf_hooks';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import type { Lesson } from '../../src/domain/lesson.js';
import { DeliveryLedger, type DeliveryReport } from './delivery-ledger.js';
import { type Ack, type Handshake, LoadClient } from './load-client.js';
import {
  changedSeries,
  eventOutcomeOf,
  type Samples,
  type SeriesChange,
  scrapeMetrics,
} from './metrics-scrape.js';
import { forEachLimited } from './pool.js';
import type { LessonMember, Member, Population } from './population.js';
import { RequestStats, type RequestSummary } from './request-stats.js';

export interface LoadOptions {
  /** Server nodes (origins); clients are dealt to them in turn. */
  readonly urls: readonly string[];
  /** The nodes' AUTH_JWT_SECRET: every client gets its own HS256 token. */
  readonly secret: string;
  readonly population: Population;
  /** The whole run, connections included; the steady phase fills what setup leaves of it. */
  readonly durationMs: number;
  /** Steady-phase actions per second, all clients together (a rename, a reconnect, …). */
  readonly ratePerS: number;
  /** The nodes' RATE_LIMIT_PER_S: no socket is driven at more than half of it. */
  readonly rateLimitPerS: number;
  /** `undefined`: the stock client's default (long-polling, then the upgrade). */
  readonly transports?: readonly ('polling' | 'websocket')[];
  /** Handshakes in flight at once. */
  readonly connectConcurrency: number;
  /** How long to wait for expected server events before counting them lost. */
  readonly settleTimeoutMs: number;
  readonly ackTimeoutMs: number;
}

/** Pairs of students who claim the same seat at the same moment; one must get `seat_taken`. */
export interface RaceReport {
  readonly races: number;
  /** Races that did not end with exactly one winner and one `seat_taken`. */
  readonly anomalies: number;
  /** Seats acknowledged to a student while another still held them: must be 0. */
  readonly doubleBookings: number;
}

export interface LoadReport {
  readonly urls: readonly string[];
  readonly clients: {
    readonly managers: number;
    readonly teachers: number;
    readonly students: number;
  };
  readonly durationMs: number;
  readonly elapsedMs: number;
  /** Admitted handshakes per second during the opening wave (reconnects not included). */
  readonly connectRatePerS: number;
  /** By request name (`connect`, then the client events): outcomes and ack latency. */
  readonly requests: Readonly<Record<string, RequestSummary>>;
  /** Every failure by code, all requests together. */
  readonly errors: Readonly<Record<string, number>>;
  /** Failures the script provoked on purpose: the losers of seat races. */
  readonly expectedErrors: Readonly<Record<string, number>>;
  readonly unexpectedErrors: number;
  readonly delivery: DeliveryReport;
  readonly seats: RaceReport;
  /** Steady-phase actions done, and skipped because every student was busy or at its pace. */
  readonly actions: { readonly done: number; readonly skipped: number };
  /** The `classroom_*` series that moved on each node during the run. */
  readonly metrics: ReadonlyArray<{
    readonly url: string;
    readonly changed: readonly SeriesChange[];
  }>;
  /**
   * Where the nodes' `classroom_events_total` disagrees with the acknowledgements the driver got,
   * as `event outcome: driver vs nodes`; empty when they agree (only meaningful when nobody else
   * used the nodes meanwhile).
   */
  readonly counterMismatches: readonly string[];
  readonly notes: readonly string[];
}

/** A load run passes when nothing was lost, duplicated or unexpected. */
export function loadRunPassed(report: LoadReport): boolean {
  const { lost, duplicated, unexpected } = report.delivery;
  return (
    lost + duplicated + unexpected + report.unexpectedErrors === 0 &&
    report.seats.anomalies + report.seats.doubleBookings === 0
  );
}

/** Tokens outlive any run; they are for loopback nodes only. */
const TOKEN_TTL_S = 24 * 3600;
/** One race in this many students: a realistic share of classmates eyeing the same seat. */
const RACE_EVERY = 5;
/** Of every 20 steady-phase actions: one teacher reconnect, two student reconnects, the rest renames. */
const ACTION_CYCLE = 20;
const TEACHER_RECONNECT_AT = 19;
const STUDENT_RECONNECT_AT = new Set([4, 14]);
/** Sockets are paced at this share of the nodes' per-socket rate limit. */
const RATE_LIMIT_SHARE = 0.5;
const SCHEDULER_TICK_MS = 10;

interface Actor {
  /** The ledger's name for this user, across its sockets. */
  readonly key: string;
  readonly member: Member;
  readonly client: LoadClient;
}

interface Student extends Actor {
  readonly member: LessonMember;
  readonly number: number;
  seatId: string | null;
  names: number;
  busy: boolean;
  lastSentAtMs: number;
}

interface Classroom {
  readonly lesson: Lesson;
  readonly teacher: Actor;
  readonly students: Student[];
  /** The teacher is in the lesson: its students' seat claims are expected to reach it. */
  teacherPresent: boolean;
  /** A teacher reconnect is under way; its students hold still. */
  paused: boolean;
  readonly inFlight: Set<Promise<void>>;
}

/**
 * Drives real Socket.IO clients through a realistic lesson script against running nodes and
 * reports what happened:
 *
 * 1. one ManagerWeb per organisation connects;
 * 2. teachers connect (their managers expect `teacher_connect`) and join their lessons;
 * 3. students connect and join, then claim seats with a display name, some in pairs racing for one
 *    seat (the loser gets `seat_taken` and takes the pair's other seat); every claim acknowledged
 *    is expected at the lesson's teacher as `set_student_name`;
 * 4. until the duration is over, at `ratePerS`: students rename themselves, some students drop and
 *    come back (reconnect, rejoin, claim their seat again), some teachers drop and come back (their
 *    students hold still meanwhile, managers expect `teacher_disconnect` and `teacher_connect`);
 * 5. teachers log out (managers expect `logout`; the lessons stay open for the next run) and
 *    everyone disconnects.
 *
 * Every server event any client receives is matched against what it should have received.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const startedAt = performance.now();
  const stats = new RequestStats();
  const ledger = new DeliveryLedger();
  const notes = [...options.population.notes];
  const before = await Promise.all(options.urls.map((url) => scrapeMetrics(url)));
  const { managers, classrooms } = await castActors(options, stats, ledger);
  const races = { races: 0, anomalies: 0, doubleBookings: 0 };
  const expectedErrors: Record<string, number> = {};
  const seatHolders = new Map<string, string>();
  const settle = (keys: readonly string[]) => ledger.settled(keys, options.settleTimeoutMs);
  const managerKeysOf = (orgId: string) =>
    managers
      .filter((manager) => manager.member.orgId === orgId && manager.client.connected)
      .map((m) => m.key);
  const expectAtManagers = (event: string, teacher: Actor) => {
    for (const key of managerKeysOf(teacher.member.orgId)) {
      ledger.expect(key, event, { user_id: teacher.member.userId });
    }
  };

  /** Sends a seat claim; an acknowledged one is booked and expected at the teacher. */
  const claimSeat = async (
    room: Classroom,
    student: Student,
    seatId: string,
  ): Promise<Ack | null> => {
    student.names += 1;
    student.lastSentAtMs = performance.now();
    const payload = {
      lesson_id: room.lesson.id,
      display_name: `Student ${student.number} #${student.names}`,
      seat_id: seatId,
      student_id: student.member.userId,
    };
    const ack = await student.client.request('set_student_name', payload);
    if (ack?.ok) {
      const seatKey = `${room.lesson.id} ${seatId}`;
      const holder = seatHolders.get(seatKey);
      if (holder !== undefined && holder !== student.member.userId) races.doubleBookings += 1;
      if (student.seatId !== null && student.seatId !== seatId) {
        seatHolders.delete(`${room.lesson.id} ${student.seatId}`);
      }
      seatHolders.set(seatKey, student.member.userId);
      student.seatId = seatId;
      if (room.teacherPresent) {
        ledger.expect(room.teacher.key, 'set_student_name', {
          display_name: payload.display_name,
          seat_id: seatId,
          student_id: payload.student_id,
        });
      }
    }
    return ack;
  };

  const join = (actor: Actor, lessonId: string) =>
    actor.client.request('join_lesson', {
      user_id: actor.member.userId,
      lesson_id: lessonId,
      role: actor.member.role,
    });

  // 1–2: managers, then teachers, so that every teacher_connect has someone to hear it.
  const connectWaveStartedAt = performance.now();
  await forEachLimited(managers, options.connectConcurrency, (manager) => manager.client.connect());
  await forEachLimited(classrooms, options.connectConcurrency, async (room) => {
    if (!(await room.teacher.client.connect())) return;
    expectAtManagers('teacher_connect', room.teacher);
    room.teacherPresent = (await join(room.teacher, room.lesson.id))?.ok === true;
  });

  // 3: students connect and join; the seat map of the last join shows which seats are free.
  const seatMaps = new Map<Classroom, Record<string, string>>();
  const students = classrooms.flatMap((room) =>
    room.students.map((student) => ({ room, student })),
  );
  await forEachLimited(students, options.connectConcurrency, async ({ room, student }) => {
    if (!(await student.client.connect())) return;
    const ack = await join(student, room.lesson.id);
    if (ack?.ok) seatMaps.set(room, (ack.data as { seats: Record<string, string> }).seats);
  });
  const connectWaveMs = performance.now() - connectWaveStartedAt;
  const waveConnects = stats.okCount('connect');

  await Promise.all(
    classrooms.map(async (room) => {
      const seats = seatMaps.get(room);
      if (seats === undefined) return;
      const joined = room.students.filter((student) => student.client.connected);
      const targets = assignSeats(joined, seats);
      if (targets.size < joined.length) {
        notes.push(
          `${joined.length - targets.size} students of ${room.lesson.id} found no free seat and only watch`,
        );
      }
      const seated = joined.filter((student) => targets.has(student));
      await Promise.all(
        seated.map(async (student, index) => {
          const partner = seated[index + 1];
          if (index % RACE_EVERY === 1) return;
          const own = targets.get(student) as string;
          if (index % RACE_EVERY !== 0 || partner === undefined) {
            await claimSeat(room, student, own);
            return;
          }
          races.races += 1;
          const [mine, theirs] = await Promise.all([
            claimSeat(room, student, own),
            claimSeat(room, partner, own),
          ]);
          const [loser, loserAck] = mine?.ok ? [partner, theirs] : [student, mine];
          const winners = [mine, theirs].filter((ack) => ack?.ok).length;
          if (winners !== 1 || loserAck?.ok !== false || loserAck.error.code !== 'seat_taken') {
            races.anomalies += 1;
            return;
          }
          expectedErrors.seat_taken = (expectedErrors.seat_taken ?? 0) + 1;
          await claimSeat(room, loser, targets.get(partner) as string);
        }),
      );
    }),
  );

  // 4: the steady phase.
  const actions = { done: 0, skipped: 0 };
  const minGapMs = 1000 / (options.rateLimitPerS * RATE_LIMIT_SHARE);
  const pending = new Set<Promise<void>>();
  const trackPending = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  const trackInRoom = (room: Classroom, work: Promise<void>) => {
    trackPending(work);
    room.inFlight.add(work);
    void work.finally(() => room.inFlight.delete(work));
  };
  let cursor = 0;
  const nextStudent = (): { room: Classroom; student: Student } | undefined => {
    const now = performance.now();
    for (let tried = 0; tried < students.length; tried += 1) {
      const candidate = students[cursor % students.length];
      cursor += 1;
      if (candidate === undefined) return undefined;
      const { room, student } = candidate;
      if (
        !room.paused &&
        !student.busy &&
        student.seatId !== null &&
        now - student.lastSentAtMs >= minGapMs
      ) {
        return candidate;
      }
    }
    return undefined;
  };

  const rename = async (room: Classroom, student: Student) => {
    await claimSeat(room, student, student.seatId as string);
  };
  const reconnectStudent = async (room: Classroom, student: Student) => {
    student.client.disconnect();
    if (!(await student.client.connect())) return;
    if ((await join(student, room.lesson.id))?.ok)
      await claimSeat(room, student, student.seatId as string);
  };
  const reconnectTeacher = async (room: Classroom) => {
    room.paused = true;
    try {
      await Promise.all([...room.inFlight]);
      await settle([room.teacher.key]);
      room.teacherPresent = false;
      room.teacher.client.disconnect();
      expectAtManagers('teacher_disconnect', room.teacher);
      // The new socket waits for the old one's disconnect to be handled, as a real app's backoff
      // would, so that the node sees a reconnect rather than two sockets at once.
      await settle(managerKeysOf(room.teacher.member.orgId));
      if (!(await room.teacher.client.connect())) return;
      expectAtManagers('teacher_connect', room.teacher);
      room.teacherPresent = (await join(room.teacher, room.lesson.id))?.ok === true;
    } finally {
      room.paused = false;
    }
  };

  const steadyUntil = startedAt + options.durationMs;
  const steadyStartedAt = performance.now();
  let teacherTurn = 0;
  while (performance.now() < steadyUntil && students.length > 0) {
    const due = Math.floor(((performance.now() - steadyStartedAt) / 1000) * options.ratePerS);
    while (actions.done + actions.skipped < due) {
      const step = (actions.done + actions.skipped) % ACTION_CYCLE;
      if (step === TEACHER_RECONNECT_AT) {
        const room = classrooms[teacherTurn % classrooms.length];
        teacherTurn += 1;
        if (room === undefined || room.paused || !room.teacherPresent) actions.skipped += 1;
        else {
          actions.done += 1;
          trackPending(reconnectTeacher(room));
        }
        continue;
      }
      const next = nextStudent();
      if (next === undefined) {
        actions.skipped += 1;
        continue;
      }
      actions.done += 1;
      const { room, student } = next;
      student.busy = true;
      const act = STUDENT_RECONNECT_AT.has(step) ? reconnectStudent : rename;
      trackInRoom(
        room,
        act(room, student).finally(() => {
          student.busy = false;
        }),
      );
    }
    await delay(Math.min(SCHEDULER_TICK_MS, Math.max(0, steadyUntil - performance.now())));
  }
  while (pending.size > 0) await Promise.all([...pending]);

  // 5: teachers log out, then everyone leaves.
  const everyone = [
    ...managers,
    ...classrooms.map((room) => room.teacher),
    ...students.map((s) => s.student),
  ];
  await settle(everyone.map((actor) => actor.key));
  await Promise.all(
    classrooms.map(async (room) => {
      if (!room.teacher.client.connected) return;
      room.teacherPresent = false;
      const ack = await room.teacher.client.request('logout', {
        user_id: room.teacher.member.userId,
        org_id: room.teacher.member.orgId,
      });
      if (ack?.ok) expectAtManagers('logout', room.teacher);
    }),
  );
  await settle(managers.map((manager) => manager.key));
  for (const { student } of students) student.client.disconnect();
  for (const room of classrooms) room.teacher.client.disconnect();
  for (const manager of managers) manager.client.disconnect();

  const after = await Promise.all(options.urls.map((url) => scrapeMetrics(url)));
  const requests = stats.summary();
  const errors: Record<string, number> = {};
  for (const { errors: byCode } of Object.values(requests)) {
    for (const [code, count] of Object.entries(byCode)) errors[code] = (errors[code] ?? 0) + count;
  }
  const failures = Object.values(errors).reduce((sum, count) => sum + count, 0);
  const anticipated = Object.values(expectedErrors).reduce((sum, count) => sum + count, 0);
  return {
    urls: options.urls,
    clients: {
      managers: managers.length,
      teachers: classrooms.length,
      students: students.length,
    },
    durationMs: options.durationMs,
    elapsedMs: Math.round(performance.now() - startedAt),
    connectRatePerS: Math.round((waveConnects / connectWaveMs) * 1000),
    requests,
    errors,
    expectedErrors: { ...expectedErrors },
    unexpectedErrors: failures - anticipated,
    delivery: ledger.report(),
    seats: races,
    actions,
    metrics: options.urls.map((url, i) => ({
      url,
      changed: changedSeries(before[i] as Samples, after[i] as Samples),
    })),
    counterMismatches: counterMismatches(requests, before, after),
    notes,
  };
}

/** Every user with a client of its own and a signed token, dealt to the nodes in turn. */
async function castActors(
  options: LoadOptions,
  stats: RequestStats,
  ledger: DeliveryLedger,
): Promise<{ managers: Actor[]; classrooms: Classroom[] }> {
  const { population, urls, secret, transports } = options;
  const nowS = Math.floor(Date.now() / 1000);
  let dealt = 0;
  const actor = async (member: Member, manager: boolean): Promise<Actor> => {
    const key = `${manager ? 'manager' : member.role} ${member.userId}`;
    const handshake: Handshake = {
      role: member.role,
      orgId: member.orgId,
      manager,
      token: await signAccessToken({
        secret,
        sub: member.userId,
        orgId: member.orgId,
        role: member.role,
        ttlS: TOKEN_TTL_S,
        nowS,
      }),
    };
    const url = urls[dealt % urls.length] as string;
    dealt += 1;
    const client = new LoadClient({
      url,
      handshake,
      connectTimeoutMs: options.ackTimeoutMs,
      ackTimeoutMs: options.ackTimeoutMs,
      stats,
      onEvent: (event, payload) => ledger.receive(key, event, payload),
      ...(transports === undefined ? {} : { transports }),
    });
    return { key, member, client };
  };
  const managers: Actor[] = [];
  for (const member of population.managers) managers.push(await actor(member, true));
  const classrooms: Classroom[] = [];
  for (const teacher of population.teachers) {
    const lesson = population.lessons.find((candidate) => candidate.id === teacher.lessonId);
    if (lesson === undefined) throw new Error(`no lesson ${teacher.lessonId} in the population`);
    classrooms.push({
      lesson,
      teacher: await actor(teacher, false),
      students: [],
      teacherPresent: false,
      paused: false,
      inFlight: new Set(),
    });
  }
  let number = 0;
  for (const member of population.students) {
    const room = classrooms.find((candidate) => candidate.lesson.id === member.lessonId);
    if (room === undefined) throw new Error(`no teacher for lesson ${member.lessonId}`);
    number += 1;
    room.students.push({
      ...(await actor(member, false)),
      member,
      number,
      seatId: null,
      names: 0,
      busy: false,
      lastSentAtMs: 0,
    });
  }
  return { managers, classrooms };
}

/**
 * Which seat each student aims for, from a seat map the node sent: the seat a student already holds
 * (from an earlier run against the same node), else a free one. Seats held by anybody else are left
 * alone; students beyond the free seats get none.
 */
function assignSeats(
  students: readonly Student[],
  seats: Readonly<Record<string, string>>,
): Map<Student, string> {
  const targets = new Map<Student, string>();
  const free = Object.keys(seats)
    .filter((seat) => seats[seat] === '')
    .sort((a, b) => Number(a) - Number(b));
  const heldBy = new Map(Object.entries(seats).map(([seat, holder]) => [holder, seat]));
  for (const student of students) {
    const own = heldBy.get(student.member.userId);
    if (own !== undefined) targets.set(student, own);
  }
  for (const student of students) {
    if (targets.has(student)) continue;
    const seat = free.shift();
    if (seat === undefined) break;
    targets.set(student, seat);
  }
  return targets;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The driver's acknowledgements by `event outcome` against the nodes' `classroom_events_total`
 * deltas summed over the nodes. Driver-side failures (`ack_timeout`, `not_connected`) never reached
 * a node's handler and are left out; so is `connect`, which the nodes count elsewhere.
 */
function counterMismatches(
  requests: Readonly<Record<string, RequestSummary>>,
  before: readonly Samples[],
  after: readonly Samples[],
): string[] {
  const driver = new Map<string, number>();
  for (const [event, summary] of Object.entries(requests)) {
    if (event === 'connect') continue;
    if (summary.ok > 0) driver.set(`${event} ok`, summary.ok);
    for (const [code, count] of Object.entries(summary.errors)) {
      if (code !== 'ack_timeout' && code !== 'not_connected') driver.set(`${event} ${code}`, count);
    }
  }
  const nodes = new Map<string, number>();
  after.forEach((samples, i) => {
    for (const { series, delta } of changedSeries(before[i] ?? new Map(), samples)) {
      const key = eventOutcomeOf(series);
      if (key !== undefined) nodes.set(key, (nodes.get(key) ?? 0) + delta);
    }
  });
  const keys = [...new Set([...driver.keys(), ...nodes.keys()])].sort();
  return keys
    .filter((key) => (driver.get(key) ?? 0) !== (nodes.get(key) ?? 0))
    .map((key) => `${key}: driver ${driver.get(key) ?? 0} vs nodes ${nodes.get(key) ?? 0}`);
}
