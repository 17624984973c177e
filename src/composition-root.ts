import 'reflect-metadata';
import { container, type DependencyContainer, instanceCachingFactory } from 'tsyringe';
import { demoSeed } from './adapters/in-memory/demo-data.js';
import { InMemoryAnalytics } from './adapters/in-memory/in-memory-analytics.js';
import { InMemoryCooldownLedger } from './adapters/in-memory/in-memory-cooldown-ledger.js';
import { InMemoryLessonRepository } from './adapters/in-memory/in-memory-lesson-repository.js';
import { InMemoryNotifier } from './adapters/in-memory/in-memory-notifier.js';
import { InMemoryPresenceLog } from './adapters/in-memory/in-memory-presence-log.js';
import { InMemoryPresenceStore } from './adapters/in-memory/in-memory-presence-store.js';
import {
  EMBEDDED_EXPIRY_TICK_MS,
  InMemorySessionExpiryFeed,
} from './adapters/in-memory/in-memory-session-expiry-feed.js';
import { JoseTokenVerifier, type JwtSettings } from './adapters/jwt/jose-token-verifier.js';
import { RandomIdSource } from './adapters/system/random-id-source.js';
import { SystemClock } from './adapters/system/system-clock.js';
import { SystemScheduler } from './adapters/system/system-scheduler.js';
import {
  ClassroomNode,
  type NodeObserver,
  type NodeUseCases,
} from './application/node/classroom-node.js';
import type { RateLimit } from './application/node/token-bucket.js';
import type { Analytics } from './application/ports/analytics.js';
import type { Clock } from './application/ports/clock.js';
import type { CooldownLedger } from './application/ports/cooldown-ledger.js';
import type { IdSource } from './application/ports/id-source.js';
import type { LessonRepository } from './application/ports/lesson-repository.js';
import type { PresenceLog } from './application/ports/presence-log.js';
import type { PresenceStore } from './application/ports/presence-store.js';
import type { RealtimeNotifier } from './application/ports/realtime-notifier.js';
import type { Scheduler } from './application/ports/scheduler.js';
import type { SessionExpiryFeed } from './application/ports/session-expiry-feed.js';
import type { TokenVerifier } from './application/ports/token-verifier.js';
import { DEFAULT_TIMINGS, type Timings } from './application/settings.js';
import { ConnectClient } from './application/use-cases/connect-client.js';
import { DisconnectClient } from './application/use-cases/disconnect-client.js';
import { EndExpiredSession } from './application/use-cases/end-expired-session.js';
import { ForceLogout } from './application/use-cases/force-logout.js';
import { GetPresence } from './application/use-cases/get-presence.js';
import { GetPresenceHistory } from './application/use-cases/get-presence-history.js';
import { HealStore } from './application/use-cases/heal-store.js';
import { JoinLesson } from './application/use-cases/join-lesson.js';
import { Logout } from './application/use-cases/logout.js';
import { RefreshPresence } from './application/use-cases/refresh-presence.js';
import { RefreshToken } from './application/use-cases/refresh-token.js';
import { SetStudentName } from './application/use-cases/set-student-name.js';
import { SweepOverdueSessions } from './application/use-cases/sweep-overdue-sessions.js';

/** Where presence lives, and what tells of its expired sessions: always chosen together. */
export interface PresenceBackend {
  readonly store: PresenceStore;
  readonly expiryFeed: SessionExpiryFeed;
}

/** Every port of the core, by the adapter that serves it. */
export interface Adapters {
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly scheduler: Scheduler;
  readonly presence: PresenceBackend;
  readonly lessons: LessonRepository;
  readonly analytics: Analytics;
  readonly tokens: TokenVerifier;
  readonly notifier: RealtimeNotifier;
  readonly presenceLog: PresenceLog;
  readonly cooldowns: CooldownLedger;
}

/** Everything a node is made of: its adapters, its use cases (by what they do) and the node. */
export interface Services extends Adapters, NodeUseCases {
  readonly timings: Timings;
  readonly node: ClassroomNode;
}

/**
 * A built node: every service a singleton, looked up by name with `resolve`. Whatever holds one
 * names it by this type, so that the DI container stays a detail of the composition root.
 */
export type BuiltNode = DependencyContainer;

/** Use cases a caller wraps or replaces: given the one built here, it returns the one to use. */
export type UseCaseDecorators = {
  readonly [K in keyof NodeUseCases]?: (built: NodeUseCases[K]) => NodeUseCases[K];
};

export interface NodeOptions {
  /** The default token verifier's settings (HS256 secret, JWKS, issuer, audience). */
  readonly jwt: JwtSettings;
  readonly timings?: Partial<Timings>;
  /** SWEEP_INTERVAL_S. */
  readonly sweepIntervalS?: number;
  readonly rateLimit?: RateLimit;
  /** How many overdue sessions one sweep ends at most. */
  readonly sweepBatchSize?: number;
  /** PRESENCE_LOG_DAYS: how long the presence history is kept. */
  readonly presenceLogDays?: number;
  /** The name this node signs its presence history with (`presence_event.node`). */
  readonly nodeName?: string;
  /**
   * Replaces embedded defaults: production passes Redis, PostgreSQL, Mixpanel and the Socket.IO
   * notifier; the simulator its virtual time and shared in-memory adapters; tests what they fake.
   */
  readonly adapters?: Partial<Adapters>;
  /** Wraps or replaces use cases: the simulator observes session ends, tests plant broken ones. */
  readonly useCases?: UseCaseDecorators;
  readonly observer?: NodeObserver;
}

/** One explicit token per service: nothing relies on emitted decorator metadata (STACK trap 1). */
const TOKENS: { readonly [K in keyof Services]: symbol } = {
  clock: Symbol('clock'),
  ids: Symbol('ids'),
  scheduler: Symbol('scheduler'),
  presence: Symbol('presence'),
  lessons: Symbol('lessons'),
  analytics: Symbol('analytics'),
  tokens: Symbol('tokens'),
  notifier: Symbol('notifier'),
  presenceLog: Symbol('presenceLog'),
  cooldowns: Symbol('cooldowns'),
  timings: Symbol('timings'),
  connectClient: Symbol('connectClient'),
  disconnectClient: Symbol('disconnectClient'),
  joinLesson: Symbol('joinLesson'),
  logout: Symbol('logout'),
  forceLogout: Symbol('forceLogout'),
  setStudentName: Symbol('setStudentName'),
  endExpiredSession: Symbol('endExpiredSession'),
  sweepOverdueSessions: Symbol('sweepOverdueSessions'),
  refreshPresence: Symbol('refreshPresence'),
  refreshToken: Symbol('refreshToken'),
  getPresenceHistory: Symbol('getPresenceHistory'),
  healStore: Symbol('healStore'),
  getPresence: Symbol('getPresence'),
  node: Symbol('node'),
};

const DEFAULT_SWEEP_INTERVAL_S = 5;
const DEFAULT_SWEEP_BATCH_SIZE = 100;
const DEFAULT_RATE_LIMIT: RateLimit = { perS: 20, burst: 40 };
const DEFAULT_PRESENCE_LOG_DAYS = 30;
/** The name a node without one signs its presence history with. */
const DEFAULT_NODE_NAME = 'local';
const DAY_MS = 86_400_000;

export function resolve<K extends keyof Services>(services: BuiltNode, key: K): Services[K] {
  return services.resolve<Services[K]>(TOKENS[key]);
}

/**
 * The one place that knows every adapter, and the one way a node is built — by `classroom serve`
 * (embedded or production adapters), by the simulator and by the tests. Defaults are the embedded
 * mode: the in-memory store ticking its own expiries, the demo school, in-memory analytics and
 * notifier, the system clock, timers and random ids. Every service is a singleton of the returned
 * container, and everything built on a replaced adapter gets the replacement.
 */
export function buildNode(options: NodeOptions): BuiltNode {
  const services = container.createChildContainer();
  const timings: Timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const get = <K extends keyof Services>(key: K) => resolve(services, key);
  const decorate = <K extends keyof NodeUseCases>(key: K, built: NodeUseCases[K]) =>
    options.useCases?.[key]?.(built) ?? built;

  const adapters: { readonly [K in keyof Adapters]: () => Adapters[K] } = {
    clock: () => new SystemClock(),
    ids: () => new RandomIdSource(),
    scheduler: () => new SystemScheduler(),
    presence: () => {
      // Born with the demo school: an empty store at start has lost nothing to reconcile.
      const store = new InMemoryPresenceStore(get('clock'), { bornWithItsDatabase: true });
      const expiryFeed = new InMemorySessionExpiryFeed(store, {
        scheduler: get('scheduler'),
        tickMs: EMBEDDED_EXPIRY_TICK_MS,
      });
      return { store, expiryFeed };
    },
    lessons: () => new InMemoryLessonRepository(demoSeed()),
    analytics: () => new InMemoryAnalytics(),
    tokens: () => new JoseTokenVerifier(options.jwt, get('clock')),
    notifier: () => new InMemoryNotifier(),
    presenceLog: () => new InMemoryPresenceLog(),
    cooldowns: () => new InMemoryCooldownLedger(),
  };
  const core = () => ({
    presence: get('presence').store,
    notifier: get('notifier'),
    clock: get('clock'),
    timings,
    presenceLog: get('presenceLog'),
    nodeName: options.nodeName ?? DEFAULT_NODE_NAME,
  });
  const useCases: { readonly [K in keyof NodeUseCases]: () => NodeUseCases[K] } = {
    connectClient: () =>
      new ConnectClient({
        ...core(),
        cooldowns: get('cooldowns'),
        analytics: get('analytics'),
        tokens: get('tokens'),
        ids: get('ids'),
      }),
    disconnectClient: () =>
      new DisconnectClient({ ...core(), analytics: get('analytics'), ids: get('ids') }),
    joinLesson: () => new JoinLesson({ ...core(), lessons: get('lessons') }),
    logout: () => new Logout(core()),
    forceLogout: () => new ForceLogout({ ...core(), cooldowns: get('cooldowns') }),
    setStudentName: () => new SetStudentName({ ...core(), lessons: get('lessons') }),
    endExpiredSession: () => new EndExpiredSession({ ...core(), lessons: get('lessons') }),
    sweepOverdueSessions: () =>
      new SweepOverdueSessions({
        presence: get('presence').store,
        endExpiredSession: get('endExpiredSession'),
        clock: get('clock'),
        batchSize: options.sweepBatchSize ?? DEFAULT_SWEEP_BATCH_SIZE,
      }),
    refreshPresence: () => new RefreshPresence(core()),
    refreshToken: () => new RefreshToken({ tokens: get('tokens') }),
    getPresenceHistory: () => new GetPresenceHistory({ presenceLog: get('presenceLog') }),
    healStore: () =>
      new HealStore({ ...core(), lessons: get('lessons'), cooldowns: get('cooldowns') }),
    getPresence: () => new GetPresence({ presence: get('presence').store }),
  };

  const given: Partial<Adapters> = options.adapters ?? {};
  const registerAdapter = <K extends keyof Adapters>(key: K) => {
    const adapter = given[key];
    if (adapter !== undefined) services.register(TOKENS[key], { useValue: adapter });
    else services.register(TOKENS[key], { useFactory: instanceCachingFactory(adapters[key]) });
  };
  const registerUseCase = <K extends keyof NodeUseCases>(key: K) => {
    services.register(TOKENS[key], {
      useFactory: instanceCachingFactory(() => decorate(key, useCases[key]())),
    });
  };
  for (const key of Object.keys(adapters) as (keyof Adapters)[]) registerAdapter(key);
  for (const key of Object.keys(useCases) as (keyof NodeUseCases)[]) registerUseCase(key);
  services.register(TOKENS.timings, { useValue: timings });
  services.register(TOKENS.node, {
    useFactory: instanceCachingFactory(
      () =>
        new ClassroomNode({
          useCases: {
            connectClient: get('connectClient'),
            disconnectClient: get('disconnectClient'),
            joinLesson: get('joinLesson'),
            logout: get('logout'),
            forceLogout: get('forceLogout'),
            setStudentName: get('setStudentName'),
            endExpiredSession: get('endExpiredSession'),
            sweepOverdueSessions: get('sweepOverdueSessions'),
            refreshPresence: get('refreshPresence'),
            refreshToken: get('refreshToken'),
            getPresenceHistory: get('getPresenceHistory'),
            healStore: get('healStore'),
            getPresence: get('getPresence'),
          },
          presence: get('presence').store,
          presenceLog: get('presenceLog'),
          expiryFeed: get('presence').expiryFeed,
          notifier: get('notifier'),
          clock: get('clock'),
          scheduler: get('scheduler'),
          settings: {
            rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
            sweepIntervalMs: (options.sweepIntervalS ?? DEFAULT_SWEEP_INTERVAL_S) * 1000,
            presenceRefreshMs: (timings.presenceTtlS * 1000) / 3,
            presenceLogRetentionMs: (options.presenceLogDays ?? DEFAULT_PRESENCE_LOG_DAYS) * DAY_MS,
          },
          ...(options.observer === undefined ? {} : { observer: options.observer }),
        }),
    ),
  });
  return services;
}
