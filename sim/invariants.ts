import type { PresenceState, ServerEvent } from '../src/application/ports/realtime-notifier.js';
import type { Timings } from '../src/application/settings.js';
import { type ClientIdentity, type TeacherRef, teacherKey } from '../src/domain/clients.js';
import type { DomainError } from '../src/domain/errors.js';
import type { Id } from '../src/domain/ids.js';
import type { LessonStatus } from '../src/domain/lesson.js';
import type { PresenceRecord } from '../src/domain/presence.js';
import type { SeatMap } from '../src/domain/seat-map.js';
import { retryAfterSeconds } from '../src/domain/session.js';
import { stamp } from './event-log.js';
import type { School } from './school.js';

/**
 * The properties every run must keep, by name. Each is checked after every step that could break
 * it; the precise definition, including what each fault does to the "truth" it is checked
 * against, is the comment on the method that checks it (search for the name).
 */
export const INVARIANTS = {
  'tenant-isolation':
    'no event ever reaches another org or another lesson, and no request learns of another org’s lesson',
  'seat-exclusivity': 'one student per seat and one seat per student',
  'session-ends-once':
    'a session ends exactly once per expiry, in time, never while its teacher is connected and never within the grace period after',
  'lesson-ends-with-session': 'a lesson is ended if and only if its teacher’s session ended',
  'manager-view':
    'every manager’s view of online teachers, from its snapshots and the events after each, matches the truth within the grace + sweep bound (from when its link is back, for a manager whose node was cut off from the others), and at once when a teacher’s last socket leaves through a node that reaches the store',
  'presence-history':
    'every change of a teacher’s presence has exactly one history record, with a reason of its kind',
  cooldown: 'a cooled-down teacher cannot connect (and nobody else is refused for a cooldown)',
  'answered-once': 'every request is answered exactly once, and takes effect once',
  'no-internal-error': 'no request is answered `internal` (a use case threw)',
} as const;

export type InvariantName = keyof typeof INVARIANTS;

export interface Violation {
  readonly invariant: InvariantName;
  readonly message: string;
}

export interface InvariantSettings {
  readonly timings: Timings;
  readonly sweepIntervalMs: number;
  readonly sweepBatchSize: number;
  /** How often the store's expired keys are looked for (the simulated Redis expiry cycle). */
  readonly expiryCycleMs: number;
  /** How often each node refreshes presence, and so looks whether the store lost data. */
  readonly presenceRefreshMs: number;
}

/** What a request was about, for the deliveries it causes. */
export interface RequestContext {
  readonly name: 'join_lesson' | 'logout' | 'force_logout' | 'set_student_name';
  /** The requester's org. */
  readonly orgId: Id;
  readonly lessonId?: Id;
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: DomainError };

interface SocketTruth {
  readonly identity: ClientIdentity;
  /** The node that holds it. */
  readonly nodeId: number;
  loggedOut: boolean;
  /** Lessons this socket joined or was put back into on reconnect: the lesson rooms it may hear. */
  readonly lessons: Set<Id>;
  readonly view?: ManagerView;
}

/**
 * A ManagerWeb socket's picture of its org, built only from what it received: its snapshot
 * (`presence_state`) and the presence events after it.
 */
interface ManagerView {
  readonly connectedAtMs: number;
  /** Once its snapshot came, every teacher of the org counts. */
  snapshot: boolean;
  readonly online: Set<Id>;
  readonly heard: Set<Id>;
}

/** Something owed by a deadline: a session end after an expiry, or a manager view to heal. */
interface Obligation {
  readonly sinceMs: number;
  dueByMs: number;
  /** Only owed ends (and views waiting for one) wait for the session-end machinery. */
  readonly waitsForSessionEnd: boolean;
  /**
   * A view that must heal within the step that caused it: a teacher's last socket left through
   * a node that reaches the store, so `teacher_disconnect` is owed at once, not within a grace.
   */
  readonly inStep?: boolean;
  /**
   * An end owed since the store lost the teacher's session: the reconciliation gives it a grace
   * period first, whose expiry then makes it due like any other.
   */
  awaitingExpiry?: boolean;
}

interface SeatLedger {
  readonly seatCount: number;
  readonly holders: Map<string, Id>;
  readonly seatOf: Map<Id, string>;
}

/**
 * Where a teacher's session stands by its presence history's last record that changed it, or
 * `forgotten` when the store lost its data since.
 */
type HistoryState = 'connected' | 'grace' | 'none' | 'forgotten';

/** The reasons a record of each kind may give (PROTOCOL §5a); disconnects give the socket's. */
const RECORD_REASONS: Readonly<Record<PresenceRecord['kind'], readonly string[]>> = {
  connect: ['new_session', 'reconnect'],
  disconnect: [
    'transport close',
    'ping timeout',
    'client namespace disconnect',
    'io server disconnect',
    'token_expired',
    'replaced',
    'node_lost',
  ],
  logout: ['logout', 'force_logout'],
  session_end: ['grace_expired'],
};

/**
 * The simulator's oracle: the truth, maintained event by event from what clients did and were
 * told (never read back from the system under test except where a comment says so), and the
 * named invariants checked against it. The first violation is kept and the run stops there.
 *
 * Faults change when the truth must show, never what it is: PostgreSQL is the truth and Redis soft
 * state (PROTOCOL §6a), so a store that restarted empty still owes every acknowledged seat, every
 * running cooldown and every session end, within bounds that grow by the time it takes the nodes
 * to notice the loss and reconcile.
 */
export class Invariants {
  violation: Violation | null = null;
  checks = 0;
  sessionsEnded = 0;

  private readonly sockets = new Map<string, SocketTruth>();
  /** TeacherApp sockets that are admitted, not logged out and not gone, by teacher (org and user). */
  private readonly teacherSockets = new Map<string, Set<string>>();
  /** Each teacher's TeacherApp socket admitted last: the one the store's directory names. */
  private readonly newestSocket = new Map<string, string>();
  /**
   * Until when the store may still count a socket of the teacher as live that left unseen (its
   * node crashed, or its node could not reach the store): until its last refresh runs out.
   */
  private readonly ghostUntilMs = new Map<string, number>();
  /** When each teacher last went online or offline. */
  private readonly lastChangeMs = new Map<string, number>();
  /** When each teacher's last TeacherApp socket went: no session of it ends a grace period sooner. */
  private readonly offlineSinceMs = new Map<string, number>();
  private readonly managersOfOrg = new Map<Id, Set<string>>();
  /** Nodes whose link to the other nodes is down: their managers hear nothing from the others. */
  private readonly cutOff = new Set<number>();
  private readonly mismatches = new Map<string, Obligation>();
  private readonly owedEnds = new Map<string, Obligation[]>();
  private owedCount = 0;
  private readonly lessonStatus = new Map<Id, LessonStatus>();
  private readonly activeLessons = new Map<string, Set<Id>>();
  private readonly seatLedgers = new Map<Id, SeatLedger>();
  private readonly cooldownUntilMs = new Map<string, number>();
  private readonly history = new Map<string, HistoryState>();
  /** Whether the store ever lost its data: teachers with no record yet are then `forgotten` too. */
  private historyReset = false;
  private readonly answers = new Map<number, number>();
  /** What the request in progress told other sockets: `event to sid` → how many times. */
  private readonly requestDeliveries = new Map<string, number>();
  private tickets = 0;
  private current: RequestContext | null = null;
  private readonly touchedLessons = new Set<Id>();
  private databaseDown = false;
  private readonly nodesDown = new Set<number>();
  /** Nodes whose link to the store has failed (down, or every call late). */
  private readonly linksDown = new Set<number>();
  /** When each node's presence refresh last reached the store. */
  private readonly lastRefreshMs = new Map<number, number>();
  /** Nodes whose link failed since their last refresh that reached the store. */
  private readonly linkFailedSinceRefresh = new Set<number>();

  constructor(
    private readonly school: School,
    private readonly settings: InvariantSettings,
    /** Nodes are numbered 1..nodes. */
    private readonly nodes: number,
    /** Milliseconds since the run started: every time the oracle keeps or prints is relative. */
    private readonly nowMs: () => number,
  ) {
    for (const org of school.orgs) {
      for (const lesson of org.lessons.flat()) this.lessonStatus.set(lesson.id, lesson.status);
    }
  }

  private fail(invariant: InvariantName, message: string): void {
    this.violation ??= { invariant, message };
  }

  private check(invariant: InvariantName, holds: boolean, message: () => string): void {
    this.checks += 1;
    if (!holds) this.fail(invariant, message());
  }

  // ── sockets ────────────────────────────────────────────────────────────────────────────────

  /**
   * A handshake was answered. `cooldown`: a TeacherApp is admitted only when no force_logout of
   * that teacher (same org and user) was acknowledged within COOLDOWN_S, and refused `cooldown`
   * only while one was, with `retry_after_s` = the whole seconds left, rounded up, at least 1.
   * A store restart changes nothing here: cooldowns are restored from `teacher_cooldown`.
   */
  handshakeAnswered(
    sid: string,
    nodeId: number,
    identity: ClientIdentity,
    outcome: Outcome,
    reconnectedLessonId: Id | null,
  ): void {
    const now = this.nowMs();
    if (identity.kind === 'teacher_app') {
      const until = this.cooldownUntilMs.get(teacherKey(identity)) ?? 0;
      const cooling = now < until;
      if (outcome.ok) {
        this.check('cooldown', !cooling, () => {
          return `${identity.userId} of org ${identity.orgId} was admitted ${until - now} ms before its cooldown ends`;
        });
      } else if (outcome.error.code === 'cooldown') {
        const expected = retryAfterSeconds(until - now);
        this.check('cooldown', cooling && outcome.error.retryAfterS === expected, () =>
          cooling
            ? `${identity.userId} was told retry_after_s=${outcome.error.retryAfterS}, expected ${expected}`
            : `${identity.userId} of org ${identity.orgId} was refused for a cooldown that is not running`,
        );
      }
    }
    if (!outcome.ok) return;
    const truth: SocketTruth = {
      identity,
      nodeId,
      loggedOut: false,
      lessons: new Set(reconnectedLessonId === null ? [] : [reconnectedLessonId]),
      ...(identity.kind === 'manager_web'
        ? {
            view: {
              connectedAtMs: now,
              snapshot: false,
              online: new Set<Id>(),
              heard: new Set<Id>(),
            },
          }
        : {}),
    };
    this.sockets.set(sid, truth);
    if (identity.kind === 'manager_web') {
      this.setOf(this.managersOfOrg, identity.orgId).add(sid);
    } else if (identity.kind === 'teacher_app') {
      // A new session supersedes an expired one that was not ended yet: the store refuses to
      // claim the old one while the teacher is alive, and the next expiry ends both at once.
      const key = teacherKey(identity);
      this.owedCount -= this.owedEnds.get(key)?.length ?? 0;
      this.owedEnds.delete(key);
      const live = this.setOf(this.teacherSockets, key);
      live.add(sid);
      this.newestSocket.set(key, sid);
      if (live.size === 1) this.teacherChanged(identity);
    }
  }

  /** The request `logout` succeeded: the socket stays, and its teacher has no session now. */
  loggedOut(sid: string): void {
    const truth = this.sockets.get(sid);
    if (truth === undefined) return;
    truth.loggedOut = true;
    if (truth.identity.kind !== 'teacher_app') return;
    // Logout ends the presence of every device of the teacher (the store deletes the session):
    // the others stop being refreshed and their disconnects write nothing.
    for (const other of this.teacherSockets.get(teacherKey(truth.identity)) ?? []) {
      const device = this.sockets.get(other);
      if (device !== undefined) device.loggedOut = true;
    }
    this.teacherSockets.delete(teacherKey(truth.identity));
    this.wentOffline(truth.identity);
  }

  /**
   * The socket is gone: its node handles its disconnect (`noticed`), or the node crashed and it
   * vanished.
   */
  socketGone(sid: string, noticed = false): void {
    const truth = this.sockets.get(sid);
    if (truth === undefined) return;
    this.sockets.delete(sid);
    if (truth.view !== undefined) {
      this.managersOfOrg.get(truth.identity.orgId)?.delete(sid);
      for (const key of this.mismatches.keys()) {
        if (key.startsWith(`${sid}|`)) this.mismatches.delete(key);
      }
    }
    if (truth.identity.kind !== 'teacher_app') return;
    const key = teacherKey(truth.identity);
    // When its node's link failed since the node's last refresh, the store last knew the socket
    // at that refresh: the grace period may count from then (PROTOCOL §6a.2).
    const linkFailed = this.linkFailedSinceRefresh.has(truth.nodeId);
    const seenByStore = noticed && !linkFailed && !this.linksDown.has(truth.nodeId);
    // A socket the store did not see leave stays live there until its last refresh runs out.
    if (!seenByStore) {
      this.ghostUntilMs.set(key, this.nowMs() + this.settings.timings.presenceTtlS * 1000);
    }
    const live = this.teacherSockets.get(key);
    if (live?.delete(sid) !== true || live.size > 0) return;
    this.teacherSockets.delete(key);
    const lastKnownMs = linkFailed ? (this.lastRefreshMs.get(truth.nodeId) ?? 0) : this.nowMs();
    // A node that handles the disconnect of the teacher's newest socket and reaches the store
    // tells the managers at once (PROTOCOL §5), unless another socket of the teacher left unseen
    // and still counts there: then they hear of it from node_lost or the session end.
    const inStep =
      seenByStore &&
      this.newestSocket.get(key) === sid &&
      (this.ghostUntilMs.get(key) ?? 0) < this.nowMs();
    this.wentOffline(truth.identity, lastKnownMs, inStep);
  }

  /** `inStep`: the managers' views it changes must heal in this step (see `reconcile`). */
  private wentOffline(teacher: TeacherRef, lastKnownMs = this.nowMs(), inStep = false): void {
    this.offlineSinceMs.set(teacherKey(teacher), lastKnownMs);
    this.teacherChanged(teacher, inStep);
  }

  private isOnline(teacher: TeacherRef): boolean {
    return (this.teacherSockets.get(teacherKey(teacher))?.size ?? 0) > 0;
  }

  // ── requests ───────────────────────────────────────────────────────────────────────────────

  /** A client sent a request; the returned ticket is answered through `answered`. */
  requestIssued(context: RequestContext): number {
    this.requestDeliveries.clear();
    this.tickets += 1;
    this.answers.set(this.tickets, 0);
    this.current = context;
    return this.tickets;
  }

  /**
   * `answered-once`: every request issued during a step has exactly one answer when the step is
   * over (a use case that never settles leaves it at zero; see `afterStep`), and what it tells
   * others — set_student_name to the lesson's teachers, force_logout to the teacher's apps —
   * reaches each socket once: a request run twice tells them twice. `no-internal-error`:
   * the answer is never `internal`, which the gateway sends only when a use case threw.
   */
  answered(ticket: number, outcome: Outcome): void {
    this.answers.set(ticket, (this.answers.get(ticket) ?? 0) + 1);
    for (const [delivery, count] of this.requestDeliveries) {
      this.check('answered-once', count === 1, () => {
        return `request #${ticket} (${this.current?.name}) took effect ${count} times: ${delivery}`;
      });
    }
    this.requestDeliveries.clear();
    this.current = null;
    this.check('no-internal-error', outcome.ok || outcome.error.code !== 'internal', () =>
      outcome.ok ? '' : `a request was answered internal: ${outcome.error.message}`,
    );
  }

  // ── lessons and seats ──────────────────────────────────────────────────────────────────────

  /**
   * A join_lesson was answered. `tenant-isolation`: a lesson of another org is answered
   * `lesson_not_found` (or `unavailable`), exactly as a lesson that does not exist.
   * `lesson-ends-with-session`: a join succeeds only on a lesson that is not ended, and is refused
   * `lesson_ended` only when it is; the lesson's teacher joining a scheduled lesson makes it active.
   * `seat-exclusivity`: the seat map in the answer holds each student at most once and equals the
   * seats acknowledged so far (see `seatClaimAnswered`) — also when the seat map was rebuilt after
   * the store lost it or its LESSON_TTL_S ran out, since `student_attend` records every seat.
   */
  joinAnswered(sid: string, lessonId: Id, outcome: Outcome & { seats?: SeatMap }): void {
    const truth = this.sockets.get(sid);
    const lesson = this.school.lesson(lessonId);
    if (truth === undefined || lesson === undefined) return;
    const { identity } = truth;
    if (lesson.orgId !== identity.orgId) {
      const code = outcome.ok ? 'ok' : outcome.error.code;
      this.check('tenant-isolation', code === 'lesson_not_found' || code === 'unavailable', () => {
        return `${identity.userId} of org ${identity.orgId} asked for lesson ${lessonId} of org ${lesson.orgId} and got ${code}`;
      });
      return;
    }
    const status = this.lessonStatus.get(lessonId);
    if (!outcome.ok) {
      if (outcome.error.code === 'lesson_ended') {
        this.check('lesson-ends-with-session', status === 'ended', () => {
          return `lesson ${lessonId} was refused as ended, but no session of ${lesson.teacherId} ended while it was active`;
        });
      }
      return;
    }
    this.check('lesson-ends-with-session', status !== 'ended', () => {
      return `${identity.userId} joined lesson ${lessonId}, which ended with its teacher's session`;
    });
    truth.lessons.add(lessonId);
    if (identity.kind === 'teacher_app' && status === 'scheduled') {
      this.lessonStatus.set(lessonId, 'active');
      this.setOf(
        this.activeLessons,
        teacherKey({ orgId: lesson.orgId, userId: lesson.teacherId }),
      ).add(lessonId);
    }
    if (outcome.seats !== undefined) this.checkSeatMap(lessonId, lesson.seatCount, outcome.seats);
  }

  private checkSeatMap(lessonId: Id, seatCount: number, seats: SeatMap): void {
    let expected = this.seatLedgers.get(lessonId);
    if (expected === undefined) {
      expected = { seatCount, holders: new Map(), seatOf: new Map() };
      this.seatLedgers.set(lessonId, expected);
    }
    const seen = new Set<Id>();
    let mismatch: string | null = null;
    const entries = Object.entries(seats);
    if (entries.length !== seatCount) mismatch = `${entries.length} seats instead of ${seatCount}`;
    for (const [seat, holder] of entries) {
      if (holder !== '' && seen.has(holder)) mismatch ??= `${holder} holds two seats`;
      seen.add(holder);
      const want = expected.holders.get(seat) ?? '';
      if (holder !== want) mismatch ??= `seat ${seat} is "${holder}", acknowledged "${want}"`;
    }
    this.check('seat-exclusivity', mismatch === null, () => `lesson ${lessonId}: ${mismatch}`);
  }

  /**
   * A set_student_name was answered. `seat-exclusivity`: success on a seat that another student
   * holds (by the acknowledged claims so far) is a double booking; `seat_taken` is answered only
   * when another student holds it, and `seat_not_found` only for a seat outside 1..seat_count.
   * A successful claim moves the student: the seat they held before in that lesson is free again.
   */
  seatClaimAnswered(lessonId: Id, studentId: Id, seatId: string, outcome: Outcome): void {
    const ledger = this.seatLedgers.get(lessonId);
    const exists =
      ledger !== undefined && Number(seatId) >= 1 && Number(seatId) <= ledger.seatCount;
    const holder = ledger?.holders.get(seatId);
    if (outcome.ok) {
      this.check(
        'seat-exclusivity',
        exists && (holder === undefined || holder === studentId),
        () =>
          exists
            ? `${studentId} was given seat ${seatId} of lesson ${lessonId}, which ${holder} holds`
            : `${studentId} was given seat ${seatId} of lesson ${lessonId}, which no join showed`,
      );
      if (ledger === undefined) return;
      const previous = ledger.seatOf.get(studentId);
      if (previous !== undefined && previous !== seatId) ledger.holders.delete(previous);
      ledger.holders.set(seatId, studentId);
      ledger.seatOf.set(studentId, seatId);
      return;
    }
    if (ledger === undefined) return;
    if (outcome.error.code === 'seat_taken') {
      this.check('seat-exclusivity', holder !== undefined && holder !== studentId, () => {
        return `${studentId} was refused seat ${seatId} of lesson ${lessonId} as taken, but it is ${holder === undefined ? 'free' : 'theirs'}`;
      });
    } else if (outcome.error.code === 'seat_not_found') {
      this.check('seat-exclusivity', !exists, () => {
        return `seat ${seatId} of lesson ${lessonId} exists but was answered seat_not_found`;
      });
    }
  }

  /** The lesson repository was written; `afterStep` compares these lessons with the truth. */
  lessonsWritten(lessonIds: Iterable<Id>): void {
    for (const lessonId of lessonIds) this.touchedLessons.add(lessonId);
  }

  // ── sessions ───────────────────────────────────────────────────────────────────────────────

  /**
   * The store reported that a teacher's alive hash expired (its `expired` notification, before
   * any fault delays, repeats or drops it). From now on one session end is owed for it, within
   * one sweep interval — several when more sessions are due than a sweep's batch ends — plus the
   * expiry cycle's resolution. An end already owed since the store lost the session is that one.
   * See `sessionEnded` and `afterStep`.
   */
  expired(teacher: TeacherRef): void {
    const now = this.nowMs();
    const owed = this.owedEnds.get(teacherKey(teacher));
    const restored = owed?.find((obligation) => obligation.awaitingExpiry === true);
    if (restored !== undefined) {
      restored.awaitingExpiry = false;
      restored.dueByMs = now + this.sweepBoundMs();
      return;
    }
    this.owedCount += 1;
    const obligation: Obligation = {
      sinceMs: now,
      dueByMs: now + this.sweepBoundMs(),
      waitsForSessionEnd: true,
    };
    if (owed === undefined) this.owedEnds.set(teacherKey(teacher), [obligation]);
    else owed.push(obligation);
  }

  /**
   * EndExpiredSession answered `ended` for a teacher. `session-ends-once`: an expiry of that
   * teacher is owed an end (a second end of the same expiry, or an end without expiry, fails);
   * no TeacherApp socket of the teacher is connected — admitted, not logged out, on a live node
   * and not yet disconnected — and its last one went at least DISCONNECT_GRACE_S ago.
   * `lesson-ends-with-session`: the lessons it ended are exactly the teacher's lessons that were
   * active (scheduled ones stay scheduled), and no lesson ends any other way (`afterStep` compares
   * every lesson the database wrote).
   */
  sessionEnded(teacher: TeacherRef, lessonIds: readonly Id[]): void {
    this.sessionsEnded += 1;
    const key = teacherKey(teacher);
    const owed = this.owedEnds.get(key);
    this.check('session-ends-once', owed !== undefined && owed.length > 0, () => {
      return `the session of ${teacher.userId} (org ${teacher.orgId}) ended with no expiry left to end: ended twice, or without expiring`;
    });
    if (owed !== undefined && owed.length > 0) {
      owed.shift();
      this.owedCount -= 1;
      if (owed.length === 0) this.owedEnds.delete(key);
    }
    const sockets = [...(this.teacherSockets.get(key) ?? [])];
    this.check('session-ends-once', sockets.length === 0, () => {
      return `the session of ${teacher.userId} ended while its TeacherApp ${sockets.join(', ')} is connected`;
    });
    const offlineMs = this.nowMs() - (this.offlineSinceMs.get(key) ?? 0);
    const graceMs = this.settings.timings.disconnectGraceS * 1000;
    this.check('session-ends-once', sockets.length > 0 || offlineMs >= graceMs, () => {
      return `the session of ${teacher.userId} (org ${teacher.orgId}) ended ${offlineMs} ms after its last TeacherApp went, within the grace period`;
    });
    const active = this.activeLessons.get(key) ?? new Set<Id>();
    const same = lessonIds.length === active.size && lessonIds.every((id) => active.has(id));
    this.check('lesson-ends-with-session', same, () => {
      return `the session end of ${teacher.userId} ended lessons [${lessonIds.join(', ')}], but its active lessons were [${[...active].join(', ')}]`;
    });
    for (const lessonId of active) this.lessonStatus.set(lessonId, 'ended');
    this.activeLessons.delete(key);
  }

  /** A force_logout was acknowledged: the target teacher of the manager's org cools down. */
  forcedOut(target: TeacherRef): void {
    this.cooldownUntilMs.set(
      teacherKey(target),
      this.nowMs() + this.settings.timings.cooldownS * 1000,
    );
  }

  /**
   * A presence history record was written (PresenceLog.record). `presence-history`: its reason
   * is one of its kind's (§5a), and the records of a teacher follow its session as the service
   * saw it, one per change: a `connect` only when the session was not connected; a `disconnect`
   * (other than `replaced`: a device that left while another stays) only when it was, starting
   * the grace period; a `logout` only when there was a session (connected or in grace); a
   * `session_end` only when it was not connected. A change recorded twice, or never, breaks the
   * sequence. A forced logout is recorded as the manager's act, and the disconnect that follows
   * as the change. Truth under faults: a store that lost its data lost the sessions the records
   * describe, so each teacher's next record after the loss starts the sequence afresh.
   */
  presenceRecorded(record: PresenceRecord): void {
    const key = `${record.orgId}:${record.userId}`;
    const who = `${record.userId} of org ${record.orgId}`;
    this.check('presence-history', RECORD_REASONS[record.kind].includes(record.reason), () => {
      return `${who} has a ${record.kind} record with reason "${record.reason}"`;
    });
    if (record.reason === 'replaced' || record.reason === 'force_logout') return;
    const state = this.history.get(key) ?? (this.historyReset ? 'forgotten' : 'none');
    const allowed: Readonly<Record<PresenceRecord['kind'], readonly HistoryState[]>> = {
      connect: ['grace', 'none'],
      disconnect: ['connected'],
      logout: ['connected', 'grace'],
      session_end: ['grace', 'none'],
    };
    this.check(
      'presence-history',
      state === 'forgotten' || allowed[record.kind].includes(state),
      () => `${who} has a ${record.kind} record (${record.reason}) after its history said ${state}`,
    );
    const next: Readonly<Record<PresenceRecord['kind'], HistoryState>> = {
      connect: 'connected',
      disconnect: 'grace',
      logout: 'none',
      session_end: 'none',
    };
    this.history.set(key, next[record.kind]);
  }

  // ── deliveries ─────────────────────────────────────────────────────────────────────────────

  /**
   * An event reached a socket. `tenant-isolation`, per event:
   * teacher_connect / teacher_disconnect / logout reach only ManagerWeb sockets of the teacher's
   * org; force_logout only a TeacherApp of that very teacher in the forcing manager's org;
   * set_student_name only a TeacherApp socket in the lesson the student named; lesson_ended only
   * sockets that joined (or were put back into) that lesson; presence_state only a ManagerWeb
   * socket, listing teachers of its org. Nothing reaches a socket that was never admitted or is
   * gone.
   */
  delivered(sid: string, event: ServerEvent): void {
    const to = this.sockets.get(sid);
    const who =
      to === undefined
        ? `socket ${sid}`
        : `${to.identity.userId} (org ${to.identity.orgId}, ${to.identity.kind})`;
    const refuse = (why: string) =>
      `${event.name} ${JSON.stringify(event.payload)} reached ${who}: ${why}`;
    if (to === undefined) {
      this.check('tenant-isolation', false, () => refuse('not an admitted socket'));
      return;
    }
    const { identity } = to;
    switch (event.name) {
      case 'teacher_connect':
      case 'teacher_disconnect':
      case 'logout': {
        const teacher = this.school.user(identity.orgId, event.payload.user_id);
        const fits = identity.kind === 'manager_web' && teacher?.role === 'teacher';
        this.check('tenant-isolation', fits, () => refuse('not a manager of that teacher’s org'));
        if (fits && to.view !== undefined) {
          this.viewHeard(sid, to.view, event.payload.user_id, event.name === 'teacher_connect');
        }
        return;
      }
      case 'presence_state': {
        const strangers = event.payload.teachers.filter(
          (entry) => this.school.user(identity.orgId, entry.user_id)?.role !== 'teacher',
        );
        const fits = identity.kind === 'manager_web' && strangers.length === 0;
        this.check('tenant-isolation', fits, () => refuse('lists teachers of another org'));
        if (fits && to.view !== undefined) this.viewFromSnapshot(sid, to.view, event.payload);
        return;
      }
      case 'force_logout': {
        this.countRequestDelivery(sid, event);
        const fits =
          identity.kind === 'teacher_app' &&
          identity.userId === event.payload.user_id &&
          this.current?.name === 'force_logout' &&
          this.current.orgId === identity.orgId;
        this.check('tenant-isolation', fits, () => refuse('not that teacher in the manager’s org'));
        return;
      }
      case 'set_student_name': {
        this.countRequestDelivery(sid, event);
        const lessonId =
          this.current?.name === 'set_student_name' ? this.current.lessonId : undefined;
        const fits =
          identity.kind === 'teacher_app' && lessonId !== undefined && to.lessons.has(lessonId);
        this.check('tenant-isolation', fits, () => refuse(`not a teacher in lesson ${lessonId}`));
        return;
      }
      case 'lesson_ended': {
        const lesson = this.school.lesson(event.payload.lesson_id);
        const fits = lesson?.orgId === identity.orgId && to.lessons.has(event.payload.lesson_id);
        this.check('tenant-isolation', fits, () => refuse('not in that lesson'));
        return;
      }
    }
  }

  private countRequestDelivery(sid: string, event: ServerEvent): void {
    const delivery = `${event.name} to ${sid}`;
    this.requestDeliveries.set(delivery, (this.requestDeliveries.get(delivery) ?? 0) + 1);
  }

  private viewHeard(sid: string, view: ManagerView, teacher: Id, online: boolean): void {
    view.heard.add(teacher);
    if (online) view.online.add(teacher);
    else view.online.delete(teacher);
    this.reconcile(sid, view, teacher);
  }

  /** A snapshot replaces the view: teachers in state `connect` are online, the rest are not. */
  private viewFromSnapshot(sid: string, view: ManagerView, state: PresenceState): void {
    view.snapshot = true;
    view.online.clear();
    for (const entry of state.teachers) {
      if (entry.state === 'connect') view.online.add(entry.user_id);
    }
    const org = this.school.orgs.find(
      (candidate) => candidate.orgId === this.sockets.get(sid)?.identity.orgId,
    );
    for (const teacher of org?.teachers ?? []) this.reconcile(sid, view, teacher.userId);
  }

  private teacherChanged(teacher: TeacherRef, inStep = false): void {
    this.lastChangeMs.set(teacherKey(teacher), this.nowMs());
    for (const sid of this.managersOfOrg.get(teacher.orgId) ?? []) {
      const view = this.sockets.get(sid)?.view;
      if (view !== undefined) this.reconcile(sid, view, teacher.userId, inStep);
    }
  }

  /**
   * `manager-view`: for each ManagerWeb socket M and teacher T of its org, M's view — its
   * snapshot, then online after teacher_connect and offline after teacher_disconnect or logout —
   * equals the truth (T has a TeacherApp socket admitted, not logged out, not gone), or has
   * differed for at most DISCONNECT_GRACE_S + SWEEP_INTERVAL_S; when T's last socket leaves through
   * a node that reaches the store and no other socket of T left unseen, M hears
   * teacher_disconnect in the same step — unless M's node is cut off from the others: then nothing
   * is owed to M until its link is back, and from then on the bound again. Until M's snapshot came
   * (it is retried while the store is away), T counts for M once M heard of T or T changed after M
   * connected. Truth under faults: a crashed node's teachers are offline at once, and M hears of
   * it from `node_lost` or the session end — within the bound, later by the length of a database
   * outage plus the claim lease, of a time with no node up, or of a store restart's
   * reconciliation (`storeRestarted`).
   */
  private reconcile(sid: string, view: ManagerView, userId: Id, inStep = false): void {
    const orgId = this.sockets.get(sid)?.identity.orgId;
    if (orgId === undefined) return;
    const teacher = { orgId, userId };
    const changedMs = this.lastChangeMs.get(teacherKey(teacher));
    if (
      !view.snapshot &&
      !view.heard.has(userId) &&
      (changedMs === undefined || changedMs < view.connectedAtMs)
    ) {
      return;
    }
    const key = `${sid}|${userId}`;
    const truth = this.isOnline(teacher);
    const seen = view.online.has(userId);
    if (truth === seen) {
      this.mismatches.delete(key);
      return;
    }
    if (this.mismatches.has(key)) return;
    const now = this.nowMs();
    this.mismatches.set(key, {
      sinceMs: now,
      dueByMs: now + this.viewBoundMs(),
      waitsForSessionEnd: !truth,
      // A manager cut off from the other nodes cannot hear it now; its snapshot comes later.
      inStep: inStep && !this.isCutOff(sid),
    });
  }

  /** How long a manager's view may differ from the truth: the grace period and a sweep. */
  private viewBoundMs(): number {
    return this.settings.timings.disconnectGraceS * 1000 + this.settings.sweepIntervalMs;
  }

  /** Whether the node holding socket `sid` is cut off from the other nodes. */
  private isCutOff(sid: string): boolean {
    const nodeId = this.sockets.get(sid)?.nodeId;
    return nodeId !== undefined && this.cutOff.has(nodeId);
  }

  // ── faults ─────────────────────────────────────────────────────────────────────────────────

  /**
   * The store forgot every key. The truth stays (PROTOCOL §6a.3): seats, cooldowns and lessons
   * live in the database; the nodes put back the sockets they hold at their next refresh, and one
   * node gives every teacher with an active lesson and no presence a grace period. So an end is
   * owed to every such teacher (expiries of erased sessions are that end, not another), within a
   * refresh, the grace period and the sweep bound; a manager view waiting for a session end gets
   * as long. The presence history's sequences start afresh (see `presenceRecorded`).
   */
  storeRestarted(): void {
    const now = this.nowMs();
    for (const key of this.history.keys()) this.history.set(key, 'forgotten');
    this.historyReset = true;
    const dueByMs = now + this.reconciledEndBoundMs();
    this.owedEnds.clear();
    this.owedCount = 0;
    for (const [key, lessons] of this.activeLessons) {
      const [orgId = '', userId = ''] = key.split(':');
      if (lessons.size === 0 || this.isOnline({ orgId, userId })) continue;
      this.owedEnds.set(key, [
        { sinceMs: now, dueByMs, waitsForSessionEnd: true, awaitingExpiry: true },
      ]);
      this.owedCount += 1;
    }
    for (const mismatch of this.mismatches.values()) {
      if (mismatch.waitsForSessionEnd) mismatch.dueByMs = Math.max(mismatch.dueByMs, dueByMs);
    }
  }

  /** A refresh (when a node notices the loss), the grace period it then starts, and the sweep. */
  private reconciledEndBoundMs(): number {
    const { presenceRefreshMs, timings } = this.settings;
    return presenceRefreshMs + timings.disconnectGraceS * 1000 + this.sweepBoundMs();
  }

  databaseAvailable(up: boolean): void {
    this.databaseDown = !up;
    if (up) this.resume(this.settings.timings.sessionEndLeaseMs);
  }

  nodeAvailable(nodeId: number, up: boolean): void {
    this.serving(() => {
      if (up) this.nodesDown.delete(nodeId);
      else this.nodesDown.add(nodeId);
    });
  }

  /**
   * A node's link to the store failed (down, or every call late) or is well again. Its sockets
   * stay connected, but the store last knew them at the node's last refresh before the failure.
   */
  linkAvailable(nodeId: number, up: boolean): void {
    this.serving(() => {
      if (up) {
        this.linksDown.delete(nodeId);
        return;
      }
      this.linksDown.add(nodeId);
      this.linkFailedSinceRefresh.add(nodeId);
    });
  }

  /**
   * A node's link to the other nodes is cut or mended. While it is cut, what they send never
   * reaches its managers, and nothing it misses is owed; once mended, it sends its managers a
   * fresh snapshot, so every view of theirs that differs must heal within the usual bound from now.
   */
  linkCut(nodeId: number, cut: boolean): void {
    if (cut) {
      this.cutOff.add(nodeId);
      return;
    }
    this.cutOff.delete(nodeId);
    const dueByMs = this.nowMs() + this.viewBoundMs();
    for (const [key, mismatch] of this.mismatches) {
      const [sid = ''] = key.split('|');
      if (this.sockets.get(sid)?.nodeId === nodeId) {
        mismatch.dueByMs = Math.max(mismatch.dueByMs, dueByMs);
      }
    }
  }

  /** A node's presence refresh reached the store: it knows the node's sockets as of now. */
  refreshed(nodeId: number): void {
    this.lastRefreshMs.set(nodeId, this.nowMs());
    this.linkFailedSinceRefresh.delete(nodeId);
  }

  /** Applies a change of nodes or links; when some node can end sessions again, resumes. */
  private serving(change: () => void): void {
    const wasNone = this.servingNodes() === 0;
    change();
    // A claim made just before a link failed keeps its lease.
    if (wasNone && this.servingNodes() > 0) this.resume(this.settings.timings.sessionEndLeaseMs);
  }

  /** Nodes that run and reach the store: the ones that can end sessions. */
  private servingNodes(): number {
    let serving = 0;
    for (let nodeId = 1; nodeId <= this.nodes; nodeId++) {
      if (!this.nodesDown.has(nodeId) && !this.linksDown.has(nodeId)) serving += 1;
    }
    return serving;
  }

  /**
   * Session ends cannot happen while the database is down or no node runs and reaches the store, so what waits for one
   * gets, from the moment they are back, the lease of any claim that failed meanwhile and the
   * sweeps it takes to catch up.
   */
  private resume(leaseMs: number): void {
    if (this.suspended()) return;
    const dueByMs = this.nowMs() + leaseMs + this.sweepBoundMs();
    for (const owed of this.owedEnds.values()) {
      for (const obligation of owed) {
        // A reconciliation that waited for the database starts its grace period only now.
        const bound =
          obligation.awaitingExpiry === true
            ? this.nowMs() + leaseMs + this.reconciledEndBoundMs()
            : dueByMs;
        obligation.dueByMs = Math.max(obligation.dueByMs, bound);
      }
    }
    for (const mismatch of this.mismatches.values()) {
      if (mismatch.waitsForSessionEnd) mismatch.dueByMs = Math.max(mismatch.dueByMs, dueByMs);
    }
  }

  private suspended(): boolean {
    return this.databaseDown || this.servingNodes() === 0;
  }

  /** One sweep interval per batch of due sessions, plus the expiry cycle's resolution. */
  private sweepBoundMs(): number {
    const sweeps = Math.max(1, Math.ceil(this.owedCount / this.settings.sweepBatchSize));
    return sweeps * this.settings.sweepIntervalMs + this.settings.expiryCycleMs;
  }

  // ── after every step ───────────────────────────────────────────────────────────────────────

  /**
   * The checks that need the whole step: every request answered once; lessons written to the
   * repository equal the truth (read back from the repository: the only place their status
   * lives); and no owed session end or manager view is past its deadline.
   */
  async afterStep(readStatus: (lessonId: Id) => Promise<LessonStatus | undefined>): Promise<void> {
    for (const [ticket, count] of this.answers) {
      this.check(
        'answered-once',
        count === 1,
        () => `request #${ticket} was answered ${count} times`,
      );
    }
    this.answers.clear();
    this.current = null;
    for (const lessonId of this.touchedLessons) {
      const stored = await readStatus(lessonId);
      const truth = this.lessonStatus.get(lessonId);
      this.check('lesson-ends-with-session', stored === truth, () => {
        return `lesson ${lessonId} is ${stored} in the database but ${truth} by its teacher's joins and session ends`;
      });
    }
    this.touchedLessons.clear();
    const now = this.nowMs();
    const suspended = this.suspended();
    for (const owed of this.owedEnds.values()) {
      const oldest = owed[0];
      if (oldest === undefined || suspended) continue;
      this.check('session-ends-once', now <= oldest.dueByMs, () => {
        return `an expiry at ${stamp(oldest.sinceMs)} was not ended by ${stamp(oldest.dueByMs)}`;
      });
    }
    for (const [key, mismatch] of this.mismatches) {
      const [sid, teacher] = key.split('|');
      if (this.isCutOff(sid ?? '')) continue;
      const overdue = now > mismatch.dueByMs && !(suspended && mismatch.waitsForSessionEnd);
      if (!overdue && mismatch.inStep !== true) continue;
      this.check('manager-view', false, () => {
        const seen = this.sockets.get(sid ?? '')?.view?.online.has(teacher ?? '');
        const what = `manager socket ${sid} has shown ${teacher} ${seen ? 'online' : 'offline'} since ${stamp(mismatch.sinceMs)}, against the truth`;
        return overdue ? what : `${what}: its last socket left and no teacher_disconnect came`;
      });
    }
  }

  private setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
    let set = map.get(key);
    if (set === undefined) {
      set = new Set();
      map.set(key, set);
    }
    return set;
  }
}
