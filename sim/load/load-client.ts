import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import type { RequestStats } from './request-stats.js';

/** How a client introduces itself (PROTOCOL §2); managers add `product_type=manager`. */
export interface Handshake {
  readonly role: 'teacher' | 'student' | 'admin';
  readonly orgId: string;
  readonly manager: boolean;
  readonly token: string;
}

/** The acknowledgement every client event gets (PROTOCOL §4). */
export type Ack =
  | { readonly ok: true; readonly data: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

export interface LoadClientOptions {
  readonly url: string;
  readonly handshake: Handshake;
  /** `undefined`: the stock client's default, long-polling first and then the upgrade. */
  readonly transports?: readonly ('polling' | 'websocket')[];
  readonly connectTimeoutMs: number;
  readonly ackTimeoutMs: number;
  readonly stats: RequestStats;
  /** Every server event this client receives, on whichever of its sockets. */
  readonly onEvent?: (event: string, payload: unknown) => void;
}

/**
 * One simulated user over a stock `socket.io-client`: connects (again, with a fresh socket, after a
 * disconnect), sends events with acknowledgements and records their outcome and latency in
 * `stats` under the event name (`connect` for the handshake). Automatic reconnection is off: the
 * script decides when a user comes back.
 */
export class LoadClient {
  private socket: Socket | null = null;

  constructor(private readonly options: LoadClientOptions) {}

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** Resolves true once admitted, false when refused or unreachable (recorded by code). */
  connect(): Promise<boolean> {
    const { url, handshake, transports, connectTimeoutMs, stats, onEvent } = this.options;
    this.socket?.disconnect();
    const startedAt = performance.now();
    const socket = io(`${url}/classroom`, {
      path: '/sockets',
      query: {
        role: handshake.role,
        org_id: handshake.orgId,
        auth: handshake.token,
        ...(handshake.manager ? { product_type: 'manager' } : {}),
      },
      forceNew: true,
      reconnection: false,
      timeout: connectTimeoutMs,
      ...(transports === undefined ? {} : { transports: [...transports] }),
    });
    this.socket = socket;
    if (onEvent !== undefined)
      socket.onAny((event: string, payload: unknown) => onEvent(event, payload));
    return new Promise((resolve) => {
      socket.once('connect', () => {
        socket.off('connect_error');
        stats.ok('connect', performance.now() - startedAt);
        resolve(true);
      });
      socket.once('connect_error', (error: Error) => {
        socket.off('connect');
        socket.disconnect();
        const code = error.message === 'timeout' ? 'connect_timeout' : error.message;
        stats.failed('connect', code, performance.now() - startedAt);
        resolve(false);
      });
    });
  }

  /**
   * Sends `event` and waits for its ack; null when no ack came in time or the socket is gone. The
   * outcome is recorded in `stats` (the client's own unless a measurement window gives another).
   */
  async request(event: string, payload: unknown, stats = this.options.stats): Promise<Ack | null> {
    const { ackTimeoutMs } = this.options;
    const socket = this.socket;
    if (socket === null || !socket.connected) {
      stats.failed(event, 'not_connected');
      return null;
    }
    const startedAt = performance.now();
    try {
      const ack = (await socket.timeout(ackTimeoutMs).emitWithAck(event, payload)) as Ack;
      const latencyMs = performance.now() - startedAt;
      if (ack.ok) stats.ok(event, latencyMs);
      else stats.failed(event, ack.error.code, latencyMs);
      return ack;
    } catch {
      stats.failed(event, 'ack_timeout');
      return null;
    }
  }

  /**
   * Closes the socket at once. The node learns of it from the transport close; whoever needs to
   * know that the node has handled it must wait for what the node does about it.
   */
  disconnect(): void {
    this.socket?.disconnect();
    this.socket = null;
  }
}
