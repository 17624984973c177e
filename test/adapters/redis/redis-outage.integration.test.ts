import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisPresenceStore } from '../../../src/adapters/redis/redis-presence-store.js';
import { RedisSessionExpiryFeed } from '../../../src/adapters/redis/redis-session-expiry-feed.js';
import type { PresenceStore } from '../../../src/application/ports/presence-store.js';
import { everyPresenceMethod } from '../../contracts/every-presence-method.js';
import { canStartOwnRedis } from '../../support/services.js';
import { HeardExpiries } from './expiry-listener.js';
import { ORG, quietClient, teacherSocket } from './fixtures.js';
import { LogRecorder } from './log-recorder.js';
import { RedisServerProcess } from './redis-server-process.js';

const teacher = teacherSocket('t-1', 'sid-t1');
const teacherRef = { orgId: ORG, userId: 't-1' };

/** Calls every method at once; resolves to what each threw (by name) and how long it all took. */
async function callEveryMethod(store: PresenceStore) {
  const everyMethod = everyPresenceMethod(Date.now());
  const startedAtMs = performance.now();
  const outcomes = await Promise.allSettled(Object.values(everyMethod).map((call) => call(store)));
  const elapsedMs = performance.now() - startedAtMs;
  const thrown = Object.fromEntries(
    Object.keys(everyMethod).map((name, i) => {
      const outcome = outcomes[i];
      return [name, outcome?.status === 'rejected' ? (outcome.reason as Error).name : 'resolved'];
    }),
  );
  return { thrown, elapsedMs };
}

const allUnavailable = Object.fromEntries(
  Object.keys(everyPresenceMethod(0)).map((name) => [name, 'DependencyUnavailableError']),
);

async function connected(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await once(redis, 'ready');
}

describe.runIf(canStartOwnRedis())(
  'the Redis adapters through an outage of their own redis-server',
  () => {
    let server: RedisServerProcess;
    let redis: Redis;
    let store: RedisPresenceStore;
    let feed: RedisSessionExpiryFeed;
    let feedLogs: LogRecorder;
    const heard = new HeardExpiries();

    beforeAll(async () => {
      server = await RedisServerProcess.start();
      redis = quietClient(server.url);
      store = new RedisPresenceStore(redis);
      feedLogs = new LogRecorder();
      feed = new RedisSessionExpiryFeed({ redisUrl: server.url, logger: feedLogs.logger });
      await feed.start(heard.onExpired);
      await connected(redis);
    });
    afterAll(async () => {
      await feed.stop();
      redis.disconnect();
      await server.stop();
    });

    it('answers every store method with DependencyUnavailableError within 2 s while Redis is down', async () => {
      const lost = once(redis, 'close');
      await server.stop();
      const { thrown, elapsedMs } = await callEveryMethod(store);
      await lost;
      await server.restart();
      expect(thrown).toEqual(allUnavailable);
      expect(elapsedMs).toBeLessThan(2_000);
    });

    it('answers every store method with DependencyUnavailableError within 2 s while Redis hangs', async () => {
      await connected(redis);
      server.freeze();
      const { thrown, elapsedMs } = await callEveryMethod(store);
      server.thaw();
      expect(thrown).toEqual(allUnavailable);
      expect(elapsedMs).toBeLessThan(2_000);
    });

    it('works again after Redis restarted empty, the feed listening again with notifications on', async () => {
      await connected(redis);
      await store.connectTeacher({
        socket: teacher,
        nowMs: Date.now(),
        presenceTtlS: 60,
        noCooldownInDatabase: true,
        lessonTtlS: 60,
      });
      const listenedBefore = feedLogs.matching('Listening for expired alive hashes').length;

      const lost = once(redis, 'close');
      await server.stop();
      await lost;
      await server.restart();
      await connected(redis);
      await feedLogs.waitFor('Listening for expired alive hashes', listenedBefore + 1);

      expect(await redis.dbsize()).toBe(0);
      expect(
        await store.connectTeacher({
          socket: teacher,
          nowMs: Date.now(),
          presenceTtlS: 1,
          noCooldownInDatabase: true,
          lessonTtlS: 60,
        }),
      ).toMatchObject({ kind: 'connected' });
      expect(feed.status()).toEqual({ notifications: 'on' });
      await heard.waitFor(1);
      expect(heard.teachers).toEqual([teacherRef]);
    });
  },
);
