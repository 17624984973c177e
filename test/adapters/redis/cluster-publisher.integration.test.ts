import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterPublisher } from '../../../src/adapters/redis/cluster-publisher.js';
import { hasRedis, REDIS_URL } from '../../support/services.js';
import { quietClient, uniquePrefix } from './fixtures.js';
import { LogRecorder } from './log-recorder.js';

describe.runIf(hasRedis)('ClusterPublisher on real Redis', () => {
  const clients: Redis[] = [];
  const track = <T extends Redis>(client: T): T => {
    clients.push(client);
    return client;
  };

  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  it('publishes to the subscribers of a channel and counts them as the adapter asks', async () => {
    const channel = `${uniquePrefix()}socket.io`;
    const subscriber = track(new Redis(REDIS_URL));
    const heard = new Promise<string>((done) => subscriber.on('message', (_c, text) => done(text)));
    await subscriber.subscribe(channel);
    const publisher = new ClusterPublisher(track(quietClient(REDIS_URL)), new LogRecorder().logger);
    const counted = new Promise<unknown>((done, failed) =>
      publisher.send_command('PUBSUB', ['NUMSUB', channel], (error, reply) =>
        error === null ? done(reply) : failed(error),
      ),
    );
    expect(await counted).toEqual([channel, 1]);
    expect(await publisher.publish(channel, 'hello')).toBe(1);
    expect(await heard).toBe('hello');
  });

  it('answers a publish that Redis cannot take with 0 and a warning, never a rejection', async () => {
    const log = new LogRecorder();
    // Nothing listens on port 1: every command is refused at once.
    const unreachable = track(quietClient('redis://127.0.0.1:1'));
    await new Promise((done) => unreachable.once('error', done));
    const publisher = new ClusterPublisher(unreachable, log.logger);
    expect(await publisher.publish('anything', 'lost')).toBe(0);
    expect(log.lines.map((line) => line.msg)).toContain(
      'a cluster broadcast was lost: Redis is unavailable',
    );
  });
});
