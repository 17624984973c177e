import type { ChainableCommander, Redis } from 'ioredis';
import type {
  DisconnectOutcome,
  PresenceStore,
  SeatChange,
  SessionClaim,
  SocketOf,
  TeacherConnectOutcome,
  TeacherPresence,
} from '../../application/ports/presence-store.js';
import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { SeatMap } from '../../domain/seat-map.js';
import { epochAt, type SessionEpoch } from '../../domain/session.js';
import {
  aliveKey,
  cooldownKey,
  DEADLINES_KEY,
  EPOCHS_KEY,
  lessonStudentsKey,
  lessonTeachersKey,
  membershipKey,
  seatsKey,
  sessionMember,
  teacherOfMember,
} from '../presence-keys.js';
import { presenceCall, toPresenceError, writeCoalescer } from './redis-clients.js';

/**
 * Lua shared by the scripts below. Scripts answer "" for "none" because Redis turns a Lua nil or
 * false inside a reply into a null that ends the array, and ioredis-mock into `false`.
 *
 * The directory entry is read with a pattern instead of cjson: ids and engine.io socket ids are
 * [A-Za-z0-9_-] (PROTOCOL §3), so its values never hold a quote or a backslash, and ioredis-mock
 * has no cjson. It is written from a head that the caller serialised in the contract's key order
 * (`{"sid","client_id","role","org_id"`, an order cjson would not keep), plus `lesson_id` last.
 */
const HELPERS = String.raw`
local function directory_field(json, name)
  return string.match(json, '"' .. name .. '"%s*:%s*"([^"\\]*)"')
end

-- The fields every caller reads; the others only when asked for (a match costs about a µs of
-- Redis' single thread, which every node shares).
local function read_directory(key)
  local json = redis.call('GET', key)
  if not json then return nil end
  return { json = json, sid = directory_field(json, 'sid'), lesson_id = directory_field(json, 'lesson_id') }
end

-- The entry when it was written for this org and role. The directory is keyed by user id alone,
-- so an entry of another org or role must neither name its socket nor lead this user into its
-- lesson.
local function own_directory(key, org, role)
  local entry = read_directory(key)
  if entry and directory_field(entry.json, 'org_id') == org and directory_field(entry.json, 'role') == role then
    return entry
  end
  return nil
end

local function previous_lesson(key, org, role)
  local own = own_directory(key, org, role)
  return own and own.lesson_id
end

local function directory_json(head, lesson)
  if lesson then return head .. ',"lesson_id":"' .. lesson .. '"}' end
  return head .. '}'
end

-- Changes the lesson of an entry in place, keeping its TTL: none while the socket is connected.
-- (PTTL and PEXPIRE rather than SET KEEPTTL, which ioredis-mock ignores.)
local function relabel_directory(key, head, lesson)
  local ttl = redis.call('PTTL', key)
  redis.call('SET', key, directory_json(head, lesson))
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end

-- HGET telling a missing field (nil) from a free seat (""). HEXISTS first because the redis.call of
-- ioredis-mock turns "" into false, and the contract suite runs these scripts there too.
local function seat_holder(key, seat)
  if redis.call('HEXISTS', key, seat) == 0 then return nil end
  return redis.call('HGET', key, seat) or ''
end

-- The seat map as one JSON object rather than HGETALL's flat list: decoding two reply strings per
-- seat was a third of a join's cost in the Node process (28 µs against 18 µs with 30 seats). Seat
-- numbers and holders' ids need no escaping (see above); ioredis-mock reads "" as false.
local function seat_map_json(key)
  local flat = redis.call('HGETALL', key)
  local parts = {}
  for i = 1, #flat, 2 do
    parts[#parts + 1] = '"' .. flat[i] .. '":"' .. (flat[i + 1] or '') .. '"'
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function set_member(key, user, sid, ttl)
  redis.call('HSET', key, user, sid)
  redis.call('EXPIRE', key, ttl)
end

-- A new teacher session. KEYS: alive, directory, deadlines, epochs.
-- ARGV: member, epoch, presence TTL, deadline ms, directory head.
local function register_teacher(lesson)
  redis.call('HSET', KEYS[1], 'login_time', ARGV[2], 'state', 'connect')
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], directory_json(ARGV[5], lesson))
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
end
`;

/** One atomic transition each; KEYS and ARGV are listed where a script starts to differ. */
const SCRIPTS = {
  // KEYS 5: cooldown. ARGV 6: sid, 7: user, 8: key prefix, 9: lesson TTL, 10: org, 11: role.
  classroomConnectTeacher: {
    numberOfKeys: 5,
    body: `
if redis.call('EXISTS', KEYS[5]) == 1 then
  return { 'cooldown', redis.call('PTTL', KEYS[5]) }
end
local lesson = previous_lesson(KEYS[2], ARGV[10], ARGV[11])
register_teacher(lesson)
if lesson then set_member(ARGV[8] .. 'lesson_teacher_' .. lesson, ARGV[7], ARGV[6], ARGV[9]) end
return { 'connected', lesson or '' }`,
  },
  // KEYS: directory. ARGV: head, sid, user, key prefix, lesson TTL, org, role.
  classroomConnectStudent: {
    numberOfKeys: 1,
    body: `
local lesson = previous_lesson(KEYS[1], ARGV[6], ARGV[7])
redis.call('SET', KEYS[1], directory_json(ARGV[1], lesson))
if lesson then set_member(ARGV[4] .. 'lesson_student_' .. lesson, ARGV[3], ARGV[2], ARGV[5]) end
return lesson or ''`,
  },
  // As register_teacher (ARGV 2 is the socket's own epoch); ARGV 6: sid, 7: user, 8: key prefix,
  // 9: lesson TTL, 10: org, 11: role.
  classroomRefreshTeacher: {
    numberOfKeys: 4,
    body: `
local current = read_directory(KEYS[2])
if not current then
  register_teacher(nil)
  return 1
elseif current.sid == ARGV[6] then
  if redis.call('HGET', KEYS[1], 'state') == 'connect' then
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  end
else
  local login_time = tonumber(redis.call('HGET', KEYS[1], 'login_time'))
  if login_time and login_time < tonumber(ARGV[2]) then
    local lesson = previous_lesson(KEYS[2], ARGV[10], ARGV[11])
    register_teacher(lesson)
    if lesson then set_member(ARGV[8] .. 'lesson_teacher_' .. lesson, ARGV[7], ARGV[6], ARGV[9]) end
    return 1
  end
end
return 0`,
  },
  // KEYS: directory, alive, deadlines. ARGV: sid, grace, deadline ms, member, lesson TTL.
  classroomDisconnectTeacher: {
    numberOfKeys: 3,
    body: `
local current = read_directory(KEYS[1])
if not current or current.sid ~= ARGV[1] then return { 0, '' } end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'state', 'disconnect')
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return { 1, current.lesson_id or '' }`,
  },
  // KEYS: directory. ARGV: sid, lesson TTL.
  classroomDisconnectStudent: {
    numberOfKeys: 1,
    body: `
local current = read_directory(KEYS[1])
if not current or current.sid ~= ARGV[1] then return { 0, '' } end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return { 1, current.lesson_id or '' }`,
  },
  // KEYS: alive, deadlines, epochs. ARGV: member.
  // KEYS: alive.
  classroomIsTeacherOnline: {
    numberOfKeys: 1,
    body: `
if redis.call('HGET', KEYS[1], 'state') == 'connect' then return 1 end
return 0`,
  },
  classroomLogoutTeacher: {
    numberOfKeys: 3,
    body: `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`,
  },
  // KEYS: cooldown, directory. ARGV: cooldown TTL, org.
  classroomStartCooldown: {
    numberOfKeys: 2,
    body: `
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
local own = own_directory(KEYS[2], ARGV[2], 'teacher')
return own and own.sid or ''`,
  },
  // KEYS: seats, the caller's membership, the other membership, directory.
  // ARGV: seat count, lesson TTL, user, sid, head, lesson.
  classroomJoinLesson: {
    numberOfKeys: 4,
    body: `
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- In slices: Lua's unpack stops at a few thousand values.
  local count = tonumber(ARGV[1])
  for first = 1, count, 500 do
    local fields = {}
    for seat = first, math.min(first + 499, count) do
      fields[#fields + 1] = tostring(seat)
      fields[#fields + 1] = ''
    end
    redis.call('HSET', KEYS[1], unpack(fields))
  end
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
local current = read_directory(KEYS[4])
-- A socket joining its lesson again (a page reload, a retried request) rewrites nothing.
if current and current.sid == ARGV[4] and current.lesson_id ~= ARGV[6] then
  relabel_directory(KEYS[4], ARGV[5], ARGV[6])
end
return { current and current.lesson_id or '', seat_map_json(KEYS[1]) }`,
  },
  // KEYS: the caller's membership, directory. ARGV: user, sid, head, previous lesson or "".
  classroomUndoJoinLesson: {
    numberOfKeys: 2,
    body: `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
local current = read_directory(KEYS[2])
if current and current.sid == ARGV[2] then
  relabel_directory(KEYS[2], ARGV[3], ARGV[4] ~= '' and ARGV[4] or nil)
end
return 1`,
  },
  // The rule of claimSeat in src/domain/seat-map.ts. KEYS: students, seats. ARGV: student, seat.
  classroomClaimSeat: {
    numberOfKeys: 2,
    body: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then
  return { 'not_in_lesson' }
end
local holder = seat_holder(KEYS[2], ARGV[2])
if not holder then return { 'seat_not_found' } end
if holder == ARGV[1] then return { 'held', '' } end
if holder ~= '' then return { 'seat_taken' } end
local released = ''
local seats = redis.call('HGETALL', KEYS[2])
for i = 1, #seats, 2 do
  if seats[i + 1] == ARGV[1] then
    redis.call('HSET', KEYS[2], seats[i], '')
    released = seats[i]
  end
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return { 'claimed', released }`,
  },
  // KEYS: seats. ARGV: student, seat, released seat or "".
  classroomRevertSeatClaim: {
    numberOfKeys: 1,
    body: `
if seat_holder(KEYS[1], ARGV[2]) == ARGV[1] then redis.call('HSET', KEYS[1], ARGV[2], '') end
if ARGV[3] ~= '' and seat_holder(KEYS[1], ARGV[3]) == '' then
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[1])
end
return 1`,
  },
  // KEYS: alive, deadlines, epochs. ARGV: member, now ms, lease end ms.
  classroomClaimSessionEnd: {
    numberOfKeys: 3,
    body: `
if redis.call('EXISTS', KEYS[1]) == 1 then return '' end
local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
local epoch = redis.call('HGET', KEYS[3], ARGV[1])
if not due or not epoch or tonumber(due) > tonumber(ARGV[2]) then return '' end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return epoch`,
  },
  // KEYS: alive, deadlines, epochs. ARGV: member, epoch.
  classroomCompleteSessionEnd: {
    numberOfKeys: 3,
    body: `
if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] and redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 1`,
  },
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** What each script answers, as ioredis hands it over. */
interface Replies {
  classroomConnectTeacher: ['cooldown', number] | ['connected', string];
  classroomConnectStudent: string;
  classroomRefreshTeacher: number;
  classroomDisconnectTeacher: [0 | 1, string];
  classroomDisconnectStudent: [0 | 1, string];
  classroomIsTeacherOnline: number;
  classroomLogoutTeacher: number;
  classroomStartCooldown: string;
  classroomJoinLesson: [string, string];
  classroomUndoJoinLesson: number;
  classroomClaimSeat:
    | ['not_in_lesson']
    | ['seat_not_found']
    | ['seat_taken']
    | ['held', '']
    | ['claimed', string];
  classroomRevertSeatClaim: number;
  classroomClaimSessionEnd: string;
  classroomCompleteSessionEnd: number;
}

/** How `defineCommand` exposes a script on a client or a pipeline. */
type ScriptCommands<R> = Record<ScriptName, (...keysAndArgs: (string | number)[]) => R>;

const orNull = (value: string): string | null => (value === '' ? null : value);

/** The directory entry up to its last field, in the contract's key order, `}` left off. */
function directoryHead({ sid, identity }: SocketOf): string {
  const { userId, role, orgId } = identity;
  return JSON.stringify({ sid, client_id: userId, role, org_id: orgId }).slice(0, -1);
}

/**
 * The presence store on Redis (PROTOCOL §7 key layout, docs in the port). Every transition is one
 * Lua script, so it is atomic across nodes and costs one round trip; `refreshTeachers` sends one
 * script call per socket in a single pipeline. The script calls made in one event-loop turn leave in
 * one socket write (`writeCoalescer`). Keys are prefixed with `keyPrefix`, including the
 * lesson keys a script derives from the directory's `lesson_id`.
 *
 * Pass a client from `createRedisClient`, so an unreachable Redis is answered at once with
 * `DependencyUnavailableError` rather than queued.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly prefix: string;
  private readonly coalesceWrites: () => void;

  constructor(
    private readonly redis: Redis,
    options: { readonly keyPrefix?: string } = {},
  ) {
    this.prefix = options.keyPrefix ?? '';
    this.coalesceWrites = writeCoalescer(redis);
    for (const [name, { numberOfKeys, body }] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, { numberOfKeys, lua: HELPERS + body });
    }
  }

  async connectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<TeacherConnectOutcome> {
    const { socket, nowMs, presenceTtlS, lessonTtlS } = input;
    const teacher = socket.identity;
    const epoch = epochAt(nowMs);
    const reply = await this.run(
      'classroomConnectTeacher',
      [...this.sessionKeys(teacher), this.key(cooldownKey(teacher))],
      [
        ...this.registration(socket, epoch, nowMs + presenceTtlS * 1000, presenceTtlS),
        ...this.rejoinArgs(socket, lessonTtlS),
      ],
    );
    if (reply[0] === 'cooldown') {
      // PTTL -1: a cooldown without TTL, which only a hand-written key can be.
      return { kind: 'cooldown', remainingMs: reply[1] < 0 ? 1000 : reply[1] };
    }
    return { kind: 'connected', epoch, lessonId: orNull(reply[1]) };
  }

  async connectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<{ readonly lessonId: Id | null }> {
    const { socket, lessonTtlS } = input;
    const lessonId = await this.run(
      'classroomConnectStudent',
      [this.key(socket.identity.userId)],
      [
        directoryHead(socket),
        socket.sid,
        socket.identity.userId,
        this.prefix,
        lessonTtlS,
        socket.identity.orgId,
        socket.identity.role,
      ],
    );
    return { lessonId: orNull(lessonId) };
  }

  async refreshTeachers(input: {
    readonly teachers: readonly TeacherPresence[];
    readonly nowMs: number;
    readonly presenceTtlS: number;
    readonly lessonTtlS: number;
  }): Promise<SocketOf[]> {
    const { teachers, nowMs, presenceTtlS, lessonTtlS } = input;
    if (teachers.length === 0) return [];
    const pipeline = this.redis.pipeline();
    const commands = pipeline as unknown as ScriptCommands<ChainableCommander>;
    const deadlineMs = nowMs + presenceTtlS * 1000;
    for (const { socket, epoch } of teachers) {
      commands.classroomRefreshTeacher(
        ...this.sessionKeys(socket.identity),
        ...this.registration(socket, epoch, deadlineMs, presenceTtlS),
        ...this.rejoinArgs(socket, lessonTtlS),
      );
    }
    const replies = (await presenceCall(pipeline.exec())) ?? [];
    const failure = replies.find(([error]) => error !== null)?.[0];
    if (failure) throw toPresenceError(failure);
    return teachers
      .filter((_teacher, index) => replies[index]?.[1] === 1)
      .map(({ socket }) => socket);
  }

  async isTeacherOnline(teacher: TeacherRef): Promise<boolean> {
    return (await this.run('classroomIsTeacherOnline', [this.key(aliveKey(teacher))], [])) === 1;
  }

  async disconnectTeacher(input: {
    readonly socket: SocketOf;
    readonly nowMs: number;
    readonly graceS: number;
    readonly lessonTtlS: number;
  }): Promise<DisconnectOutcome> {
    const { socket, nowMs, graceS, lessonTtlS } = input;
    const teacher = socket.identity;
    const [current, lessonId] = await this.run(
      'classroomDisconnectTeacher',
      [this.key(teacher.userId), this.key(aliveKey(teacher)), this.key(DEADLINES_KEY)],
      [socket.sid, graceS, nowMs + graceS * 1000, sessionMember(teacher), lessonTtlS],
    );
    return { current: current === 1, lessonId: orNull(lessonId) };
  }

  async disconnectStudent(input: {
    readonly socket: SocketOf;
    readonly lessonTtlS: number;
  }): Promise<DisconnectOutcome> {
    const { socket, lessonTtlS } = input;
    const [current, lessonId] = await this.run(
      'classroomDisconnectStudent',
      [this.key(socket.identity.userId)],
      [socket.sid, lessonTtlS],
    );
    return { current: current === 1, lessonId: orNull(lessonId) };
  }

  async logoutTeacher(teacher: TeacherRef): Promise<void> {
    await this.run('classroomLogoutTeacher', this.sessionEndKeys(teacher), [
      sessionMember(teacher),
    ]);
  }

  async startCooldown(input: {
    readonly teacher: TeacherRef;
    readonly cooldownS: number;
  }): Promise<{ readonly sid: string | null }> {
    const { teacher, cooldownS } = input;
    const sid = await this.run(
      'classroomStartCooldown',
      [this.key(cooldownKey(teacher)), this.key(teacher.userId)],
      [cooldownS, teacher.orgId],
    );
    return { sid: orNull(sid) };
  }

  async joinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly seatCount: number;
    readonly lessonTtlS: number;
  }): Promise<{ readonly seats: SeatMap; readonly previousLessonId: Id | null }> {
    const { socket, lessonId, seatCount, lessonTtlS } = input;
    const teachers = this.key(lessonTeachersKey(lessonId));
    const students = this.key(lessonStudentsKey(lessonId));
    const [own, other] =
      socket.identity.kind === 'teacher_app' ? [teachers, students] : [students, teachers];
    const [previousLessonId, seats] = await this.run(
      'classroomJoinLesson',
      [this.key(seatsKey(lessonId)), own, other, this.key(socket.identity.userId)],
      [seatCount, lessonTtlS, socket.identity.userId, socket.sid, directoryHead(socket), lessonId],
    );
    return { seats: JSON.parse(seats) as SeatMap, previousLessonId: orNull(previousLessonId) };
  }

  async undoJoinLesson(input: {
    readonly socket: SocketOf;
    readonly lessonId: Id;
    readonly previousLessonId: Id | null;
  }): Promise<void> {
    const { socket, lessonId, previousLessonId } = input;
    await this.run(
      'classroomUndoJoinLesson',
      [this.key(membershipKey(socket.identity, lessonId)), this.key(socket.identity.userId)],
      [socket.identity.userId, socket.sid, directoryHead(socket), previousLessonId ?? ''],
    );
  }

  async claimSeat(input: {
    readonly lessonId: Id;
    readonly studentId: Id;
    readonly seatId: string;
  }): Promise<Result<SeatChange, 'not_in_lesson' | 'seat_not_found' | 'seat_taken'>> {
    const { lessonId, studentId, seatId } = input;
    const reply = await this.run(
      'classroomClaimSeat',
      [this.key(lessonStudentsKey(lessonId)), this.key(seatsKey(lessonId))],
      [studentId, seatId],
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
      'classroomRevertSeatClaim',
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

  async claimSessionEnd(
    teacher: TeacherRef,
    nowMs: number,
    leaseMs: number,
  ): Promise<SessionClaim | null> {
    const epoch = await this.run('classroomClaimSessionEnd', this.sessionEndKeys(teacher), [
      sessionMember(teacher),
      nowMs,
      nowMs + leaseMs,
    ]);
    return epoch === '' ? null : { epoch: Number(epoch) };
  }

  async completeSessionEnd(teacher: TeacherRef, epoch: SessionEpoch): Promise<void> {
    await this.run('classroomCompleteSessionEnd', this.sessionEndKeys(teacher), [
      sessionMember(teacher),
      epoch,
    ]);
  }

  /**
   * For tests and tools: the live keys under the prefix by their protocol names (prefix removed),
   * hashes as objects and strings as text, without the service's own index keys — the shape of
   * `InMemoryPresenceStore.dump()`.
   */
  async dump(): Promise<Record<string, string | Record<string, string>>> {
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const names: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      names.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    const own = new Set([this.key(DEADLINES_KEY), this.key(EPOCHS_KEY)]);
    const dumped: Record<string, string | Record<string, string>> = {};
    for (const name of names.filter((key) => !own.has(key)).sort()) {
      const type = await this.redis.type(name);
      const logical = name.slice(this.prefix.length);
      if (type === 'hash') dumped[logical] = await this.redis.hgetall(name);
      else if (type === 'string') dumped[logical] = (await this.redis.get(name)) ?? '';
      else if (type !== 'none')
        throw new Error(`Unexpected ${type} key ${name} in the presence store`);
    }
    return dumped;
  }

  private run<N extends ScriptName>(
    name: N,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<Replies[N]> {
    const commands = this.redis as unknown as ScriptCommands<Promise<Replies[N]>>;
    this.coalesceWrites();
    return presenceCall(commands[name](...keys, ...args));
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  /** KEYS of register_teacher: alive, directory, deadlines, epochs. */
  private sessionKeys(teacher: TeacherRef): string[] {
    return [
      this.key(aliveKey(teacher)),
      this.key(teacher.userId),
      this.key(DEADLINES_KEY),
      this.key(EPOCHS_KEY),
    ];
  }

  /** ARGV of register_teacher: member, epoch, presence TTL, deadline ms, directory head. */
  private registration(
    socket: SocketOf,
    epoch: SessionEpoch,
    deadlineMs: number,
    presenceTtlS: number,
  ): (string | number)[] {
    return [sessionMember(socket.identity), epoch, presenceTtlS, deadlineMs, directoryHead(socket)];
  }

  /** ARGV 6–11 of the scripts that may point a lesson at a teacher's socket again. */
  private rejoinArgs({ sid, identity }: SocketOf, lessonTtlS: number): (string | number)[] {
    return [sid, identity.userId, this.prefix, lessonTtlS, identity.orgId, identity.role];
  }

  private sessionEndKeys(teacher: TeacherRef): string[] {
    return [this.key(aliveKey(teacher)), this.key(DEADLINES_KEY), this.key(EPOCHS_KEY)];
  }
}
