import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionExpiryFeed } from '../../../src/adapters/redis/redis-session-expiry-feed.js';
import { canStartOwnRedis } from '../../support/services.js';
import { HeardExpiries } from './expiry-listener.js';
import { quietClient } from './fixtures.js';
import { LogRecorder } from './log-recorder.js';
import { RedisServerProcess } from './redis-server-process.js';

const LISTENING = 'Listening for expired alive hashes';

/** An alive hash that Redis will expire in `ttlMs`, as the presence store writes one. */
async function expiringAliveHash(redis: Redis, key: string, ttlMs = 50): Promise<void> {
  await redis.hset(key, 'login_time', '1', 'state', 'disconnect');
  await redis.pexpire(key, ttlMs);
}

async function notifyFlags(redis: Redis): Promise<string> {
  const [, flags] = (await redis.config('GET', 'notify-keyspace-events')) as string[];
  return flags ?? '';
}

// Every test here changes the server's configuration or drops connections, so they run against
// a redis-server of their own, never the shared one.
describe.runIf(canStartOwnRedis())('RedisSessionExpiryFeed on a redis-server of its own', () => {
  let server: RedisServerProcess;
  let admin: Redis;
  let feed: RedisSessionExpiryFeed;
  let logs: LogRecorder;
  let heard: HeardExpiries;

  async function startFeed(keyPrefix?: string): Promise<void> {
    logs = new LogRecorder();
    heard = new HeardExpiries();
    feed = new RedisSessionExpiryFeed({ redisUrl: server.url, keyPrefix, logger: logs.logger });
    await feed.start(heard.onExpired);
  }

  beforeAll(async () => {
    server = await RedisServerProcess.start();
    admin = quietClient(server.url, 'classroom-test-admin');
  });
  afterEach(async () => {
    await feed.stop();
    await admin.flushall();
    await admin.config('SET', 'notify-keyspace-events', '');
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  it('switches expired-key notifications on and delivers the teacher of an expired alive hash', async () => {
    await startFeed();
    expect(feed.status()).toEqual({ notifications: 'on' });
    await expiringAliveHash(admin, 'alive:org_o-1_user_t-1');
    await heard.waitFor(1);
    expect(heard.teachers).toEqual([{ orgId: 'o-1', userId: 't-1' }]);
  });

  it('keeps the notification flags already configured, adding only E and x', async () => {
    await admin.config('SET', 'notify-keyspace-events', 'Kg');
    await startFeed();
    const flags = await notifyFlags(admin);
    for (const flag of ['K', 'g', 'E', 'x']) expect(flags).toContain(flag);
  });

  it('hears only the alive hashes under its own prefix', async () => {
    await startFeed('mine:');
    // Watch the same channel from the test, to know when the other keys have expired.
    const watcher = quietClient(server.url, 'classroom-test-watcher');
    const expiredKeys: string[] = [];
    const othersGone = new Promise<void>((resolve) => {
      watcher.on('message', (_channel: string, key: string) => {
        expiredKeys.push(key);
        if (expiredKeys.length === 3) resolve();
      });
    });
    await watcher.subscribe('__keyevent@0__:expired');
    await admin.set('mine:cooldown:org_o-1_user_t-1', '1', 'PX', 10);
    await admin.set('mine:lesson_seat_L-1', '', 'PX', 10);
    await expiringAliveHash(admin, 'theirs:alive:org_o-1_user_t-1', 10);
    await othersGone;
    watcher.disconnect();

    await expiringAliveHash(admin, 'mine:alive:org_o-1_user_t-2');
    await heard.waitFor(1);
    expect(heard.teachers).toEqual([{ orgId: 'o-1', userId: 't-2' }]);
  });

  it('switches notifications on again after they were turned off and its connection dropped', async () => {
    await startFeed();
    await admin.config('SET', 'notify-keyspace-events', '');
    await admin.client('KILL', 'TYPE', 'pubsub');
    await logs.waitFor(LISTENING, 2);
    expect(await notifyFlags(admin)).toMatch(/^(?=.*E)(?=.*x)/);
    expect(feed.status()).toEqual({ notifications: 'on' });
    await expiringAliveHash(admin, 'alive:org_o-1_user_t-1');
    await heard.waitFor(1);
    expect(heard.teachers).toEqual([{ orgId: 'o-1', userId: 't-1' }]);
  });

  it('reports notifications off with the reason when its user may not subscribe', async () => {
    await admin.acl('SETUSER', 'no-pubsub', 'on', '>secret', '~*', '&*', '+@all', '-subscribe');
    try {
      logs = new LogRecorder();
      heard = new HeardExpiries();
      const url = `redis://no-pubsub:secret@127.0.0.1:${server.port}`;
      feed = new RedisSessionExpiryFeed({ redisUrl: url, logger: logs.logger });
      await feed.start(heard.onExpired);
      expect(feed.status()).toMatchObject({
        notifications: 'off',
        reason: expect.stringContaining('refused SUBSCRIBE'),
      });
    } finally {
      await admin.acl('DELUSER', 'no-pubsub');
    }
  });

  describe('where CONFIG is disabled, as on managed Redis', () => {
    let locked: RedisServerProcess;

    beforeAll(async () => {
      // The operator enabled the notifications in the server's configuration.
      locked = await RedisServerProcess.start([
        '--rename-command',
        'CONFIG',
        '',
        '--notify-keyspace-events',
        'Ex',
      ]);
    });
    afterAll(() => locked.stop());

    it('reports notifications off with the reason, warns once, and still listens', async () => {
      logs = new LogRecorder();
      heard = new HeardExpiries();
      feed = new RedisSessionExpiryFeed({ redisUrl: locked.url, logger: logs.logger });
      await feed.start(heard.onExpired);
      expect(feed.status()).toMatchObject({
        notifications: 'off',
        reason: expect.stringContaining('CONFIG'),
      });

      const lockedAdmin = quietClient(locked.url, 'classroom-test-admin');
      await lockedAdmin.client('KILL', 'TYPE', 'pubsub');
      await logs.waitFor(LISTENING, 2);
      expect(logs.matching('refused CONFIG')).toHaveLength(1);
      expect(feed.status().notifications).toBe('off');

      await expiringAliveHash(lockedAdmin, 'alive:org_o-1_user_t-1');
      await heard.waitFor(1);
      expect(heard.teachers).toEqual([{ orgId: 'o-1', userId: 't-1' }]);
      lockedAdmin.disconnect();
    });
  });
});
