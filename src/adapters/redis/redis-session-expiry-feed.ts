import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SessionExpiryFeed } from '../../application/ports/session-expiry-feed.js';
import type { TeacherRef } from '../../domain/clients.js';
import { parseId } from '../../domain/ids.js';
import { createRedisClient, isRedisUnavailable } from './redis-clients.js';

export interface ExpiryNotificationsStatus {
  /** `unknown` until the first connection, and while reconnecting. */
  readonly notifications: 'on' | 'off' | 'unknown';
  readonly reason?: string;
}

const ALIVE_KEY_START = 'alive:org_';
const USER_SEPARATOR = '_user_';

/**
 * The teachers an expired key names when it is an alive hash, `{prefix}alive:org_{o}_user_{u}`.
 * Ids may themselves contain `_user_`, so every split into two valid ids is returned: ending a
 * session of a teacher who had none is a no-op (EndExpiredSession claims nothing).
 */
export function teachersOfAliveKey(key: string, keyPrefix: string): TeacherRef[] {
  const start = keyPrefix + ALIVE_KEY_START;
  if (!key.startsWith(start)) return [];
  const rest = key.slice(start.length);
  const teachers: TeacherRef[] = [];
  for (
    let at = rest.indexOf(USER_SEPARATOR);
    at !== -1;
    at = rest.indexOf(USER_SEPARATOR, at + 1)
  ) {
    const orgId = parseId(rest.slice(0, at));
    const userId = parseId(rest.slice(at + USER_SEPARATOR.length));
    if (orgId !== null && userId !== null) teachers.push({ orgId, userId });
  }
  return teachers;
}

/** The flags `notify-keyspace-events` lacks for `expired` key events (`A` includes `x`). */
export function missingExpiryFlags(configured: string): string {
  return (configured.includes('E') ? '' : 'E') + (/[xA]/.test(configured) ? '' : 'x');
}

/**
 * Hears Redis `expired` keyevent notifications for alive hashes on a connection of its own.
 *
 * Redis does not persist `notify-keyspace-events`, and a restarted server comes back without it,
 * so after every (re)connect the feed first adds `E` and `x` to the configured flags and then
 * subscribes. Where CONFIG is refused (renamed or disabled, as on managed Redis), it warns once
 * and `status()` says `off` with the reason; the deadline sweep still ends every session.
 */
export class RedisSessionExpiryFeed implements SessionExpiryFeed {
  private client: Redis | null = null;
  private current: ExpiryNotificationsStatus = { notifications: 'unknown' };
  /** The refusal last warned about, so that reconnects do not repeat the warning. */
  private refusal: string | null = null;
  private readonly log: Logger;
  private readonly prefix: string;

  constructor(
    private readonly options: {
      readonly redisUrl: string;
      readonly keyPrefix?: string;
      readonly logger: Logger;
      /** The logical database the presence keys live in; by default the one in `redisUrl`. */
      readonly db?: number;
    },
  ) {
    this.log = options.logger.child({ component: 'session-expiry-feed' });
    this.prefix = options.keyPrefix ?? '';
  }

  status(): ExpiryNotificationsStatus {
    return this.current;
  }

  /** Resolves once the first connection attempt has subscribed or failed; retries go on after. */
  async start(onExpired: (teacher: TeacherRef) => void): Promise<void> {
    if (this.client !== null) throw new Error('The session expiry feed is already started.');
    const client = createRedisClient(this.options.redisUrl, {
      name: 'classroom-expiry-feed',
      logger: this.options.logger,
    });
    this.client = client;
    // Resubscribing ourselves after CONFIG SET: an automatic SUBSCRIBE would put the connection in
    // subscriber mode first, where CONFIG is refused.
    client.options.autoResubscribe = false;
    const channel = `__keyevent@${this.options.db ?? client.options.db ?? 0}__:expired`;
    client.on('message', (from: string, key: string) => {
      if (from !== channel) return;
      for (const teacher of teachersOfAliveKey(key, this.prefix)) onExpired(teacher);
    });
    client.on('close', () => {
      this.current = { notifications: 'unknown', reason: 'Not connected to Redis.' };
    });
    await new Promise<void>((firstAttemptDone) => {
      client.on('ready', () => {
        void this.subscribe(client, channel).finally(firstAttemptDone);
      });
      client.once('error', () => firstAttemptDone());
    });
  }

  async stop(): Promise<void> {
    this.client?.disconnect();
    this.client = null;
  }

  private async subscribe(client: Redis, channel: string): Promise<void> {
    try {
      await this.enableNotifications(client);
      await client.subscribe(channel);
      this.log.info({ channel }, 'Listening for expired alive hashes');
    } catch (error) {
      if (!isRedisUnavailable(error)) {
        this.refuse(`Redis refused SUBSCRIBE ${channel} (${(error as Error).message})`);
        return;
      }
      // A connection that is up but not subscribed would hear nothing for good: start over.
      this.log.warn({ err: error }, 'Could not subscribe to expiry notifications; reconnecting');
      client.disconnect(true);
    }
  }

  private async enableNotifications(client: Redis): Promise<void> {
    try {
      const [, configured = ''] = (await client.config(
        'GET',
        'notify-keyspace-events',
      )) as string[];
      const missing = missingExpiryFlags(configured);
      if (missing !== '')
        await client.config('SET', 'notify-keyspace-events', configured + missing);
      if (this.refusal !== null) this.log.info('Redis expiry notifications are on again');
      this.refusal = null;
      this.current = { notifications: 'on' };
    } catch (error) {
      if (isRedisUnavailable(error)) throw error;
      this.refuse(
        `Redis refused CONFIG GET/SET notify-keyspace-events (${(error as Error).message})`,
      );
    }
  }

  /** Notifications cannot be relied on: say why, once, and let the deadline sweep do the work. */
  private refuse(what: string): void {
    const reason = `${what}; expired sessions are ended by the deadline sweep.`;
    if (this.refusal !== reason) this.log.warn(reason);
    this.refusal = reason;
    this.current = { notifications: 'off', reason };
  }
}
