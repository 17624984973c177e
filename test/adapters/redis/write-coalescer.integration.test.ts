import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeCoalescer } from '../../../src/adapters/redis/redis-clients.js';
import { RedisPresenceStore } from '../../../src/adapters/redis/redis-presence-store.js';
import { initialSeatMap } from '../../../src/domain/seat-map.js';
import { hasRedis, REDIS_URL } from '../../support/services.js';
import { deleteKeys, quietClient, studentSocket, uniquePrefix } from './fixtures.js';

/**
 * Counts the writes that reach the connection's socket: `net.Socket` sends one chunk through
 * `_write` and several buffered ones (after `uncork`) through one `_writev`.
 */
function countSocketWrites(redis: Redis): { writes: number; chunks: number } {
  const counts = { writes: 0, chunks: 0 };
  const stream = redis.stream as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (chunks: unknown[], ...rest: unknown[]) => void;
  };
  const write = stream._write.bind(stream);
  const writev = stream._writev.bind(stream);
  stream._write = (...args) => {
    counts.writes += 1;
    counts.chunks += 1;
    write(...args);
  };
  stream._writev = (chunks, ...rest) => {
    counts.writes += 1;
    counts.chunks += chunks.length;
    writev(chunks, ...rest);
  };
  return counts;
}

describe.runIf(hasRedis)('writeCoalescer on real Redis', () => {
  const prefix = uniquePrefix();
  let redis: Redis;

  beforeAll(async () => {
    redis = quietClient(REDIS_URL, 'classroom-test-coalescer');
    await redis.ping();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('sends the commands of one event-loop turn in one write, each with its own reply', async () => {
    const coalesce = writeCoalescer(redis);
    const counts = countSocketWrites(redis);
    const replies = Array.from({ length: 50 }, (_, i) => {
      coalesce();
      return redis.echo(`reply-${i}`);
    });
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 50 }, (_, i) => `reply-${i}`));
    expect(counts).toEqual({ writes: 1, chunks: 50 });
  });

  it('writes each command at once without it (the control for the count above)', async () => {
    const counts = countSocketWrites(redis);
    await Promise.all(Array.from({ length: 50 }, (_, i) => redis.echo(`reply-${i}`)));
    expect(counts).toEqual({ writes: 50, chunks: 50 });
  });

  it('corks again in the next turn, so no command waits longer than its own turn', async () => {
    const coalesce = writeCoalescer(redis);
    const counts = countSocketWrites(redis);
    coalesce();
    const first = redis.echo('first');
    await new Promise((resolve) => setImmediate(resolve));
    expect(counts.writes).toBe(1);
    coalesce();
    const second = redis.echo('second');
    expect(await Promise.all([first, second])).toEqual(['first', 'second']);
    expect(counts).toEqual({ writes: 2, chunks: 2 });
  });

  describe('through the presence store', () => {
    let store: RedisPresenceStore;
    beforeEach(() => {
      store = new RedisPresenceStore(redis, { keyPrefix: prefix });
    });

    it('sends the student connects made in one turn in one write and answers each', async () => {
      const connect = (i: number) =>
        store.connectStudent({ socket: studentSocket(`s-${i}`, `sid-s${i}`), lessonTtlS: 60 });
      // The store's first call reads Redis' clock (TIME) before it is sent; later ones do not.
      await connect(0);
      const counts = countSocketWrites(redis);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(i + 1)));
      expect(counts).toEqual({ writes: 1, chunks: 20 });
      expect(answers).toEqual(Array.from({ length: 20 }, () => ({ lessonId: null })));
    });

    it('sends the joins made in one turn as one script call, and answers each', async () => {
      const join = (i: number) =>
        store.joinLesson({
          socket: studentSocket(`s-${i}`, `sid-s${i}`),
          lessonId: 'l-1',
          seatCount: 3,
          lessonTtlS: 60,
          seats: initialSeatMap(3),
        });
      await join(0);
      const counts = countSocketWrites(redis);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => join(i + 1)));
      expect(counts).toEqual({ writes: 1, chunks: 1 });
      expect(answers).toEqual(
        Array.from({ length: 20 }, () => ({
          kind: 'joined',
          seats: { 1: '', 2: '', 3: '' },
          previousLessonId: null,
        })),
      );
    });
  });

  it('leaves a client that is not connected alone: its commands fail as before', async () => {
    const offline = quietClient(REDIS_URL, 'classroom-test-coalescer-offline');
    await offline.ping();
    offline.disconnect();
    const coalesce = writeCoalescer(offline);
    expect(() => coalesce()).not.toThrow();
    await expect(offline.echo('lost')).rejects.toThrow();
  });
});
