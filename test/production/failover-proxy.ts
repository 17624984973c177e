import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * One address in front of several nodes, as a load balancer is: each TCP connection goes to the
 * first node of the list that accepts it, so the clients of a node that goes away reconnect
 * through the same address and land on the next one. In front of a single server it is a link
 * that a test can cut and mend, as a network partition would.
 */
export class FailoverProxy {
  private readonly connections = new Set<Socket>();
  private linkCut = false;

  private constructor(
    private readonly server: Server,
    /** The scheme of the backends' URLs (`http:`, `redis:`), so that `url` reads as theirs. */
    private readonly protocol: string,
    private readonly backendPorts: readonly number[],
  ) {}

  static async start(backendUrls: readonly string[]): Promise<FailoverProxy> {
    const server = createServer();
    const backends = backendUrls.map((url) => new URL(url));
    const proxy = new FailoverProxy(
      server,
      backends[0]?.protocol ?? 'http:',
      backends.map(({ port }) => Number(port)),
    );
    server.on('connection', (client) => proxy.forward(client, 0));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get url(): string {
    return `${this.protocol}//127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * Closes every connection through the proxy and closes each new one as soon as it is accepted,
   * until `mend()`: whoever is behind it loses its link to the backends, and nobody else does.
   */
  cut(): void {
    this.linkCut = true;
    for (const socket of this.connections) socket.destroy();
  }

  mend(): void {
    this.linkCut = false;
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  /** Until the upstream accepts, the client's bytes wait in its paused socket. */
  private forward(client: Socket, index: number): void {
    const port = this.backendPorts[index];
    if (port === undefined || this.linkCut) {
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
