import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ClusterLink } from '../../../src/adapters/redis/cluster-link.js';
import { hasRedis, REDIS_URL } from '../../support/services.js';
import { disconnectedAfterEach } from './disconnected-after-each.js';
import { quietClient, uniquePrefix } from './fixtures.js';
import { LogRecorder } from './log-recorder.js';

describe.runIf(hasRedis)('ClusterLink on real Redis', () => {
  const track = disconnectedAfterEach();

  /** A subscriber to `channel` with a name of its own, so that a test can cut just its link. */
  async function subscribed(channel: string) {
    const name = `classroom-link-test-${randomUUID()}`;
    const subscriber = track(new Redis(REDIS_URL, { connectionName: name }));
    subscriber.on('error', () => {});
    const heard: string[] = [];
    subscriber.on('message', (_channel, text: string) => heard.push(text));
    await subscriber.subscribe(channel);
    return { name, subscriber, heard };
  }

  it('says the link is back only after a lost connection, once Redis has the subscriptions again', async () => {
    const channel = `${uniquePrefix()}socket.io`;
    const { name, subscriber, heard } = await subscribed(channel);
    const link = new ClusterLink(subscriber, new LogRecorder().logger);
    let restored = 0;
    const back = new Promise<void>((done) =>
      link.onRestored(() => {
        restored += 1;
        done();
      }),
    );
    const admin = track(quietClient(REDIS_URL));
    // Connected from the start: nothing was missed.
    await admin.publish(channel, 'before');
    await expect.poll(() => heard).toEqual(['before']);
    expect(restored).toBe(0);

    const clientList = String(await admin.client('LIST'));
    const id = clientList
      .split('\n')
      .find((line) => line.includes(` name=${name} `))
      ?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await admin.client('KILL', 'ID', String(id));
    await back;
    // Published the moment the listeners hear of it: the subscription is already there.
    expect(await admin.publish(channel, 'after')).toBe(1);
    await expect.poll(() => heard).toEqual(['before', 'after']);
    expect(restored).toBe(1);
  });
});
