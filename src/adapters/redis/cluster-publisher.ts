import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { writeCoalescer } from './redis-clients.js';

/**
 * The publishing side the Socket.IO Redis adapter is given: the little of a client it uses
 * (`publish`, `send_command` for the PUBSUB NUMSUB that counts the nodes a request waits for, and
 * `on`/`off` for its error listener) over a connection made by
 * `createRedisClient`. The adapter publishes without handling a rejection; during a Redis outage
 * that would be an unhandled rejection and end the process, so a failed publish is logged and
 * answered as "no subscriber" — a lost broadcast is what an outage means anyway. Publishes of one
 * event-loop turn leave in one socket write (`writeCoalescer`).
 */
export class ClusterPublisher {
  private readonly coalesce: () => void;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {
    this.coalesce = writeCoalescer(redis);
  }

  publish(channel: string, message: string | Buffer): Promise<number> {
    this.coalesce();
    return this.redis.publish(channel, message).catch((error: unknown) => {
      this.log.warn({ err: error }, 'a cluster broadcast was lost: Redis is unavailable');
      return 0;
    });
  }

  send_command(
    command: string,
    args: Array<string | number>,
    callback: (error: unknown, reply?: unknown) => void,
  ): void {
    this.redis.call(command, ...args).then(
      (reply) => callback(null, reply),
      (error: unknown) => callback(error),
    );
  }

  on(event: string, listener: (...args: unknown[]) => void): this {
    this.redis.on(event, listener);
    return this;
  }

  off(event: string, listener: (...args: unknown[]) => void): this {
    this.redis.off(event, listener);
    return this;
  }
}
