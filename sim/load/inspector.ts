import { once } from 'node:events';
import { createServer } from 'node:net';
import WebSocket from 'ws';

/**
 * A DevTools protocol session with a Node process started with `--inspect=127.0.0.1:<port>`: the
 * bench's way to collect a server's garbage before it reads its memory, so that the reading does
 * not depend on when the server last collected.
 */
export class InspectorSession {
  private lastId = 0;

  private constructor(private readonly socket: WebSocket) {}

  static async connect(port: number): Promise<InspectorSession> {
    const response = await fetch(`http://127.0.0.1:${port}/json/list`);
    const [target] = (await response.json()) as Array<{ webSocketDebuggerUrl: string }>;
    if (target === undefined) throw new Error(`no inspector target on port ${port}`);
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await once(socket, 'open');
    return new InspectorSession(socket);
  }

  /** A full, blocking garbage collection, as DevTools' "collect garbage" button does. */
  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
  }

  /** The V8 heap in use, in bytes. */
  async heapUsedBytes(): Promise<number> {
    const { usedSize } = (await this.call('Runtime.getHeapUsage')) as { usedSize: number };
    return usedSize;
  }

  close(): void {
    this.socket.close();
  }

  private call(method: string): Promise<unknown> {
    this.lastId += 1;
    const id = this.lastId;
    return new Promise((resolve, reject) => {
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data)) as {
          id?: number;
          result?: unknown;
          error?: { message: string };
        };
        if (message.id !== id) return;
        this.socket.off('message', onMessage);
        if (message.error === undefined) resolve(message.result);
        else reject(new Error(`${method}: ${message.error.message}`));
      };
      this.socket.on('message', onMessage);
      this.socket.send(JSON.stringify({ id, method }));
    });
  }
}

/** A loopback port nobody listens on right now, picked by the kernel. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP port was given');
  return address.port;
}
