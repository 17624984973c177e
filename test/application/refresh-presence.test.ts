import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { epochAt } from '../../src/domain/session.js';
import { protocolKeys } from '../support/protocol-keys.js';
import { ADA, aliveKey, classroom, LINUS, MATH } from './classroom.js';

const TTL_MS = DEFAULT_TIMINGS.presenceTtlS * 1000;
const GRACE_MS = DEFAULT_TIMINGS.disconnectGraceS * 1000;

describe('RefreshPresence', () => {
  it('keeps a connected teacher’s session alive well past one presence TTL', async () => {
    const c = classroom();
    const ada = c.teacherPresence(await c.joined('ada', ADA, MATH));
    await c.connect('linus', LINUS);
    c.heard();
    for (let step = 0; step < 9; step++) {
      c.clock.advance(TTL_MS / 3);
      await c.use('refreshPresence').execute([ada]);
      expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    }
    expect(c.heard()).toEqual([]);
    expect(c.store.expireDue()).toEqual([]);
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'active' });
  });

  it('lets the session of a teacher whose node stopped refreshing end one TTL and a grace period after the last refresh', async () => {
    const c = classroom();
    const ada = c.teacherPresence(await c.joined('ada', ADA, MATH));
    c.clock.advance(TTL_MS / 2);
    await c.use('refreshPresence').execute([ada]);
    c.clock.advance(TTL_MS);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'disconnect' });
    c.clock.advance(GRACE_MS - 1);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    c.clock.advance(1);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(1);
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'ended' });
  });

  it('writes nothing when no teacher is connected', async () => {
    const c = classroom();
    const before = protocolKeys(c.store);
    await c.use('refreshPresence').execute([]);
    expect(protocolKeys(c.store)).toEqual(before);
    expect(await c.presence.nextDueAtMs()).toBeNull();
  });

  it('registers a connected teacher again, with its connect’s epoch, after the store restarted empty, and tells its managers', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const connectedAtMs = c.clock.nowMs();
    const ada = c.teacherPresence(await c.joined('ada', ADA, MATH));
    c.clock.advance(5_000);
    c.store.restartEmpty();
    c.heard();
    await c.use('refreshPresence').execute([ada]);
    expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
    expect(protocolKeys(c.store)).toEqual({
      [aliveKey(ADA)]: { login_time: String(epochAt(connectedAtMs)), state: 'connect' },
      't-ada': '{"sid":"ada","client_id":"t-ada","role":"teacher","org_id":"demo-org"}',
    });
    expect(await c.presence.nextDueAtMs()).toBe(c.clock.nowMs() + TTL_MS);
  });
});
