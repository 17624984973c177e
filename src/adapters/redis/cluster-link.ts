import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Watches the subscriber connection of the Socket.IO Redis adapter. Redis keeps no messages for a
 * subscriber that is away: whatever other nodes published while this node's connection was down
 * never reaches its sockets. ioredis subscribes again on every reconnect; once Redis has taken
 * those subscriptions, the listeners hear that the link is back, so that the node can send again
 * what its sockets keep (a manager's presence snapshot).
 */
export class ClusterLink {
  private readonly listeners: Array<() => void> = [];
  private lost = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly log: Logger,
  ) {
    subscriber.on('close', () => {
      this.lost = true;
    });
    subscriber.on('ready', () => {
      if (!this.lost) return;
      this.lost = false;
      // ioredis emits `ready` before it sends the subscriptions again, in the same turn: a PING
      // sent after that turn is answered after them, on the same connection.
      setImmediate(() => this.confirmRestored());
    });
  }

  onRestored(listener: () => void): void {
    this.listeners.push(listener);
  }

  private confirmRestored(): void {
    this.subscriber.ping().then(
      () => {
        this.log.info('the cluster subscription is back: resending what it may have missed');
        for (const listener of this.listeners) listener();
      },
      // Lost again before the answer: the next `ready` tries again.
      () => {},
    );
  }
}
