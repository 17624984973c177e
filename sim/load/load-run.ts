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
  /** Told where the run is as it goes: after each handshake, and on every tick of the steady phase. */
  readonly onProgress?: (progress: LoadProgress) => void;
}

/** Where a run is, for a progress display. */
export interface LoadProgress {
  readonly phase: 'connecting' | 'claiming seats' | 'steady' | 'leaving';
  readonly elapsedMs: number;
  /** Admitted handshakes so far, reconnects included. */
  readonly connects: number;
  /** Steady-phase actions started so far. */
  readonly actions: number;
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
  /**
   * By request name (`connect`, then the client events): outcomes and ack latency. `connect`
   * counts every handshake, the steady phase's reconnects included.
   */
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
/** What an error usually means in a load run, for the report's notes. */
const HINTS: Readonly<Record<string, string>> = {
  lesson_not_found:
    'lesson_not_found: embedded nodes know only the demo lessons (--lessons-from demo); production nodes must use the database given to --seed-database',
  lesson_ended:
    'lesson_ended: a lesson ends DISCONNECT_GRACE_S after its teacher leaves without logging out; restart an embedded node to get the demo lessons back',
  unauthorized: "unauthorized: --secret must be the nodes' AUTH_JWT_SECRET",
  rate_limited: "rate_limited: give the nodes' RATE_LIMIT_PER_S with --rate-limit",
};

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
  /** The seat map a student's join was answered with; null until one joined. */
  seats: Record<string, string> | null;
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
  const before = await Promise.all(options.urls.map((url) => scrapeMetrics(url)));
  const run = new LoadRun(options, startedAt);
  await run.cast();
  const wave = await run.connectEveryone();
  await run.claimSeats();
  await run.steadyPhase(startedAt + options.durationMs);
  await run.leave();
  const after = await Promise.all(options.urls.map((url) => scrapeMetrics(url)));
  return run.report({
    elapsedMs: Math.round(performance.now() - startedAt),
    connectRatePerS: Math.round((wave.connects / wave.ms) * 1000),
    before,
    after,
  });
}

/** One run of the script: its clients, and what it has seen so far. */
class LoadRun {
  private readonly stats = new RequestStats();
  private readonly ledger = new DeliveryLedger();
  private readonly notes: string[];
  private readonly races = { races: 0, anomalies: 0, doubleBookings: 0 };
  private readonly expectedErrors: Record<string, number> = {};
  private readonly actions = { done: 0, skipped: 0 };
  /** `lesson seat` → the student the driver last saw it acknowledged to. */
  private readonly seatHolders = new Map<string, string>();
  private managers: Actor[] = [];
  private classrooms: Classroom[] = [];
  private students: Array<{ room: Classroom; student: Student }> = [];
  /** Where `nextStudent` looks first. */
  private cursor = 0;

  constructor(
    private readonly options: LoadOptions,
    private readonly startedAtMs: number,
  ) {
    this.notes = [...options.population.notes];
  }

  private tell(phase: LoadProgress['phase']): void {
    this.options.onProgress?.({
      phase,
      elapsedMs: performance.now() - this.startedAtMs,
      connects: this.stats.okCount('connect'),
      actions: this.actions.done,
    });
  }

  /** Connects `actor` in the opening wave and says so; false when refused or unreachable. */
  private async connect(actor: Actor): Promise<boolean> {
    const connected = await actor.client.connect();
    this.tell('connecting');
    return connected;
  }

  async cast(): Promise<void> {
    ({ managers: this.managers, classrooms: this.classrooms } = await castActors(
      this.options,
      this.stats,
      this.ledger,
    ));
    this.students = this.classrooms.flatMap((room) =>
      room.students.map((student) => ({ room, student })),
    );
  }

  /**
   * Steps 1–3 up to the seat claims: managers first, then teachers, so that every
   * `teacher_connect` has someone to hear it, then students. Returns the opening wave's admitted
   * handshakes and duration.
   */
  async connectEveryone(): Promise<{ connects: number; ms: number }> {
    const { connectConcurrency } = this.options;
    const startedAt = performance.now();
    await forEachLimited(this.managers, connectConcurrency, async (manager) => {
      if (await this.connect(manager)) this.ledger.expect(manager.key, 'presence_state', SNAPSHOT);
    });
    await forEachLimited(this.classrooms, connectConcurrency, async (room) => {
      if (!(await this.connect(room.teacher))) return;
      this.expectAtManagers('teacher_connect', room.teacher);
      room.teacherPresent = (await this.join(room.teacher, room.lesson.id))?.ok === true;
    });
    await forEachLimited(this.students, connectConcurrency, async ({ room, student }) => {
      if (!(await this.connect(student))) return;
      const ack = await this.join(student, room.lesson.id);
      // Nobody claims a seat before every student has joined: any join's seat map will do.
      if (ack?.ok) room.seats = (ack.data as { seats: Record<string, string> }).seats;
    });
    return { connects: this.stats.okCount('connect'), ms: performance.now() - startedAt };
  }

  /** Step 3's seat claims, every lesson at once, one pair in RACE_EVERY students racing. */
  async claimSeats(): Promise<void> {
    this.tell('claiming seats');
    await Promise.all(this.classrooms.map((room) => this.claimSeatsIn(room)));
  }

  private async claimSeatsIn(room: Classroom): Promise<void> {
    if (room.seats === null) return;
    const joined = room.students.filter((student) => student.client.connected);
    const targets = assignSeats(joined, room.seats);
    if (targets.size < joined.length) {
      this.notes.push(
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
          await this.claimSeat(room, student, own);
          return;
        }
        this.races.races += 1;
        const [mine, theirs] = await Promise.all([
          this.claimSeat(room, student, own),
          this.claimSeat(room, partner, own),
        ]);
        const [loser, loserAck] = mine?.ok ? [partner, theirs] : [student, mine];
        const winners = [mine, theirs].filter((ack) => ack?.ok).length;
        if (winners !== 1 || loserAck?.ok !== false || loserAck.error.code !== 'seat_taken') {
          this.races.anomalies += 1;
          return;
        }
        this.expectedErrors.seat_taken = (this.expectedErrors.seat_taken ?? 0) + 1;
        await this.claimSeat(room, loser, targets.get(partner) as string);
      }),
    );
  }

  /** Step 4: actions at `ratePerS` until `untilMs`, then waits for those still running. */
  async steadyPhase(untilMs: number): Promise<void> {
    const pending = new Set<Promise<void>>();
    const track = (work: Promise<void>, room?: Classroom) => {
      pending.add(work);
      room?.inFlight.add(work);
      void work.finally(() => {
        pending.delete(work);
        room?.inFlight.delete(work);
      });
    };
    const startedAt = performance.now();
    let teacherTurn = 0;
    while (performance.now() < untilMs && this.students.length > 0) {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * this.options.ratePerS);
      while (this.actions.done + this.actions.skipped < due) {
        const step = (this.actions.done + this.actions.skipped) % ACTION_CYCLE;
        if (step === TEACHER_RECONNECT_AT) {
          const room = this.classrooms[teacherTurn % this.classrooms.length];
          teacherTurn += 1;
          if (room === undefined || room.paused || !room.teacherPresent) {
            this.actions.skipped += 1;
          } else {
            this.actions.done += 1;
            // Not tracked in the room: it waits for the room's own requests to finish.
            track(this.reconnectTeacher(room));
          }
          continue;
        }
        const next = this.nextStudent();
        if (next === undefined) {
          this.actions.skipped += 1;
          continue;
        }
        this.actions.done += 1;
        const { room, student } = next;
        student.busy = true;
        const act = STUDENT_RECONNECT_AT.has(step)
          ? this.reconnectStudent(room, student)
          : this.claimSeat(room, student, student.seatId as string).then(() => undefined);
        track(
          act.finally(() => {
            student.busy = false;
          }),
          room,
        );
      }
      this.tell('steady');
      await delay(Math.min(SCHEDULER_TICK_MS, Math.max(0, untilMs - performance.now())));
    }
    while (pending.size > 0) await Promise.all([...pending]);
  }

  /** Step 5: once every expected event is in, teachers log out, then everyone disconnects. */
  async leave(): Promise<void> {
    this.tell('leaving');
    const everyone = [
      ...this.managers,
      ...this.classrooms.map((room) => room.teacher),
      ...this.students.map(({ student }) => student),
    ];
    await this.settle(everyone.map((actor) => actor.key));
    await Promise.all(
      this.classrooms.map(async ({ teacher }) => {
        if (!teacher.client.connected) return;
        const ack = await teacher.client.request('logout', {
          user_id: teacher.member.userId,
          org_id: teacher.member.orgId,
        });
        if (ack?.ok) this.expectAtManagers('logout', teacher);
      }),
    );
    await this.settle(this.managers.map((manager) => manager.key));
    for (const actor of everyone.reverse()) actor.client.disconnect();
  }

  report(measured: {
    elapsedMs: number;
    connectRatePerS: number;
    before: readonly Samples[];
    after: readonly Samples[];
  }): LoadReport {
    const { before, after } = measured;
    const requests = this.stats.summary();
    const errors: Record<string, number> = {};
    for (const { errors: byCode } of Object.values(requests)) {
      for (const [code, count] of Object.entries(byCode)) {
        errors[code] = (errors[code] ?? 0) + count;
      }
    }
    const total = (counts: Record<string, number>) =>
      Object.values(counts).reduce((sum, count) => sum + count, 0);
    for (const [code, hint] of Object.entries(HINTS)) {
      if ((errors[code] ?? 0) > 0) this.notes.push(hint);
    }
    return {
      urls: this.options.urls,
      clients: {
        managers: this.managers.length,
        teachers: this.classrooms.length,
        students: this.students.length,
      },
      durationMs: this.options.durationMs,
      elapsedMs: measured.elapsedMs,
      connectRatePerS: measured.connectRatePerS,
      requests,
      errors,
      expectedErrors: { ...this.expectedErrors },
      unexpectedErrors: total(errors) - total(this.expectedErrors),
      delivery: this.ledger.report(),
      seats: { ...this.races },
      actions: { ...this.actions },
      metrics: this.options.urls.map((url, i) => ({
        url,
        changed: changedSeries(before[i] as Samples, after[i] as Samples),
      })),
      counterMismatches: counterMismatches(requests, before, after),
      notes: this.notes,
    };
  }

  /** Sends a seat claim; an acknowledged one is booked and expected at the teacher. */
  private async claimSeat(room: Classroom, student: Student, seatId: string): Promise<Ack | null> {
    student.names += 1;
    student.lastSentAtMs = performance.now();
    const payload = {
      lesson_id: room.lesson.id,
      display_name: `Student ${student.number} #${student.names}`,
      seat_id: seatId,
      student_id: student.member.userId,
    };
    const ack = await student.client.request('set_student_name', payload);
    if (!ack?.ok) return ack;
    const seatKey = `${room.lesson.id} ${seatId}`;
    const holder = this.seatHolders.get(seatKey);
    if (holder !== undefined && holder !== student.member.userId) this.races.doubleBookings += 1;
    if (student.seatId !== null && student.seatId !== seatId) {
      this.seatHolders.delete(`${room.lesson.id} ${student.seatId}`);
    }
    this.seatHolders.set(seatKey, student.member.userId);
    student.seatId = seatId;
    if (room.teacherPresent) {
      this.ledger.expect(room.teacher.key, 'set_student_name', {
        display_name: payload.display_name,
        seat_id: seatId,
        student_id: payload.student_id,
      });
    }
    return ack;
  }

  private join(actor: Actor, lessonId: string): Promise<Ack | null> {
    return actor.client.request('join_lesson', {
      user_id: actor.member.userId,
      lesson_id: lessonId,
      role: actor.member.role,
    });
  }

  private async reconnectStudent(room: Classroom, student: Student): Promise<void> {
    student.client.disconnect();
    if (!(await student.client.connect())) return;
    if ((await this.join(student, room.lesson.id))?.ok) {
      await this.claimSeat(room, student, student.seatId as string);
    }
  }

  private async reconnectTeacher(room: Classroom): Promise<void> {
    room.paused = true;
    try {
      await Promise.all([...room.inFlight]);
      await this.settle([room.teacher.key]);
      room.teacherPresent = false;
      room.teacher.client.disconnect();
      // The app closed its socket: the server's reason for it, as managers hear it.
      this.expectAtManagers('teacher_disconnect', room.teacher, {
        reason: 'client namespace disconnect',
      });
      // The new socket waits for the old one's disconnect to be handled, as a real app's backoff
      // would, so that the node sees a reconnect rather than two sockets at once.
      await this.settle(this.managerKeysOf(room.teacher.member.orgId));
      if (!(await room.teacher.client.connect())) return;
      this.expectAtManagers('teacher_connect', room.teacher);
      room.teacherPresent = (await this.join(room.teacher, room.lesson.id))?.ok === true;
    } finally {
      room.paused = false;
    }
  }

  /** The next student, in turn, that is seated, idle, in a lesson not paused and within its pace. */
  private nextStudent(): { room: Classroom; student: Student } | undefined {
    const now = performance.now();
    const minGapMs = 1000 / (this.options.rateLimitPerS * RATE_LIMIT_SHARE);
    for (let tried = 0; tried < this.students.length; tried += 1) {
      const candidate = this.students[this.cursor % this.students.length];
      this.cursor += 1;
      if (candidate === undefined) return undefined;
      const { room, student } = candidate;
      const ready = !room.paused && !student.busy && student.seatId !== null;
      if (ready && now - student.lastSentAtMs >= minGapMs) return candidate;
    }
    return undefined;
  }

  private settle(keys: readonly string[]): Promise<boolean> {
    return this.ledger.settled(keys, this.options.settleTimeoutMs);
  }

  private managerKeysOf(orgId: string): string[] {
    return this.managers
      .filter((manager) => manager.member.orgId === orgId && manager.client.connected)
      .map((manager) => manager.key);
  }

  private expectAtManagers(event: string, teacher: Actor, more: object = {}): void {
    for (const key of this.managerKeysOf(teacher.member.orgId)) {
      this.ledger.expect(key, event, { user_id: teacher.member.userId, ...more });
    }
  }
}

/** What the ledger keeps of a manager's `presence_state`: that it came, not what it said. */
const SNAPSHOT = 'a snapshot';

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
      // A snapshot's content depends on who else is online; that exactly one came is what counts.
      onEvent: (event, payload) =>
        ledger.receive(key, event, event === 'presence_state' ? SNAPSHOT : payload),
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
      seats: null,
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
