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
 * client works with its defaults or with `transports: ['websocket']`, and with `allowEio3`
 * Socket.IO 2.x clients too. CORS answers come from the edge (`attachEdge`), which owns the
 * Origin rule. Pass a cluster `adapter` (Redis) when several nodes serve the same clients.
 */
export function createSocketServer(
  httpServer: HttpServer,
  options: { adapter?: ServerOptions['adapter']; allowEio3?: boolean } = {},
): Server {
  return new Server(httpServer, {
    path: SOCKET_PATH,
    wsEngine: WebSocketServer,
    transports: ['polling', 'websocket'],
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    allowEIO3: options.allowEio3 ?? false,
    serveClient: false,
    ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
  });
}
