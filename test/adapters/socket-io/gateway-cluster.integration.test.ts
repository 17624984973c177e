import { randomUUID } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasRedis, REDIS_URL } from '../../support/services.js';
import { ack, Classroom, disconnection } from './classroom-harness.js';

/**
 * Two nodes behind the Socket.IO Redis adapter on the machine's Redis, sharing one presence store
 * and database as production nodes share Redis and PostgreSQL. The adapter's channels carry a
 * random key, so this suite never meets another user of that Redis.
 */
describe.runIf(hasRedis)('Gateway across two nodes with the Redis adapter', () => {
  let nodes: Classroom[];
  let redisClients: Redis[];

  beforeEach(async () => {
    const key = `gateway-test-${randomUUID()}`;
    redisClients = [];
    const adapter = () => {
      const pub = new Redis(REDIS_URL);
      const sub = pub.duplicate();
      redisClients.push(pub, sub);
      return createAdapter(pub, sub, { key, requestsTimeout: 2_000 });
    };
    const first = await Classroom.start({ adapter: adapter() });
    const { clock, store, presence, lessons } = first.parts;
    const second = await Classroom.start({
      adapter: adapter(),
      shared: { clock, store, presence, lessons },
    });
    nodes = [first, second];
  });

  afterEach(async () => {
    for (const node of nodes) await node.stop();
    for (const client of redisClients) client.disconnect();
  });

  it('tells managers on one node about a teacher on the other', async () => {
    const [one, two] = nodes as [Classroom, Classroom];
    const linus = await one.manager('m-linus');
    await two.teacher('t-ada');
    expect(await linus.next('teacher_connect')).toEqual({ user_id: 't-ada' });
  });

  it('forces out a teacher held by the other node, event first', async () => {
    const [one, two] = nodes as [Classroom, Classroom];
    const linus = await one.manager('m-linus');
    const ada = await two.teacher('t-ada');
    const order: string[] = [];
    ada.socket.on('force_logout', () => order.push('force_logout'));
    const gone = disconnection(ada.socket).then((reason) => order.push(reason));

    expect(await ack(linus.socket, 'force_logout', { user_id: 't-ada', org_id: 'north' })).toEqual({
      ok: true,
      data: { delivered: true },
    });
    await gone;
    expect(order).toEqual(['force_logout', 'io server disconnect']);
  });

  it('never forces out another org’s namesake held by the other node', async () => {
    const [one, two] = nodes as [Classroom, Classroom];
    const south = await one.manager('m-south', 'south');
    const ada = await two.teacher('t-ada', 'north');
    expect(await ack(south.socket, 'force_logout', { user_id: 't-ada', org_id: 'south' })).toEqual({
      ok: true,
      data: { delivered: false },
    });
    await ada.settle();
    expect(ada.socket.connected).toBe(true);
  });

  it('tells the lesson’s teacher on one node about a student on the other', async () => {
    const [one, two] = nodes as [Classroom, Classroom];
    const ada = await one.teacher('t-ada');
    const sam = await two.student('s-1');
    await ada.join('math');
    await sam.join('math');
    await ack(sam.socket, 'set_student_name', {
      lesson_id: 'math',
      display_name: 'Sam',
      seat_id: '4',
      student_id: 's-1',
    });
    expect(await ada.next('set_student_name')).toEqual({
      display_name: 'Sam',
      seat_id: '4',
      student_id: 's-1',
    });
  });
});
