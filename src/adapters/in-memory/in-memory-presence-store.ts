import { DependencyUnavailableError } from '../../application/errors.js';
import type { Clock } from '../../application/ports/clock.js';
import type {
  DisconnectOutcome,
  PresenceStore,
  SeatChange,
  SessionClaim,
  SocketOf,
  TeacherConnectOutcome,
  TeacherPresence,
} from '../../application/ports/presence-store.js';
import type { ClientIdentity, TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { claimSeat, initialSeatMap, type SeatMap } from '../../domain/seat-map.js';
import { epochAt, isNewerSession, type SessionEpoch, sessionPhase } from '../../domain/session.js';
import {
  aliveKey,
  cooldownKey,
  lessonStudentsKey,
  lessonTeachersKey,
  membershipKey,
  seatsKey,
  sessionMember,
  teacherOfMember,
} from '../presence-keys.js';
import { Keyspace } from './keyspace.js';
import { SortedSet } from './sorted-set.js';

/** The user directory entry, serialised with its keys in the contract's order. */
interface DirectoryEntry {
  sid: string;
  client_id: Id;
  role: string;
  org_id: Id;
  lesson_id?: Id;
}

type Value =
  | {
      readonly type: 'hash';
      readonly fields: Map<string, string>;
      /** Set on alive hashes, so that their expiry can name the teacher without parsing. */
      readonly teacher?: TeacherRef;
    }
  | { readonly type: 'directory'; readonly entry: DirectoryEntry }
  | { readonly type: 'text'; readonly text: string };

const teacherOf = ({ orgId, userId }: TeacherRef): TeacherRef => ({ orgId, userId });

const serialise = ({ sid, client_id, role, org_id, lesson_id }: DirectoryEntry): string =>
  JSON.stringify(
    lesson_id === undefined
      ? { sid, client_id, role, org_id }
      : { sid, client_id, role, org_id, lesson_id },
  );

/**
 * The presence store of the embedded mode and the simulator: the same keys, TTLs and atomic
 * transitions as the Redis store (test/contracts/presence-store.contract.ts holds both to it),
 * with time from the injected clock. Each method runs to completion without awaiting, so it is
 * atomic however calls interleave.
 *
 * Faults for the simulator: `setAvailable(false)` makes every port method reject with
 * `DependencyUnavailableError` having changed nothing, and `restartEmpty()` forgets every key like
 * a Redis without persistence restarting. `expireDue()` plays Redis' `expired` notifications.
 */
export class InMemoryPresenceStore implements PresenceStore {
  private available = true;
  private readonly keys: Keyspace<Value>;
  /** `classroom:deadlines`: member → when the session is due to end (the caller's ms). */
  private readonly deadlines = new SortedSet();
  /** `classroom:epochs`: member → the epoch of the session that deadline belongs to. */
  private readonly epochs = new Map<string, SessionEpoch>();
  private expiredTeachers: TeacherRef[] = [];

  constructor(clock: Clock) {
    this.keys = new Keyspace<Value>(clock, (_key, value) => {
      if (value.type === 'hash' && value.teacher !== undefined) {
        this.expiredTeachers.push(value.teacher);
      }
    });
  }

  setAvailable(up: boolean): void {
    this.available = up;
  }

  restartEmpty(): void {
    this.keys.clear();
    this.deadlines.clear();
    this.epochs.clear();
    this.expiredTeachers = [];
  }

  /**
   * Removes the alive hashes whose TTL has passed and returns their teachers, once per expired
   * hash. While the store is unavailable the keys still expire but nobody hears of it — like
   * notifications published while no subscriber is connected — and the deadline sweep has to
   * find those sessions.
   */
  expireDue(): TeacherRef[] {
    this.keys.purge();
    const expired = this.expiredTeachers;
    this.expiredTeachers = [];
    return this.available ? expired : [];
  }

  /** The live keys by their exact Redis names, without the service's own index keys. */
  dump(): Record<string, string | Record<string, string>> {
    this.keys.purge();
    const dumped: Record<string, string | Record<string, string>> = {};
    for (const [key, value] of this.keys.entries()) {
      dumped[key] =
        value.type === 'hash'
          ? Object.fromEntries(value.fields)
          : value.type === 'directory'
            ? serialise(value.entry)
            : value.text;
    }
    return dumped;
  }

  async connectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<TeacherConnectOutcome> {
    this.begin();
    const { socket, nowMs, presenceTtlS, lessonTtlS } = input;
    const cooldown = cooldownKey(socket.identity);
    if (this.keys.has(cooldown)) {
      return { kind: 'cooldown', remainingMs: this.keys.pttlMs(cooldown) ?? 1000 };
    }
    const lessonId = this.previousLesson(socket.identity);
    const epoch = this.register(socket, epochAt(nowMs), nowMs, presenceTtlS, lessonId);
    if (lessonId !== null) {
      this.setMember(lessonTeachersKey(lessonId), socket.identity.userId, socket.sid);
      this.keys.expire(lessonTeachersKey(lessonId), lessonTtlS);
    }
    return { kind: 'connected', epoch, lessonId };
  }

  async connectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<{ readonly lessonId: Id | null }> {
    this.begin();
    const { socket, lessonTtlS } = input;
    const lessonId = this.previousLesson(socket.identity);
    this.writeDirectory(socket, lessonId);
    if (lessonId !== null) {
      this.setMember(lessonStudentsKey(lessonId), socket.identity.userId, socket.sid);
      this.keys.expire(lessonStudentsKey(lessonId), lessonTtlS);
    }
    return { lessonId };
  }

  async refreshTeachers(input: {
    readonly teachers: readonly TeacherPresence[];
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<SocketOf[]> {
    this.begin();
    const { teachers, nowMs, presenceTtlS, lessonTtlS } = input;
    const registered: SocketOf[] = [];
    for (const { socket, epoch } of teachers) {
      const directory = this.directory(socket.identity.userId);
      const alive = this.hash(aliveKey(socket.identity));
      if (directory === undefined) {
        this.register(socket, epoch, nowMs, presenceTtlS, null);
        registered.push(socket);
      } else if (directory.sid === socket.sid) {
        if (sessionPhase(alive?.get('state')) !== 'connected') continue;
        this.keys.expire(aliveKey(socket.identity), presenceTtlS);
        this.deadlines.set(sessionMember(socket.identity), nowMs + presenceTtlS * 1000);
      } else if (alive !== undefined && isNewerSession(epoch, Number(alive.get('login_time')))) {
        const lessonId = this.previousLesson(socket.identity);
        this.register(socket, epoch, nowMs, presenceTtlS, lessonId);
        registered.push(socket);
        if (lessonId !== null) {
          this.setMember(lessonTeachersKey(lessonId), socket.identity.userId, socket.sid);
          this.keys.expire(lessonTeachersKey(lessonId), lessonTtlS);
        }
      }
    }
    return registered;
  }

  async isTeacherOnline(teacher: TeacherRef): Promise<boolean> {
    this.begin();
    return sessionPhase(this.hash(aliveKey(teacher))?.get('state')) === 'connected';
  }

  async disconnectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly graceS: number;
    readonly lessonTtlS: number;
  }): Promise<DisconnectOutcome> {
    this.begin();
    const { socket, nowMs, graceS, lessonTtlS } = input;
    const directory = this.currentDirectory(socket);
    if (directory === undefined) return { current: false, lessonId: null };
    const key = aliveKey(socket.identity);
    const alive = this.hash(key);
    if (alive !== undefined) {
      alive.set('state', 'disconnect');
      this.keys.expire(key, graceS);
      this.deadlines.set(sessionMember(socket.identity), nowMs + graceS * 1000);
    }
    this.keys.expire(socket.identity.userId, lessonTtlS);
    return { current: true, lessonId: directory.lesson_id ?? null };
  }

  async disconnectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<DisconnectOutcome> {
    this.begin();
    const { socket, lessonTtlS } = input;
    const directory = this.currentDirectory(socket);
    if (directory === undefined) return { current: false, lessonId: null };
    this.keys.expire(socket.identity.userId, lessonTtlS);
    return { current: true, lessonId: directory.lesson_id ?? null };
  }

  async logoutTeacher(teacher: TeacherRef): Promise<void> {
    this.begin();
    this.keys.delete(aliveKey(teacher));
    this.forgetSession(teacher);
  }

  async startCooldown(input: {
    readonly teacher: TeacherRef;
    readonly cooldownS: number;
  }): Promise<{ readonly sid: string | null }> {
    this.begin();
    const key = cooldownKey(input.teacher);
    this.keys.put(key, { type: 'text', text: '1' });
    this.keys.expire(key, input.cooldownS);
    // The directory is keyed by user id alone: only an entry of this org's teacher names its socket.
    const directory = this.directory(input.teacher.userId);
    const isTeachers = directory?.org_id === input.teacher.orgId && directory.role === 'teacher';
    return { sid: isTeachers ? directory.sid : null };
  }

  async joinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly seatCount: number;
    readonly lessonTtlS: number;
  }): Promise<{ readonly seats: SeatMap; readonly previousLessonId: Id | null }> {
    this.begin();
    const { socket, lessonId, seatCount, lessonTtlS } = input;
    const seatKey = seatsKey(lessonId);
    let seats = this.hash(seatKey);
    if (seats === undefined) {
      seats = new Map(Object.entries(initialSeatMap(seatCount)));
      this.keys.put(seatKey, { type: 'hash', fields: seats });
    }
    this.setMember(membershipKey(socket.identity, lessonId), socket.identity.userId, socket.sid);
    for (const key of [seatKey, lessonTeachersKey(lessonId), lessonStudentsKey(lessonId)]) {
      this.keys.expire(key, lessonTtlS);
    }
    const directory = this.directory(socket.identity.userId);
    const previousLessonId = directory?.lesson_id ?? null;
    if (directory?.sid === socket.sid) directory.lesson_id = lessonId;
    return { seats: Object.fromEntries(seats), previousLessonId };
  }

  async undoJoinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly previousLessonId: Id | null;
  }): Promise<void> {
    this.begin();
    const { socket, lessonId, previousLessonId } = input;
    const key = membershipKey(socket.identity, lessonId);
    const members = this.hash(key);
    if (members?.get(socket.identity.userId) === socket.sid) {
      members.delete(socket.identity.userId);
      // Redis removes a hash with its last field.
      if (members.size === 0) this.keys.delete(key);
    }
    const directory = this.currentDirectory(socket);
    if (directory === undefined) return;
    if (previousLessonId === null) delete directory.lesson_id;
    else directory.lesson_id = previousLessonId;
  }

  async claimSeat(input: {
    readonly lessonId: Id;
    readonly studentId: Id;
    readonly seatId: string;
  }): Promise<Result<SeatChange, 'not_in_lesson' | 'seat_not_found' | 'seat_taken'>> {
    this.begin();
    const { lessonId, studentId, seatId } = input;
    const seats = this.hash(seatsKey(lessonId));
    if (seats === undefined || !this.hash(lessonStudentsKey(lessonId))?.has(studentId)) {
      return fail('not_in_lesson');
    }
    if (seats.get(seatId) === studentId) return ok({ alreadyHeld: true, releasedSeatId: null });
    const claim = claimSeat(Object.fromEntries(seats), seatId, studentId);
    if (!claim.ok) return claim;
    const { releasedSeatId } = claim.value;
    if (releasedSeatId !== null) seats.set(releasedSeatId, '');
    seats.set(seatId, studentId);
    return ok({ alreadyHeld: false, releasedSeatId });
  }

  async revertSeatClaim(input: {
    readonly lessonId: Id;
    readonly studentId: Id;
    readonly seatId: string;
    readonly change: SeatChange;
  }): Promise<void> {
    this.begin();
    const { lessonId, studentId, seatId, change } = input;
    const seats = this.hash(seatsKey(lessonId));
    if (change.alreadyHeld || seats === undefined) return;
    if (seats.get(seatId) === studentId) seats.set(seatId, '');
    const { releasedSeatId } = change;
    if (releasedSeatId !== null && seats.get(releasedSeatId) === '') {
      seats.set(releasedSeatId, studentId);
    }
  }

  async dueSessionEnds(nowMs: number, limit: number): Promise<TeacherRef[]> {
    this.begin();
    return this.deadlines.range(nowMs, limit).map(teacherOfMember);
  }

  async nextDueAtMs(): Promise<number | null> {
    this.begin();
    return this.deadlines.first()?.score ?? null;
  }

  async claimSessionEnd(
    teacher: TeacherRef,
    nowMs: number,
    leaseMs: number,
  ): Promise<SessionClaim | null> {
    this.begin();
    if (this.keys.has(aliveKey(teacher))) return null;
    const member = sessionMember(teacher);
    const dueAtMs = this.deadlines.score(member);
    const epoch = this.epochs.get(member);
    if (dueAtMs === undefined || dueAtMs > nowMs || epoch === undefined) return null;
    this.deadlines.set(member, nowMs + leaseMs);
    return { epoch };
  }

  async completeSessionEnd(teacher: TeacherRef, epoch: SessionEpoch): Promise<void> {
    this.begin();
    if (this.epochs.get(sessionMember(teacher)) !== epoch || this.keys.has(aliveKey(teacher)))
      return;
    this.forgetSession(teacher);
  }

  private begin(): void {
    if (!this.available) throw new DependencyUnavailableError('presence');
    this.keys.purge();
  }

  /** A new session: alive hash, directory entry, deadline and epoch. */
  private register(
    socket: SocketOf,
    epoch: SessionEpoch,
    nowMs: number,
    presenceTtlS: number,
    lessonId: Id | null,
  ): SessionEpoch {
    const teacher = teacherOf(socket.identity);
    const key = aliveKey(teacher);
    const alive = this.hash(key) ?? new Map<string, string>();
    alive.set('login_time', String(epoch));
    alive.set('state', 'connect');
    this.keys.put(key, { type: 'hash', fields: alive, teacher });
    this.keys.expire(key, presenceTtlS);
    this.writeDirectory(socket, lessonId);
    this.deadlines.set(sessionMember(teacher), nowMs + presenceTtlS * 1000);
    this.epochs.set(sessionMember(teacher), epoch);
    return epoch;
  }

  /**
   * The lesson a reconnecting user was in. The directory is keyed by user id alone, so an entry
   * written for another org or role must not put this user into that lesson's rooms.
   */
  private previousLesson(identity: ClientIdentity): Id | null {
    const previous = this.directory(identity.userId);
    if (previous?.org_id !== identity.orgId || previous.role !== identity.role) return null;
    return previous.lesson_id ?? null;
  }

  private forgetSession(teacher: TeacherRef): void {
    this.deadlines.delete(sessionMember(teacher));
    this.epochs.delete(sessionMember(teacher));
  }

  /** SET without EX: the entry of a connected socket never expires. */
  private writeDirectory({ identity, sid }: SocketOf, lessonId: Id | null): void {
    const entry: DirectoryEntry = {
      sid,
      client_id: identity.userId,
      role: identity.role,
      org_id: identity.orgId,
    };
    if (lessonId !== null) entry.lesson_id = lessonId;
    this.keys.put(identity.userId, { type: 'directory', entry });
    this.keys.persist(identity.userId);
  }

  /** HSET of one field, creating the hash when missing. */
  private setMember(key: string, userId: Id, sid: string): void {
    const members = this.hash(key);
    if (members === undefined)
      this.keys.put(key, { type: 'hash', fields: new Map([[userId, sid]]) });
    else members.set(userId, sid);
  }

  /** The directory entry when this socket is still the user's current one (compare-and-set). */
  private currentDirectory(socket: SocketOf): DirectoryEntry | undefined {
    const directory = this.directory(socket.identity.userId);
    return directory?.sid === socket.sid ? directory : undefined;
  }

  private hash(key: string): Map<string, string> | undefined {
    return this.read(key, 'hash')?.fields;
  }

  private directory(userId: Id): DirectoryEntry | undefined {
    return this.read(userId, 'directory')?.entry;
  }

  /** Like Redis, reading a key as the wrong type is an error rather than a silent miss. */
  private read<T extends Value['type']>(
    key: string,
    type: T,
  ): Extract<Value, { type: T }> | undefined {
    const value = this.keys.get(key);
    if (value === undefined) return undefined;
    if (value.type !== type)
      throw new Error(`WRONGTYPE ${key} holds a ${value.type}, not a ${type}`);
    return value as Extract<Value, { type: T }>;
  }
}
