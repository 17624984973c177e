import type { ClientIdentity, TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { TeacherPresenceView } from '../../domain/presence.js';
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

/** What a TeacherApp's connect did to its teacher's presence. */
export type TeacherConnectOutcome =
  | { readonly kind: 'cooldown'; readonly remainingMs: number }
  /**
   * The store lost its data and its cooldowns are not restored yet: it cannot tell that the
   * teacher has none. Nothing was written; the caller asks the database and, finding none, calls
   * again with `noCooldownInDatabase`.
   */
  | { readonly kind: 'unverified' }
  | {
      readonly kind: 'connected';
      readonly epoch: SessionEpoch;
      /** The lesson the teacher was in (a reconnect or another device), now also on this socket. */
      readonly lessonId: Id | null;
      /**
       * `new_session`: the teacher had no session. `reconnect`: the session was in its grace period.
       * `another_device`: another socket of the teacher keeps the session connected; the state
       * did not change.
       */
      readonly change: 'new_session' | 'reconnect' | 'another_device';
    };

/** What a TeacherApp socket's disconnect did. */
export type TeacherDisconnectOutcome =
  /** It was the teacher's last live socket: the grace period started and ends at `deadlineMs`. */
  | { readonly kind: 'grace'; readonly lessonId: Id | null; readonly deadlineMs: number }
  /** Another live socket of the teacher keeps the session connected. */
  | { readonly kind: 'other_devices'; readonly lessonId: Id | null }
  /** The store does not know this socket as live (logged out, ended, handled before): no write. */
  | { readonly kind: 'not_live' };

/** Per socket of `refreshTeachers`, in input order. */
export type RefreshOutcome =
  /** Kept fresh (and put back as live if it had lapsed while the session stayed connected). */
  | 'refreshed'
  /** The session was in its grace period (its node had lost the store for longer than the TTL): connected again. */
  | 'reconnected'
  /** The teacher has no session any more (logged out from another device, or ended): left alone. */
  | 'ended';

export type JoinLessonOutcome =
  | { readonly kind: 'joined'; readonly seats: SeatMap; readonly previousLessonId: Id | null }
  /** The lesson has no seat map and none was given: read the recorded seats and call again with them. */
  | { readonly kind: 'needs_seat_map' };

/** What a successful seat claim changed, so that it can be taken back. */
export interface SeatChange {
  /** The student already sat there: nothing changed. */
  readonly alreadyHeld: boolean;
  /** The seat the student left to take this one. */
  readonly releasedSeatId: string | null;
}

export type SeatClaimError = 'not_in_lesson' | 'seat_not_found' | 'seat_taken' | 'needs_seat_map';

/** What `settleExpiredSession` did with a teacher whose deadline passed. */
export type SettleOutcome =
  /** Nothing to do: alive, not due yet, claimed by another caller, or nothing pending. */
  | { readonly kind: 'none' }
  /**
   * The session was `connect` but no live socket was refreshed within the presence TTL (its node
   * died or lost the store): its grace period started now and ends at `deadlineMs`.
   */
  | { readonly kind: 'grace'; readonly lessonId: Id | null; readonly deadlineMs: number }
  /** The grace period is over: this caller holds the claim and must end the session. */
  | { readonly kind: 'claimed'; readonly epoch: SessionEpoch };

/** The store's identity as a node last saw it (opaque to the core). */
export type StoreMark = string;

/** A socket a node holds, as the node knows it, for `restoreSockets`. */
export interface HeldSocketState {
  readonly socket: SocketOf;
  /** TeacherApp: the epoch its connect started; null for other kinds. */
  readonly epoch: SessionEpoch | null;
  /** The lesson it joined last (or was put back into), if any. */
  readonly lessonId: Id | null;
}

/**
 * Who is online, in which lesson, on which seat, and whose session is due to end: the shared state
 * every node sees (Redis in production, memory in embedded mode and the simulator). It is soft
 * state: PostgreSQL is the truth, and after a loss (`checkContinuity`) the nodes put back what they
 * know (`restoreSockets`) and one node what the database knows (`restoreSessions`, `restoreCooldowns`).
 *
 * Every method is atomic: concurrent calls from any number of nodes behave as if run one after
 * another. Times are the caller's clock (`nowMs`); TTLs are whole seconds.
 *
 * Failures: a method throws `DependencyUnavailableError` when the store cannot be reached or does
 * not answer in time, and then it changed nothing — not now and not later: a state-changing call
 * carries a deadline (set by the adapter from its own command timeout) and the store applies
 * nothing once its own clock is past it (fencing). The batch methods (`refreshTeachers`,
 * `restoreSockets`, `restoreSessions`, `restoreCooldowns`) apply each item atomically and on its
 * own: when one throws, some items may have been applied, and since every item is idempotent the
 * caller simply calls again with the whole batch.
 *
 * Teachers: a teacher's session is connected while at least one of its TeacherApp sockets is
 * live, on any node. A socket is live from its connect until its disconnect, for as long as its
 * node refreshes it (each refresh keeps it live for `presenceTtlS`).
 */
export interface PresenceStore {
  /**
   * A TeacherApp connects. Refused (nothing written) while a force-logout cooldown runs, and
   * `unverified` (nothing written) after a loss until `restoreCooldowns` completed, unless the
   * caller found no cooldown in the database (`noCooldownInDatabase`).
   * Otherwise the socket becomes live; alive hash `{login_time: epochAt(nowMs), state: connect}`
   * with `presenceTtlS`; the user directory entry `{sid, client_id, role, org_id}` points at this
   * socket (keeping the `lesson_id` of a previous entry of the same org and role, or else the
   * lesson of the teacher's session); the deadline is `nowMs + presenceTtlS * 1000` (never moved
   * earlier while another device keeps the session); the org's presence index is updated (`since`
   * moves only when the state changes); when the teacher was in a lesson,
   * `lesson_teacher_{lesson}` → sid. A session whose alive hash lapsed while it was connected
   * (its node died, not settled yet) is a `reconnect`; one whose grace period is over is ending,
   * and the connect starts a `new_session`.
   */
  connectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
    readonly noCooldownInDatabase?: boolean;
  }): Promise<TeacherConnectOutcome>;

  /**
   * A StudentWeb connects: directory entry, and `lesson_student_{lesson}` → sid on a reconnect
   * (the lesson of a previous entry of the same org and role).
   */
  connectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<{ readonly lessonId: Id | null }>;

  /**
   * Keeps a node's connected TeacherApp sockets live (each until `nowMs + presenceTtlS`), the
   * alive hash and the deadline fresh. Repairs the directory: an entry that names a socket that is
   * not live any more (refused, or its node died) is pointed at this live socket, keeping its
   * `lesson_id`. A socket whose session is in its grace period is connected again (`reconnected`,
   * `since` moves); one whose teacher has no session is left alone (`ended`).
   */
  refreshTeachers(input: {
    readonly teachers: readonly TeacherPresence[];
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<RefreshOutcome[]>;

  /**
   * A TeacherApp socket went away (`nowMs` is when: a replayed disconnect passes the time it
   * happened). It stops being live. When no other live socket of the teacher remains: state
   * `disconnect`, alive TTL `graceS` (from when the store applies it) and deadline `graceS` from
   * `nowMs`, `since` = `nowMs`, the directory entry kept for `lessonTtlS` so a reconnect finds the
   * lesson. When others remain, the directory entry and the lesson membership that named this
   * socket name the live socket that was connected or refreshed last. Idempotent: the same socket
   * again is `not_live`.
   */
  disconnectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly graceS: number;
    readonly lessonTtlS: number;
  }): Promise<TeacherDisconnectOutcome>;

  /** A StudentWeb socket went away: directory entry kept for `lessonTtlS` when still current. */
  disconnectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<{ readonly current: boolean; readonly lessonId: Id | null }>;

  /** Whether the teacher's session is connected (alive hash with state `connect`). */
  isTeacherOnline(teacher: TeacherRef): Promise<boolean>;

  /**
   * Ends the teacher's presence without ending the lesson: alive hash, live sockets, pending
   * deadline and presence index entry are deleted (every device of the teacher is logged out).
   * Resolves to whether the teacher had a session.
   */
  logoutTeacher(teacher: TeacherRef): Promise<boolean>;

  /**
   * Starts the force-logout cooldown (`cooldown:` key, TTL `cooldownS`) and returns the teacher's
   * current sid from the directory — null unless the entry is that teacher's (same `org_id`, role
   * `teacher`), so that naming a user of another org or a student never reaches their socket.
   */
  startCooldown(input: {
    readonly teacher: TeacherRef;
    readonly cooldownS: number;
  }): Promise<{ readonly sid: string | null }>;

  /** Takes back a `startCooldown` whose request failed later (the database refused its record). */
  cancelCooldown(teacher: TeacherRef): Promise<void>;

  /**
   * Joins a lesson. When the seat map does not exist it is created from `seats` (seats
   * 1..seatCount, holders as recorded) — or, without `seats`, nothing is written and the answer
   * is `needs_seat_map`. Never resets a seat map that exists. Sets `lesson_teacher_`/
   * `lesson_student_{lesson}` user → sid, refreshes the three lesson TTLs, records `lesson_id` in
   * the directory entry when `sid` is current, and for a teacher's live socket the lesson in the
   * org's presence index. Returns the seat map and the directory's previous lesson.
   */
  joinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly seatCount: number;
    readonly lessonTtlS: number;
    readonly seats?: SeatMap;
  }): Promise<JoinLessonOutcome>;

  /** Takes back a `joinLesson` whose request failed later: membership removed, directory restored. */
  undoJoinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly previousLessonId: Id | null;
  }): Promise<void>;

  /**
   * A student takes a seat, by the rule of `claimSeat` in the domain. `not_in_lesson` unless
   * `lesson_student_{lesson}` maps the student to this very socket (PROTOCOL §6a.5: a student of
   * another org with the same id, or an old socket, gets nothing); `needs_seat_map` when the
   * student is a member but the seat map is gone (read the recorded seats, `ensureSeatMap`, retry).
   * Nothing changes on any error.
   */
  claimSeat(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly seatId: string;
  }): Promise<Result<SeatChange, SeatClaimError>>;

  /** Creates the lesson's seat map from `seats` (TTL `lessonTtlS`) unless one exists. */
  ensureSeatMap(input: {
    readonly lessonId: Id;
    readonly seats: SeatMap;
    readonly lessonTtlS: number;
  }): Promise<void>;

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

  /** Teachers whose deadline passed at `nowMs` and who are not under a claim, earliest first. */
  dueSessionEnds(nowMs: number, limit: number): Promise<TeacherRef[]>;

  /** The earliest pending deadline (claimed ones included), so a node can wake up right then. */
  nextDueAtMs(): Promise<number | null>;

  /**
   * Moves a teacher whose deadline passed (`nowMs`) one step on:
   * - connected but no live socket left (nobody refreshed one within the TTL): the grace period
   *   starts now (`grace`, as `disconnectTeacher` would have started it);
   * - the grace period is over (alive hash gone, deadline passed): a claim on ending the session
   *   (`claimed`, exactly one caller), a lease of `leaseMs` after which the session is due again,
   *   so a caller that dies mid-way loses nothing;
   * - anything else: `none`.
   */
  settleExpiredSession(input: {
    readonly teacher: TeacherRef;
    readonly nowMs: number;
    readonly graceS: number;
    readonly leaseMs: number;
  }): Promise<SettleOutcome>;

  /** Marks the claimed session ended; a newer session (another epoch) is left untouched. */
  completeSessionEnd(teacher: TeacherRef, epoch: SessionEpoch): Promise<void>;

  /**
   * The org's teachers that have a session (connected or in grace), read in O(teachers of the
   * org) from an index of the store's own — never a scan of the whole store. A session stays
   * listed as it was last written until it is ended (`completeSessionEnd`) or logged out, so one
   * whose grace period just ran out shows in grace until a node ends it.
   */
  snapshot(orgId: Id): Promise<TeacherPresenceView[]>;

  /**
   * Whether the store lost data since this node last looked (`last`, null on the node's first
   * look): restarted empty, flushed, or failed over to another server. A store that holds no
   * mark at all counts as lost, also on the first look (a store that starts empty while the
   * database has active lessons). Cheap enough to call every refresh.
   *
   * `reconciled`: whether what the database knows has been put back since the loss that began
   * the store's current data — `restoreCooldowns` with its mark, the reconciliation's last step,
   * ran. Until then any node may claim the loss (`claimReconciliation`), so that a reconciling
   * node that died midway is replaced once its claim's lease runs out.
   */
  checkContinuity(last: StoreMark | null): Promise<{
    readonly mark: StoreMark;
    readonly lost: boolean;
    readonly reconciled: boolean;
  }>;

  /**
   * True for exactly one caller per loss (within `leaseMs`): the node that reconciles it. Every
   * node's `mark` from `checkContinuity` after the same loss names the same loss, whatever else it
   * holds.
   */
  claimReconciliation(mark: StoreMark, leaseMs: number): Promise<boolean>;

  /**
   * After a loss, a node puts back the sockets it holds: TeacherApp sockets live again (a session
   * with the socket's epoch when the teacher has none: `restored`), directory entries that are
   * missing, and lesson memberships that are missing. Resolves to the teachers whose session it
   * created, in input order.
   */
  restoreSockets(input: {
    readonly sockets: readonly HeldSocketState[];
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<TeacherRef[]>;

  /**
   * After a loss, from the database: each teacher with an active lesson and no session gets one in
   * its grace period (state `disconnect`, alive TTL and deadline `graceS` from `nowMs`, login_time
   * `epochAt(nowMs)`, the lesson in the index), so the session ends unless the teacher comes back.
   * Resolves to the teachers it gave a session.
   */
  restoreSessions(input: {
    readonly teachers: ReadonlyArray<{ readonly teacher: TeacherRef; readonly lessonId: Id }>;
    readonly nowMs: number;
    readonly graceS: number;
  }): Promise<TeacherRef[]>;

  /**
   * After a loss, from the database: each cooldown still running is set again with what is left,
   * and then the store knows its cooldowns complete again — unless another loss began since `mark`
   * (`checkContinuity`'s) — so that connects stop being `unverified`.
   */
  restoreCooldowns(input: {
    readonly cooldowns: ReadonlyArray<{ readonly teacher: TeacherRef; readonly untilMs: number }>;
    readonly nowMs: number;
    readonly mark: StoreMark;
  }): Promise<void>;
}
