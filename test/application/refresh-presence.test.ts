import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { protocolKeys } from '../support/protocol-keys.js';
import { ADA, aliveKey, classroom, LINUS, MATH, ORG } from './classroom.js';

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

  it('connects again a socket whose session went into its grace period while its node was cut off, and tells its managers', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const ada = c.teacherPresence(await c.joined('ada', ADA, MATH));
    c.clock.advance(TTL_MS);
    // Another node starts the grace period: nobody refreshed Ada within the TTL.
    await c.use('endExpiredSession').execute(ADA);
    c.heard();
    expect(await c.use('refreshPresence').execute([ada])).toEqual({ ended: [] });
    expect(c.heard()).toEqual([['linus', 'teacher_connect', { user_id: 't-ada' }]]);
    expect(protocolKeys(c.store)[aliveKey(ADA)]).toMatchObject({ state: 'connect' });
    const history = await c.use('presenceLog').history({ orgId: ORG, userId: 't-ada', limit: 5 });
    expect(history.map(({ kind, reason }) => [kind, reason])).toEqual([
      ['connect', 'reconnect'],
      ['disconnect', 'node_lost'],
      ['connect', 'new_session'],
    ]);
  });

  it('gives back the sockets of a teacher who has no session any more, so that they stop', async () => {
    const c = classroom();
    const phone = await c.connect('ada-phone', ADA);
    const laptop = c.teacherPresence(await c.connect('ada-laptop', ADA));
    // Logged out from the phone: every device of the teacher is.
    await c.use('logout').execute({ socket: phone, userId: ADA.userId, orgId: ORG });
    expect(await c.use('refreshPresence').execute([laptop])).toEqual({ ended: ['ada-laptop'] });
    expect(protocolKeys(c.store)).not.toHaveProperty([aliveKey(ADA)]);
  });
});
