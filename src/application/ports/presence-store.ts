import type { ClientIdentity, TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { Result } from '../../domain/result.js';
import type { SeatMap } from '../../domain/seat-map.js';
import type { SessionEpoch } from '../../domain/session.js';

/** A connected socket of a known user. */
export interface SocketOf {
  readonly identity: ClientIdentity;
  readonly sid: string;
}

/** A connected TeacherApp socket and the session epoch its connect started. */
export interface TeacherPresence {
  readonly socket: SocketOf;
  readonly epoch: SessionEpoch;
}

export type TeacherConnectOutcome =
  | { readonly kind: 'cooldown'; readonly remainingMs: number }
  | {
      readonly kind: 'connected';
      readonly epoch: SessionEpoch;
      /** The lesson this teacher had joined before (a reconnect), now pointing at the new sid. */
      readonly lessonId: Id | null;
    };

export interface DisconnectOutcome {
  /** False when a newer socket of the same user had replaced this one: nothing was written. */
  readonly current: boolean;
  readonly lessonId: Id | null;
}

/** What a successful seat claim changed, so that it can be taken back. */
export interface SeatChange {
  /** The student already sat there: nothing changed. */
  readonly alreadyHeld: boolean;
  /** The seat the student left to take this one. */
  readonly releasedSeatId: string | null;
}

export interface SessionClaim {
  readonly epoch: SessionEpoch;
}

/**
 * Who is online, in which lesson, on which seat, and whose session is due to end: the shared
 * state every node sees (Redis in production, memory in embedded mode and the simulator).
 *
 * Every method is atomic: concurrent calls from any number of nodes behave as if run one after
 * another. Times are the caller's clock (`nowMs`); TTLs are whole seconds. Methods throw
 * `DependencyUnavailableError` when the store cannot be reached, and then changed nothing.
 */
export interface PresenceStore {
  /**
   * A TeacherApp connects. Refused (nothing written) while a force-logout cooldown runs.
   * Otherwise: alive hash `{login_time: epochAt(nowMs), state: connect}` with `presenceTtlS`, the
   * user directory entry `{sid, client_id, role, org_id}` (keeping the `lesson_id` of a previous
   * entry of the same org and role), the session-end deadline, and, when that entry named a lesson,
   * `lesson_teacher_{lesson}` → sid.
   */
  connectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<TeacherConnectOutcome>;

  /**
   * A StudentWeb connects: directory entry, and `lesson_student_{lesson}` → sid on a reconnect
   * (the lesson of a previous entry of the same org and role, as for teachers).
   */
  connectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<{ readonly lessonId: Id | null }>;

  /**
   * Keeps connected teachers' alive hashes and deadlines fresh (TTL `presenceTtlS`, login_time
   * kept). For each socket:
   * - it is the teacher's current socket in the directory: refreshed while its state is `connect`
   *   (a logged-out or already expired session is left alone);
   * - the directory entry is gone (the store was restarted empty): the socket registers again as
   *   on connect, with its own epoch and no lesson, so presence heals without a reconnect;
   * - another socket is current: skipped, unless that socket's session is older than this one's
   *   (`login_time` < `epoch`) — after a restart a socket whose connection died unnoticed may
   *   have registered first, and the newest connection must win back, keeping the lesson.
   * Resolves to the sockets that registered (again), in input order.
   */
  refreshTeachers(input: {
    readonly teachers: readonly TeacherPresence[];
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<SocketOf[]>;

  /**
   * A TeacherApp socket went away. Only when `sid` is still the teacher's current socket: state
   * `disconnect`, alive TTL `graceS`, deadline moved to match, directory entry kept for
   * `lessonTtlS` so a reconnect finds the lesson.
   */
  disconnectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly graceS: number;
    readonly lessonTtlS: number;
  }): Promise<DisconnectOutcome>;

  /** A StudentWeb socket went away: directory entry kept for `lessonTtlS` when still current. */
  disconnectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<DisconnectOutcome>;

  /** Whether the teacher's alive hash exists with state `connect`. */
  isTeacherOnline(teacher: TeacherRef): Promise<boolean>;

  /** Deletes the teacher's alive hash and pending deadline: a logout never ends a session. */
  logoutTeacher(teacher: TeacherRef): Promise<void>;

  /**
   * Starts the force-logout cooldown and returns the teacher's current sid from the directory —
   * null unless the entry is that teacher's (same `org_id`, role `teacher`), so that naming a user
   * of another org or a student never reaches their socket.
   */
  startCooldown(input: {
    readonly teacher: TeacherRef;
    readonly cooldownS: number;
  }): Promise<{ readonly sid: string | null }>;

  /**
   * Joins a lesson: creates the seat map with seats 1..seatCount free unless it exists (never
   * resetting taken seats), sets `lesson_teacher_`/`lesson_student_{lesson}` user → sid, refreshes
   * the three lesson TTLs and records `lesson_id` in the directory entry when `sid` is current.
   * Returns the seat map and the directory's previous lesson (for `undoJoinLesson`).
   */
  joinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly seatCount: number;
    readonly lessonTtlS: number;
  }): Promise<{ readonly seats: SeatMap; readonly previousLessonId: Id | null }>;

  /** Takes back a `joinLesson` whose request failed later: membership removed, directory restored. */
  undoJoinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly previousLessonId: Id | null;
  }): Promise<void>;

  /**
   * A student who joined the lesson takes a seat, by the rule of `claimSeat` in the domain.
   * `not_in_lesson` when the student is not in `lesson_student_{lesson}` (or the lesson has no
   * seat map), and then nothing changes.
   */
  claimSeat(input: {
    readonly lessonId: Id;
    readonly studentId: Id;
    readonly seatId: string;
  }): Promise<Result<SeatChange, 'not_in_lesson' | 'seat_not_found' | 'seat_taken'>>;

  /**
   * Takes back a successful `claimSeat` whose request failed later: the seat is freed again
   * (unless the student already held it) and a released seat returned to the student if still free.
   */
  revertSeatClaim(input: {
    readonly lessonId: Id;
    readonly studentId: Id;
    readonly seatId: string;
    readonly change: SeatChange;
  }): Promise<void>;

  /** Teachers whose deadline passed at `nowMs` and who are not under a claim: candidates to end. */
  dueSessionEnds(nowMs: number, limit: number): Promise<TeacherRef[]>;

  /** The earliest pending deadline (claimed ones included), so a node can wake up right then. */
  nextDueAtMs(): Promise<number | null>;

  /**
   * Claims the end of a teacher's expired session. Succeeds for exactly one caller while the
   * alive hash is gone and the deadline has passed; the claim is a lease of `leaseMs`, after which
   * the session is due again, so a caller that dies mid-way loses nothing. Null when the teacher
   * is alive again, the session was already ended, or another caller holds the claim.
   */
  claimSessionEnd(
    teacher: TeacherRef,
    nowMs: number,
    leaseMs: number,
  ): Promise<SessionClaim | null>;

  /** Marks the claimed session ended; a newer session (another epoch) is left untouched. */
  completeSessionEnd(teacher: TeacherRef, epoch: SessionEpoch): Promise<void>;
}
