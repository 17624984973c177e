import { once } from 'node:events';
import { type Redis, ReplyError } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisPresenceStore } from '../../../src/adapters/redis/redis-presence-store.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { SocketOf } from '../../../src/application/ports/presence-store.js';
import { initialSeatMap } from '../../../src/domain/seat-map.js';
import { canStartOwnRedis, hasRedis, REDIS_URL } from '../../support/services.js';
import {
  commandsSent,
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

/**
 * What the Redis store writes, key by key: the exact names, types, TTLs and values of PROTOCOL §7
 * that other services read, and the service's own keys. What the store does is the contract's
 * business (redis-presence-store.contract.integration.test.ts); this is how it lays it out.
 */
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
    const connect = (socket: SocketOf, nowMs: number) =>
      store.connectTeacher({
        socket,
        nowMs,
        presenceTtlS: PRESENCE_TTL_S,
        noCooldownInDatabase: true,
        lessonTtlS: LESSON_TTL_S,
      });
    const join = (socket: SocketOf) =>
      store.joinLesson({
        socket,
        lessonId: 'L-1',
        seatCount: 3,
        lessonTtlS: LESSON_TTL_S,
        seats: initialSeatMap(3),
      });
    const sessionRecord = async (userId = 't-1') =>
      JSON.parse((await redis.hget(key(`classroom:presence:${ORG}`), userId)) ?? 'null');

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

    it('names, types and times out every key exactly as PROTOCOL §7 says, beside the service’s own', async () => {
      const nowMs = Date.now();
      await connect(teacher, nowMs);
      await join(teacher);
      await store.connectStudent({ socket: student, lessonTtlS: LESSON_TTL_S });
      await join(student);
      await store.claimSeat({ socket: student, lessonId: 'L-1', seatId: '2' });
      await store.startCooldown({ teacher: { orgId: ORG, userId: 't-2' }, cooldownS: COOLDOWN_S });

      const types: Record<string, string> = {};
      for (const name of (await redis.keys(`${prefix}*`)).sort()) {
        types[name.slice(prefix.length)] = await redis.type(name);
      }
      expect(types).toEqual({
        'alive:org_o-1_user_t-1': 'hash',
        'classroom:deadlines': 'zset',
        'classroom:presence:o-1': 'hash',
        'classroom:sockets:o-1:t-1': 'zset',
        'cooldown:org_o-1_user_t-2': 'string',
        'lesson_seat_L-1': 'hash',
        'lesson_student_L-1': 'hash',
        'lesson_teacher_L-1': 'hash',
        's-1': 'string',
        't-1': 'string',
      });
      const epoch = Math.floor(nowMs / 1000);
      expect(await redis.hgetall(key('alive:org_o-1_user_t-1'))).toEqual({
        login_time: String(epoch),
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
      expect(await sessionRecord()).toEqual({
        state: 'connect',
        login_time: epoch,
        since_ms: nowMs,
        lesson_id: 'L-1',
      });
      expect(await redis.zrange(key('classroom:sockets:o-1:t-1'), 0, -1, 'WITHSCORES')).toEqual([
        'sid-t1',
        String(nowMs + PRESENCE_TTL_S * 1000),
      ]);

      await expectTtl(redis, key('alive:org_o-1_user_t-1'), PRESENCE_TTL_S);
      await expectTtl(redis, key('cooldown:org_o-1_user_t-2'), COOLDOWN_S);
      for (const lessonKey of ['lesson_seat_L-1', 'lesson_teacher_L-1', 'lesson_student_L-1']) {
        await expectTtl(redis, key(lessonKey), LESSON_TTL_S);
      }
      for (const lasting of [
        't-1',
        's-1',
        'classroom:deadlines',
        'classroom:presence:o-1',
        'classroom:sockets:o-1:t-1',
      ]) {
        expect(await redis.pttl(key(lasting)), lasting).toBe(-1);
      }
    });

    it('writes the directory JSON byte for byte, lesson_id last once joined', async () => {
      await connect(teacher, Date.now());
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

    it('gives the last device’s disconnect the grace TTL and keeps the directory for a reconnect', async () => {
      const nowMs = Date.now();
      await connect(teacher, nowMs);
      await join(teacher);
      const other = teacherSocket('t-1', 'sid-t1-tablet');
      await connect(other, nowMs);
      expect(await redis.hgetall(key('lesson_teacher_L-1'))).toEqual({ 't-1': 'sid-t1-tablet' });
      await store.disconnectTeacher({
        socket: other,
        nowMs,
        graceS: GRACE_S,
        lessonTtlS: LESSON_TTL_S,
      });
      expect(await redis.hget(key('alive:org_o-1_user_t-1'), 'state')).toBe('connect');
      // The device that stays takes the lesson membership back.
      expect(await redis.hgetall(key('lesson_teacher_L-1'))).toEqual({ 't-1': 'sid-t1' });
      expect(JSON.parse((await redis.get(key('t-1'))) ?? '{}')).toMatchObject({ sid: 'sid-t1' });
      expect(await redis.pttl(key('t-1'))).toBe(-1);

      await store.disconnectTeacher({
        socket: teacher,
        nowMs,
        graceS: GRACE_S,
        lessonTtlS: LESSON_TTL_S,
      });
      expect(await redis.hget(key('alive:org_o-1_user_t-1'), 'state')).toBe('disconnect');
      await expectTtl(redis, key('alive:org_o-1_user_t-1'), GRACE_S);
      await expectTtl(redis, key('t-1'), LESSON_TTL_S);
      expect(await redis.exists(key('classroom:sockets:o-1:t-1'))).toBe(0);
      expect(await sessionRecord()).toMatchObject({ state: 'disconnect', since_ms: nowMs });
      expect(await redis.zscore(key('classroom:deadlines'), 'o-1:t-1')).toBe(
        String(nowMs + GRACE_S * 1000),
      );

      const reconnected = teacherSocket('t-1', 'sid-t1-again');
      expect(await connect(reconnected, nowMs)).toMatchObject({ lessonId: 'L-1' });
      expect(await redis.pttl(key('t-1'))).toBe(-1);
      expect(await redis.hgetall(key('lesson_teacher_L-1'))).toEqual({ 't-1': 'sid-t1-again' });
    });

    it('writes the alive hash back in state disconnect with the grace TTL when a connected session lapsed', async () => {
      const connectedAtMs = Date.now() - PRESENCE_TTL_S * 1000;
      await connect(teacher, connectedAtMs);
      // The TTL ran out while no node refreshed the teacher.
      await redis.del(key('alive:org_o-1_user_t-1'));
      const nowMs = Date.now();
      await store.settleExpiredSession({
        teacher: teacher.identity,
        nowMs,
        graceS: GRACE_S,
        leaseMs: 30_000,
      });
      expect(await redis.hgetall(key('alive:org_o-1_user_t-1'))).toEqual({
        login_time: String(Math.floor(connectedAtMs / 1000)),
        state: 'disconnect',
      });
      await expectTtl(redis, key('alive:org_o-1_user_t-1'), GRACE_S);
      expect(await redis.exists(key('classroom:sockets:o-1:t-1'))).toBe(0);
      expect(await sessionRecord()).toMatchObject({ state: 'disconnect', since_ms: nowMs });
    });

    it('removes the alive hash, live sockets, index entry and deadline at a logout, keeping the directory', async () => {
      await connect(teacher, Date.now());
      await store.logoutTeacher(teacher.identity);
      expect((await redis.keys(`${prefix}*`)).map((name) => name.slice(prefix.length))).toEqual([
        't-1',
      ]);
    });

    it('keeps the continuity marker and the reconciliation lease under its own names', async () => {
      const { mark } = await store.checkContinuity(null);
      await store.checkContinuity(mark);
      const marker = await redis.hgetall(key('classroom:continuity'));
      expect(marker).toEqual({ generation: expect.any(String), beat: '2' });
      expect(await redis.pttl(key('classroom:continuity'))).toBe(-1);
      await store.claimReconciliation(mark, 5_000);
      const [lease] = await redis.keys(`${prefix}classroom:reconcile:*`);
      expect(lease?.slice(prefix.length)).toMatch(
        new RegExp(`^classroom:reconcile:[0-9a-f]{40}:${marker.generation}$`),
      );
      await expectTtl(redis, lease as string, 5);
    });
  });

  describe.runIf(canStartOwnRedis())('continuity on a redis-server of its own', () => {
    let server: RedisServerProcess;
    let redis: Redis;
    let store: RedisPresenceStore;

    beforeAll(async () => {
      server = await RedisServerProcess.start();
      redis = quietClient(server.url);
      store = new RedisPresenceStore(redis);
    });
    afterEach(() => redis.flushall());
    afterAll(async () => {
      redis.disconnect();
      await server.stop();
    });

    it('counts a flush as a loss', async () => {
      const { mark } = await store.checkContinuity(null);
      await redis.flushdb();
      expect(await store.checkContinuity(mark)).toMatchObject({ lost: true });
    });

    it('counts a beat that went back as a loss, as after a failover to a replica that lagged', async () => {
      await store.checkContinuity(null);
      const { mark } = await store.checkContinuity(null);
      await redis.hset('classroom:continuity', 'beat', '1');
      expect(await store.checkContinuity(mark)).toMatchObject({ lost: true });
    });

    it('counts another server as a loss, even one holding the same marker', async () => {
      const { mark } = await store.checkContinuity(null);
      const marker = await redis.hgetall('classroom:continuity');
      const lost = once(redis, 'close');
      await server.stop();
      await lost;
      await server.restart();
      if (redis.status !== 'ready') await once(redis, 'ready');
      await redis.hset(
        'classroom:continuity',
        'generation',
        marker.generation ?? '',
        'beat',
        '100',
      );
      expect(await store.checkContinuity(mark)).toMatchObject({ lost: true });
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

    const joinOn = (i: number, socket: SocketOf, lessonId: string, seatCount: number) =>
      storeFor(i).joinLesson({
        socket,
        lessonId,
        seatCount,
        lessonTtlS: 60,
        seats: initialSeatMap(seatCount),
      });

    it('creates the seat map once when twenty first joiners race, never resetting a taken seat', async () => {
      const students = await connectStudents(20);
      const claims = await Promise.all(
        students.map(async (socket, i) => {
          await joinOn(i, socket, 'L-race', 20);
          return storeFor(i).claimSeat({ socket, lessonId: 'L-race', seatId: String(i + 1) });
        }),
      );
      expect(claims.every((claim) => claim.ok)).toBe(true);
      const seats = await (nodes[0] as Redis).hgetall(`${prefix}lesson_seat_L-race`);
      expect(seats).toEqual(Object.fromEntries(students.map((_, i) => [String(i + 1), `s-${i}`])));
    });

    it('gives a contested seat to exactly one of ten racing students', async () => {
      const students = await connectStudents(10);
      for (const [i, socket] of students.entries()) await joinOn(i, socket, 'L-seat', 3);
      const claims = await Promise.all(
        students.map((socket, i) =>
          storeFor(i).claimSeat({ socket, lessonId: 'L-seat', seatId: '1' }),
        ),
      );
      const winners = students.filter((_, i) => claims[i]?.ok);
      expect(winners).toHaveLength(1);
      expect(claims.filter((claim) => !claim.ok && claim.error === 'seat_taken')).toHaveLength(9);
      expect(await (nodes[0] as Redis).hget(`${prefix}lesson_seat_L-seat`, '1')).toBe(
        winners[0]?.identity.userId,
      );
    });

    it('serves the seat claims of one node made together with one script call, each by its own rule', async () => {
      const [a, b, c, d, e] = await connectStudents(5);
      // e never joins the lesson; a starts on seat 3 and moves.
      for (const socket of [a, b, c, d]) await joinOn(0, socket as SocketOf, 'L-batch', 3);
      await storeFor(0).claimSeat({ socket: a as SocketOf, lessonId: 'L-batch', seatId: '3' });
      const store = storeFor(0);
      const redis = nodes[0] as Redis;
      const { sent, result: claims } = await commandsSent(redis, () =>
        Promise.all([
          store.claimSeat({ socket: a as SocketOf, lessonId: 'L-batch', seatId: '1' }),
          store.claimSeat({ socket: b as SocketOf, lessonId: 'L-batch', seatId: '1' }),
          store.claimSeat({ socket: c as SocketOf, lessonId: 'L-batch', seatId: '3' }),
          store.claimSeat({ socket: d as SocketOf, lessonId: 'L-batch', seatId: '9' }),
          store.claimSeat({ socket: e as SocketOf, lessonId: 'L-batch', seatId: '2' }),
          store.claimSeat({ socket: c as SocketOf, lessonId: 'L-batch', seatId: '3' }),
        ]),
      );
      expect(claims).toEqual([
        { ok: true, value: { alreadyHeld: false, releasedSeatId: '3' } },
        { ok: false, error: 'seat_taken' },
        { ok: true, value: { alreadyHeld: false, releasedSeatId: null } },
        { ok: false, error: 'seat_not_found' },
        { ok: false, error: 'not_in_lesson' },
        { ok: true, value: { alreadyHeld: true, releasedSeatId: null } },
      ]);
      expect(sent).toEqual(['evalsha']);
      expect(await redis.hgetall(`${prefix}lesson_seat_L-batch`)).toEqual({
        1: 's-0',
        2: '',
        3: 's-2',
      });
    });

    it('fails only the claim that meets a key of the wrong type, not those served with it', async () => {
      const [a, b] = await connectStudents(2);
      await joinOn(0, a as SocketOf, 'L-ok', 3);
      await joinOn(0, b as SocketOf, 'L-bad', 3);
      await (nodes[0] as Redis).set(`${prefix}lesson_seat_L-bad`, 'not a seat map');
      const [good, bad] = await Promise.allSettled([
        storeFor(0).claimSeat({ socket: a as SocketOf, lessonId: 'L-ok', seatId: '1' }),
        storeFor(0).claimSeat({ socket: b as SocketOf, lessonId: 'L-bad', seatId: '1' }),
      ]);
      expect(good).toEqual({
        status: 'fulfilled',
        value: { ok: true, value: { alreadyHeld: false, releasedSeatId: null } },
      });
      expect(bad?.status === 'rejected' && bad.reason).toBeInstanceOf(ReplyError);
      expect(bad?.status === 'rejected' && String(bad.reason)).toMatch(/WRONGTYPE/);
    });

    it('serves a teacher’s and students’ joins made together with one script call, one failing alone', async () => {
      const [a, b] = await connectStudents(2);
      const ada = teacherSocket('t-ada', 'sid-ada');
      const store = storeFor(0);
      await store.connectTeacher({
        socket: ada,
        nowMs: Date.now(),
        presenceTtlS: 60,
        noCooldownInDatabase: true,
        lessonTtlS: 60,
      });
      await (nodes[0] as Redis).set(`${prefix}lesson_seat_L-bad`, 'not a seat map');
      const redis = nodes[0] as Redis;
      const joining = (socket: SocketOf, lessonId: string) =>
        store.joinLesson({ socket, lessonId, seatCount: 2, lessonTtlS: 60 });
      const { sent, result: answers } = await commandsSent(redis, () =>
        Promise.allSettled([
          joining(a as SocketOf, 'L-new'),
          store.joinLesson({
            socket: ada,
            lessonId: 'L-1',
            seatCount: 2,
            lessonTtlS: 60,
            seats: initialSeatMap(2),
          }),
          joining(b as SocketOf, 'L-bad'),
          joining(b as SocketOf, 'L-1'),
        ]),
      );
      expect(sent).toEqual(['evalsha']);
      const seats = { 1: '', 2: '' };
      expect(answers.map((answer) => answer.status === 'fulfilled' && answer.value)).toEqual([
        { kind: 'needs_seat_map' },
        { kind: 'joined', seats, previousLessonId: null },
        false,
        // What the failed join wrote before its error stays, as with a call of its own (Redis
        // does not undo a script), so the directory last named L-bad.
        { kind: 'joined', seats, previousLessonId: 'L-bad' },
      ]);
      const failed = answers[2];
      expect(failed?.status === 'rejected' && String(failed.reason)).toMatch(/WRONGTYPE/);
      expect(await redis.hgetall(`${prefix}lesson_teacher_L-1`)).toEqual({ 't-ada': 'sid-ada' });
      expect(await redis.hgetall(`${prefix}lesson_student_L-1`)).toEqual({ 's-1': 'sid-1' });
    });

    it('creates a seat map larger than one Lua unpack can carry', async () => {
      const [socket] = await connectStudents(1);
      const joined = await joinOn(0, socket as SocketOf, 'L-hall', 9_000);
      expect(joined.kind === 'joined' && Object.keys(joined.seats)).toHaveLength(9_000);
      expect(await (nodes[0] as Redis).hlen(`${prefix}lesson_seat_L-hall`)).toBe(9_000);
    });

    it('lets a Redis error that is not an outage through, to be answered internal', async () => {
      // The directory key of t-9 holding a hash makes the script fail with WRONGTYPE.
      await (nodes[0] as Redis).hset(`${prefix}t-9`, 'not', 'a directory entry');
      const connect = storeFor(0).connectTeacher({
        socket: teacherSocket('t-9', 'sid-9'),
        nowMs: Date.now(),
        presenceTtlS: 60,
        noCooldownInDatabase: true,
        lessonTtlS: 60,
      });
      await expect(connect).rejects.toThrow(/WRONGTYPE/);
      await expect(connect).rejects.not.toBeInstanceOf(DependencyUnavailableError);
    });
  });
});
