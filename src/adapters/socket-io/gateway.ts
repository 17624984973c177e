import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import type { Answer, ClassroomNode } from '../../application/node/classroom-node.js';
import type { SocketOf } from '../../application/ports/presence-store.js';
import type { ClientKind } from '../../domain/clients.js';
import { domainError, type ErrorCode } from '../../domain/errors.js';
import { fail } from '../../domain/result.js';
import type { Edge } from './edge.js';
import { readRequest } from './event-schemas.js';
import { queryOf, readHandshake } from './handshake.js';
import { type Refusal, refusal } from './refusal.js';

/** What the door reports about sockets and events (the service's metrics). */
export interface GatewayObserver {
  connected(kind: ClientKind): void;
  disconnected(kind: ClientKind): void;
  /** `event` is a known event name as sent, or `unknown`, so labels stay a closed set. */
  handled(event: string, outcome: 'ok' | ErrorCode, seconds: number): void;
}

export interface Gateway {
  /**
   * Refuses new handshakes, disconnects this node's sockets the way a server shutdown does (the
   * clients reconnect, possibly to another node) and resolves once the node has finished
   * everything in progress, their disconnects included.
   */
  close(): Promise<void>;
}

export interface GatewayDeps {
  readonly node: ClassroomNode;
  /** The per-IP handshake limit and the one-socket-per-connection rule (PROTOCOL §1). */
  readonly edge: Edge;
  readonly logger: Logger;
  readonly observer?: GatewayObserver;
}

const UNKNOWN_EVENT = 'unknown';

const unavailable = () =>
  domainError('unavailable', 'A backing service is unavailable; try again shortly.');
const unknownEvent = () => fail(domainError('invalid_payload', 'Unknown event.'));

/** The acknowledgement of PROTOCOL §4, or `request_failed` to a sender that gave no callback. */
function answer(socket: Socket, event: string, ack: unknown, outcome: Answer): void {
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

/**
 * The door every client comes through (PROTOCOL §2–§5) on `namespace` (`io.of('/classroom')`):
 * it maps Socket.IO to the node and has no rules of its own. Handshakes pass the edge's per-IP
 * limit, are read from the `auth` object or the query string and admitted by the node, refusals
 * carrying the contract's code in `err.data` too;
 * each event's payload is validated into the node's request and the node's answer is sent back
 * once, through the ack or as `request_failed`; a socket's disconnect goes to the node with
 * Socket.IO's reason. Listeners are shared by every socket (they read the socket as `this`), so
 * an idle socket costs the door nothing but `socket.data`, which holds the identity the node
 * admitted (Socket.IO copies it into `fetchSockets()` results on other nodes).
 */
export function attachGateway(namespace: Namespace, deps: GatewayDeps): Gateway {
  const { node, edge, logger, observer } = deps;
  let closing = false;

  async function admit(socket: Socket): Promise<Refusal | undefined> {
    // Before any token is read or the store is asked: an IP over its refused handshakes is not.
    const limited = await edge.beforeHandshake(socket);
    if (limited !== null) return refusal(limited);
    const handshake = readHandshake({
      auth: socket.handshake.auth,
      query: queryOf(socket.request.url),
    });
    if (!handshake.ok) return refusal(handshake.error);
    if (closing) return refusal(unavailable());
    const result = await node.admit(socket.id, handshake.value);
    if (!result.ok) {
      logger.debug({ sid: socket.id, code: result.error.code }, 'handshake refused');
      return refusal(result.error);
    }
    // Socket.IO drops a socket whose connection closed during the middleware without any
    // disconnect event, so the admission is taken back here or its presence would stay behind.
    if (closing || socket.conn.readyState !== 'open') {
      await node.disconnect(socket.id, 'transport close');
      return refusal(unavailable());
    }
    socket.data = result.value.socket;
    return undefined;
  }

  function onEvent(this: Socket, event: unknown, ...args: unknown[]): void {
    const startedAt = performance.now();
    const ack = typeof args.at(-1) === 'function' ? args.pop() : undefined;
    const request = readRequest(event, args[0]);
    const name = request === null ? UNKNOWN_EVENT : (event as string);
    void node.request(this.id, request ?? unknownEvent()).then((outcome) => {
      try {
        // Without an ack an unknown event is ignored: nothing echoes what a client made up.
        if (request !== null || ack !== undefined) answer(this, name, ack, outcome);
        observer?.handled(name, outcome.ok ? 'ok' : outcome.error.code, elapsedS(startedAt));
      } catch (error) {
        logger.error({ err: error, sid: this.id, event: name }, 'answering failed');
      }
    });
  }

  function onDisconnect(this: Socket, reason: string): void {
    logger.debug({ sid: this.id, reason }, 'disconnected');
    edge.left(this);
    void node.disconnect(this.id, contractReason(reason));
    observer?.disconnected((this.data as SocketOf).identity.kind);
  }

  function onError(this: Socket, error: unknown): void {
    logger.warn({ err: error, sid: this.id }, 'socket error');
  }

  namespace.use((socket, next) => {
    admit(socket)
      .catch((error: unknown) => {
        logger.error({ err: error, sid: socket.id }, 'handshake failed');
        return refusal(unavailable());
      })
      .then((refused) => {
        // Every refusal counts against the IP (the edge skips its own), and frees the
        // connection for another try (Socket.IO 2.x and python-socketio retry on it).
        if (refused !== undefined) edge.handshakeRefused(socket, refused.code);
        next(refused);
      });
  });

  namespace.on('connection', (socket: Socket) => {
    node.connected(socket.id);
    socket.onAny(onEvent);
    socket.on('disconnect', onDisconnect);
    socket.on('error', onError);
    observer?.connected((socket.data as SocketOf).identity.kind);
  });

  return {
    async close() {
      closing = true;
      for (const socket of [...namespace.sockets.values()]) {
        // What `Server#close` does: the clients see a transport close and reconnect elsewhere,
        // unlike `disconnect(true)`, which tells them not to come back.
        socket._onclose('server shutting down');
        socket.conn.close();
      }
      await node.close();
    },
  };
}

/**
 * Socket.IO's reasons go to the node as they are (PROTOCOL §5a), except the one for a disconnect
 * the server made itself: Socket.IO calls it `server namespace disconnect` on the server side, the
 * client and the contract `io server disconnect`.
 */
function contractReason(reason: string): string {
  return reason === 'server namespace disconnect' ? 'io server disconnect' : reason;
}

function elapsedS(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}
