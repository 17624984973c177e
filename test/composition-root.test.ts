import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../sim/virtual-clock.js';
import { InMemoryAnalytics } from '../src/adapters/in-memory/in-memory-analytics.js';
import { InMemoryNotifier } from '../src/adapters/in-memory/in-memory-notifier.js';
import { InMemoryPresenceStore } from '../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import { signAccessToken } from '../src/adapters/jwt/sign-access-token.js';
import { SystemClock } from '../src/adapters/system/system-clock.js';
import { SystemScheduler } from '../src/adapters/system/system-scheduler.js';
import { ClassroomNode } from '../src/application/node/classroom-node.js';
import { DEFAULT_TIMINGS } from '../src/application/settings.js';
import { buildNode, resolve, type Services } from '../src/composition-root.js';
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

/** Every service a built node has, by name. */
const SERVICES: ReadonlyArray<keyof Services> = [
  'clock',
  'ids',
  'scheduler',
  'presence',
  'lessons',
  'analytics',
  'tokens',
  'notifier',
  'timings',
  'connectClient',
  'disconnectClient',
  'joinLesson',
  'logout',
  'forceLogout',
  'setStudentName',
  'endExpiredSession',
  'sweepOverdueSessions',
  'refreshPresence',
  'node',
];

describe('buildNode', () => {
  it('builds the embedded mode by default: in-memory adapters, the demo school, system time', async () => {
    const services = buildNode({ jwt });
    expect(resolve(services, 'clock')).toBeInstanceOf(SystemClock);
    expect(resolve(services, 'scheduler')).toBeInstanceOf(SystemScheduler);
    expect(resolve(services, 'presence').store).toBeInstanceOf(InMemoryPresenceStore);
    expect(resolve(services, 'presence').expiryFeed).toBeInstanceOf(InMemorySessionExpiryFeed);
    expect(resolve(services, 'node')).toBeInstanceOf(ClassroomNode);
    expect(resolve(services, 'notifier')).toBeInstanceOf(InMemoryNotifier);
    expect(resolve(services, 'analytics')).toBeInstanceOf(InMemoryAnalytics);
    expect(await resolve(services, 'lessons').findLesson('lesson-math')).toMatchObject({
      teacherId: 't-ada',
    });
    expect(resolve(services, 'timings')).toEqual(DEFAULT_TIMINGS);
  });

  it('registers every service and keeps one instance of each', () => {
    const services = buildNode({ jwt });
    for (const key of SERVICES) expect(resolve(services, key)).toBe(resolve(services, key));
  });

  it('shares nothing between two containers', () => {
    const first = buildNode({ jwt });
    const second = buildNode({ jwt });
    expect(resolve(first, 'presence')).not.toBe(resolve(second, 'presence'));
  });

  it('merges partial timings over the defaults', () => {
    const services = buildNode({ jwt, timings: { presenceTtlS: 5 } });
    expect(resolve(services, 'timings')).toEqual({ ...DEFAULT_TIMINGS, presenceTtlS: 5 });
  });

  it('hands overridden ports and timings to the use cases', async () => {
    const clock = new VirtualClock();
    const presence = new InMemoryPresenceStore(clock, { bornWithItsDatabase: true });
    const notifier = new InMemoryNotifier();
    const expiryFeed = new InMemorySessionExpiryFeed(presence);
    const services = buildNode({
      jwt,
      timings: { presenceTtlS: 5 },
      adapters: { clock, presence: { store: presence, expiryFeed }, notifier },
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
    expect(resolve(services, 'presence').expiryFeed).toBe(expiryFeed);
  });

  it('ends at most sweepBatchSize sessions per sweep', async () => {
    const clock = new VirtualClock();
    const services = buildNode({ jwt, sweepBatchSize: 1, adapters: { clock } });
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

  it('wraps a use case for whoever asks, and everything built on it gets the wrapped one', async () => {
    const clock = new VirtualClock();
    const ended: string[] = [];
    const services = buildNode({
      jwt,
      adapters: { clock },
      useCases: {
        endExpiredSession: (built) => ({
          execute: async (teacher) => {
            ended.push(teacher.userId);
            return built.execute(teacher);
          },
        }),
      },
    });
    await resolve(services, 'connectClient').execute({
      sid: 'sid-1',
      handshake: { role: 'teacher', orgId: 'demo-org', token: await teacherToken('t-ada') },
    });
    // Nobody refreshed it: the first sweep starts its grace period, a later one ends it.
    clock.advance(DEFAULT_TIMINGS.presenceTtlS * 1000);
    expect(await resolve(services, 'sweepOverdueSessions').execute()).toBe(0);
    clock.advance(DEFAULT_TIMINGS.disconnectGraceS * 1000);
    expect(await resolve(services, 'sweepOverdueSessions').execute()).toBe(1);
    expect(ended).toEqual(['t-ada', 't-ada']);
  });
});
