import { describe, expect, it } from 'vitest';
import type { PresenceRecord } from '../../src/domain/presence.js';
import { ADA, classroom, LINUS, ORG, OTHER_ADMIN, OTHER_ORG } from './classroom.js';

const record = (atMs: number, more: Partial<PresenceRecord> = {}): PresenceRecord => ({
  orgId: ORG,
  userId: ADA.userId,
  atMs,
  kind: 'disconnect',
  reason: 'transport close',
  node: 'n1',
  ...more,
});

describe('GetPresenceHistory', () => {
  it('answers a manager its org’s records of a teacher, newest first, in the wire’s words', async () => {
    const c = classroom();
    const log = c.use('presenceLog');
    await log.record(record(1_000, { kind: 'connect', reason: 'new_session' }));
    await log.record(record(2_000, { kind: 'logout', reason: 'force_logout', by: 'm-linus' }));
    await log.record(
      record(3_000, { kind: 'session_end', reason: 'grace_expired', lessonIds: ['l-1'] }),
    );
    const manager = await c.connect('linus', LINUS);
    expect(
      await c.use('getPresenceHistory').execute({ socket: manager, userId: 't-ada', limit: 50 }),
    ).toEqual({
      ok: true,
      value: {
        events: [
          {
            at: 3_000,
            kind: 'session_end',
            reason: 'grace_expired',
            lesson_ids: ['l-1'],
            node: 'n1',
          },
          { at: 2_000, kind: 'logout', reason: 'force_logout', by: 'm-linus', node: 'n1' },
          { at: 1_000, kind: 'connect', reason: 'new_session', node: 'n1' },
        ],
      },
    });
  });

  it('pages with limit and before', async () => {
    const c = classroom();
    for (const atMs of [1_000, 2_000, 3_000, 4_000])
      await c.use('presenceLog').record(record(atMs));
    const manager = await c.connect('linus', LINUS);
    const page = await c
      .use('getPresenceHistory')
      .execute({ socket: manager, userId: 't-ada', limit: 2, beforeMs: 4_000 });
    expect(page.ok && page.value.events.map((event) => event.at)).toEqual([3_000, 2_000]);
  });

  it('answers a manager of another org nothing, as for a user it does not know', async () => {
    const c = classroom();
    await c.use('presenceLog').record(record(1_000));
    const stranger = await c.connect('other', OTHER_ADMIN);
    expect(stranger.identity.orgId).toBe(OTHER_ORG);
    expect(
      await c.use('getPresenceHistory').execute({ socket: stranger, userId: 't-ada', limit: 50 }),
    ).toEqual({ ok: true, value: { events: [] } });
  });

  it('refuses anyone but a manager', async () => {
    const c = classroom();
    const ada = await c.connect('ada', ADA);
    expect(
      await c.use('getPresenceHistory').execute({ socket: ada, userId: 't-ada', limit: 50 }),
    ).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });
});
