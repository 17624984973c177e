import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../sim/virtual-clock.js';
import { InMemoryAnalytics } from '../src/adapters/in-memory/in-memory-analytics.js';
import { InMemoryNotifier } from '../src/adapters/in-memory/in-memory-notifier.js';
import { InMemoryPresenceStore } from '../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import { signAccessToken } from '../src/adapters/jwt/sign-access-token.js';
import { SystemClock } from '../src/adapters/system/system-clock.js';
import type { PresenceStore } from '../src/application/ports/presence-store.js';
import { DEFAULT_TIMINGS } from '../src/application/settings.js';
import { buildContainer, resolve, TOKENS } from '../src/composition-root.js';
import { protocolKeys } from './support/protocol-keys.js';

const jwt = { secret: 'composition-root-test-secret' };

const teacherToken = (sub: string) =>
  signAccessToken({
    secret: jwt.secret,
    sub,
    orgId: 'demo-org',
    role: 'teacher',
    ttlS: 600,
    nowS: Math.floor(Date.now() / 1000),
  });

describe('buildContainer', () => {
  it('builds the embedded mode by default: in-memory adapters, the demo school, the system clock', async () => {
    const services = buildContainer({ jwt });
    expect(resolve(services, 'clock')).toBeInstanceOf(SystemClock);
    expect(resolve(services, 'presence')).toBeInstanceOf(InMemoryPresenceStore);
    expect(resolve(services, 'expiryFeed')).toBeInstanceOf(InMemorySessionExpiryFeed);
    expect(resolve(services, 'notifier')).toBeInstanceOf(InMemoryNotifier);
    expect(resolve(services, 'analytics')).toBeInstanceOf(InMemoryAnalytics);
    expect(await resolve(services, 'lessons').findLesson('lesson-math')).toMatchObject({
      teacherId: 't-ada',
    });
    expect(resolve(services, 'timings')).toEqual(DEFAULT_TIMINGS);
  });

  it('registers one token per service and keeps one instance of each', () => {
    const services = buildContainer({ jwt });
    for (const key of Object.keys(TOKENS) as (keyof typeof TOKENS)[]) {
      expect(resolve(services, key)).toBe(resolve(services, key));
    }
  });

  it('shares nothing between two containers', () => {
    const first = buildContainer({ jwt });
    const second = buildContainer({ jwt });
    expect(resolve(first, 'presence')).not.toBe(resolve(second, 'presence'));
  });

  it('merges partial timings over the defaults', () => {
    const services = buildContainer({ jwt, timings: { presenceTtlS: 5 } });
    expect(resolve(services, 'timings')).toEqual({ ...DEFAULT_TIMINGS, presenceTtlS: 5 });
  });

  it('hands overridden ports and timings to the use cases', async () => {
    const clock = new VirtualClock();
    const presence = new InMemoryPresenceStore(clock);
    const notifier = new InMemoryNotifier();
    const services = buildContainer({
      jwt,
      timings: { presenceTtlS: 5 },
      overrides: { clock, presence, notifier },
    });
    notifier.connect('manager');
    await notifier.join('manager', { kind: 'org_managers', orgId: 'demo-org' });
    notifier.connect('sid-1');
    const connected = await resolve(services, 'connectClient').execute({
      sid: 'sid-1',
      handshake: { role: 'teacher', orgId: 'demo-org', token: await teacherToken('t-ada') },
    });
    expect(connected.ok).toBe(true);
    expect(protocolKeys(presence)['alive:org_demo-org_user_t-ada']).toEqual({
      login_time: String(Math.floor(clock.nowMs() / 1000)),
      state: 'connect',
    });
    expect(await presence.nextDueAtMs()).toBe(clock.nowMs() + 5000);
    expect(notifier.takeDelivered()).toEqual([
      { sid: 'manager', event: { name: 'teacher_connect', payload: { user_id: 't-ada' } } },
    ]);
    expect(resolve(services, 'expiryFeed')).toBeInstanceOf(InMemorySessionExpiryFeed);
  });

  it('ends at most sweepBatchSize sessions per sweep', async () => {
    const clock = new VirtualClock();
    const services = buildContainer({ jwt, sweepBatchSize: 1, overrides: { clock } });
    for (const [sid, teacher] of [
      ['sid-1', 't-ada'],
      ['sid-2', 't-grace'],
    ] as const) {
      await resolve(services, 'connectClient').execute({
        sid,
        handshake: { role: 'teacher', orgId: 'demo-org', token: await teacherToken(teacher) },
      });
    }
    clock.advance(DEFAULT_TIMINGS.presenceTtlS * 1000);
    const sweep = resolve(services, 'sweepOverdueSessions');
    // Nobody refreshed them: each sweep first starts one of their grace periods (node_lost).
    expect(await sweep.execute()).toBe(0);
    expect(await sweep.execute()).toBe(0);
    clock.advance(DEFAULT_TIMINGS.disconnectGraceS * 1000);
    expect(await sweep.execute()).toBe(1);
    expect(await sweep.execute()).toBe(1);
    expect(await sweep.execute()).toBe(0);
  });

  it('asks for an expiry feed when the presence store is not the in-memory one', () => {
    // Only the type matters here: the default feed can watch nothing but the in-memory store.
    const presence = {} as PresenceStore;
    const services = buildContainer({ jwt, overrides: { presence } });
    expect(() => resolve(services, 'expiryFeed')).toThrow(/needs its own expiryFeed/);
  });
});
