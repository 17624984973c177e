import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { protocolKeys } from '../support/protocol-keys.js';
import {
  ADA,
  ADA_MANAGING,
  aliveKey,
  classroom,
  LINUS,
  MATH,
  ORG,
  OTHER_ORG,
  student,
} from './classroom.js';

describe('Logout', () => {
  it('deletes the alive hash and tells the managers, leaving the lesson running', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const ada = await c.joined('ada', ADA, MATH);
    c.heard();
    expect(
      await c.node.request(ada.sid, {
        ok: true,
        value: { name: 'logout', userId: ADA.userId, orgId: ORG },
      }),
    ).toEqual({ ok: true, value: {} });
    expect(protocolKeys(c.store)).not.toHaveProperty([aliveKey(ADA)]);
    expect(c.heard()).toEqual([['linus', 'logout', { user_id: 't-ada' }]]);
    await c.disconnect(ada);
    c.clock.advance((DEFAULT_TIMINGS.presenceTtlS + DEFAULT_TIMINGS.disconnectGraceS) * 1000);
    expect(await c.use('sweepOverdueSessions').execute()).toBe(0);
    expect(await c.database.findLesson(MATH)).toMatchObject({ status: 'active' });
  });

  it('can be repeated', async () => {
    const c = classroom();
    const ada = await c.connect('ada', ADA);
    const command = { socket: ada, userId: ADA.userId, orgId: ORG };
    await c.use('logout').execute(command);
    expect(await c.use('logout').execute(command)).toEqual({ ok: true, value: {} });
  });

  it('refuses another user, another org or a socket that is not a TeacherApp as forbidden', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const ada = await c.connect('ada', ADA);
    const adaManaging = await c.connect('ada-managing', ADA_MANAGING);
    const s1 = await c.connect('s1', student(1));
    c.heard();
    const before = protocolKeys(c.store);
    for (const command of [
      { socket: ada, userId: 't-grace', orgId: ORG },
      { socket: ada, userId: ADA.userId, orgId: OTHER_ORG },
      { socket: adaManaging, userId: ADA.userId, orgId: ORG },
      { socket: s1, userId: 's-1', orgId: ORG },
    ]) {
      expect(await c.use('logout').execute(command)).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
    }
    expect(protocolKeys(c.store)).toEqual(before);
    expect(c.heard()).toEqual([]);
  });

  it('answers unavailable when the presence store cannot be reached, telling nobody', async () => {
    const c = classroom();
    await c.connect('linus', LINUS);
    const ada = await c.connect('ada', ADA);
    c.heard();
    c.presence.setUp(false);
    expect(
      await c.use('logout').execute({ socket: ada, userId: ADA.userId, orgId: ORG }),
    ).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(c.heard()).toEqual([]);
  });
});
