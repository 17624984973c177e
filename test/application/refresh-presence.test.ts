import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { ADA, aliveKey, classroom, LINUS, MATH, student } from './classroom.js';

const TTL_MS = DEFAULT_TIMINGS.presenceTtlS * 1000;

describe('RefreshPresence', () => {
  it('keeps a connected teacher’s session alive well past one presence TTL', async () => {
    const c = classroom();
    const ada = await c.joined('ada', ADA, MATH);
    const s1 = await c.connect('s1', student(1));
    const manager = await c.connect('linus', LINUS);
    for (let step = 0; step < 9; step++) {
      c.clock.advance(TTL_MS / 3);
      await c.use('refreshPresence').execute([ada, s1, manager]);
      expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    }
    expect(c.presence.expireDue()).toEqual([]);
    expect(c.presence.dump()[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'active' });
  });

  it('lets the session of a teacher whose node stopped refreshing end one TTL after the last refresh', async () => {
    const c = classroom();
    const ada = await c.joined('ada', ADA, MATH);
    c.clock.advance(TTL_MS / 2);
    await c.use('refreshPresence').execute([ada]);
    c.clock.advance(TTL_MS - 1);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    c.clock.advance(1);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(1);
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'ended' });
  });

  it('writes nothing for sockets that are not TeacherApps', async () => {
    const c = classroom();
    const s1 = await c.joined('s1', student(1), MATH);
    const manager = await c.connect('linus', LINUS);
    const before = c.presence.dump();
    await c.use('refreshPresence').execute([s1, manager]);
    expect(c.presence.dump()).toEqual(before);
    expect(await c.presence.nextDueAtMs()).toBeNull();
  });

  it('registers a connected teacher again after the store restarted empty', async () => {
    const c = classroom();
    const ada = await c.joined('ada', ADA, MATH);
    c.presence.restartEmpty();
    await c.use('refreshPresence').execute([ada]);
    expect(c.presence.dump()).toEqual({
      [aliveKey(ADA)]: { login_time: String(Math.floor(c.clock.nowMs() / 1000)), state: 'connect' },
      't-ada': '{"sid":"ada","client_id":"t-ada","role":"teacher","org_id":"demo-org"}',
    });
    expect(await c.presence.nextDueAtMs()).toBe(c.clock.nowMs() + TTL_MS);
  });
});
