import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions } from 'socket.io';
import { WebSocketServer } from 'ws';

/** PROTOCOL §1: the HTTP path and namespace every client uses. */
export const SOCKET_PATH = '/sockets';
export const CLASSROOM_NAMESPACE = '/classroom';

/** Any single message over this closes its connection at the transport (PROTOCOL §1). */
const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * The Socket.IO 4 server on `httpServer`: long-polling and WebSocket (through `ws`), so a stock
 * client works with its defaults or with `transports: ['websocket']`. CORS accepts any origin
 * because tokens travel in the handshake, not in cookies. Pass a cluster `adapter` (Redis) when
 * several nodes serve the same clients.
 */
export function createSocketServer(
  httpServer: HttpServer,
  options: { adapter?: ServerOptions['adapter'] } = {},
): Server {
  return new Server(httpServer, {
    path: SOCKET_PATH,
    wsEngine: WebSocketServer,
    transports: ['polling', 'websocket'],
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    cors: { origin: true },
    serveClient: false,
    ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
  });
}
