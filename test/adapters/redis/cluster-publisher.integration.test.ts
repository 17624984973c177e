import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ClusterPublisher } from '../../../src/adapters/redis/cluster-publisher.js';
import { hasRedis, REDIS_URL } from '../../support/services.js';
import { disconnectedAfterEach } from './disconnected-after-each.js';
import { quietClient, uniquePrefix } from './fixtures.js';
import { LogRecorder } from './log-recorder.js';

describe.runIf(hasRedis)('ClusterPublisher on real Redis', () => {
  const track = disconnectedAfterEach();

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

  it('publishes the messages given together with one command, in order, bytes as given', async () => {
    const channel = `${uniquePrefix()}socket.io`;
    const subscriber = track(new Redis(REDIS_URL));
    const heard: Buffer[] = [];
    const allHeard = new Promise<void>((done) =>
      subscriber.on('messageBuffer', (_channel, message: Buffer) => {
        heard.push(message);
        if (heard.length === 21) done();
      }),
    );
    await subscriber.subscribe(channel);
    const redis = track(quietClient(REDIS_URL));
    const publisher = new ClusterPublisher(redis, new LogRecorder().logger);
    // The script's first call on a connection is an EVAL; later ones are EVALSHA.
    expect(await publisher.publish(channel, Buffer.of(0))).toBe(1);
    const sent: string[] = [];
    const sendCommand = redis.sendCommand.bind(redis);
    redis.sendCommand = (command, stream) => {
      sent.push(command.name);
      return sendCommand(command, stream);
    };
    const messages = Array.from({ length: 20 }, (_, i) => Buffer.of(0x93, 0xff, i));
    const counts = await Promise.all(
      messages.map((message) => publisher.publish(channel, message)),
    );
    await allHeard;
    expect(counts).toEqual(messages.map(() => 1));
    expect(heard.slice(1)).toEqual(messages);
    expect(sent).toEqual(['evalsha']);
  });

  it('answers a publish that Redis cannot take with 0 and a warning, never a rejection', async () => {
    const log = new LogRecorder();
    // Nothing listens on port 1: every command is refused at once.
    const unreachable = track(quietClient('redis://127.0.0.1:1'));
    await new Promise((done) => unreachable.once('error', done));
    const publisher = new ClusterPublisher(unreachable, log.logger);
    expect(await publisher.publish('anything', 'lost')).toBe(0);
    expect(log.lines.map((line) => line.msg)).toContain(
      'cluster broadcasts were lost: Redis is unavailable',
    );
  });
});
