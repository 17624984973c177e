import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { StatementBatcher } from '../support/statement-batcher.js';

/**
 * Publishes each (channel, message) pair of ARGV in order and answers each one's subscriber
 * count, as that many PUBLISH commands would.
 */
const PUBLISH_ALL_LUA = `local counts = {}
for i = 1, #ARGV, 2 do counts[#counts + 1] = redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return counts`;

/**
 * Most messages one script call publishes: Redis runs nothing else meanwhile, and each message
 * goes to every node's subscriber.
 */
const MAX_MESSAGES_PER_CALL = 200;

interface Publication {
  readonly channel: string;
  readonly message: string | Buffer;
}

/**
 * The publishing side the Socket.IO Redis adapter is given: the little of a client it uses
 * (`publish`, `send_command` for the PUBSUB NUMSUB that counts the nodes a request waits for, and
 * `on`/`off` for its error listener) over a connection made by `createRedisClient`.
 *
 * The messages published together (an event-loop turn's, or those that came while the previous
 * call was in flight) go in one script call, in order (`StatementBatcher`): a seat claim's
 * notification is one broadcast, the claims of a database batch are acknowledged in one turn,
 * and most of a PUBLISH's cost on the node is ioredis's work per command.
 *
 * The adapter publishes without handling a rejection; during a Redis outage that would be an
 * unhandled rejection and end the process, so a failed publish is logged and answered as "no
 * subscriber" — a lost broadcast is what an outage means anyway.
 */
export class ClusterPublisher {
  private readonly publications: StatementBatcher<Publication, number>;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {
    redis.defineCommand('publishAll', { numberOfKeys: 0, lua: PUBLISH_ALL_LUA });
    this.publications = new StatementBatcher({
      maxBatchSize: MAX_MESSAGES_PER_CALL,
      serve: (publications) => this.publishAll(publications),
    });
  }

  publish(channel: string, message: string | Buffer): Promise<number> {
    return this.publications.submit({ channel, message });
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

  private async publishAll(publications: readonly Publication[]): Promise<number[]> {
    const command = this.redis as unknown as {
      publishAll(...args: Array<string | Buffer>): Promise<number[]>;
    };
    try {
      return await command.publishAll(
        ...publications.flatMap(({ channel, message }) => [channel, message]),
      );
    } catch (error) {
      this.log.warn(
        { err: error, lost: publications.length },
        'cluster broadcasts were lost: Redis is unavailable',
      );
      return publications.map(() => 0);
    }
  }
}
