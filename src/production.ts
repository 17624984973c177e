import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Namespace } from 'socket.io';
import type { ReadinessCheck } from './adapters/http/http-endpoints.js';
import type { ServiceMetrics } from './adapters/http/metrics.js';
import { InMemoryAnalytics } from './adapters/in-memory/in-memory-analytics.js';
import { MikroOrmCooldownLedger } from './adapters/mikro-orm/mikro-orm-cooldown-ledger.js';
import { MikroOrmLessonRepository } from './adapters/mikro-orm/mikro-orm-lesson-repository.js';
import { MikroOrmPresenceLog } from './adapters/mikro-orm/mikro-orm-presence-log.js';
import { openOrm } from './adapters/mikro-orm/orm.js';
import { WriteFence } from './adapters/mikro-orm/write-fence.js';
import { MixpanelAnalytics } from './adapters/mixpanel/mixpanel-analytics.js';
import { ClusterLink } from './adapters/redis/cluster-link.js';
import { ClusterParser } from './adapters/redis/cluster-parser.js';
import { ClusterPublisher } from './adapters/redis/cluster-publisher.js';
import { createRedisClient, isRedisUnavailable } from './adapters/redis/redis-clients.js';
import { RedisPresenceStore } from './adapters/redis/redis-presence-store.js';
import {
  missingExpiryFlags,
  RedisSessionExpiryFeed,
} from './adapters/redis/redis-session-expiry-feed.js';
import type { Adapters } from './composition-root.js';
import type { Config } from './config.js';
import type { StartOptions } from './runtime.js';

/**
 * The adapters of production mode, opened from the configuration: Redis for presence, expiry
 * notifications and the Socket.IO cluster adapter when `REDIS_URL` is set; PostgreSQL through
 * MikroORM when `DATABASE_URL` is set; Mixpanel when `MIXPANEL_TOKEN` is set. Whatever is not
 * configured stays embedded. Connections open lazily, so a node starts (and reports itself not
 * ready) while a dependency is down.
 */
export async function productionOptions(
  config: Config,
  logger: Logger,
  metrics: ServiceMetrics,
): Promise<StartOptions> {
  const adapters: { -readonly [K in keyof Adapters]?: Adapters[K] } = {};
  const readiness: ReadinessCheck[] = [];
  const closers: Array<() => Promise<void>> = [];
  let cluster: StartOptions['cluster'];

  if (config.redisUrl !== null) {
    const { redisUrl, redisKeyPrefix: keyPrefix } = config;
    const redis = createRedisClient(redisUrl, { name: 'classroom-presence', logger });
    const feed = new RedisSessionExpiryFeed({ redisUrl, keyPrefix, logger });
    adapters.presence = { store: new RedisPresenceStore(redis, { keyPrefix }), expiryFeed: feed };
    cluster = clusterAdapter(redisUrl, keyPrefix, logger, closers);
    readiness.push(
      { name: 'redis', check: async () => ({ ok: (await redis.ping()) === 'PONG' }) },
      {
        // Sessions still end without notifications (the deadline sweep), only a little later, so
        // their absence is reported here and in the log but does not take the node out.
        name: 'expiry_notifications',
        check: async () => ({ ok: true, detail: await notificationsDetail(feed, redis) }),
      },
    );
    closers.push(async () => {
      redis.disconnect();
    });
  }

  if (config.databaseUrl !== null) {
    const orm = await openOrm({ databaseUrl: config.databaseUrl, logger });
    // One measurement of the database's clock serves every fenced writer.
    const fence = new WriteFence(orm);
    adapters.lessons = new MikroOrmLessonRepository(orm, fence);
    adapters.cooldowns = new MikroOrmCooldownLedger(orm, fence);
    const presenceLog = new MikroOrmPresenceLog(orm, {
      logger: logger.child({ component: 'presence-log' }),
      registry: metrics.registry,
      fence,
    });
    adapters.presenceLog = presenceLog;
    readiness.push({
      name: 'database',
      check: async () => {
        await orm.em.fork().getConnection().execute('select 1');
        return { ok: true };
      },
    });
    // The history's last records are written before the pool closes.
    closers.push(
      () => presenceLog.close(),
      () => orm.close(true),
    );
  }

  if (config.mixpanel !== null) {
    const analytics = new MixpanelAnalytics({
      token: config.mixpanel.token,
      ...(config.mixpanel.host === null ? {} : { host: config.mixpanel.host }),
      protocol: config.mixpanel.protocol,
      logger: logger.child({ component: 'mixpanel' }),
      registry: metrics.registry,
    });
    adapters.analytics = analytics;
    // First among the closers: the queue is flushed while the network is surely still there.
    closers.unshift(() => analytics.close());
  } else if (config.mode === 'production') {
    // Analytics off: a small in-memory buffer that nobody sends anywhere.
    adapters.analytics = new InMemoryAnalytics(0);
  }

  return {
    adapters,
    readiness,
    closers,
    metrics,
    ...(cluster === undefined ? {} : { cluster }),
  };
}

/**
 * `on`, or `off` / `unknown` and why. The feed sets the flags only when it connects, so they are
 * read from the server as well: a later `CONFIG SET` by anyone else would otherwise go unseen.
 */
async function notificationsDetail(feed: RedisSessionExpiryFeed, redis: Redis): Promise<string> {
  const { notifications, reason } = feed.status();
  if (notifications !== 'on') {
    return reason === undefined ? notifications : `${notifications}: ${reason}`;
  }
  let flags: string;
  try {
    [, flags = ''] = (await redis.config('GET', 'notify-keyspace-events')) as string[];
  } catch (error) {
    // The `redis` check reports the outage itself; this one only says it cannot tell.
    if (isRedisUnavailable(error)) return 'unknown: Not connected to Redis.';
    throw error;
  }
  if (missingExpiryFlags(flags) === '') return 'on';
  return (
    `off: notify-keyspace-events is "${flags}" on the server, without E and x; ` +
    'expired sessions are ended by the deadline sweep.'
  );
}

/**
 * The Socket.IO Redis adapter, so that rooms and `fetchSockets` span every node, and the watch on
 * its subscription. All nodes must use the same channel key (STACK trap 5); it carries the key
 * prefix so that deployments sharing one Redis stay apart.
 */
function clusterAdapter(
  redisUrl: string,
  keyPrefix: string,
  logger: Logger,
  closers: Array<() => Promise<void>>,
): StartOptions['cluster'] {
  const log = logger.child({ component: 'socket-adapter' });
  const pub = createRedisClient(redisUrl, { name: 'classroom-socket-pub', logger });
  // Subscriptions are re-established by ioredis after every reconnect.
  const sub = new Redis(redisUrl, { connectionName: 'classroom-socket-sub' });
  sub.on('error', (error: Error) => log.debug({ err: error }, 'cluster subscriber error'));
  closers.push(async () => {
    pub.disconnect();
    sub.disconnect();
  });
  const parser = new ClusterParser();
  const adapterOf = createAdapter(new ClusterPublisher(pub, log), sub, {
    key: `${keyPrefix}socket.io`,
    parser,
  });
  const link = new ClusterLink(sub, log);
  return {
    // Socket.IO calls it with `new`, which an arrow function refuses; what it returns is the adapter.
    adapter: function ownAdapter(namespace: Namespace) {
      const adapter = adapterOf(namespace);
      parser.ownAdapter(adapter.uid);
      return adapter;
    },
    onLinkRestored: (listener) => link.onRestored(listener),
  };
}
