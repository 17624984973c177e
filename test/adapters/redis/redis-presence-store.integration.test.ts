import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisPresenceStore } from '../../../src/adapters/redis/redis-presence-store.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { SocketOf } from '../../../src/application/ports/presence-store.js';
import { canStartOwnRedis, hasRedis, REDIS_URL } from '../../support/services.js';
import {
  deleteKeys,
  ORG,
  quietClient,
  studentSocket,
  teacherSocket,
  uniquePrefix,
} from './fixtures.js';
import { RedisServerProcess } from './redis-server-process.js';

const PRESENCE_TTL_S = 60;
const GRACE_S = 300;
const COOLDOWN_S = 120;
const LESSON_TTL_S = 600;

/** A TTL read back from Redis: at most the one set, and not much less (the test took a moment). */
async function expectTtl(redis: Redis, key: string, ttlS: number): Promise<void> {
  const pttlMs = await redis.pttl(key);
  expect(pttlMs, key).toBeLessThanOrEqual(ttlS * 1000);
  expect(pttlMs, key).toBeGreaterThan(ttlS * 1000 - 2_000);
}

describe.runIf(hasRedis)('RedisPresenceStore on real Redis', () => {
  describe.each(
    [
      {
        layout: 'with a key prefix, on the shared Redis',
        prefix: uniquePrefix(),
        ownServer: false,
      },
      { layout: 'without a prefix, on a redis-server of its own', prefix: '', ownServer: true },
    ].filter(({ ownServer }) => !ownServer || canStartOwnRedis()),
  )('keys $layout', ({ prefix, ownServer }) => {
    let server: RedisServerProcess | undefined;
    let redis: Redis;
    let store: RedisPresenceStore;
    const key = (name: string) => prefix + name;
    const teacher = teacherSocket('t-1', 'sid-t1');
    const student = studentSocket('s-1', 'sid-s1');
    const connect = (nowMs: number) =>
      store.connectTeacher({
        socket: teacher,
        nowMs,
        presenceTtlS: PRESENCE_TTL_S,
        lessonTtlS: LESSON_TTL_S,
      });
    const join = (socket: SocketOf) =>
      store.joinLesson({ socket, lessonId: 'L-1', seatCount: 3, lessonTtlS: LESSON_TTL_S });

    beforeAll(async () => {
      if (ownServer) server = await RedisServerProcess.start();
      redis = quietClient(server?.url ?? REDIS_URL);
      store = new RedisPresenceStore(redis, { keyPrefix: prefix });
    });
    afterEach(() => deleteKeys(redis, prefix));
    afterAll(async () => {
      redis.disconnect();
      await server?.stop();
    });

    it('names, types and times out every key exactly as PROTOCOL §7 says', async () => {
      const nowMs = Date.now();
      await connect(nowMs);
      await join(teacher);
      await store.connectStudent({ socket: student, lessonTtlS: LESSON_TTL_S });
      await join(student);
      await store.claimSeat({ lessonId: 'L-1', studentId: 's-1', seatId: '2' });
      await store.startCooldown({ teacher: { orgId: ORG, userId: 't-2' }, cooldownS: COOLDOWN_S });

      const types: Record<string, string> = {};
      for (const name of (await redis.keys(`${prefix}*`)).sort()) {
        types[name.slice(prefix.length)] = await redis.type(name);
      }
      expect(types).toEqual({
        'alive:org_o-1_user_t-1': 'hash',
        'classroom:deadlines': 'zset',
        'classroom:epochs': 'hash',
        'cooldown:org_o-1_user_t-2': 'string',
        'lesson_seat_L-1': 'hash',
        'lesson_student_L-1': 'hash',
        'lesson_teacher_L-1': 'hash',
        's-1': 'string',
        't-1': 'string',
      });
      const epoch = String(Math.floor(nowMs / 1000));
      expect(await redis.hgetall(key('alive:org_o-1_user_t-1'))).toEqual({
        login_time: epoch,
        state: 'connect',
      });
      expect(await redis.hgetall(key('lesson_seat_L-1'))).toEqual({ 1: '', 2: 's-1', 3: '' });
      expect(await redis.hgetall(key('lesson_teacher_L-1'))).toEqual({ 't-1': 'sid-t1' });
      expect(await redis.hgetall(key('lesson_student_L-1'))).toEqual({ 's-1': 'sid-s1' });
      expect(await redis.get(key('cooldown:org_o-1_user_t-2'))).toBe('1');
      expect(await redis.zrange(key('classroom:deadlines'), 0, -1, 'WITHSCORES')).toEqual([
        'o-1:t-1',
        String(nowMs + PRESENCE_TTL_S * 1000),
      ]);
      expect(await redis.hgetall(key('classroom:epochs'))).toEqual({ 'o-1:t-1': epoch });

      await expectTtl(redis, key('alive:org_o-1_user_t-1'), PRESENCE_TTL_S);
      await expectTtl(redis, key('cooldown:org_o-1_user_t-2'), COOLDOWN_S);
      for (const lessonKey of ['lesson_seat_L-1', 'lesson_teacher_L-1', 'lesson_student_L-1']) {
        await expectTtl(redis, key(lessonKey), LESSON_TTL_S);
      }
      for (const lasting of ['t-1', 's-1', 'classroom:deadlines', 'classroom:epochs']) {
        expect(await redis.pttl(key(lasting)), lasting).toBe(-1);
      }
    });

    it('writes the directory JSON byte for byte, lesson_id last once joined', async () => {
      await connect(Date.now());
      expect(await redis.get(key('t-1'))).toBe(
        '{"sid":"sid-t1","client_id":"t-1","role":"teacher","org_id":"o-1"}',
      );
      await join(teacher);
      const joined =
        '{"sid":"sid-t1","client_id":"t-1","role":"teacher","org_id":"o-1","lesson_id":"L-1"}';
      expect(await redis.get(key('t-1'))).toBe(joined);
      // Joining the same lesson again writes nothing: a set-aside marker would survive it.
      await redis.set(key('t-1'), `${joined.slice(0, -1)} }`);
      await join(teacher);
      expect(await redis.get(key('t-1'))).toBe(`${joined.slice(0, -1)} }`);
    });

    it('gives a disconnected teacher the grace TTL and keeps the directory for a reconnect', async () => {
      const nowMs = Date.now();
      await connect(nowMs);
      await join(teacher);
      await store.disconnectTeacher({
        socket: teacher,
        nowMs,
        graceS: GRACE_S,
        lessonTtlS: LESSON_TTL_S,
      });
      expect(await redis.hget(key('alive:org_o-1_user_t-1'), 'state')).toBe('disconnect');
      await expectTtl(redis, key('alive:org_o-1_user_t-1'), GRACE_S);
      await expectTtl(redis, key('t-1'), LESSON_TTL_S);
      expect(await redis.zscore(key('classroom:deadlines'), 'o-1:t-1')).toBe(
        String(nowMs + GRACE_S * 1000),
      );

      const reconnected = teacherSocket('t-1', 'sid-t1-again');
      const outcome = await store.connectTeacher({
        socket: reconnected,
        nowMs,
        presenceTtlS: PRESENCE_TTL_S,
        lessonTtlS: LESSON_TTL_S,
      });
      expect(outcome).toMatchObject({ kind: 'connected', lessonId: 'L-1' });
      expect(await redis.pttl(key('t-1'))).toBe(-1);
      expect(await redis.hgetall(key('lesson_teacher_L-1'))).toEqual({ 't-1': 'sid-t1-again' });
    });
  });

  describe('under concurrency from several connections, as from several nodes', () => {
    const prefix = uniquePrefix();
    let nodes: Redis[];
    let stores: RedisPresenceStore[];
    const storeFor = (i: number) => stores[i % stores.length] as RedisPresenceStore;

    beforeAll(() => {
      nodes = Array.from({ length: 5 }, (_, i) => quietClient(REDIS_URL, `classroom-node-${i}`));
      stores = nodes.map((redis) => new RedisPresenceStore(redis, { keyPrefix: prefix }));
    });
    afterEach(() => deleteKeys(nodes[0] as Redis, prefix));
    afterAll(() => {
      for (const redis of nodes) redis.disconnect();
    });

    async function connectStudents(count: number) {
      const students = Array.from({ length: count }, (_, i) => studentSocket(`s-${i}`, `sid-${i}`));
      await Promise.all(
        students.map((socket, i) => storeFor(i).connectStudent({ socket, lessonTtlS: 60 })),
      );
      return students;
    }

    it('creates the seat map once when twenty first joiners race, never resetting a taken seat', async () => {
      const students = await connectStudents(20);
      const claims = await Promise.all(
        students.map(async (socket, i) => {
          const store = storeFor(i);
          await store.joinLesson({ socket, lessonId: 'L-race', seatCount: 20, lessonTtlS: 60 });
          return store.claimSeat({
            lessonId: 'L-race',
            studentId: socket.identity.userId,
            seatId: String(i + 1),
          });
        }),
      );
      expect(claims.every((claim) => claim.ok)).toBe(true);
      const seats = await (nodes[0] as Redis).hgetall(`${prefix}lesson_seat_L-race`);
      expect(seats).toEqual(Object.fromEntries(students.map((_, i) => [String(i + 1), `s-${i}`])));
    });

    it('gives a contested seat to exactly one of ten racing students', async () => {
      const students = await connectStudents(10);
      for (const [i, socket] of students.entries()) {
        await storeFor(i).joinLesson({ socket, lessonId: 'L-seat', seatCount: 3, lessonTtlS: 60 });
      }
      const claims = await Promise.all(
        students.map((socket, i) =>
          storeFor(i).claimSeat({
            lessonId: 'L-seat',
            studentId: socket.identity.userId,
            seatId: '1',
          }),
        ),
      );
      const winners = students.filter((_, i) => claims[i]?.ok);
      expect(winners).toHaveLength(1);
      expect(claims.filter((claim) => !claim.ok && claim.error === 'seat_taken')).toHaveLength(9);
      expect(await (nodes[0] as Redis).hget(`${prefix}lesson_seat_L-seat`, '1')).toBe(
        winners[0]?.identity.userId,
      );
    });

    it('creates a seat map larger than one Lua unpack can carry', async () => {
      const [socket] = await connectStudents(1);
      const { seats } = await storeFor(0).joinLesson({
        socket: socket as SocketOf,
        lessonId: 'L-hall',
        seatCount: 9_000,
        lessonTtlS: 60,
      });
      expect(Object.keys(seats)).toHaveLength(9_000);
      expect(seats['9000']).toBe('');
    });

    it('lets a Redis error that is not an outage through, to be answered internal', async () => {
      // The directory key of t-9 holding a hash makes the script fail with WRONGTYPE.
      await (nodes[0] as Redis).hset(`${prefix}t-9`, 'not', 'a directory entry');
      const connect = storeFor(0).connectTeacher({
        socket: teacherSocket('t-9', 'sid-9'),
        nowMs: Date.now(),
        presenceTtlS: 60,
        lessonTtlS: 60,
      });
      await expect(connect).rejects.toThrow(/WRONGTYPE/);
      await expect(connect).rejects.not.toBeInstanceOf(DependencyUnavailableError);
    });
  });
});
