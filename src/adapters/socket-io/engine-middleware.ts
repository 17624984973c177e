import type { EventEmitter } from 'node:events';
import { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket as NetSocket } from 'node:net';

/**
 * The stand-in response Engine.IO hands its middlewares for a WebSocket upgrade: headers set on it
 * go into the `101` answer, its `writeHead` writes nothing and its `end` drops the connection.
 */
interface UpgradeResponse extends EventEmitter {
  readonly socket: NetSocket;
  setHeader(name: string, value: string): void;
}

export type EngineResponse = ServerResponse | UpgradeResponse;

/** An Engine.IO middleware (`io.engine.use`): it sees every request under the socket path. */
export type EngineMiddleware = (
  request: IncomingMessage,
  response: EngineResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Answers a request under the socket path with `status` and a JSON body `{ error, message }`.
 * An upgrade gets its status line written on its socket, as `ws` does when it refuses one.
 */
export function refuseRequest(
  response: EngineResponse,
  status: number,
  body: { readonly error: string; readonly message: string },
): void {
  const text = JSON.stringify(body);
  if (response instanceof ServerResponse) {
    response.writeHead(status, { 'content-type': 'application/json' }).end(text);
    return;
  }
  const { socket } = response;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
