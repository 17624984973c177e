import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe } from 'vitest';
import { createRedisClient } from '../../../src/adapters/redis/redis-clients.js';
import { RedisPresenceStore } from '../../../src/adapters/redis/redis-presence-store.js';
import {
  describePresenceStoreContract,
  type LateCallHarness,
  type PresenceStoreHarness,
} from '../../contracts/presence-store.contract.js';
import { hasRedis, REDIS_URL } from '../../support/services.js';
import { deleteKeys, quietClient, uniquePrefix } from './fixtures.js';
import { RedisServerProcess } from './redis-server-process.js';

/**
 * The contract on real Redis only: the scripts need Redis' TIME, cjson and KEEPTTL, which
 * ioredis-mock's Lua does not have.
 *
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
    restartEmpty: () => deleteKeys(redis, prefix),
    close: async () => {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

/** The client gives up on a call after this long; Redis is stalled for longer than that. */
const COMMAND_TIMEOUT_MS = 400;

/**
 * Late calls on a redis-server of the test's own: stalled (SIGSTOP) while a call is sent, so the
 * call waits in the server's socket until the client has timed out, then resumed (SIGCONT), when
 * Redis runs it — past its deadline.
 */
async function stalledServer(): Promise<LateCallHarness> {
  const server = await RedisServerProcess.start();
  const redis = createRedisClient(server.url, {
    name: 'classroom-test-fencing',
    logger: pino({ level: 'silent' }),
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
  });
  if (redis.status !== 'ready') await once(redis, 'ready');
  const store = new RedisPresenceStore(redis);
  // The first call measures the offset to Redis' clock; the stalled ones must not have to.
  await store.checkContinuity(null);
  return {
    store,
    nowMs: () => Date.now(),
    async late(call) {
      server.freeze();
      const [answer] = await Promise.allSettled([call(store)]);
      server.thaw();
      // Redis answers a connection's commands in order: once this one is answered, the stalled
      // call has run.
      await redis.ping();
      return answer as PromiseSettledResult<never>;
    },
    close: async () => {
      redis.disconnect();
      await server.stop();
    },
  };
}

describe.runIf(hasRedis)('RedisPresenceStore on real Redis', () => {
  describePresenceStoreContract(
    'Redis (TTLs moved by the harness, not waited out)',
    async () => harness(quietClient(REDIS_URL)),
    stalledServer,
  );
});
