import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ChainableCommander, type Redis, ReplyError } from 'ioredis';
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
import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { PresencePhase, TeacherPresenceView } from '../../domain/presence.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { SeatMap } from '../../domain/seat-map.js';
import { epochAt, type SessionEpoch } from '../../domain/session.js';
import { StatementBatcher } from '../support/statement-batcher.js';
import {
  aliveKey,
  CONTINUITY_KEY,
  cooldownKey,
  DEADLINES_KEY,
  lessonStudentsKey,
  lessonTeachersKey,
  liveSocketsKey,
  membershipKey,
  presenceIndexKey,
  reconciliationKey,
  seatsKey,
  sessionMember,
  teacherOfMember,
} from './keys.js';
import { presenceCall, toPresenceError, writeCoalescer } from './redis-clients.js';

/** One file each in ./lua, run with lib.lua before it. */
const SCRIPTS = [
  'connect_teacher',
  'connect_student',
  'refresh_teacher',
  'disconnect_teacher',
  'disconnect_student',
  'logout_teacher',
  'start_cooldown',
  'cancel_cooldown',
  'join_lesson',
  'undo_join_lesson',
  'claim_seat',
  'ensure_seat_map',
  'revert_seat_claim',
  'settle_expired_session',
  'complete_session_end',
  'check_continuity',
  'claim_reconciliation',
  'restore_teacher_socket',
  'restore_student_socket',
  'restore_session',
  'restore_cooldown',
  'cooldowns_restored',
] as const;

type ScriptName = (typeof SCRIPTS)[number];

/** What each script answers, as ioredis hands it over (see each script's header). */
interface Replies {
  connect_teacher:
    | ['cooldown', number]
    | ['unverified']
    | ['lesson', string]
    | ['connected', 'new_session' | 'reconnect' | 'another_device', string];
  connect_student: ['lesson', string] | ['connected', string];
  refresh_teacher: RefreshOutcome;
  disconnect_teacher:
    | ['not_live']
    | ['lesson', string]
    | ['other_devices', string]
    | ['grace', string];
  disconnect_student: [0 | 1, string];
  logout_teacher: 0 | 1;
  start_cooldown: string;
  cancel_cooldown: 1;
  join_lesson: Batched<['needs_seat_map'] | ['joined', string, string]>[];
  undo_join_lesson: 1;
  claim_seat: Batched<
    | ['not_in_lesson' | 'needs_seat_map' | 'seat_not_found' | 'seat_taken']
    | ['held', '']
    | ['claimed', string]
  >[];
  ensure_seat_map: 0 | 1;
  revert_seat_claim: 1;
  settle_expired_session: ['none'] | ['grace', string] | ['claimed', string];
  complete_session_end: 0 | 1;
  check_continuity: [string, string, number, 0 | 1, 0 | 1];
  claim_reconciliation: 0 | 1;
  restore_teacher_socket: 0 | 1;
  restore_student_socket: 0;
  restore_session: 0 | 1;
  restore_cooldown: 0 | 1;
  cooldowns_restored: 0 | 1;
}

/** A batched script's answer to one of its calls (`serve_each` in lua/lib.lua). */
type Batched<R> = R | ['failed', string];

/** One call of a batched script: its keys and its own arguments. */
interface BatchedCall {
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
}

/** How `defineCommand` exposes a script on a client or a pipeline: numkeys, keys, then args. */
type ScriptCommands<R> = Record<ScriptName, (...numKeysKeysAndArgs: (string | number)[]) => R>;

const LUA_DIRECTORY = new URL('./lua/', import.meta.url);
let loaded: ReadonlyMap<ScriptName, string> | null = null;

/** The scripts' source, read once from the files next to this module, each after lib.lua. */
function luaScripts(): ReadonlyMap<ScriptName, string> {
  if (loaded === null) {
    const read = (name: string) => readFileSync(new URL(`${name}.lua`, LUA_DIRECTORY), 'utf8');
    const lib = read('lib');
    loaded = new Map(SCRIPTS.map((name) => [name, `${lib}\n${read(name)}`]));
  }
  return loaded;
}

/**
 * A batched script's answer to one call, or what Redis would have answered that call alone when it
 * failed: the calls served with it stand.
 */
function served<R>(reply: Batched<R>): R {
  if (Array.isArray(reply) && reply[0] === 'failed') throw new ReplyError(String(reply[1]));
  return reply as R;
}

/** What ioredis's own default would be, for a client made without `createRedisClient`. */
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
/**
 * How much earlier than the client's command timeout Redis stops applying a call: room for the
 * reply to travel back and for the error of the measured clock offset, so that a call Redis did
 * apply is answered before the client gives up on it.
 */
const DEFAULT_FENCE_MARGIN_MS = 100;
/** How often the offset between this host's clock and Redis' is measured again. */
const CLOCK_OFFSET_REFRESH_MS = 60_000;
/**
 * Most calls one batched script call (claim_seat, join_lesson) serves: Redis runs nothing else
 * while a script runs, and each call is a few hash reads and writes (a seat map's scan when a
 * student moves, its copy when a socket joins).
 */
const MAX_CALLS_PER_SCRIPT_CALL = 200;
/** A call retried because another moved the lesson in between gives up after this many. */
const MAX_LESSON_ATTEMPTS = 3;

const orNull = (value: string): Id | null => (value === '' ? null : value);

/** The domain's words for the states the scripts write (as the alive hash's `state`). */
function phaseOf(state: string): PresencePhase {
  if (state === 'connect') return 'connected';
  if (state === 'disconnect') return 'grace';
  throw new Error(
    `A presence index record in state ${JSON.stringify(state)}, which no script writes`,
  );
}

/** A session record of the org's presence index, as the scripts write it (lib.lua). */
interface SessionRecord {
  readonly state: string;
  readonly login_time: number;
  readonly since_ms: number;
  readonly lesson_id?: Id;
}

/**
 * The presence store on Redis (PROTOCOL §7 key layout plus the service's own keys in ./keys.ts;
 * what each method does is the port's JSDoc). Every transition is one Lua script from ./lua, so it
 * is atomic across nodes and costs one round trip; the batch methods send one script call per
 * item in a single pipeline, joins and seat claims made together share one script call each
 * (`batched`), and the calls made in one event-loop turn leave in one socket write
 * (`writeCoalescer`). Every key a script touches is one of its KEYS. A connect whose user was in a
 * lesson takes two round trips: the lesson's key is only known once the directory has been read.
 *
 * Fencing (PROTOCOL §6a.1): every script gets a deadline — now + the client's command timeout −
 * `fenceMarginMs`, in Redis' clock through an offset measured with TIME when first needed and
 * every minute after — and applies nothing once Redis' TIME is past it. A fenced-out call is
 * answered `DependencyUnavailableError`, as its caller was (or is about to be) by the timeout.
 *
 * Pass a client from `createRedisClient`, so an unreachable Redis is answered at once with
 * `DependencyUnavailableError` rather than queued.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly prefix: string;
  private readonly coalesceWrites: () => void;
  /** How far the deadline is from now: the command timeout minus the margin. */
  private readonly fenceAheadMs: number;
  /** Redis' clock minus this host's, in ms; null until measured. */
  private clockOffsetMs: number | null = null;
  private offsetMeasuredAtMs = Number.NEGATIVE_INFINITY;
  /** The connection the offset was measured on: a new one may reach another server (a failover). */
  private offsetMeasuredOn: Redis['stream'] | null = null;
  private measuring: Promise<number> | null = null;
  /**
   * Seat claims made together go in one claim_seat call, and joins in one join_lesson call: each
   * call's cost is mostly ioredis's work per command and the fence's clock read, not the script's,
   * and a lesson's students join and claim their seats at once.
   */
  private readonly seatClaims = this.batched('claim_seat');
  private readonly joins = this.batched('join_lesson');

  constructor(
    private readonly redis: Redis,
    options: { readonly keyPrefix?: string; readonly fenceMarginMs?: number } = {},
  ) {
    this.prefix = options.keyPrefix ?? '';
    this.coalesceWrites = writeCoalescer(redis);
    const timeoutMs = redis.options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.fenceAheadMs = timeoutMs - (options.fenceMarginMs ?? DEFAULT_FENCE_MARGIN_MS);
    if (this.fenceAheadMs <= 0) {
      throw new RangeError(
        `The fence margin must be shorter than the command timeout (${timeoutMs} ms)`,
      );
    }
    for (const [name, lua] of luaScripts()) redis.defineCommand(name, { lua });
  }

  async connectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
    readonly noCooldownInDatabase?: boolean;
  }): Promise<TeacherConnectOutcome> {
    const { socket, nowMs, presenceTtlS, lessonTtlS } = input;
    const { identity, sid } = socket;
    const epoch = epochAt(nowMs);
    const keys = [
      ...this.sessionKeys(identity),
      this.key(cooldownKey(identity)),
      this.key(CONTINUITY_KEY),
    ];
    const args = [
      identity.userId,
      sid,
      identity.orgId,
      identity.role,
      nowMs,
      epoch,
      presenceTtlS,
      lessonTtlS,
      sessionMember(identity),
    ];
    const reply = await this.withLesson((lessonId) =>
      this.run(
        'connect_teacher',
        lessonId === null ? keys : [...keys, this.key(lessonTeachersKey(lessonId))],
        [...args, lessonId ?? '', input.noCooldownInDatabase === true ? '1' : ''],
      ),
    );
    if (reply[0] === 'unverified') return { kind: 'unverified' };
    if (reply[0] === 'cooldown') {
      // PTTL -1: a cooldown without TTL, which only a hand-written key can be.
      return { kind: 'cooldown', remainingMs: reply[1] < 0 ? 1000 : reply[1] };
    }
    return { kind: 'connected', epoch, lessonId: orNull(reply[2]), change: reply[1] };
  }

  async connectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<{ readonly lessonId: Id | null }> {
    const { socket, lessonTtlS } = input;
    const { identity, sid } = socket;
    const directory = this.key(identity.userId);
    const reply = await this.withLesson((lessonId) =>
      this.run(
        'connect_student',
        lessonId === null ? [directory] : [directory, this.key(lessonStudentsKey(lessonId))],
        [identity.userId, sid, identity.orgId, identity.role, lessonTtlS, lessonId ?? ''],
      ),
    );
    return { lessonId: orNull(reply[1]) };
  }

  async refreshTeachers(input: {
    readonly teachers: readonly TeacherPresence[];
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<RefreshOutcome[]> {
    const { teachers, nowMs, presenceTtlS } = input;
    return this.runBatch(
      'refresh_teacher',
      teachers.map(({ socket }) => ({
        keys: this.sessionKeys(socket.identity),
        args: this.keepLiveArgs(socket, nowMs, presenceTtlS),
      })),
    );
  }

  async disconnectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly graceS: number;
    readonly lessonTtlS: number;
  }): Promise<TeacherDisconnectOutcome> {
    const { socket, nowMs, graceS, lessonTtlS } = input;
    const { identity, sid } = socket;
    const keys = this.sessionKeys(identity);
    const args = [
      identity.userId,
      sid,
      identity.orgId,
      identity.role,
      nowMs,
      graceS,
      sessionMember(identity),
      lessonTtlS,
    ];
    const reply = await this.withLesson((lessonId) =>
      this.run(
        'disconnect_teacher',
        lessonId === null ? keys : [...keys, this.key(lessonTeachersKey(lessonId))],
        [...args, lessonId ?? ''],
      ),
    );
    if (reply[0] === 'not_live') return { kind: 'not_live' };
    if (reply[0] === 'other_devices') return { kind: 'other_devices', lessonId: orNull(reply[1]) };
    return { kind: 'grace', lessonId: orNull(reply[1]), deadlineMs: nowMs + graceS * 1000 };
  }

  async disconnectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<{ readonly current: boolean; readonly lessonId: Id | null }> {
    const { socket, lessonTtlS } = input;
    const [current, lessonId] = await this.run(
      'disconnect_student',
      [this.key(socket.identity.userId)],
      [socket.sid, lessonTtlS],
    );
    return { current: current === 1, lessonId: orNull(lessonId) };
  }

  async isTeacherOnline(teacher: TeacherRef): Promise<boolean> {
    return (
      (await presenceCall(this.redis.hget(this.key(aliveKey(teacher)), 'state'))) === 'connect'
    );
  }

  async logoutTeacher(teacher: TeacherRef): Promise<boolean> {
    const had = await this.run(
      'logout_teacher',
      [
        this.key(aliveKey(teacher)),
        this.key(presenceIndexKey(teacher.orgId)),
        this.key(liveSocketsKey(teacher)),
        this.key(DEADLINES_KEY),
      ],
      [teacher.userId, sessionMember(teacher)],
    );
    return had === 1;
  }

  async startCooldown(input: {
    readonly teacher: TeacherRef;
    readonly cooldownS: number;
  }): Promise<{ readonly sid: string | null }> {
    const { teacher, cooldownS } = input;
    const sid = await this.run(
      'start_cooldown',
      [this.key(cooldownKey(teacher)), this.key(teacher.userId)],
      [cooldownS, teacher.orgId],
    );
    return { sid: orNull(sid) };
  }

  async cancelCooldown(teacher: TeacherRef): Promise<void> {
    await this.run('cancel_cooldown', [this.key(cooldownKey(teacher))], []);
  }

  async joinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly seatCount: number;
    readonly lessonTtlS: number;
    readonly seats?: SeatMap;
  }): Promise<JoinLessonOutcome> {
    const { socket, lessonId, lessonTtlS, seats } = input;
    const { identity, sid } = socket;
    const teachers = this.key(lessonTeachersKey(lessonId));
    const students = this.key(lessonStudentsKey(lessonId));
    const isTeacher = identity.kind === 'teacher_app';
    const keys = [
      this.key(seatsKey(lessonId)),
      ...(isTeacher ? [teachers, students] : [students, teachers]),
      this.key(identity.userId),
      ...(isTeacher ? this.sessionIndexKeys(identity) : []),
    ];
    const reply = served(
      await this.joins.submit({
        keys,
        args: [
          identity.userId,
          sid,
          lessonId,
          lessonTtlS,
          seats === undefined ? '' : JSON.stringify(seats),
        ],
      }),
    );
    if (reply[0] === 'needs_seat_map') return { kind: 'needs_seat_map' };
    return {
      kind: 'joined',
      seats: JSON.parse(reply[2]) as SeatMap,
      previousLessonId: orNull(reply[1]),
    };
  }

  async undoJoinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly previousLessonId: Id | null;
  }): Promise<void> {
    const { socket, lessonId, previousLessonId } = input;
    const { identity, sid } = socket;
    await this.run(
      'undo_join_lesson',
      [
        this.key(membershipKey(identity, lessonId)),
        this.key(identity.userId),
        ...(identity.kind === 'teacher_app' ? this.sessionIndexKeys(identity) : []),
      ],
      [identity.userId, sid, lessonId, previousLessonId ?? ''],
    );
  }

  async claimSeat(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly seatId: string;
  }): Promise<Result<SeatChange, SeatClaimError>> {
    const { socket, lessonId, seatId } = input;
    const reply = served(
      await this.seatClaims.submit({
        keys: [this.key(lessonStudentsKey(lessonId)), this.key(seatsKey(lessonId))],
        args: [socket.identity.userId, socket.sid, seatId],
      }),
    );
    switch (reply[0]) {
      case 'held':
        return ok({ alreadyHeld: true, releasedSeatId: null });
      case 'claimed':
        return ok({ alreadyHeld: false, releasedSeatId: orNull(reply[1]) });
      default:
        return fail(reply[0]);
    }
  }

  async ensureSeatMap(input: {
    readonly lessonId: Id;
    readonly seats: SeatMap;
    readonly lessonTtlS: number;
  }): Promise<void> {
    const { lessonId, seats, lessonTtlS } = input;
    await this.run(
      'ensure_seat_map',
      [this.key(seatsKey(lessonId))],
      [lessonTtlS, JSON.stringify(seats)],
    );
  }

  async revertSeatClaim(input: {
    readonly lessonId: Id;
    readonly studentId: Id;
    readonly seatId: string;
    readonly change: SeatChange;
  }): Promise<void> {
    const { lessonId, studentId, seatId, change } = input;
    // A seat the student already held was not changed by the claim: nothing to take back.
    if (change.alreadyHeld) return;
    await this.run(
      'revert_seat_claim',
      [this.key(seatsKey(lessonId))],
      [studentId, seatId, change.releasedSeatId ?? ''],
    );
  }

  async dueSessionEnds(nowMs: number, limit: number): Promise<TeacherRef[]> {
    const members = await presenceCall(
      this.redis.zrangebyscore(this.key(DEADLINES_KEY), '-inf', nowMs, 'LIMIT', 0, limit),
    );
    return members.map(teacherOfMember);
  }

  async nextDueAtMs(): Promise<number | null> {
    const [, score] = await presenceCall(
      this.redis.zrange(this.key(DEADLINES_KEY), 0, 0, 'WITHSCORES'),
    );
    return score === undefined ? null : Number(score);
  }

  async settleExpiredSession(input: {
    readonly teacher: TeacherRef;
    readonly nowMs: number;
    readonly graceS: number;
    readonly leaseMs: number;
  }): Promise<SettleOutcome> {
    const { teacher, nowMs, graceS, leaseMs } = input;
    const reply = await this.run('settle_expired_session', this.sessionEndKeys(teacher), [
      teacher.userId,
      sessionMember(teacher),
      nowMs,
      graceS,
      leaseMs,
    ]);
    if (reply[0] === 'none') return { kind: 'none' };
    if (reply[0] === 'grace') {
      return { kind: 'grace', lessonId: orNull(reply[1]), deadlineMs: nowMs + graceS * 1000 };
    }
    return { kind: 'claimed', epoch: Number(reply[1]) };
  }

  async completeSessionEnd(teacher: TeacherRef, epoch: SessionEpoch): Promise<void> {
    await this.run('complete_session_end', this.sessionEndKeys(teacher), [
      teacher.userId,
      sessionMember(teacher),
      epoch,
    ]);
  }

  async snapshot(orgId: Id): Promise<TeacherPresenceView[]> {
    const index = await presenceCall(this.redis.hgetall(this.key(presenceIndexKey(orgId))));
    return Object.entries(index)
      .map(([userId, json]) => {
        const record = JSON.parse(json) as SessionRecord;
        return {
          userId,
          phase: phaseOf(record.state),
          loginTimeS: record.login_time,
          sinceMs: record.since_ms,
          lessonId: record.lesson_id ?? null,
        };
      })
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  }

  /**
   * The mark is `{run_id}:{generation}:{beat}`: the server's run id (a restart or a failover
   * changes it), the generation the service's marker hash holds (a flush removes it, and the next
   * check makes another), and the beat every check moves on (a replica that lags goes back).
   */
  async checkContinuity(last: StoreMark | null): ReturnType<PresenceStore['checkContinuity']> {
    const [runId, generation, beat, created, restored] = await this.run(
      'check_continuity',
      [this.key(CONTINUITY_KEY)],
      [randomUUID()],
    );
    const mark = `${runId}:${generation}:${beat}`;
    const reconciled = restored === 1;
    if (created === 1) return { mark, lost: true, reconciled };
    if (last === null) return { mark, lost: false, reconciled };
    const [lastRunId, lastGeneration, lastBeat] = last.split(':');
    const lost = lastRunId !== runId || lastGeneration !== generation || Number(lastBeat) >= beat;
    return { mark, lost, reconciled };
  }

  /** The loss a mark names is its server and generation: every node's beat differs. */
  async claimReconciliation(mark: StoreMark, leaseMs: number): Promise<boolean> {
    const loss = mark.split(':').slice(0, 2).join(':');
    return (
      (await this.run('claim_reconciliation', [this.key(reconciliationKey(loss))], [leaseMs])) === 1
    );
  }

  async restoreSockets(input: {
    readonly sockets: readonly HeldSocketState[];
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<TeacherRef[]> {
    const { sockets, nowMs, presenceTtlS, lessonTtlS } = input;
    const teachers = sockets.flatMap(({ socket, epoch, lessonId }) =>
      socket.identity.kind === 'teacher_app' && epoch !== null ? [{ socket, epoch, lessonId }] : [],
    );
    const students = sockets.filter(({ socket }) => socket.identity.kind === 'student_web');
    const membership = (socket: SocketOf, lessonId: Id | null) =>
      lessonId === null ? [] : [this.key(membershipKey(socket.identity, lessonId))];
    const [created] = await Promise.all([
      this.runBatch(
        'restore_teacher_socket',
        teachers.map(({ socket, epoch, lessonId }) => ({
          keys: [...this.sessionKeys(socket.identity), ...membership(socket, lessonId)],
          args: [
            ...this.keepLiveArgs(socket, nowMs, presenceTtlS),
            lessonTtlS,
            epoch,
            lessonId ?? '',
          ],
        })),
      ),
      this.runBatch(
        'restore_student_socket',
        students.map(({ socket, lessonId }) => ({
          keys: [this.key(socket.identity.userId), ...membership(socket, lessonId)],
          args: [
            socket.identity.userId,
            socket.sid,
            socket.identity.orgId,
            socket.identity.role,
            lessonTtlS,
            lessonId ?? '',
          ],
        })),
      ),
    ]);
    return teachers
      .filter((_held, index) => created[index] === 1)
      .map(({ socket }) => ({ orgId: socket.identity.orgId, userId: socket.identity.userId }));
  }

  async restoreSessions(input: {
    readonly teachers: ReadonlyArray<{ readonly teacher: TeacherRef; readonly lessonId: Id }>;
    readonly nowMs: number;
    readonly graceS: number;
  }): Promise<TeacherRef[]> {
    const { teachers, nowMs, graceS } = input;
    const created = await this.runBatch(
      'restore_session',
      teachers.map(({ teacher, lessonId }) => ({
        keys: [
          this.key(aliveKey(teacher)),
          this.key(presenceIndexKey(teacher.orgId)),
          this.key(DEADLINES_KEY),
        ],
        args: [teacher.userId, sessionMember(teacher), nowMs, graceS, epochAt(nowMs), lessonId],
      })),
    );
    return teachers
      .filter((_restored, index) => created[index] === 1)
      .map(({ teacher }) => ({ orgId: teacher.orgId, userId: teacher.userId }));
  }

  async restoreCooldowns(input: {
    readonly cooldowns: ReadonlyArray<{ readonly teacher: TeacherRef; readonly untilMs: number }>;
    readonly nowMs: number;
    readonly mark: StoreMark;
  }): Promise<void> {
    const running = input.cooldowns.filter(({ untilMs }) => untilMs > input.nowMs);
    await this.runBatch(
      'restore_cooldown',
      running.map(({ teacher, untilMs }) => ({
        keys: [this.key(cooldownKey(teacher))],
        args: [untilMs - input.nowMs],
      })),
    );
    const [, generation] = input.mark.split(':');
    await this.run('cooldowns_restored', [this.key(CONTINUITY_KEY)], [generation ?? '']);
  }

  /**
   * Runs a connect or disconnect with the lesson it expects the user to be in (first: none). When
   * the script finds another lesson it writes nothing and names it, and the call runs again with
   * that lesson's key, which a script must be given among its KEYS.
   */
  private async withLesson<R extends readonly unknown[]>(
    call: (lessonId: Id | null) => Promise<R | ['lesson', string]>,
  ): Promise<R> {
    let lessonId: Id | null = null;
    for (let attempt = 1; attempt <= MAX_LESSON_ATTEMPTS; attempt++) {
      const reply = await call(lessonId);
      if (reply[0] !== 'lesson') return reply as R;
      lessonId = orNull(reply[1] as string);
    }
    throw new Error(`The user's lesson changed ${MAX_LESSON_ATTEMPTS} times during one call`);
  }

  private run<N extends ScriptName>(
    name: N,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<Replies[N]> {
    const send = (deadlineMs: number) => {
      const commands = this.redis as unknown as ScriptCommands<Promise<Replies[N]>>;
      this.coalesceWrites();
      return presenceCall(commands[name](keys.length, ...keys, deadlineMs, ...args));
    };
    const deadline = this.deadline();
    return typeof deadline === 'number' ? send(deadline) : deadline.then(send);
  }

  /**
   * The calls of a batched script made together, in one script call (`serve_each` in lua/lib.lua):
   * each call's keys in order, and after the deadline, each call's key count and arguments.
   */
  private batched<N extends 'claim_seat' | 'join_lesson'>(name: N) {
    return new StatementBatcher<BatchedCall, Replies[N][number]>({
      maxBatchSize: MAX_CALLS_PER_SCRIPT_CALL,
      serve: (calls) =>
        this.run(
          name,
          calls.flatMap(({ keys }) => keys),
          calls.flatMap(({ keys, args }) => [keys.length, ...args]),
        ),
    });
  }

  /** One script call per item in one pipeline; each item is atomic, the batch is not. */
  private async runBatch<N extends ScriptName>(
    name: N,
    items: ReadonlyArray<{
      readonly keys: readonly string[];
      readonly args: readonly (string | number)[];
    }>,
  ): Promise<Replies[N][]> {
    if (items.length === 0) return [];
    const deadlineMs = await this.deadline();
    const pipeline = this.redis.pipeline();
    const commands = pipeline as unknown as ScriptCommands<ChainableCommander>;
    for (const { keys, args } of items) commands[name](keys.length, ...keys, deadlineMs, ...args);
    const replies = (await presenceCall(pipeline.exec())) ?? [];
    const failure = replies.find(([error]) => error !== null)?.[0];
    if (failure) throw toPresenceError(failure);
    return replies.map(([, reply]) => reply as Replies[N]);
  }

  /**
   * The deadline of a call made now, in Redis' clock: at once while the clock offset is known
   * (measured again in the background once a minute has passed, or on a new connection), after
   * one measurement when it is not.
   */
  private deadline(): number | Promise<number> {
    const fromOffset = (offsetMs: number) => Date.now() + offsetMs + this.fenceAheadMs;
    if (this.clockOffsetMs === null) return this.measureClockOffset().then(fromOffset);
    const stale = Date.now() - this.offsetMeasuredAtMs > CLOCK_OFFSET_REFRESH_MS;
    if (stale || this.offsetMeasuredOn !== this.redis.stream) {
      // A failed measurement keeps the offset known so far, and the next call tries again.
      this.measureClockOffset().catch(() => {});
    }
    return fromOffset(this.clockOffsetMs);
  }

  /** Redis' TIME against the middle of the round trip that read it. */
  private measureClockOffset(): Promise<number> {
    this.measuring ??= (async () => {
      try {
        const sentAtMs = Date.now();
        const connection = this.redis.stream;
        const [seconds, microseconds] = await presenceCall(this.redis.time());
        const receivedAtMs = Date.now();
        const redisMs = Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000);
        this.clockOffsetMs = redisMs - (sentAtMs + receivedAtMs) / 2;
        this.offsetMeasuredAtMs = receivedAtMs;
        this.offsetMeasuredOn = connection;
        return this.clockOffsetMs;
      } finally {
        this.measuring = null;
      }
    })();
    return this.measuring;
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  /** The KEYS 1-5 of the scripts that keep a teacher's session (see lib.lua's keep_live). */
  private sessionKeys(teacher: TeacherRef): string[] {
    return [
      this.key(aliveKey(teacher)),
      this.key(teacher.userId),
      ...this.sessionIndexKeys(teacher),
      this.key(DEADLINES_KEY),
    ];
  }

  /** The org's presence index and the teacher's live sockets. */
  private sessionIndexKeys(teacher: TeacherRef): string[] {
    return [this.key(presenceIndexKey(teacher.orgId)), this.key(liveSocketsKey(teacher))];
  }

  /** The ARGV 2-8 of keep_live: user, sid, org, role, now ms, presence TTL s, member. */
  private keepLiveArgs(socket: SocketOf, nowMs: number, presenceTtlS: number): (string | number)[] {
    const { identity, sid } = socket;
    return [
      identity.userId,
      sid,
      identity.orgId,
      identity.role,
      nowMs,
      presenceTtlS,
      sessionMember(identity),
    ];
  }

  /** KEYS of the scripts that settle or end a session: alive, index, live sockets, deadlines. */
  private sessionEndKeys(teacher: TeacherRef): string[] {
    return [
      this.key(aliveKey(teacher)),
      this.key(presenceIndexKey(teacher.orgId)),
      this.key(liveSocketsKey(teacher)),
      this.key(DEADLINES_KEY),
    ];
  }
}
