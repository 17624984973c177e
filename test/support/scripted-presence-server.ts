import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Namespace, Server } from 'socket.io';
import { type ConsoleSettings, consoleRoutes } from '../../src/adapters/http/console-page.js';
import { attachHttpEndpoints } from '../../src/adapters/http/http-endpoints.js';
import { ServiceMetrics } from '../../src/adapters/http/metrics.js';
import {
  CLASSROOM_NAMESPACE,
  createSocketServer,
} from '../../src/adapters/socket-io/socket-server.js';

/** One entry of `presence_state` (PROTOCOL §5a). */
export interface PresenceEntry {
  readonly user_id: string;
  readonly state: 'connect' | 'disconnect';
  readonly login_time: number;
  readonly since: number;
  readonly lesson_id: string | null;
}

/** One `get_presence_history` event (PROTOCOL §5a). */
export interface HistoryEvent {
  readonly at: number;
  readonly kind: 'connect' | 'disconnect' | 'logout' | 'session_end';
  readonly reason: string;
  readonly by?: string;
  readonly lesson_ids?: string[];
  readonly node: string;
}

export interface ReceivedRequest {
  readonly event: string;
  readonly payload: Record<string, unknown>;
  readonly atMs: number;
}

type Ack = { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } };

const nowS = () => Math.floor(Date.now() / 1000);

/**
 * A Socket.IO server of the test's own that plays the ManagerWeb side of the contract (PROTOCOL
 * §4, §5, §5a) from a script, and serves the console through the service's own HTTP route. The
 * test holds the truth (which teachers have a session) and says what happens; the server sends the
 * events a real node would send and answers requests from the truth.
 */
export class ScriptedPresenceServer {
  /** The teachers with a session (an alive hash), by user id. */
  readonly truth = new Map<string, PresenceEntry>();
  /** Each teacher's history, newest first. */
  readonly history = new Map<string, HistoryEvent[]>();
  /** Every request a manager sent, in order. */
  readonly requests: ReceivedRequest[] = [];
  /** The `auth` object of every handshake. */
  readonly handshakes: Record<string, unknown>[] = [];
  /** Whether a force logout reaches a teacher's app. */
  forceLogoutDelivers = true;
  /** A refusal every handshake gets, as a real node's middleware sends it (PROTOCOL §2). */
  refusal: { code: string; message: string; retry_after_s?: number } | null = null;

  private admitted: Promise<void> = Promise.resolve();
  private readmit: () => void = () => {};

  private constructor(
    readonly url: string,
    private readonly http: HttpServer,
    private readonly io: Server,
    private readonly namespace: Namespace,
  ) {}

  static async start(settings: ConsoleSettings): Promise<ScriptedPresenceServer> {
    const http = createServer();
    attachHttpEndpoints(http, {
      metrics: new ServiceMetrics(),
      readiness: [],
      logger: pino({ level: 'silent' }),
      routes: consoleRoutes(settings),
    });
    const io = createSocketServer(http);
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const server = new ScriptedPresenceServer(url, http, io, io.of(CLASSROOM_NAMESPACE));
    server.serve();
    return server;
  }

  private serve(): void {
    this.namespace.use((socket, next) => {
      this.handshakes.push(socket.handshake.auth);
      void this.admitted.then(() => {
        if (this.refusal === null) return next();
        const refused = Object.assign(new Error(this.refusal.code), { data: this.refusal });
        next(refused);
      });
    });
    this.namespace.on('connection', (socket) => {
      socket.emit('presence_state', this.snapshot());
      socket.onAny(
        (event: string, payload: Record<string, unknown>, ack?: (answer: Ack) => void) => {
          this.requests.push({ event, payload, atMs: Date.now() });
          ack?.(this.answer(event, payload, socket.handshake.auth));
        },
      );
    });
  }

  private answer(
    event: string,
    payload: Record<string, unknown>,
    auth: Record<string, unknown>,
  ): Ack {
    switch (event) {
      case 'get_presence':
        return { ok: true, data: this.snapshot() };
      case 'get_presence_history': {
        const before =
          typeof payload.before === 'number' ? payload.before : Number.POSITIVE_INFINITY;
        const limit = typeof payload.limit === 'number' ? payload.limit : 50;
        const events = (this.history.get(String(payload.user_id)) ?? []).filter(
          (entry) => entry.at < before,
        );
        return { ok: true, data: { events: events.slice(0, limit) } };
      }
      case 'force_logout':
        if (auth.role !== 'admin') {
          return { ok: false, error: { code: 'forbidden', message: 'Only an admin may do this.' } };
        }
        return { ok: true, data: { delivered: this.forceLogoutDelivers } };
      default:
        return { ok: false, error: { code: 'invalid_payload', message: 'Unknown event.' } };
    }
  }

  snapshot(): { teachers: PresenceEntry[] } {
    return { teachers: [...this.truth.values()] };
  }

  /** A teacher's app connects: a new session, or a reconnect within the grace period. */
  teacherConnects(userId: string, lessonId: string | null = null): void {
    const before = this.truth.get(userId);
    this.truth.set(userId, {
      user_id: userId,
      state: 'connect',
      login_time: before?.login_time ?? nowS(),
      since: nowS(),
      lesson_id: lessonId ?? before?.lesson_id ?? null,
    });
    this.toManagers('teacher_connect', { user_id: userId });
  }

  /** A teacher's last socket closes: the grace period starts. */
  teacherDisconnects(userId: string, reason: string): void {
    const before = this.truth.get(userId);
    if (before === undefined) throw new Error(`${userId} has no session`);
    this.truth.set(userId, { ...before, state: 'disconnect', since: nowS() });
    this.toManagers('teacher_disconnect', { user_id: userId, reason });
  }

  /** A logout, a force logout or the end of the grace period: the session is gone. */
  sessionEnds(userId: string): void {
    this.truth.delete(userId);
    this.toManagers('logout', { user_id: userId });
  }

  /**
   * Closes every manager's connection the way a network failure does (the client reconnects on
   * its own) and holds new handshakes until `admitAgain()`.
   */
  dropManagers(): void {
    this.admitted = new Promise((resolve) => {
      this.readmit = resolve;
    });
    for (const socket of this.namespace.sockets.values()) socket.conn.close();
  }

  admitAgain(): void {
    this.readmit();
  }

  requestsOf(event: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.event === event);
  }

  private toManagers(event: string, payload: unknown): void {
    this.namespace.emit(event, payload);
  }

  async close(): Promise<void> {
    this.readmit();
    await this.io.close();
    this.http.closeAllConnections();
  }
}
