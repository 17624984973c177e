import { describe, expect, it } from 'vitest';
import type { InMemoryCooldownLedger } from '../../src/adapters/in-memory/in-memory-cooldown-ledger.js';
import { DEFAULT_TIMINGS } from '../../src/application/settings.js';
import { protocolKeys } from '../support/protocol-keys.js';
import {
  ADA,
  ADA_MANAGING,
  aliveKey,
  classroom,
  GRACE,
  LINUS,
  ORG,
  OTHER_ADMIN,
  OTHER_ORG,
  token,
} from './classroom.js';

const COOLDOWN_KEY = `cooldown:org_${ORG}_user_${ADA.userId}`;

describe('ForceLogout', () => {
  it('lets an admin force a teacher of its org out: cooldown, force_logout, disconnect', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    await c.connect('ada', ADA);
    c.heard();
    expect(
      await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG }),
    ).toEqual({ ok: true, value: { delivered: true } });
    expect(c.heard()).toEqual([['ada', 'force_logout', { user_id: 't-ada' }]]);
    expect(c.forcedOut).toEqual(['ada']);
    expect(c.notifier.isConnected('ada')).toBe(false);
    expect(protocolKeys(c.store)[COOLDOWN_KEY]).toBe('1');
  });

  it('keeps the cooldown in the database too, with the manager who started it', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    const untilMs = c.clock.nowMs() + DEFAULT_TIMINGS.cooldownS * 1000;
    await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG });
    expect(await c.use('cooldowns').active(c.clock.nowMs())).toEqual([
      { teacher: { orgId: ORG, userId: ADA.userId }, untilMs },
    ]);
  });

  it('answers unavailable and starts no cooldown while the database is away', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    await c.connect('ada', ADA);
    (c.use('cooldowns') as InMemoryCooldownLedger).setAvailable(false);
    expect(
      await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG }),
    ).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(protocolKeys(c.store)).not.toHaveProperty([COOLDOWN_KEY]);
    expect(c.forcedOut).toEqual([]);
  });

  it('takes the database’s cooldown back when the store cannot start it', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    c.presence.setUp(false);
    expect(
      await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG }),
    ).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await c.use('cooldowns').active(c.clock.nowMs())).toEqual([]);
  });

  it('reaches every TeacherApp socket of the teacher', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    await c.connect('ada-phone', ADA);
    await c.connect('ada-laptop', ADA);
    await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG });
    expect(c.forcedOut.sort()).toEqual(['ada-laptop', 'ada-phone']);
  });

  it('reports delivered false when the teacher has no socket, and still starts the cooldown', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    expect(
      await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG }),
    ).toEqual({ ok: true, value: { delivered: false } });
    expect(protocolKeys(c.store)[COOLDOWN_KEY]).toBe('1');
  });

  it('keeps the forced-out teacher away for the cooldown, and only that long', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG });
    const reconnect = async () =>
      (await c.handshake('ada', { ...ADA, token: await token(ADA) })).ok;
    expect(await reconnect()).toBe(false);
    expect((await c.handshake('grace', { ...GRACE, token: await token(GRACE) })).ok).toBe(true);
    c.clock.advance(DEFAULT_TIMINGS.cooldownS * 1000);
    expect(await reconnect()).toBe(true);
  });

  it('lets a teacher on ManagerWeb force only itself out', async () => {
    const c = classroom();
    const adaManaging = await c.connect('ada-managing', ADA_MANAGING);
    expect(
      await c.use('forceLogout').execute({ socket: adaManaging, userId: GRACE.userId, orgId: ORG }),
    ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(
      await c.use('forceLogout').execute({ socket: adaManaging, userId: ADA.userId, orgId: ORG }),
    ).toMatchObject({ ok: true });
  });

  it('refuses a manager of another org and a socket that is not a ManagerWeb, changing nothing', async () => {
    const c = classroom();
    const otherAdmin = await c.connect('other-admin', OTHER_ADMIN);
    const ada = await c.connect('ada', ADA);
    c.heard();
    const before = protocolKeys(c.store);
    for (const command of [
      { socket: otherAdmin, userId: ADA.userId, orgId: ORG },
      { socket: ada, userId: ADA.userId, orgId: ORG },
    ]) {
      expect(await c.use('forceLogout').execute(command)).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
    }
    expect(protocolKeys(c.store)).toEqual(before);
    expect(c.heard()).toEqual([]);
    expect(c.forcedOut).toEqual([]);
  });

  it('keeps an admin to its own org even for a teacher id that exists in both', async () => {
    const c = classroom();
    const otherAdmin = await c.connect('other-admin', OTHER_ADMIN);
    await c.connect('ada', ADA);
    expect(
      await c
        .use('forceLogout')
        .execute({ socket: otherAdmin, userId: ADA.userId, orgId: OTHER_ORG }),
    ).toEqual({ ok: true, value: { delivered: false } });
    expect(c.forcedOut).toEqual([]);
    expect(protocolKeys(c.store)).toHaveProperty([aliveKey(ADA)]);
    expect(protocolKeys(c.store)).not.toHaveProperty([COOLDOWN_KEY]);
  });

  it('answers unavailable when the presence store cannot be reached, forcing nobody out', async () => {
    const c = classroom();
    const manager = await c.connect('linus', LINUS);
    await c.connect('ada', ADA);
    c.presence.setUp(false);
    expect(
      await c.use('forceLogout').execute({ socket: manager, userId: ADA.userId, orgId: ORG }),
    ).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(c.forcedOut).toEqual([]);
  });
});
