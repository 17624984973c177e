/**
 * The bench's baseline, run as a child process (`node --import tsx sim/load/echo-server.ts`): a
 * bare Socket.IO server built by the service's own `createSocketServer` (same path, namespace,
 * transports, `ws` engine and buffer limit) whose only work is to acknowledge every event with
 * `{ ok: true, data: <payload> }`. No authentication, no rooms, no stores. It tells its parent the
 * port it listens on over IPC and stops on SIGTERM.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CLASSROOM_NAMESPACE,
  createSocketServer,
} from '../../src/adapters/socket-io/socket-server.js';

const httpServer = createServer();
const io = createSocketServer(httpServer);
io.of(CLASSROOM_NAMESPACE).on('connection', (socket) => {
  socket.onAny((_event: string, ...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack === 'function') ack({ ok: true, data: args[0] });
  });
});
httpServer.listen(0, '127.0.0.1');
await once(httpServer, 'listening');
process.send?.({ port: (httpServer.address() as AddressInfo).port });
process.once('SIGTERM', () => {
  void io.close().then(() => process.exit(0));
});
