import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import type { z } from 'zod';
import { DependencyUnavailableError } from '../../application/errors.js';
import type { Clock } from '../../application/ports/clock.js';
import type { TeacherPresence } from '../../application/ports/presence-store.js';
import type { ConnectClient, ConnectedClient } from '../../application/use-cases/connect-client.js';
import type { DisconnectClient } from '../../application/use-cases/disconnect-client.js';
import type { ForceLogout } from '../../application/use-cases/force-logout.js';
import type { JoinLesson } from '../../application/use-cases/join-lesson.js';
import type { Logout } from '../../application/use-cases/logout.js';
import type { SetStudentName } from '../../application/use-cases/set-student-name.js';
import type { ClientKind } from '../../domain/clients.js';
import { type DomainError, domainError, type ErrorCode } from '../../domain/errors.js';
import { fail, type Result } from '../../domain/result.js';
import type { Edge } from './edge.js';
import { EVENT_SCHEMAS, parsePayload } from './event-schemas.js';
import { queryOf, readHandshake } from './handshake.js';
import { type RateLimit, TokenBucket } from './rate-limiter.js';
import { type Refusal, refusal } from './refusal.js';
import type { SocketState } from './socket-state.js';

export interface GatewayObserver {
  connected(kind: ClientKind): void;
  disconnected(kind: ClientKind): void;
  /** `event` is a known event name as sent, or `unknown`, so labels stay a closed set. */
  handled(event: string, outcome: 'ok' | ErrorCode, seconds: number): void;
}

export interface GatewayUseCases {
  connectClient: ConnectClient;
  disconnectClient: DisconnectClient;
  joinLesson: JoinLesson;
  logout: Logout;
  forceLogout: ForceLogout;
  setStudentName: SetStudentName;
}

export interface Gateway {
  /** This node's admitted TeacherApp sockets that are not logged out: what RefreshPresence keeps alive. */
  presenceSockets(): TeacherPresence[];
  /**
   * Refuses new handshakes, disconnects this node's sockets the way a server shutdown does (the
   * clients reconnect, possibly to another node) and resolves once every pending request and
   * DisconnectClient has finished.
   */
  close(): Promise<void>;
}

export interface GatewayDeps {
  readonly useCases: GatewayUseCases;
  readonly clock: Clock;
  readonly rateLimit: RateLimit;
  /** The per-IP handshake limit and the one-socket-per-connection rule (PROTOCOL §1). */
  readonly edge: Edge;
  readonly logger: Logger;
  readonly observer?: GatewayObserver;
}

type Outcome = Result<unknown, DomainError>;

/** Reads an event's payload and runs its use case for the socket's admitted client. */
type EventHandler = (state: SocketState, payload: unknown) => Promise<Outcome>;

const UNKNOWN_EVENT = 'unknown';

function handlerFor<Schema extends z.ZodType>(
  schema: Schema,
  execute: (state: SocketState, payload: z.output<Schema>) => Promise<Outcome>,
): EventHandler {
  return (state, payload) => {
    const parsed = parsePayload(schema, payload);
    return parsed.ok ? execute(state, parsed.value) : Promise.resolve(parsed);
  };
}

/**
 * The client→server events of PROTOCOL §5. Commands are built field by field from the validated
 * payload, so nothing else a client sent reaches the application.
 */
function eventHandlers(useCases: GatewayUseCases): ReadonlyMap<string, EventHandler> {
  const logout = handlerFor(EVENT_SCHEMAS.logout, async (state, payload) => {
    const result = await useCases.logout.execute({
      socket: state.client.socket,
      userId: payload.user_id,
      orgId: payload.org_id,
    });
    if (result.ok) state.loggedOut = true;
    return result;
  });
  return new Map<string, EventHandler>([
    [
      'join_lesson',
      handlerFor(EVENT_SCHEMAS.join_lesson, (state, payload) =>
        useCases.joinLesson.execute({
          socket: state.client.socket,
          userId: payload.user_id,
          lessonId: payload.lesson_id,
          role: payload.role,
        }),
      ),
    ],
    ['logout', logout],
    ['log_out', logout],
    [
      'force_logout',
      handlerFor(EVENT_SCHEMAS.force_logout, (state, payload) =>
        useCases.forceLogout.execute({
          socket: state.client.socket,
          userId: payload.user_id,
          orgId: payload.org_id,
        }),
      ),
    ],
    [
      'set_student_name',
      handlerFor(EVENT_SCHEMAS.set_student_name, (state, payload) =>
        useCases.setStudentName.execute({
          socket: state.client.socket,
          lessonId: payload.lesson_id,
          studentId: payload.student_id,
          displayName: payload.display_name,
          seatId: payload.seat_id,
        }),
      ),
    ],
  ]);
}

const unavailable = () =>
  domainError('unavailable', 'A backing service is unavailable; try again shortly.');

/**
 * The door every client comes through (PROTOCOL §2–§5) on `namespace` (`io.of('/classroom')`).
 *
 * Handshakes run ConnectClient in a namespace middleware and are refused with the contract's
 * code. After connection each event passes, in this order, the socket's token bucket
 * (`rate_limited`), its payload schema (`invalid_payload`) and its use case, and is answered
 * exactly once: through the ack, or as `request_failed` for a failure without one. A socket's
 * events and its disconnect run one after another, in arrival order, so a client may send
 * `join_lesson` and `set_student_name` back to back and a disconnect sees a logout that came
 * before it. No input can throw out of a handler.
 */
export function attachGateway(namespace: Namespace, deps: GatewayDeps): Gateway {
  const { useCases, clock, rateLimit, edge, logger, observer } = deps;
  const handlers = eventHandlers(useCases);
  const pending = new Set<Promise<void>>();
  let closing = false;

  /** Registers work that `close()` waits for. */
  function track(work: Promise<void>): Promise<void> {
    pending.add(work);
    const settle = () => pending.delete(work);
    void work.then(settle, settle);
    return work;
  }

  /** Guards a synchronous listener: an exception would otherwise escape into Socket.IO. */
  function guard(log: Logger, what: string, body: () => void): void {
    try {
      body();
    } catch (error) {
      log.error({ err: error }, `${what} failed`);
    }
  }

  async function disconnectClient(client: ConnectedClient, loggedOut: boolean, log: Logger) {
    try {
      await useCases.disconnectClient.execute({ socket: client.socket, loggedOut });
    } catch (error) {
      log.error({ err: error }, 'DisconnectClient failed');
    }
  }

  async function admit(socket: Socket): Promise<Refusal | undefined> {
    const log = logger.child({ sid: socket.id });
    const limited = await edge.beforeHandshake(socket);
    if (limited !== null) return refusal(limited);
    const handshake = readHandshake({
      auth: socket.handshake.auth,
      query: queryOf(socket.request.url),
    });
    if (!handshake.ok) return refusal(handshake.error);
    if (closing) return refusal(unavailable());
    let result: Awaited<ReturnType<ConnectClient['execute']>>;
    try {
      result = await useCases.connectClient.execute({ sid: socket.id, handshake: handshake.value });
    } catch (error) {
      log.error({ err: error }, 'ConnectClient failed');
      return refusal(unavailable());
    }
    if (!result.ok) {
      log.debug({ code: result.error.code }, 'handshake refused');
      return refusal(result.error);
    }
    const client = result.value;
    // Socket.IO drops a socket whose connection closed during the middleware without any
    // disconnect event, so the admission is taken back here or its presence would stay behind.
    if (closing || socket.conn.readyState !== 'open') {
      await disconnectClient(client, false, log);
      return refusal(unavailable());
    }
    const state: SocketState = { client, loggedOut: false };
    socket.data = state;
    return undefined;
  }

  namespace.use((socket, next) => {
    track(
      admit(socket)
        .catch((error: unknown) => {
          logger.error({ err: error, sid: socket.id }, 'handshake failed');
          return refusal(unavailable());
        })
        .then((refused) => {
          if (refused !== undefined) edge.handshakeRefused(socket, refused.code);
          next(refused);
        }),
    );
  });

  namespace.on('connection', (socket: Socket) => {
    guard(logger, 'connection', () => onConnection(socket));
  });

  function onConnection(socket: Socket): void {
    const state = socket.data as SocketState;
    const { identity } = state.client.socket;
    const log = logger.child({ sid: socket.id, userId: identity.userId });
    const bucket = new TokenBucket(clock, rateLimit);
    let queue: Promise<void> = Promise.resolve();
    const enqueue = (work: () => Promise<void>) => {
      // A rejection would stop every later event of this socket, so none is let through.
      queue = track(
        queue.then(work).catch((error: unknown) => log.error({ err: error }, 'event failed')),
      );
    };

    function answer(event: string, ack: unknown, outcome: Outcome): void {
      if (typeof ack === 'function') {
        ack(
          outcome.ok
            ? { ok: true, data: outcome.value }
            : { ok: false, error: { code: outcome.error.code, message: outcome.error.message } },
        );
      } else if (!outcome.ok) {
        socket.emit('request_failed', {
          event,
          code: outcome.error.code,
          message: outcome.error.message,
        });
      }
    }

    async function run(handler: EventHandler, event: string, payload: unknown): Promise<Outcome> {
      try {
        return await handler(state, payload);
      } catch (error) {
        if (error instanceof DependencyUnavailableError) {
          log.warn({ err: error, event }, 'dependency unavailable');
          return fail(unavailable());
        }
        log.error({ err: error, event }, 'event failed');
        return fail(domainError('internal', 'The server failed to handle this request.'));
      }
    }

    function onEvent(event: unknown, args: unknown[]): void {
      const startedAt = performance.now();
      const ack = typeof args.at(-1) === 'function' ? args.pop() : undefined;
      const handler = typeof event === 'string' ? handlers.get(event) : undefined;
      const name = handler === undefined ? UNKNOWN_EVENT : (event as string);
      const finish = (outcome: Outcome) => {
        observer?.handled(name, outcome.ok ? 'ok' : outcome.error.code, elapsedS(startedAt));
      };
      if (!bucket.tryTake()) {
        const limited = fail(domainError('rate_limited', 'Too many requests; slow down.'));
        if (handler !== undefined || ack !== undefined) answer(name, ack, limited);
        finish(limited);
        return;
      }
      if (handler === undefined) {
        const unknown = fail(domainError('invalid_payload', 'Unknown event.'));
        // Without an ack an unknown event is ignored: nothing echoes what a client made up.
        if (ack !== undefined) answer(name, ack, unknown);
        finish(unknown);
        return;
      }
      enqueue(async () => {
        const outcome = await run(handler, name, args[0]);
        guard(log, name, () => {
          answer(name, ack, outcome);
          finish(outcome);
        });
      });
    }

    socket.onAny((event: unknown, ...args: unknown[]) => {
      guard(log, 'event', () => onEvent(event, args));
    });
    socket.on('error', (error: unknown) => {
      log.warn({ err: error }, 'socket error');
    });
    socket.on('disconnect', (reason: string) => {
      guard(log, 'disconnect', () => {
        log.debug({ reason }, 'disconnected');
        enqueue(() => {
          // A request still running when the socket left may have joined rooms after Socket.IO's
          // own clean-up; running after it in the queue, this takes them back.
          namespace.adapter.delAll(socket.id);
          return disconnectClient(state.client, state.loggedOut, log);
        });
        observer?.disconnected(identity.kind);
      });
    });
    log.debug({ kind: identity.kind }, 'connected');
    observer?.connected(identity.kind);
  }

  return {
    presenceSockets() {
      const teachers: TeacherPresence[] = [];
      for (const socket of namespace.sockets.values()) {
        const state = socket.data as SocketState | undefined;
        const epoch = state?.client.epoch ?? null;
        if (state !== undefined && epoch !== null && !state.loggedOut) {
          teachers.push({ socket: state.client.socket, epoch });
        }
      }
      return teachers;
    },

    async close() {
      closing = true;
      for (const socket of [...namespace.sockets.values()]) {
        // What `Server#close` does: the clients see a transport close and reconnect elsewhere,
        // unlike `disconnect(true)`, which tells them not to come back.
        socket._onclose('server shutting down');
        socket.conn.close();
      }
      while (pending.size > 0) await Promise.allSettled(pending);
    },
  };
}

function elapsedS(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}
