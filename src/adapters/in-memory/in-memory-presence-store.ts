import { DependencyUnavailableError } from '../../application/errors.js';
import type { Clock } from '../../application/ports/clock.js';
import type {
  HeldSocketState,
  JoinLessonOutcome,
  PresenceStore,
  RefreshOutcome,
  SeatChange,
  SeatClaimError,
  SettleOutcome,
  SocketOf,
  StoreMark,
  TeacherConnectOutcome,
  TeacherDisconnectOutcome,
  TeacherPresence,
} from '../../application/ports/presence-store.js';
import type { Scheduler } from '../../application/ports/scheduler.js';
import {
  type ClientIdentity,
  type Role,
  type TeacherRef,
  teacherKey,
} from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { PresencePhase, TeacherPresenceView } from '../../domain/presence.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { claimSeat, type SeatMap } from '../../domain/seat-map.js';
import { epochAt, type SessionEpoch } from '../../domain/session.js';
import { ExpiringMap } from './expiring-map.js';
import { SortedSet } from './sorted-set.js';

/** A teacher's session: what it is, since when, in which lesson, held by which live sockets. */
interface Session {
  readonly teacher: TeacherRef;
  phase: PresencePhase;
  loginTimeS: SessionEpoch;
  sinceMs: number;
  lessonId: Id | null;
  /** Live TeacherApp sockets: sid → live until (the caller's ms). Empty in the grace period. */
  readonly sockets: Map<string, number>;
}

/** Where a user's current socket is, and the lesson it is in (PROTOCOL §7's user directory). */
interface DirectoryEntry {
  readonly sid: string;
  readonly orgId: Id;
  readonly role: Role;
  lessonId: Id | null;
}

/** A lesson's members by kind: user → sid. */
type Members = Map<Id, string>;

/** What the store holds, as plain data, for tests and tools. */
export interface InMemoryPresenceState {
  readonly sessions: ReadonlyArray<{
    readonly teacher: TeacherRef;
    readonly phase: PresencePhase;
    readonly loginTimeS: SessionEpoch;
    readonly sinceMs: number;
    readonly lessonId: Id | null;
    /** Whether the session's liveness (the alive hash) has not lapsed. */
    readonly alive: boolean;
    readonly deadlineMs: number | null;
    readonly sockets: Readonly<Record<string, number>>;
  }>;
  readonly directory: Readonly<
    Record<
      Id,
      {
        readonly sid: string;
        readonly orgId: Id;
        readonly role: Role;
        readonly lessonId: Id | null;
      }
    >
  >;
  readonly lessons: Readonly<
    Record<
      Id,
      {
        readonly seats: SeatMap | null;
        readonly teachers: Readonly<Record<Id, string>>;
        readonly students: Readonly<Record<Id, string>>;
      }
    >
  >;
  readonly cooldowns: ReadonlyArray<{ readonly teacher: TeacherRef; readonly remainingMs: number }>;
}

/** How long a link's caller waits for an answer, as the Redis client's command timeout. */
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;

/** The deadline of a call made on the store itself, which reaches it at once. */
const NEVER_LATE = Number.POSITIVE_INFINITY;

/** Ids never contain ':', so `org:user` names one teacher. */

function teacherOfKey(key: string): TeacherRef {
  const colon = key.indexOf(':');
  return { orgId: key.slice(0, colon), userId: key.slice(colon + 1) };
}

const teacherOf = ({ orgId, userId }: TeacherRef): TeacherRef => ({ orgId, userId });

/** The live socket connected or refreshed last (ties by the larger sid, as Redis orders them). */
function latestSocket(sockets: ReadonlyMap<string, number>): string | undefined {
  let latest: [string, number] | undefined;
  for (const entry of sockets) {
    if (
      latest === undefined ||
      entry[1] > latest[1] ||
      (entry[1] === latest[1] && entry[0] > latest[0])
    )
      latest = entry;
  }
  return latest?.[0];
}

/**
 * The presence store of the embedded mode and the simulator: a model of the domain — teachers'
 * sessions with their live sockets, the user directory, lessons with seat maps and members,
 * cooldowns and session-end deadlines — with lifetimes on the injected clock. It keeps the
 * port's promises (test/contracts/presence-store.contract.ts holds it to them, as it holds the
 * Redis store), not Redis' data types. Each call runs to completion without awaiting, so it is
 * atomic however calls interleave. As in Redis, lifetimes (TTLs) run on the store's clock while
 * deadlines and live-until times are the caller's `nowMs`.
 *
 * Nodes reach it through links (`link()`), which the simulator can cut (`setUp(false)`) or
 * delay (`setLate`): a late call is answered unavailable at once and reaches the store after its
 * deadline, where the fence (`pastDeadline`) drops it. Calling the store directly is a link that
 * is always up. `restartEmpty()` loses everything, as a Redis without persistence restarting, and
 * `expireDue()` reports lapsed sessions as Redis' `expired` notifications of alive hashes do.
 */
export class InMemoryPresenceStore implements PresenceStore {
  private readonly sessions = new Map<Id, Map<Id, Session>>();
  /** Teachers whose session is alive (the alive hash): key → teacher, lapsing on the clock. */
  private readonly alive: ExpiringMap<TeacherRef>;
  /** Teacher key → when its session is due to be settled (the caller's ms). */
  private readonly deadlines = new SortedSet();
  private readonly directory: ExpiringMap<DirectoryEntry>;
  private readonly seatMaps: ExpiringMap<Map<string, string>>;
  private readonly lessonTeachers: ExpiringMap<Members>;
  private readonly lessonStudents: ExpiringMap<Members>;
  private readonly cooldowns: ExpiringMap<true>;
  /** Losses being reconciled, by generation, for the length of the claim's lease. */
  private readonly reconciliations: ExpiringMap<true>;
  /** Everything above that lapses on the clock. */
  private readonly timed: ReadonlyArray<Pick<ExpiringMap<unknown>, 'purge' | 'clear'>>;
  /** Counts the store's lives; each restart empty starts a new one. */
  private generation = 1;
  /** Whether this generation's mark exists: a store that never handed one out is taken as lost. */
  private marked = false;
  /**
   * Whether this generation holds every cooldown of the database (`restoreCooldowns` ran, the
   * reconciliation's last step: so also whether the loss is reconciled).
   */
  private cooldownsComplete = false;
  private expired: TeacherRef[] = [];

  /**
   * `bornWithItsDatabase`: the store starts together with the data it would be reconciled from
   * (the embedded mode, the simulator), so it has lost nothing and starts marked. Otherwise its
   * first look counts as a loss, as a Redis found empty does.
   */
  constructor(
    private readonly clock: Clock,
    options: { readonly bornWithItsDatabase?: boolean } = {},
  ) {
    this.marked = options.bornWithItsDatabase ?? false;
    this.cooldownsComplete = this.marked;
    this.alive = new ExpiringMap(clock, (_key, teacher) => this.expired.push(teacher));
    this.directory = new ExpiringMap(clock);
    this.seatMaps = new ExpiringMap(clock);
    this.lessonTeachers = new ExpiringMap(clock);
    this.lessonStudents = new ExpiringMap(clock);
    this.cooldowns = new ExpiringMap(clock);
    this.reconciliations = new ExpiringMap(clock);
    this.timed = [
      this.alive,
      this.directory,
      this.seatMaps,
      this.lessonTeachers,
      this.lessonStudents,
      this.cooldowns,
      this.reconciliations,
    ];
  }

  /** A node's own way to the store, with the simulator's fault switches. */
  link(
    options: { readonly scheduler?: Scheduler; readonly commandTimeoutMs?: number } = {},
  ): InMemoryStoreLink {
    return new InMemoryStoreLink(this, this.clock, {
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    });
  }

  /** Forgets everything, as a Redis without persistence restarting: a new generation begins. */
  restartEmpty(): void {
    for (const timed of this.timed) timed.clear();
    this.sessions.clear();
    this.deadlines.clear();
    this.generation += 1;
    this.marked = false;
    this.cooldownsComplete = false;
    // Notifications of what vanished in the restart are never sent.
    this.expired = [];
  }

  /**
   * The teachers whose session's liveness lapsed since the last call, once per lapse, in the order
   * they lapsed — a connected session that nobody refreshed as well as a grace period that ran
   * out, as Redis notifies the expiry of an alive hash in either state. An expiry first noticed by
   * another operation is reported too.
   */
  expireDue(): TeacherRef[] {
    this.purge();
    const expired = this.expired;
    this.expired = [];
    return expired;
  }

  /** What the store holds now, for tests and tools. */
  inspect(): InMemoryPresenceState {
    this.purge();
    const records = (members: Members | undefined) => Object.fromEntries(members ?? []);
    const lessonIds = new Set(
      [this.seatMaps, this.lessonTeachers, this.lessonStudents].flatMap((timed) =>
        [...timed.entries()].map(([lessonId]) => lessonId),
      ),
    );
    return {
      sessions: [...this.sessions.values()].flatMap((org) =>
        [...org.values()].map((session) => ({
          teacher: session.teacher,
          phase: session.phase,
          loginTimeS: session.loginTimeS,
          sinceMs: session.sinceMs,
          lessonId: session.lessonId,
          alive: this.alive.has(teacherKey(session.teacher)),
          deadlineMs: this.deadlines.score(teacherKey(session.teacher)) ?? null,
          sockets: Object.fromEntries(session.sockets),
        })),
      ),
      directory: Object.fromEntries(
        [...this.directory.entries()].map(([userId, entry]) => [userId, { ...entry }]),
      ),
      lessons: Object.fromEntries(
        [...lessonIds].map((lessonId) => {
          const seats = this.seatMaps.get(lessonId);
          return [
            lessonId,
            {
              seats: seats === undefined ? null : Object.fromEntries(seats),
              teachers: records(this.lessonTeachers.get(lessonId)),
              students: records(this.lessonStudents.get(lessonId)),
            },
          ];
        }),
      ),
      cooldowns: [...this.cooldowns.entries()].map(([key]) => ({
        teacher: teacherOfKey(key),
        remainingMs: this.cooldowns.remainingMs(key) ?? 0,
      })),
    };
  }

  // Every port method takes a last `deadlineMs`, which only links pass.

  async connectTeacher(
    input: {
      readonly socket: SocketOf;
      readonly nowMs: number;
      readonly presenceTtlS: number;
      readonly lessonTtlS: number;
      readonly noCooldownInDatabase?: boolean;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<TeacherConnectOutcome> {
    this.begin(deadlineMs);
    const { socket, nowMs, presenceTtlS, lessonTtlS } = input;
    const teacher = teacherOf(socket.identity);
    const key = teacherKey(teacher);
    if (this.cooldowns.has(key)) {
      return { kind: 'cooldown', remainingMs: this.cooldowns.remainingMs(key) ?? 1000 };
    }
    if (!this.cooldownsComplete && input.noCooldownInDatabase !== true)
      return { kind: 'unverified' };
    let session = this.session(teacher);
    const alive = this.alive.has(key);
    const change =
      session === undefined
        ? 'new_session'
        : session.phase === 'connected'
          ? alive
            ? 'another_device'
            : 'reconnect'
          : alive
            ? 'reconnect'
            : 'new_session';
    const epoch = epochAt(nowMs);
    const lessonId =
      this.ownLesson(socket.identity) ??
      (change === 'new_session' ? null : (session?.lessonId ?? null));
    if (session === undefined || change === 'new_session') {
      session = {
        teacher,
        phase: 'connected',
        loginTimeS: epoch,
        sinceMs: nowMs,
        lessonId,
        sockets: new Map(),
      };
      this.orgSessions(teacher.orgId).set(teacher.userId, session);
    } else {
      session.loginTimeS = epoch;
      session.lessonId = lessonId;
      if (change === 'reconnect') {
        session.phase = 'connected';
        session.sinceMs = nowMs;
      }
    }
    const untilMs = nowMs + presenceTtlS * 1000;
    this.makeLive(session, socket.sid, nowMs, untilMs, presenceTtlS);
    const dueMs = this.deadlines.score(key);
    this.deadlines.set(
      key,
      change === 'another_device' && dueMs !== undefined ? Math.max(dueMs, untilMs) : untilMs,
    );
    this.writeDirectory(socket, lessonId);
    if (lessonId !== null) this.addMember(this.lessonTeachers, lessonId, socket, lessonTtlS);
    return { kind: 'connected', epoch, lessonId, change };
  }

  async connectStudent(
    input: { readonly socket: SocketOf; readonly lessonTtlS: number },
    deadlineMs = NEVER_LATE,
  ): Promise<{ readonly lessonId: Id | null }> {
    this.begin(deadlineMs);
    const { socket, lessonTtlS } = input;
    const lessonId = this.ownLesson(socket.identity);
    this.writeDirectory(socket, lessonId);
    if (lessonId !== null) this.addMember(this.lessonStudents, lessonId, socket, lessonTtlS);
    return { lessonId };
  }

  async refreshTeachers(
    input: {
      readonly teachers: readonly TeacherPresence[];
      readonly nowMs: number;
      readonly presenceTtlS: number;
      readonly lessonTtlS: number;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<RefreshOutcome[]> {
    this.begin(deadlineMs);
    const { teachers, nowMs, presenceTtlS } = input;
    return teachers.map(({ socket }) => this.keepLive(socket, nowMs, presenceTtlS));
  }

  async disconnectTeacher(
    input: {
      readonly socket: SocketOf;
      readonly nowMs: number;
      readonly graceS: number;
      readonly lessonTtlS: number;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<TeacherDisconnectOutcome> {
    this.begin(deadlineMs);
    const { socket, nowMs, graceS, lessonTtlS } = input;
    const session = this.session(socket.identity);
    if (session?.phase !== 'connected' || !session.sockets.delete(socket.sid)) {
      return { kind: 'not_live' };
    }
    this.dropLapsed(session, nowMs);
    const entry = this.ownDirectory(socket.identity);
    const latest = latestSocket(session.sockets);
    if (latest !== undefined) {
      if (entry?.sid === socket.sid) {
        this.directory.put(socket.identity.userId, { ...entry, sid: latest });
      }
      // The device that stays takes over the lesson membership the departed one held.
      const members =
        session.lessonId === null ? undefined : this.lessonTeachers.get(session.lessonId);
      if (members?.get(socket.identity.userId) === socket.sid) {
        members.set(socket.identity.userId, latest);
      }
      return { kind: 'other_devices', lessonId: session.lessonId };
    }
    const key = teacherKey(session.teacher);
    session.phase = 'grace';
    session.sinceMs = nowMs;
    this.alive.put(key, session.teacher);
    this.alive.expire(key, graceS * 1000);
    const dueMs = nowMs + graceS * 1000;
    this.deadlines.set(key, dueMs);
    if (entry !== undefined) this.directory.expire(socket.identity.userId, lessonTtlS * 1000);
    return { kind: 'grace', lessonId: session.lessonId, deadlineMs: dueMs };
  }

  async disconnectStudent(
    input: { readonly socket: SocketOf; readonly lessonTtlS: number },
    deadlineMs = NEVER_LATE,
  ): Promise<{ readonly current: boolean; readonly lessonId: Id | null }> {
    this.begin(deadlineMs);
    const { socket, lessonTtlS } = input;
    const entry = this.directory.get(socket.identity.userId);
    if (entry?.sid !== socket.sid) return { current: false, lessonId: null };
    this.directory.expire(socket.identity.userId, lessonTtlS * 1000);
    return { current: true, lessonId: entry.lessonId };
  }

  async isTeacherOnline(teacher: TeacherRef, deadlineMs = NEVER_LATE): Promise<boolean> {
    this.begin(deadlineMs);
    return this.session(teacher)?.phase === 'connected' && this.alive.has(teacherKey(teacher));
  }

  async logoutTeacher(teacher: TeacherRef, deadlineMs = NEVER_LATE): Promise<boolean> {
    this.begin(deadlineMs);
    const key = teacherKey(teacher);
    const had = this.session(teacher) !== undefined || this.alive.has(key);
    this.forgetSession(teacher);
    return had;
  }

  async startCooldown(
    input: { readonly teacher: TeacherRef; readonly cooldownS: number },
    deadlineMs = NEVER_LATE,
  ): Promise<{ readonly sid: string | null }> {
    this.begin(deadlineMs);
    const key = teacherKey(input.teacher);
    this.cooldowns.put(key, true);
    this.cooldowns.expire(key, input.cooldownS * 1000);
    // The directory is keyed by user id alone: only an entry of this org's teacher names its socket.
    const entry = this.directory.get(input.teacher.userId);
    const isTeachers = entry?.orgId === input.teacher.orgId && entry.role === 'teacher';
    return { sid: isTeachers ? entry.sid : null };
  }

  async cancelCooldown(teacher: TeacherRef, deadlineMs = NEVER_LATE): Promise<void> {
    this.begin(deadlineMs);
    this.cooldowns.delete(teacherKey(teacher));
  }

  async joinLesson(
    input: {
      readonly socket: SocketOf;
      readonly lessonId: Id;
      readonly seatCount: number;
      readonly lessonTtlS: number;
      readonly seats?: SeatMap;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<JoinLessonOutcome> {
    this.begin(deadlineMs);
    const { socket, lessonId, lessonTtlS, seats } = input;
    let seatMap = this.seatMaps.get(lessonId);
    if (seatMap === undefined) {
      if (seats === undefined) return { kind: 'needs_seat_map' };
      seatMap = new Map(Object.entries(seats));
      this.seatMaps.put(lessonId, seatMap);
    }
    this.addMember(this.membersOf(socket.identity), lessonId, socket, lessonTtlS);
    for (const timed of [this.seatMaps, this.lessonTeachers, this.lessonStudents]) {
      timed.expire(lessonId, lessonTtlS * 1000);
    }
    const entry = this.directory.get(socket.identity.userId);
    const previousLessonId = entry?.lessonId ?? null;
    if (entry?.sid === socket.sid) entry.lessonId = lessonId;
    const session = this.liveSession(socket);
    if (session !== undefined) session.lessonId = lessonId;
    return { kind: 'joined', seats: Object.fromEntries(seatMap), previousLessonId };
  }

  async undoJoinLesson(
    input: {
      readonly socket: SocketOf;
      readonly lessonId: Id;
      readonly previousLessonId: Id | null;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<void> {
    this.begin(deadlineMs);
    const { socket, lessonId, previousLessonId } = input;
    const timed = this.membersOf(socket.identity);
    const members = timed.get(lessonId);
    if (members?.get(socket.identity.userId) === socket.sid) {
      members.delete(socket.identity.userId);
      if (members.size === 0) timed.delete(lessonId);
    }
    const entry = this.directory.get(socket.identity.userId);
    if (entry?.sid === socket.sid) entry.lessonId = previousLessonId;
    const session = this.liveSession(socket);
    if (session?.lessonId === lessonId) session.lessonId = previousLessonId;
  }

  async claimSeat(
    input: { readonly socket: SocketOf; readonly lessonId: Id; readonly seatId: string },
    deadlineMs = NEVER_LATE,
  ): Promise<Result<SeatChange, SeatClaimError>> {
    this.begin(deadlineMs);
    const { socket, lessonId, seatId } = input;
    const studentId = socket.identity.userId;
    if (this.lessonStudents.get(lessonId)?.get(studentId) !== socket.sid) {
      return fail('not_in_lesson');
    }
    const seats = this.seatMaps.get(lessonId);
    if (seats === undefined) return fail('needs_seat_map');
    if (seats.get(seatId) === studentId) return ok({ alreadyHeld: true, releasedSeatId: null });
    const claim = claimSeat(Object.fromEntries(seats), seatId, studentId);
    if (!claim.ok) return claim;
    const { releasedSeatId } = claim.value;
    if (releasedSeatId !== null) seats.set(releasedSeatId, '');
    seats.set(seatId, studentId);
    return ok({ alreadyHeld: false, releasedSeatId });
  }

  async ensureSeatMap(
    input: { readonly lessonId: Id; readonly seats: SeatMap; readonly lessonTtlS: number },
    deadlineMs = NEVER_LATE,
  ): Promise<void> {
    this.begin(deadlineMs);
    const { lessonId, seats, lessonTtlS } = input;
    if (this.seatMaps.has(lessonId)) return;
    this.seatMaps.put(lessonId, new Map(Object.entries(seats)));
    this.seatMaps.expire(lessonId, lessonTtlS * 1000);
  }

  async revertSeatClaim(
    input: {
      readonly lessonId: Id;
      readonly studentId: Id;
      readonly seatId: string;
      readonly change: SeatChange;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<void> {
    this.begin(deadlineMs);
    const { lessonId, studentId, seatId, change } = input;
    const seats = this.seatMaps.get(lessonId);
    if (change.alreadyHeld || seats === undefined) return;
    if (seats.get(seatId) === studentId) seats.set(seatId, '');
    const { releasedSeatId } = change;
    if (releasedSeatId !== null && seats.get(releasedSeatId) === '') {
      seats.set(releasedSeatId, studentId);
    }
  }

  async dueSessionEnds(
    nowMs: number,
    limit: number,
    deadlineMs = NEVER_LATE,
  ): Promise<TeacherRef[]> {
    this.begin(deadlineMs);
    return this.deadlines.range(nowMs, limit).map(teacherOfKey);
  }

  async nextDueAtMs(deadlineMs = NEVER_LATE): Promise<number | null> {
    this.begin(deadlineMs);
    return this.deadlines.first()?.score ?? null;
  }

  async settleExpiredSession(
    input: {
      readonly teacher: TeacherRef;
      readonly nowMs: number;
      readonly graceS: number;
      readonly leaseMs: number;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<SettleOutcome> {
    this.begin(deadlineMs);
    const { teacher, nowMs, graceS, leaseMs } = input;
    const key = teacherKey(teacher);
    const session = this.session(teacher);
    const dueMs = this.deadlines.score(key);
    if (session === undefined || dueMs === undefined || dueMs > nowMs || this.alive.has(key)) {
      return { kind: 'none' };
    }
    if (session.phase === 'connected') {
      // Nobody refreshed any of its sockets within the TTL: the node_lost grace period starts.
      session.phase = 'grace';
      session.sinceMs = nowMs;
      session.sockets.clear();
      this.alive.put(key, session.teacher);
      this.alive.expire(key, graceS * 1000);
      const graceEndMs = nowMs + graceS * 1000;
      this.deadlines.set(key, graceEndMs);
      return { kind: 'grace', lessonId: session.lessonId, deadlineMs: graceEndMs };
    }
    this.deadlines.set(key, nowMs + leaseMs);
    return { kind: 'claimed', epoch: session.loginTimeS };
  }

  async completeSessionEnd(
    teacher: TeacherRef,
    epoch: SessionEpoch,
    deadlineMs = NEVER_LATE,
  ): Promise<void> {
    this.begin(deadlineMs);
    if (this.session(teacher)?.loginTimeS !== epoch || this.alive.has(teacherKey(teacher))) return;
    this.forgetSession(teacher);
  }

  async snapshot(orgId: Id, deadlineMs = NEVER_LATE): Promise<TeacherPresenceView[]> {
    this.begin(deadlineMs);
    return [...(this.sessions.get(orgId)?.values() ?? [])]
      .map((session) => ({
        userId: session.teacher.userId,
        phase: session.phase,
        loginTimeS: session.loginTimeS,
        sinceMs: session.sinceMs,
        lessonId: session.lessonId,
      }))
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  }

  /** The mark is the generation: a restart empty is the only way this store loses data. */
  async checkContinuity(
    last: StoreMark | null,
    deadlineMs = NEVER_LATE,
  ): ReturnType<PresenceStore['checkContinuity']> {
    this.begin(deadlineMs);
    const mark = String(this.generation);
    const lost = !this.marked || (last !== null && last !== mark);
    this.marked = true;
    return { mark, lost, reconciled: this.cooldownsComplete };
  }

  async claimReconciliation(
    mark: StoreMark,
    leaseMs: number,
    deadlineMs = NEVER_LATE,
  ): Promise<boolean> {
    this.begin(deadlineMs);
    if (this.reconciliations.has(mark)) return false;
    this.reconciliations.put(mark, true);
    this.reconciliations.expire(mark, leaseMs);
    return true;
  }

  async restoreSockets(
    input: {
      readonly sockets: readonly HeldSocketState[];
      readonly nowMs: number;
      readonly presenceTtlS: number;
      readonly lessonTtlS: number;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<TeacherRef[]> {
    this.begin(deadlineMs);
    const { sockets, nowMs, presenceTtlS, lessonTtlS } = input;
    const created: TeacherRef[] = [];
    for (const { socket, epoch, lessonId } of sockets) {
      const { identity } = socket;
      if (identity.kind === 'manager_web') continue;
      if (!this.directory.has(identity.userId)) this.writeDirectory(socket, lessonId);
      if (
        lessonId !== null &&
        this.membersOf(identity).get(lessonId)?.has(identity.userId) !== true
      ) {
        this.addMember(this.membersOf(identity), lessonId, socket, lessonTtlS);
      }
      if (identity.kind !== 'teacher_app' || epoch === null) continue;
      const teacher = teacherOf(identity);
      if (this.session(teacher) === undefined) {
        this.orgSessions(teacher.orgId).set(teacher.userId, {
          teacher,
          phase: 'connected',
          loginTimeS: epoch,
          sinceMs: nowMs,
          lessonId,
          sockets: new Map(),
        });
        created.push(teacher);
      }
      this.keepLive(socket, nowMs, presenceTtlS);
    }
    return created;
  }

  async restoreSessions(
    input: {
      readonly teachers: ReadonlyArray<{ readonly teacher: TeacherRef; readonly lessonId: Id }>;
      readonly nowMs: number;
      readonly graceS: number;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<TeacherRef[]> {
    this.begin(deadlineMs);
    const { teachers, nowMs, graceS } = input;
    const created: TeacherRef[] = [];
    for (const { teacher: ref, lessonId } of teachers) {
      const teacher = teacherOf(ref);
      const key = teacherKey(teacher);
      if (this.session(teacher) !== undefined || this.alive.has(key)) continue;
      this.orgSessions(teacher.orgId).set(teacher.userId, {
        teacher,
        phase: 'grace',
        loginTimeS: epochAt(nowMs),
        sinceMs: nowMs,
        lessonId,
        sockets: new Map(),
      });
      this.alive.put(key, teacher);
      this.alive.expire(key, graceS * 1000);
      this.deadlines.set(key, nowMs + graceS * 1000);
      created.push(teacher);
    }
    return created;
  }

  async restoreCooldowns(
    input: {
      readonly cooldowns: ReadonlyArray<{ readonly teacher: TeacherRef; readonly untilMs: number }>;
      readonly nowMs: number;
      readonly mark: StoreMark;
    },
    deadlineMs = NEVER_LATE,
  ): Promise<void> {
    this.begin(deadlineMs);
    if (input.mark === String(this.generation)) this.cooldownsComplete = true;
    for (const { teacher, untilMs } of input.cooldowns) {
      const key = teacherKey(teacher);
      const leftMs = untilMs - input.nowMs;
      // A cooldown started since the loss may run longer: restoring never shortens one.
      const runningMs = this.cooldowns.has(key) ? (this.cooldowns.remainingMs(key) ?? 0) : 0;
      if (leftMs <= runningMs) continue;
      this.cooldowns.put(key, true);
      this.cooldowns.expire(key, leftMs);
    }
  }

  /**
   * The fence (PROTOCOL §6a.1): a call that reaches the store after its deadline — its caller was
   * already told the store is unavailable — must change nothing. The one check that refuses it.
   */
  protected pastDeadline(deadlineMs: number): boolean {
    return this.clock.nowMs() > deadlineMs;
  }

  /** What every call does first: lapsed lifetimes end, then a late call is refused. */
  private begin(deadlineMs: number): void {
    this.purge();
    if (this.pastDeadline(deadlineMs)) throw new DependencyUnavailableError('presence');
  }

  private purge(): void {
    for (const timed of this.timed) timed.purge();
  }

  /**
   * Keeps a socket of a teacher's session live (a refresh): a connected session stays so (its
   * liveness back if it had lapsed), a grace period ends (`reconnected`); a teacher without a
   * session, or whose grace period is over, is left alone (`ended`). A directory entry that names
   * no live socket of the teacher (or none at all) is pointed at this one.
   */
  private keepLive(socket: SocketOf, nowMs: number, presenceTtlS: number): RefreshOutcome {
    const session = this.session(socket.identity);
    if (session === undefined) return 'ended';
    const key = teacherKey(session.teacher);
    const untilMs = nowMs + presenceTtlS * 1000;
    let outcome: RefreshOutcome;
    if (session.phase === 'connected') {
      outcome = 'refreshed';
      this.deadlines.set(key, Math.max(this.deadlines.score(key) ?? untilMs, untilMs));
    } else if (this.alive.has(key)) {
      outcome = 'reconnected';
      session.phase = 'connected';
      session.sinceMs = nowMs;
      this.deadlines.set(key, untilMs);
    } else {
      return 'ended';
    }
    this.makeLive(session, socket.sid, nowMs, untilMs, presenceTtlS);
    const entry = this.directory.get(socket.identity.userId);
    if (entry === undefined) {
      this.writeDirectory(socket, session.lessonId);
    } else if (
      this.isOwn(entry, socket.identity) &&
      !((session.sockets.get(entry.sid) ?? 0) > nowMs)
    ) {
      this.writeDirectory(socket, entry.lessonId);
    }
    return outcome;
  }

  /** The socket is live until `untilMs`, lapsed ones are dropped, and the session is alive. */
  private makeLive(
    session: Session,
    sid: string,
    nowMs: number,
    untilMs: number,
    presenceTtlS: number,
  ): void {
    this.dropLapsed(session, nowMs);
    session.sockets.set(sid, untilMs);
    const key = teacherKey(session.teacher);
    this.alive.put(key, session.teacher);
    this.alive.expire(key, presenceTtlS * 1000);
  }

  private dropLapsed(session: Session, nowMs: number): void {
    for (const [sid, untilMs] of session.sockets) {
      if (untilMs <= nowMs) session.sockets.delete(sid);
    }
  }

  private session(teacher: TeacherRef): Session | undefined {
    return this.sessions.get(teacher.orgId)?.get(teacher.userId);
  }

  /** The session a teacher's socket that is live holds, for a join to record its lesson in. */
  private liveSession({ identity, sid }: SocketOf): Session | undefined {
    if (identity.kind !== 'teacher_app') return undefined;
    const session = this.session(identity);
    return session?.sockets.has(sid) === true ? session : undefined;
  }

  private orgSessions(orgId: Id): Map<Id, Session> {
    let org = this.sessions.get(orgId);
    if (org === undefined) {
      org = new Map();
      this.sessions.set(orgId, org);
    }
    return org;
  }

  private forgetSession(teacher: TeacherRef): void {
    const key = teacherKey(teacher);
    this.alive.delete(key);
    this.deadlines.delete(key);
    const org = this.sessions.get(teacher.orgId);
    org?.delete(teacher.userId);
    if (org?.size === 0) this.sessions.delete(teacher.orgId);
  }

  /**
   * The directory is keyed by user id alone, so an entry written for another org or role must
   * neither name its socket to this user nor lead this user into its lesson.
   */
  private isOwn(entry: DirectoryEntry, identity: ClientIdentity): boolean {
    return entry.orgId === identity.orgId && entry.role === identity.role;
  }

  private ownDirectory(identity: ClientIdentity): DirectoryEntry | undefined {
    const entry = this.directory.get(identity.userId);
    return entry !== undefined && this.isOwn(entry, identity) ? entry : undefined;
  }

  /** The lesson a reconnecting user was in, as its own directory entry says. */
  private ownLesson(identity: ClientIdentity): Id | null {
    return this.ownDirectory(identity)?.lessonId ?? null;
  }

  /** A connected socket's entry never lapses. */
  private writeDirectory({ identity, sid }: SocketOf, lessonId: Id | null): void {
    this.directory.put(identity.userId, {
      sid,
      orgId: identity.orgId,
      role: identity.role,
      lessonId,
    });
    this.directory.persist(identity.userId);
  }

  private membersOf(identity: ClientIdentity): ExpiringMap<Members> {
    return identity.kind === 'teacher_app' ? this.lessonTeachers : this.lessonStudents;
  }

  /** The user's membership names this socket; the members' lifetime starts again. */
  private addMember(
    timed: ExpiringMap<Members>,
    lessonId: Id,
    socket: SocketOf,
    lessonTtlS: number,
  ): void {
    const members = timed.get(lessonId);
    if (members === undefined) timed.put(lessonId, new Map([[socket.identity.userId, socket.sid]]));
    else members.set(socket.identity.userId, socket.sid);
    timed.expire(lessonId, lessonTtlS * 1000);
  }
}

/**
 * One node's link to the in-memory store. While up and prompt, a call reaches the store at once
 * with a deadline of now + the command timeout, as a Redis client's call does. Fault switches for
 * the simulator: `setUp(false)` refuses every call (`DependencyUnavailableError`, nothing
 * changed); `setLate(ms)` answers every call unavailable at once and delivers it to the store
 * `ms` after the caller's timeout, past its deadline — the store's fence must drop it.
 */
export class InMemoryStoreLink implements PresenceStore {
  private up = true;
  private lateByMs: number | null = null;

  constructor(
    readonly store: InMemoryPresenceStore,
    private readonly clock: Clock,
    private readonly options: { readonly commandTimeoutMs: number; readonly scheduler?: Scheduler },
  ) {}

  setUp(up: boolean): void {
    this.up = up;
  }

  /** Late delivery, `lateByMs` (> 0) after each caller gave up; prompt again with null. */
  setLate(lateByMs: number | null): void {
    if (lateByMs !== null && this.options.scheduler === undefined) {
      throw new Error('A link delivers late only through a scheduler: pass one to link()');
    }
    if (lateByMs !== null && !(lateByMs > 0)) {
      throw new RangeError(
        `A late call arrives after its deadline, not at it (got ${lateByMs} ms)`,
      );
    }
    this.lateByMs = lateByMs;
  }

  connectTeacher(input: Parameters<PresenceStore['connectTeacher']>[0]) {
    return this.call((deadlineMs) => this.store.connectTeacher(input, deadlineMs));
  }

  connectStudent(input: Parameters<PresenceStore['connectStudent']>[0]) {
    return this.call((deadlineMs) => this.store.connectStudent(input, deadlineMs));
  }

  refreshTeachers(input: Parameters<PresenceStore['refreshTeachers']>[0]) {
    return this.call((deadlineMs) => this.store.refreshTeachers(input, deadlineMs));
  }

  disconnectTeacher(input: Parameters<PresenceStore['disconnectTeacher']>[0]) {
    return this.call((deadlineMs) => this.store.disconnectTeacher(input, deadlineMs));
  }

  disconnectStudent(input: Parameters<PresenceStore['disconnectStudent']>[0]) {
    return this.call((deadlineMs) => this.store.disconnectStudent(input, deadlineMs));
  }

  isTeacherOnline(teacher: TeacherRef) {
    return this.call((deadlineMs) => this.store.isTeacherOnline(teacher, deadlineMs));
  }

  logoutTeacher(teacher: TeacherRef) {
    return this.call((deadlineMs) => this.store.logoutTeacher(teacher, deadlineMs));
  }

  startCooldown(input: Parameters<PresenceStore['startCooldown']>[0]) {
    return this.call((deadlineMs) => this.store.startCooldown(input, deadlineMs));
  }

  cancelCooldown(teacher: TeacherRef) {
    return this.call((deadlineMs) => this.store.cancelCooldown(teacher, deadlineMs));
  }

  joinLesson(input: Parameters<PresenceStore['joinLesson']>[0]) {
    return this.call((deadlineMs) => this.store.joinLesson(input, deadlineMs));
  }

  undoJoinLesson(input: Parameters<PresenceStore['undoJoinLesson']>[0]) {
    return this.call((deadlineMs) => this.store.undoJoinLesson(input, deadlineMs));
  }

  claimSeat(input: Parameters<PresenceStore['claimSeat']>[0]) {
    return this.call((deadlineMs) => this.store.claimSeat(input, deadlineMs));
  }

  ensureSeatMap(input: Parameters<PresenceStore['ensureSeatMap']>[0]) {
    return this.call((deadlineMs) => this.store.ensureSeatMap(input, deadlineMs));
  }

  revertSeatClaim(input: Parameters<PresenceStore['revertSeatClaim']>[0]) {
    return this.call((deadlineMs) => this.store.revertSeatClaim(input, deadlineMs));
  }

  dueSessionEnds(nowMs: number, limit: number) {
    return this.call((deadlineMs) => this.store.dueSessionEnds(nowMs, limit, deadlineMs));
  }

  nextDueAtMs() {
    return this.call((deadlineMs) => this.store.nextDueAtMs(deadlineMs));
  }

  settleExpiredSession(input: Parameters<PresenceStore['settleExpiredSession']>[0]) {
    return this.call((deadlineMs) => this.store.settleExpiredSession(input, deadlineMs));
  }

  completeSessionEnd(teacher: TeacherRef, epoch: SessionEpoch) {
    return this.call((deadlineMs) => this.store.completeSessionEnd(teacher, epoch, deadlineMs));
  }

  snapshot(orgId: Id) {
    return this.call((deadlineMs) => this.store.snapshot(orgId, deadlineMs));
  }

  checkContinuity(last: StoreMark | null) {
    return this.call((deadlineMs) => this.store.checkContinuity(last, deadlineMs));
  }

  claimReconciliation(mark: StoreMark, leaseMs: number) {
    return this.call((deadlineMs) => this.store.claimReconciliation(mark, leaseMs, deadlineMs));
  }

  restoreSockets(input: Parameters<PresenceStore['restoreSockets']>[0]) {
    return this.call((deadlineMs) => this.store.restoreSockets(input, deadlineMs));
  }

  restoreSessions(input: Parameters<PresenceStore['restoreSessions']>[0]) {
    return this.call((deadlineMs) => this.store.restoreSessions(input, deadlineMs));
  }

  restoreCooldowns(input: Parameters<PresenceStore['restoreCooldowns']>[0]) {
    return this.call((deadlineMs) => this.store.restoreCooldowns(input, deadlineMs));
  }

  private call<R>(send: (deadlineMs: number) => Promise<R>): Promise<R> {
    if (!this.up) return Promise.reject(new DependencyUnavailableError('presence'));
    const { commandTimeoutMs, scheduler } = this.options;
    const deadlineMs = this.clock.nowMs() + commandTimeoutMs;
    if (this.lateByMs === null || scheduler === undefined) return send(deadlineMs);
    scheduler.after(commandTimeoutMs + this.lateByMs, () => {
      // Nobody waits for this answer any more. Only the fence's refusal is expected here; any
      // other failure is a bug and is left unhandled so that it surfaces.
      send(deadlineMs).catch((error: unknown) => {
        if (!(error instanceof DependencyUnavailableError)) throw error;
      });
    });
    return Promise.reject(new DependencyUnavailableError('presence'));
  }
}
