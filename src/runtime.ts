import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, pino } from 'pino';
import type { ServerOptions, Server as SocketIoServer } from 'socket.io';
import type { DependencyContainer } from 'tsyringe';
import { attachHttpEndpoints, type ReadinessCheck } from './adapters/http/http-endpoints.js';
import { ServiceMetrics } from './adapters/http/metrics.js';
import { InMemorySessionExpiryFeed } from './adapters/in-memory/in-memory-session-expiry-feed.js';
import { attachEdge } from './adapters/socket-io/edge.js';
import { attachGateway, type GatewayObserver } from './adapters/socket-io/gateway.js';
import { SocketIoNotifier } from './adapters/socket-io/socket-io-notifier.js';
import {
  CLASSROOM_NAMESPACE,
  createSocketServer,
  SOCKET_PATH,
} from './adapters/socket-io/socket-server.js';
import { DependencyUnavailableError } from './application/errors.js';
import { buildContainer, resolve, type Services } from './composition-root.js';
import type { Config } from './config.js';

export interface StartOptions {
  /** Replaces embedded adapters (production passes Redis, PostgreSQL and Mixpanel ones). */
  readonly overrides?: Partial<Services>;
  readonly logger?: Logger;
  /** What `/readyz` asks about, such as Redis and the database. */
  readonly readiness?: readonly ReadinessCheck[];
  /** Run in order on close, after the sockets are gone: flush analytics, close stores. */
  readonly closers?: ReadonlyArray<() => Promise<void>>;
  /** Socket.IO cluster adapter (Redis) when several nodes serve the same clients. */
  readonly socketAdapter?: ServerOptions['adapter'];
  /** Pass one to register other adapters' metrics (analytics) before the service starts. */
  readonly metrics?: ServiceMetrics;
}

export interface RunningService {
  /** Where clients connect, e.g. `http://127.0.0.1:3000` (path `/sockets`, namespace `/classroom`). */
  readonly url: string;
  readonly port: number;
  readonly httpServer: HttpServer;
  readonly io: SocketIoServer;
  readonly container: DependencyContainer;
  readonly metrics: ServiceMetrics;
  /**
   * Graceful shutdown, idempotent: `/readyz` turns 503, the listener closes, background loops
   * stop, sockets close the way a server shutdown closes them (clients reconnect elsewhere) once
   * their pending work is done, then the closers run and the HTTP server finishes.
   */
  close(): Promise<void>;
}

/** How often the in-memory store is asked for expired alive hashes, like Redis' expiry cycle. */
const EMBEDDED_EXPIRY_TICK_MS = 250;
/**
 * A disconnect moves its teacher's deadline; DisconnectClient writes it just after the socket
 * closes, so the deadline timer is re-read after this delay.
 */
const DISCONNECT_REARM_DELAY_MS = 300;
/** Wake up a little after a deadline so the alive hash has surely expired by then. */
const DEADLINE_MARGIN_MS = 50;
/** First wait before a past deadline that a sweep could not end is tried again; it doubles. */
const STUCK_DEADLINE_RETRY_MS = 100;

/**
 * Starts one node of the service on `config.host:config.port`: the HTTP server with its health
 * and metrics endpoints, Socket.IO with the gateway, the use cases from the composition root
 * (embedded in-memory adapters unless overridden), and the background loops that keep presence
 * fresh and end expired sessions.
 */
export async function startService(
  config: Config,
  options: StartOptions = {},
): Promise<RunningService> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const metrics = options.metrics ?? new ServiceMetrics();
  const httpServer = createServer();
  const endpoints = attachHttpEndpoints(httpServer, {
    metrics,
    readiness: options.readiness ?? [],
    logger,
    socketPath: SOCKET_PATH,
  });
  const io = createSocketServer(httpServer, {
    allowEio3: config.edge.allowEio3,
    ...(options.socketAdapter === undefined ? {} : { adapter: options.socketAdapter }),
  });
  const namespace = io.of(CLASSROOM_NAMESPACE);
  const edge = attachEdge(io, namespace, {
    settings: config.edge,
    logger: logger.child({ component: 'edge' }),
    production: config.mode === 'production',
  });
  const container = buildContainer({
    jwt: config.jwt,
    timings: config.timings,
    overrides: { notifier: new SocketIoNotifier(namespace), ...options.overrides },
  });
  const service = <K extends keyof Services>(key: K) => resolve(container, key);

  const background = new BackgroundTasks(logger.child({ component: 'background' }));
  const sweeps = new SweepSchedule(background, {
    sweep: () => service('sweepOverdueSessions').execute(),
    nextDueAtMs: () => service('presence').nextDueAtMs(),
    nowMs: () => service('clock').nowMs(),
    intervalMs: config.sweepIntervalS * 1000,
  });
  const observer: GatewayObserver = {
    connected: (kind) => metrics.connected(kind),
    disconnected: (kind) => {
      metrics.disconnected(kind);
      if (kind === 'teacher_app') sweeps.rearmSoon(DISCONNECT_REARM_DELAY_MS);
    },
    handled: (event, outcome, seconds) => metrics.handled(event, outcome, seconds),
  };
  const gateway = attachGateway(namespace, {
    useCases: {
      connectClient: service('connectClient'),
      disconnectClient: service('disconnectClient'),
      joinLesson: service('joinLesson'),
      logout: service('logout'),
      forceLogout: service('forceLogout'),
      setStudentName: service('setStudentName'),
    },
    clock: service('clock'),
    rateLimit: config.rateLimit,
    edge,
    logger: logger.child({ component: 'gateway' }),
    observer,
  });

  const expiryFeed = service('expiryFeed');
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      endpoints.drain();
      const httpClosed = new Promise<void>((done) => httpServer.close(() => done()));
      await background.stop();
      await expiryFeed.stop().catch((error: unknown) => {
        logger.error({ err: error }, 'stopping the expiry feed failed');
      });
      await gateway.close();
      await io.close();
      for (const closer of options.closers ?? []) {
        await closer().catch((error: unknown) => logger.error({ err: error }, 'closer failed'));
      }
      httpServer.closeAllConnections();
      await httpClosed;
      logger.info('stopped');
    })();
    return closing;
  };

  try {
    httpServer.listen(config.port, config.host);
    await once(httpServer, 'listening');
    const endExpiredSession = service('endExpiredSession');
    await expiryFeed.start((teacher) => {
      background.run('end an expired session', async () => {
        const result = await endExpiredSession.execute(teacher);
        if (!result.ok) logger.warn({ teacher }, 'session end postponed: a dependency is down');
      });
    });
    if (expiryFeed instanceof InMemorySessionExpiryFeed) {
      background.every('expire in-memory presence', EMBEDDED_EXPIRY_TICK_MS, () =>
        expiryFeed.tick(),
      );
    }
    const refreshPresence = service('refreshPresence');
    background.every('refresh presence', (config.timings.presenceTtlS * 1000) / 3, () =>
      refreshPresence.execute(gateway.presenceSockets()),
    );
    sweeps.start();
  } catch (error) {
    await close();
    throw error;
  }

  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${displayHost(config.host)}:${port}`;
  logger.info({ url, mode: config.mode }, 'listening');
  return { url, port, httpServer, io, container, metrics, close };
}

/** A wildcard listen address is reachable locally through the loopback address. */
function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The runtime's timers: unref'd so they never keep the process alive, every run guarded so a
 * failure is logged and never crashes the process, and every run awaited by `stop()`.
 */
class BackgroundTasks {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly logger: Logger) {}

  run(name: string, task: () => unknown): void {
    if (this.stopped) return;
    const run = Promise.resolve()
      .then(task)
      .then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof DependencyUnavailableError) {
            this.logger.warn({ err: error, task: name }, 'background task postponed');
          } else {
            this.logger.error({ err: error, task: name }, 'background task failed');
          }
        },
      );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  every(name: string, intervalMs: number, task: () => unknown): void {
    if (this.stopped) return;
    const timer = setInterval(() => this.run(name, task), intervalMs);
    this.timers.add(timer.unref());
  }

  /** A one-shot timer; the returned function cancels it. */
  after(delayMs: number, callback: () => void): () => void {
    if (this.stopped) return () => {};
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, delayMs).unref();
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    while (this.running.size > 0) await Promise.allSettled(this.running);
  }
}

/**
 * When SweepOverdueSessions runs: once at start, every SWEEP_INTERVAL_S, and at the earliest
 * pending deadline, so a session ends right after its grace instead of up to an interval late.
 * Sweeps never overlap: a trigger during a sweep runs one more sweep after it. A deadline that is
 * already past is swept at once (a batch at a time), except one that the last sweep saw and could
 * not end (its alive hash has not expired yet, a dependency is down): that one is tried again after
 * a wait that doubles up to the interval, so a session that cannot end yet never spins the loop.
 */
class SweepSchedule {
  private sweeping = false;
  private sweepAgain = false;
  private cancelDeadlineTimer = () => {};
  private rearmPending = false;
  /** The past deadline the last sweeps could not end, and the wait before the next try. */
  private stuck: { readonly dueAtMs: number; readonly retryMs: number } | null = null;

  constructor(
    private readonly background: BackgroundTasks,
    private readonly deps: {
      readonly sweep: () => Promise<number>;
      readonly nextDueAtMs: () => Promise<number | null>;
      readonly nowMs: () => number;
      readonly intervalMs: number;
    },
  ) {}

  start(): void {
    this.sweepNow();
    this.background.every('sweep overdue sessions', this.deps.intervalMs, () => this.sweepNow());
  }

  /** Re-reads the earliest deadline after `delayMs`; repeated calls meanwhile coalesce. */
  rearmSoon(delayMs: number): void {
    if (this.rearmPending) return;
    this.rearmPending = true;
    this.background.after(delayMs, () => {
      this.rearmPending = false;
      this.background.run('arm the deadline timer', () => this.rearm(false));
    });
  }

  private sweepNow(): void {
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    this.background.run('sweep overdue sessions', async () => {
      try {
        do {
          this.sweepAgain = false;
          const ended = await this.deps.sweep();
          await this.rearm(ended === 0);
        } while (this.sweepAgain);
      } finally {
        this.sweeping = false;
      }
    });
  }

  /**
   * Arms the one deadline timer for the earliest pending deadline. Only a sweep that ended nothing
   * may hold a past deadline back: a disconnect re-arming meanwhile must never cancel the timer of
   * a deadline that just came due, or sessions would wait for the interval.
   */
  private async rearm(sweptWithoutProgress: boolean): Promise<void> {
    const dueAtMs = await this.deps.nextDueAtMs();
    this.cancelDeadlineTimer();
    if (dueAtMs === null) return;
    const nowMs = this.deps.nowMs();
    const delayMs =
      dueAtMs <= nowMs && sweptWithoutProgress
        ? this.retryDelayMs(dueAtMs)
        : Math.max(dueAtMs - nowMs + DEADLINE_MARGIN_MS, 0);
    this.cancelDeadlineTimer = this.background.after(Math.min(delayMs, this.deps.intervalMs), () =>
      this.sweepNow(),
    );
  }

  /**
   * A sweep ended nothing and `dueAtMs` is past. When it is not the deadline that was stuck before,
   * the sessions that sweep saw were ended by another node or a notification, and this is the next
   * one come due: sweep at once. The same deadline again waits, twice as long each time.
   */
  private retryDelayMs(dueAtMs: number): number {
    if (this.stuck?.dueAtMs !== dueAtMs) {
      this.stuck = { dueAtMs, retryMs: STUCK_DEADLINE_RETRY_MS };
      return 0;
    }
    const { retryMs } = this.stuck;
    this.stuck = { dueAtMs, retryMs: Math.min(retryMs * 2, this.deps.intervalMs) };
    return retryMs;
  }
}
