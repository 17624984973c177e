import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * One address in front of several nodes, as a load balancer is: each TCP connection goes to the
 * first node of the list that accepts it, so the clients of a node that goes away reconnect
 * through the same address and land on the next one.
 */
export class FailoverProxy {
  private readonly connections = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly backendPorts: readonly number[],
  ) {}

  static async start(backendUrls: readonly string[]): Promise<FailoverProxy> {
    const server = createServer();
    const proxy = new FailoverProxy(
      server,
      backendUrls.map((url) => Number(new URL(url).port)),
    );
    server.on('connection', (client) => proxy.forward(client, 0));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  /** Until the upstream accepts, the client's bytes wait in its paused socket. */
  private forward(client: Socket, index: number): void {
    const port = this.backendPorts[index];
    if (port === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect(port, '127.0.0.1');
    this.track(client);
    this.track(upstream);
    let accepted = false;
    upstream.once('error', () => {
      if (accepted) client.destroy();
      else this.forward(client, index + 1);
    });
    upstream.once('connect', () => {
      accepted = true;
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  }

  private track(socket: Socket): void {
    this.connections.add(socket);
    socket.once('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
  }
}
