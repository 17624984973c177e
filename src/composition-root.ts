import 'reflect-metadata';
import { container, type DependencyContainer, instanceCachingFactory } from 'tsyringe';
import { demoSeed } from './adapters/in-memory/demo-data.js';
import { InMemoryAnalytics } from './adapters/in-memory/in-memory-analytics.js';
import { InMemoryLessonRepository } from './adapters/in-memory/in-memory-lesson-repository.js';
import { InMemoryNotifier } from './adapters/in-memory/in-memory-notifier.js';
import {
  InMemoryPresenceStore,
  InMemoryStoreLink,
} from './adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from './adapters/in-memory/in-memory-session-expiry-feed.js';
import { JoseTokenVerifier, type JwtSettings } from './adapters/jwt/jose-token-verifier.js';
import { RandomIdSource } from './adapters/system/random-id-source.js';
import { SystemClock } from './adapters/system/system-clock.js';
import type { Analytics } from './application/ports/analytics.js';
import type { Clock } from './application/ports/clock.js';
import type { IdSource } from './application/ports/id-source.js';
import type { LessonRepository } from './application/ports/lesson-repository.js';
import type { PresenceStore } from './application/ports/presence-store.js';
import type { RealtimeNotifier } from './application/ports/realtime-notifier.js';
import type { SessionExpiryFeed } from './application/ports/session-expiry-feed.js';
import type { TokenVerifier } from './application/ports/token-verifier.js';
import { DEFAULT_TIMINGS, type Timings } from './application/settings.js';
import { ConnectClient } from './application/use-cases/connect-client.js';
import { DisconnectClient } from './application/use-cases/disconnect-client.js';
import { EndExpiredSession } from './application/use-cases/end-expired-session.js';
import { ForceLogout } from './application/use-cases/force-logout.js';
import { JoinLesson } from './application/use-cases/join-lesson.js';
import { Logout } from './application/use-cases/logout.js';
import { RefreshPresence } from './application/use-cases/refresh-presence.js';
import { SetStudentName } from './application/use-cases/set-student-name.js';
import { SweepOverdueSessions } from './application/use-cases/sweep-overdue-sessions.js';

/** Everything the service is made of: ports with their adapters, and the use cases. */
export interface Services {
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly timings: Timings;
  readonly presence: PresenceStore;
  readonly lessons: LessonRepository;
  readonly notifier: RealtimeNotifier;
  readonly analytics: Analytics;
  readonly tokens: TokenVerifier;
  readonly expiryFeed: SessionExpiryFeed;
  readonly connectClient: ConnectClient;
  readonly disconnectClient: DisconnectClient;
  readonly joinLesson: JoinLesson;
  readonly logout: Logout;
  readonly forceLogout: ForceLogout;
  readonly setStudentName: SetStudentName;
  readonly endExpiredSession: EndExpiredSession;
  readonly sweepOverdueSessions: SweepOverdueSessions;
  readonly refreshPresence: RefreshPresence;
}

/** One explicit token per service: nothing relies on emitted decorator metadata (STACK trap 1). */
export const TOKENS: { readonly [K in keyof Services]: symbol } = {
  clock: Symbol('clock'),
  ids: Symbol('ids'),
  timings: Symbol('timings'),
  presence: Symbol('presence'),
  lessons: Symbol('lessons'),
  notifier: Symbol('notifier'),
  analytics: Symbol('analytics'),
  tokens: Symbol('tokens'),
  expiryFeed: Symbol('expiryFeed'),
  connectClient: Symbol('connectClient'),
  disconnectClient: Symbol('disconnectClient'),
  joinLesson: Symbol('joinLesson'),
  logout: Symbol('logout'),
  forceLogout: Symbol('forceLogout'),
  setStudentName: Symbol('setStudentName'),
  endExpiredSession: Symbol('endExpiredSession'),
  sweepOverdueSessions: Symbol('sweepOverdueSessions'),
  refreshPresence: Symbol('refreshPresence'),
};

export interface ContainerOptions {
  readonly jwt: JwtSettings;
  readonly timings?: Partial<Timings>;
  /** How many overdue sessions one sweep ends at most. */
  readonly sweepBatchSize?: number;
  /** Replaces any default: production passes Redis/PostgreSQL adapters, tests a virtual clock. */
  readonly overrides?: Partial<Services>;
}

const DEFAULT_SWEEP_BATCH_SIZE = 100;

export function resolve<K extends keyof Services>(
  services: DependencyContainer,
  key: K,
): Services[K] {
  return services.resolve<Services[K]>(TOKENS[key]);
}

/**
 * The one place that knows every adapter. Defaults are the embedded mode (in-memory store and
 * database with the demo school, in-memory analytics and notifier, system clock and random ids);
 * `overrides` replaces any service, and everything built on it gets the replacement. Every
 * service is a singleton of the returned container.
 */
export function buildContainer(options: ContainerOptions): DependencyContainer {
  const services = container.createChildContainer();
  const timings: Timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const batchSize = options.sweepBatchSize ?? DEFAULT_SWEEP_BATCH_SIZE;
  const get = <K extends keyof Services>(key: K) => resolve(services, key);

  const defaults: { readonly [K in keyof Services]: () => Services[K] } = {
    clock: () => new SystemClock(),
    ids: () => new RandomIdSource(),
    timings: () => timings,
    presence: () => new InMemoryPresenceStore(get('clock')),
    lessons: () => new InMemoryLessonRepository(demoSeed()),
    notifier: () => new InMemoryNotifier(),
    analytics: () => new InMemoryAnalytics(),
    tokens: () => new JoseTokenVerifier(options.jwt),
    expiryFeed: () => {
      const presence = get('presence');
      const store = presence instanceof InMemoryStoreLink ? presence.store : presence;
      if (!(store instanceof InMemoryPresenceStore)) {
        throw new Error('A presence store other than the in-memory one needs its own expiryFeed');
      }
      return new InMemorySessionExpiryFeed(store);
    },
    connectClient: () =>
      new ConnectClient({
        presence: get('presence'),
        notifier: get('notifier'),
        analytics: get('analytics'),
        tokens: get('tokens'),
        clock: get('clock'),
        ids: get('ids'),
        timings: get('timings'),
      }),
    disconnectClient: () =>
      new DisconnectClient({
        presence: get('presence'),
        notifier: get('notifier'),
        analytics: get('analytics'),
        clock: get('clock'),
        ids: get('ids'),
        timings: get('timings'),
      }),
    joinLesson: () =>
      new JoinLesson({
        presence: get('presence'),
        lessons: get('lessons'),
        notifier: get('notifier'),
        clock: get('clock'),
        timings: get('timings'),
      }),
    logout: () => new Logout({ presence: get('presence'), notifier: get('notifier') }),
    forceLogout: () =>
      new ForceLogout({
        presence: get('presence'),
        notifier: get('notifier'),
        timings: get('timings'),
      }),
    setStudentName: () =>
      new SetStudentName({
        presence: get('presence'),
        lessons: get('lessons'),
        notifier: get('notifier'),
        clock: get('clock'),
      }),
    endExpiredSession: () =>
      new EndExpiredSession({
        presence: get('presence'),
        lessons: get('lessons'),
        notifier: get('notifier'),
        clock: get('clock'),
        timings: get('timings'),
      }),
    sweepOverdueSessions: () =>
      new SweepOverdueSessions({
        presence: get('presence'),
        endExpiredSession: get('endExpiredSession'),
        clock: get('clock'),
        batchSize,
      }),
    refreshPresence: () =>
      new RefreshPresence({
        presence: get('presence'),
        notifier: get('notifier'),
        clock: get('clock'),
        timings: get('timings'),
      }),
  };

  const overrides: Partial<Services> = options.overrides ?? {};
  const register = <K extends keyof Services>(key: K) => {
    const override = overrides[key];
    if (override !== undefined) services.register(TOKENS[key], { useValue: override });
    else services.register(TOKENS[key], { useFactory: instanceCachingFactory(defaults[key]) });
  };
  for (const key of Object.keys(defaults) as (keyof Services)[]) register(key);
  return services;
}
