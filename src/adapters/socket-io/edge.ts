import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Namespace, Server, Socket } from 'socket.io';
import { type DomainError, domainError, type ErrorCode } from '../../domain/errors.js';
import { clientIp } from './client-ip.js';
import { type EngineConnection, gateConnects } from './connect-gate.js';
import { type EdgeLimitSettings, EdgeLimits } from './edge-limits.js';
import { type EngineMiddleware, refuseRequest } from './engine-middleware.js';
import { originPolicy } from './origin-policy.js';
import { connectErrorPacket } from './refusal.js';

/** Who may reach the socket path, and how much of it one client IP may use (PROTOCOL §1, §12). */
export interface EdgeSettings extends EdgeLimitSettings {
  /** Accept Socket.IO 2.x clients (Engine.IO 3); the Socket.IO server is made with it. */
  readonly allowEio3: boolean;
  /** Origins allowed to make requests under the socket path; null allows any origin. */
  readonly corsOrigins: readonly string[] | null;
  /** Take the client IP from the first `X-Forwarded-For` hop instead of the remote address. */
  readonly trustProxy: boolean;
}

/** What the door calls during a handshake on the served namespace. */
export interface Edge {
  /**
   * The first step of every handshake, before any token is read: `rate_limited` while the
   * client's IP has used up its refused handshakes for the minute, else null.
   */
  beforeHandshake(socket: Socket): Promise<DomainError<'rate_limited'> | null>;
  /** Every refusal of a handshake, `rate_limited` included, whatever refused it. */
  handshakeRefused(socket: Socket, code: ErrorCode): void;
  /** An admitted socket disconnected: its connection may open another. */
  left(socket: Socket): void;
}

/**
 * Refusals that do not count against the IP: `unavailable` is the service's own trouble, and a
 * `rate_limited` handshake was never tried.
 */
const UNCOUNTED: readonly ErrorCode[] = ['unavailable', 'rate_limited'];

/**
 * The edge of PROTOCOL §1 in front of `namespace`: the Origin rule and the per-IP connection cap
 * on every request under the socket path, the oversize-poll rule, the CONNECT gate (only
 * `namespace`, one socket per connection), and the per-IP count of refused handshakes, whose
 * hooks the door calls. Nothing here reads a token or touches Redis.
 */
export function attachEdge(
  io: Server,
  namespace: Namespace,
  options: {
    readonly settings: EdgeSettings;
    readonly logger: Logger;
    readonly production: boolean;
  },
): Edge {
  const { settings, logger } = options;
  const limits = new EdgeLimits(settings);
  /** The client IP of each connection, fixed at its handshake. */
  const ips = new WeakMap<EngineConnection, string>();
  /** The IP whose connection slot a handshake request holds until a connection takes it over. */
  const reservations = new WeakMap<IncomingMessage, string>();
  /**
   * Connections that began on long-polling, by Engine.IO session id, which is all a long-polling
   * request names; one that began on WebSocket never sees a POST.
   */
  const sessions = new Map<string, EngineConnection>();

  if (settings.corsOrigins === null && options.production) {
    logger.warn('CORS_ORIGINS is unset: web pages of any origin may open sockets to this service');
  }

  const release = (ip: string) => {
    limits.closeConnection(ip).catch((error: unknown) => {
      logger.error({ err: error }, 'releasing a connection slot failed');
    });
  };

  /**
   * A handshake that opened no connection (refused further on) gives its slot back. Shared by
   * every response and reading it as `this`: a WebSocket upgrade's response lives as long as its
   * connection, and a closure per response would too.
   */
  function handshakeClosed(this: { readonly req: IncomingMessage }): void {
    const ip = reservations.get(this.req);
    if (ip === undefined) return;
    reservations.delete(this.req);
    release(ip);
  }

  /** Shared by every connection, as `handshakeClosed` is. */
  function connectionClosed(this: EngineConnection): void {
    sessions.delete(sessionIdOf(this));
    release(ipOf(this));
  }

  const connectionCap: EngineMiddleware = (request, response, next) => {
    if (sessionOf(request) !== null) {
      next();
      return;
    }
    const ip = clientIp(request, settings.trustProxy);
    limits.openConnection(ip).then((opened) => {
      if (!opened) {
        refuseRequest(response, 429, {
          error: 'too_many_connections',
          message: `This address already holds ${settings.maxConnectionsPerIp} connections.`,
        });
        return;
      }
      reservations.set(request, ip);
      response.on('close', handshakeClosed);
      next();
    }, next);
  };

  /**
   * Engine.IO answers an oversize long-polling POST with 413 but keeps its session open, and the
   * client goes on as if nothing happened; PROTOCOL §1 closes it, as WebSocket closes a connection
   * whose message is too big.
   */
  const oversizePollCloses: EngineMiddleware = (request, response, next) => {
    const sid = sessionOf(request);
    if (request.method === 'POST' && sid !== null) {
      response.once('finish', () => {
        if (response instanceof ServerResponse && response.statusCode === 413) {
          sessions.get(sid)?.close(true);
        }
      });
    }
    next();
  };

  io.engine.use(originPolicy(settings.corsOrigins));
  io.engine.use(connectionCap);
  io.engine.use(oversizePollCloses);

  io.engine.on('connection', (connection: EngineConnection) => {
    // Every handshake request went through `connectionCap`, which reserved the slot taken here.
    const ip = reservations.get(connection.request) ?? connection.remoteAddress;
    reservations.delete(connection.request);
    ips.set(connection, ip);
    if (connection.transport.name === 'polling') sessions.set(sessionIdOf(connection), connection);
    // Engine.IO emits `close` once per connection.
    connection.on('close', connectionClosed);
  });

  const ipOf = (connection: EngineConnection) => ips.get(connection) ?? connection.remoteAddress;

  async function rateLimited(ip: string): Promise<DomainError<'rate_limited'> | null> {
    const retryAfterS = await limits.handshakeRetryAfterS(ip);
    if (retryAfterS === null) return null;
    return {
      ...domainError('rate_limited', 'Too many refused handshakes from this address; wait.'),
      retryAfterS,
    };
  }

  function counted(ip: string, code: ErrorCode): void {
    if (UNCOUNTED.includes(code)) return;
    limits.handshakeRefused(ip).catch((error: unknown) => {
      logger.error({ err: error }, 'counting a refused handshake failed');
    });
  }

  const gate = gateConnects(io, namespace.name, (connection, target, why) => {
    const ip = ipOf(connection);
    rateLimited(ip)
      .then((limited) => {
        const error = limited ?? domainError('invalid_handshake', why);
        counted(ip, error.code);
        if (connection.readyState === 'open') {
          connection.write(connectErrorPacket(target, error, connection.protocol));
        }
      })
      .catch((error: unknown) => logger.error({ err: error }, 'refusing a CONNECT failed'));
  });
  return {
    beforeHandshake: (socket) => rateLimited(ipOf(socket.conn)),
    left: (socket) => gate.release(socket.conn),
    handshakeRefused(socket, code) {
      gate.release(socket.conn);
      counted(ipOf(socket.conn), code);
    },
  };
}

/**
 * A connection's Engine.IO session id: public in Engine.IO's documentation, private in its type
 * declarations. Its transport's `sid` is not it: a transport upgraded to gets none.
 */
function sessionIdOf(connection: EngineConnection): string {
  return (connection as unknown as { readonly id: string }).id;
}

/** The Engine.IO session a request belongs to; null for a handshake. */
function sessionOf(request: IncomingMessage): string | null {
  return new URL(request.url ?? '/', 'http://edge').searchParams.get('sid');
}
