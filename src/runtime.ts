import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';
import type { ServerOptions, Server as SocketIoServer } from 'socket.io';
import { consoleRoutes } from './adapters/http/console-page.js';
import { attachHttpEndpoints, type ReadinessCheck } from './adapters/http/http-endpoints.js';
import { ServiceMetrics } from './adapters/http/metrics.js';
import { loggingNodeObserver } from './adapters/pino/logging-node-observer.js';
import { attachEdge } from './adapters/socket-io/edge.js';
import { attachGateway } from './adapters/socket-io/gateway.js';
import { SocketIoNotifier } from './adapters/socket-io/socket-io-notifier.js';
import {
  CLASSROOM_NAMESPACE,
  createSocketServer,
  SOCKET_PATH,
} from './adapters/socket-io/socket-server.js';
import {
  type Adapters,
  type BuiltNode,
  buildNode,
  resolve,
  type UseCaseDecorators,
} from './composition-root.js';
import type { Config } from './config.js';

export interface StartOptions {
  /** Replaces embedded adapters (production passes Redis, PostgreSQL and Mixpanel ones). */
  readonly adapters?: Partial<Adapters>;
  /** Wraps or replaces use cases (benches and tests switch a loop off this way). */
  readonly useCases?: UseCaseDecorators;
  readonly logger?: Logger;
  /** What `/readyz` asks about, such as Redis and the database. */
  readonly readiness?: readonly ReadinessCheck[];
  /** Run in order on close, after the sockets are gone: flush analytics, close stores. */
  readonly closers?: ReadonlyArray<() => Promise<void>>;
  /** Socket.IO cluster adapter (Redis) when several nodes serve the same clients. */
  readonly cluster?: {
    readonly adapter: ServerOptions['adapter'];
    /** Registers a listener for the adapter's link coming back after a loss. */
    onLinkRestored(listener: () => void): void;
  };
  /** Pass one to register other adapters' metrics (analytics) before the service starts. */
  readonly metrics?: ServiceMetrics;
}

export interface RunningService {
  /** Where clients connect, e.g. `http://127.0.0.1:3000` (path `/sockets`, namespace `/classroom`). */
  readonly url: string;
  readonly port: number;
  readonly httpServer: HttpServer;
  readonly io: SocketIoServer;
  readonly container: BuiltNode;
  readonly metrics: ServiceMetrics;
  /**
   * Graceful shutdown, idempotent: `/readyz` turns 503, the listener closes, sockets close the way
   * a server shutdown closes them (clients reconnect elsewhere), the node finishes their
   * disconnects and stops its background loops, then the closers run and the HTTP server finishes.
   */
  close(): Promise<void>;
}

/**
 * Starts one node of the service on `config.host:config.port`: the HTTP server with its health
 * and metrics endpoints, Socket.IO with the gateway in front of the node built by the composition
 * root (embedded in-memory adapters unless overridden), and the node's background loops.
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
    ...(config.consoleEnabled ? { routes: consoleRoutes(config.timings) } : {}),
  });
  const io = createSocketServer(httpServer, {
    allowEio3: config.edge.allowEio3,
    ...(options.cluster === undefined ? {} : { adapter: options.cluster.adapter }),
  });
  const namespace = io.of(CLASSROOM_NAMESPACE);
  const edge = attachEdge(io, namespace, {
    settings: config.edge,
    logger: logger.child({ component: 'edge' }),
    production: config.mode === 'production',
  });
  const container = buildNode({
    jwt: config.jwt,
    timings: config.timings,
    sweepIntervalS: config.sweepIntervalS,
    rateLimit: config.rateLimit,
    presenceLogDays: config.presenceLogDays,
    // Unique per process on a host, and what an operator finds in `ps` and the logs.
    nodeName: `${hostname()}:${process.pid}`,
    adapters: {
      notifier: new SocketIoNotifier(namespace, (listener) =>
        options.cluster?.onLinkRestored(listener),
      ),
      ...options.adapters,
    },
    ...(options.useCases === undefined ? {} : { useCases: options.useCases }),
    observer: loggingNodeObserver(logger.child({ component: 'node' })),
  });
  const node = resolve(container, 'node');
  const gateway = attachGateway(namespace, {
    node,
    edge,
    logger: logger.child({ component: 'gateway' }),
    observer: metrics,
  });

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      endpoints.drain();
      const httpClosed = new Promise<void>((done) => httpServer.close(() => done()));
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
    await node.start();
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
