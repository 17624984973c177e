import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RedisPresenceStore } from '../../../src/adapters/redis/redis-presence-store.js';

const PREFIX = 'env-a:';

/**
 * The store's reads use plain commands, no script, so they run in-process on ioredis-mock: given
 * keys as the scripts write them, the store answers in the domain's words (its scripts are for
 * real Redis only, see redis-presence-store.contract.integration.test.ts).
 */
describe('RedisPresenceStore reads, on ioredis-mock', () => {
  let redis: Redis;
  let store: RedisPresenceStore;

  beforeEach(async () => {
    redis = new RedisMock() as unknown as Redis;
    // ioredis-mock instances of one host and port share their data.
    await redis.flushall();
    store = new RedisPresenceStore(redis, { keyPrefix: PREFIX });
  });

  const record = (state: string, sinceMs: number, lessonId?: string) =>
    JSON.stringify({ state, login_time: 1_767_600_000, since_ms: sinceMs, lesson_id: lessonId });

  it('reads the org’s presence index as snapshots, in the domain’s phases, by user id', async () => {
    await redis.hset(
      `${PREFIX}classroom:presence:o-1`,
      't-2',
      record('disconnect', 2_000, 'L-1'),
      't-1',
      record('connect', 1_000),
    );
    await redis.hset(`${PREFIX}classroom:presence:o-2`, 't-3', record('connect', 3_000));
    expect(await store.snapshot('o-1')).toEqual([
      {
        userId: 't-1',
        phase: 'connected',
        loginTimeS: 1_767_600_000,
        sinceMs: 1_000,
        lessonId: null,
      },
      { userId: 't-2', phase: 'grace', loginTimeS: 1_767_600_000, sinceMs: 2_000, lessonId: 'L-1' },
    ]);
    expect(await store.snapshot('o-9')).toEqual([]);
  });

  it('lists the teachers whose deadline passed, earliest first, up to the limit', async () => {
    await redis.zadd(
      `${PREFIX}classroom:deadlines`,
      300,
      'o-1:t-1',
      100,
      'o-2:t-2',
      900,
      'o-1:t-3',
    );
    expect(await store.dueSessionEnds(300, 10)).toEqual([
      { orgId: 'o-2', userId: 't-2' },
      { orgId: 'o-1', userId: 't-1' },
    ]);
    expect(await store.dueSessionEnds(1_000, 1)).toEqual([{ orgId: 'o-2', userId: 't-2' }]);
    expect(await store.nextDueAtMs()).toBe(100);
  });

  it('has no next deadline when none is pending', async () => {
    expect(await store.nextDueAtMs()).toBeNull();
  });

  it('counts a teacher online only while its alive hash says connect', async () => {
    const teacher = { orgId: 'o-1', userId: 't-1' };
    expect(await store.isTeacherOnline(teacher)).toBe(false);
    await redis.hset(`${PREFIX}alive:org_o-1_user_t-1`, 'login_time', '1', 'state', 'connect');
    expect(await store.isTeacherOnline(teacher)).toBe(true);
    await redis.hset(`${PREFIX}alive:org_o-1_user_t-1`, 'state', 'disconnect');
    expect(await store.isTeacherOnline(teacher)).toBe(false);
  });
});
