import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { describe } from 'vitest';
import { RedisPresenceStore } from '../../../src/adapters/redis/redis-presence-store.js';
import {
  describePresenceStoreContract,
  type PresenceStoreHarness,
} from '../../contracts/presence-store.contract.js';
import { hasRedis, REDIS_URL } from '../../support/services.js';
import { deleteKeys, quietClient, uniquePrefix } from './fixtures.js';

/**
 * Redis time cannot be moved, so the harness moves the keys instead: advancing the clock by `ms`
 * takes `ms` off the TTL of every key under the prefix and deletes the keys whose TTL runs out,
 * which is how those keys stand `ms` later (a key is gone once its time has come, as in Redis).
 * That keeps the suite fast; Redis expiring keys by itself is what the expiry feed's tests watch.
 */
async function advanceKeys(redis: Redis, prefix: string, ms: number): Promise<void> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  for (const key of keys) {
    const ttlMs = await redis.pttl(key);
    if (ttlMs < 0) continue;
    if (ttlMs <= ms) await redis.del(key);
    else await redis.pexpire(key, ttlMs - ms);
  }
}

function harness(redis: Redis): PresenceStoreHarness {
  const prefix = uniquePrefix();
  const store = new RedisPresenceStore(redis, { keyPrefix: prefix });
  let offsetMs = 0;
  return {
    store,
    clock: {
      nowMs: () => Date.now() + offsetMs,
      advance: async (ms) => {
        await advanceKeys(redis, prefix, ms);
        offsetMs += ms;
      },
    },
    dump: () => store.dump(),
    restartEmpty: () => deleteKeys(redis, prefix),
    close: async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

describe.runIf(hasRedis)('RedisPresenceStore on real Redis', () => {
  describePresenceStoreContract('Redis (TTLs moved by the harness, not waited out)', async () =>
    harness(quietClient(REDIS_URL)),
  );
});

describePresenceStoreContract(
  'ioredis-mock: the same Lua scripts run by fengari (no keyspace notifications, TTLs moved by the harness)',
  async () => harness(new RedisMock()),
);
