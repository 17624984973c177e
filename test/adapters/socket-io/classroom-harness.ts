import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Namespace, Server, ServerOptions } from 'socket.io';
import {
  type Socket as ClientSocket,
  io,
  type ManagerOptions,
  type SocketOptions,
} from 'socket.io-client';
import { expect } from 'vitest';
import { VirtualClock } from '../../../sim/virtual-clock.js';
import { InMemoryLessonRepository } from '../../../src/adapters/in-memory/in-memory-lesson-repository.js';
import {
  InMemoryPresenceStore,
  type InMemoryStoreLink,
} from '../../../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../../../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import { signAccessToken } from '../../../src/adapters/jwt/sign-access-token.js';
import { loggingNodeObserver } from '../../../src/adapters/pino/logging-node-observer.js';
import { attachEdge, type EdgeSettings } from '../../../src/adapters/socket-io/edge.js';
import {
  attachGateway,
  type Gateway,
  type GatewayObserver,
} from '../../../src/adapters/socket-io/gateway.js';
import { SocketIoNotifier } from '../../../src/adapters/socket-io/socket-io-notifier.js';
import {
  CLASSROOM_NAMESPACE,
  createSocketServer,
  SOCKET_PATH,
} from '../../../src/adapters/socket-io/socket-server.js';
import type { ClassroomNode } from '../../../src/application/node/classroom-node.js';
import type { RealtimeNotifier } from '../../../src/application/ports/realtime-notifier.js';
import {
  type BuiltNode,
  buildNode,
  resolve,
  type Services,
} from '../../../src/composition-root.js';
import type { Role } from '../../../src/domain/clients.js';
import type { Lesson } from '../../../src/domain/lesson.js';

export const SECRET = 'gateway-test-secret-0123456789abcdef';

/** The edge as a node runs it with nothing configured (PROTOCOL §12 defaults). */
const DEFAULT_EDGE: EdgeSettings = {
  allowEio3: false,
  corsOrigins: null,
  trustProxy: false,
  maxConnectionsPerIp: 5000,
  handshakeFailuresPerIpPerMin: 120,
};

/** Two orgs and a tenant trap: org `7` and lesson `7` (of `north`) share an id. */
export const LESSONS: Lesson[] = [
  lesson({ id: 'math', orgId: 'north', teacherId: 't-ada' }),
  lesson({ id: 'art', orgId: 'north', teacherId: 't-grace', status: 'scheduled' }),
  lesson({ id: 'old', orgId: 'north', teacherId: 't-ada', status: 'ended' }),
  lesson({ id: '7', orgId: 'north', teacherId: 't-bob' }),
  lesson({ id: 'south-1', orgId: 'south', teacherId: 't-sam' }),
  lesson({ id: 'seven-1', orgId: '7', teacherId: 't-7' }),
];

function lesson(row: Pick<Lesson, 'id' | 'orgId' | 'teacherId'> & Partial<Lesson>): Lesson {
  return { title: null, seatCount: 4, status: 'active', ...row };
}

export interface Identity {
  readonly sub: string;
  readonly org: string;
  readonly role: Role;
}

export interface Recorded {
  readonly event: string;
  readonly args: unknown[];
}

/** A client as a test drives it: the socket plus every event it received, in order. */
export interface Client {
  readonly socket: ClientSocket;
  readonly identity: Identity;
  /** Sends `join_lesson` for the client's own user and role; resolves with the ack. */
  join(lessonId: string | number): Promise<unknown>;
  readonly received: Recorded[];
  /** Payloads of the received events named `event`. */
  events(event: string): unknown[];
  /** The first `event` that arrives (or already arrived and was not taken yet). */
  next(event: string): Promise<unknown>;
  /**
   * Resolves once every event the server emitted to this client before the call has arrived: an
   * acknowledged request on the same connection is answered after them.
   */
  settle(): Promise<void>;
}

export type Transport = 'default' | 'websocket';

export interface ObserverCall {
  readonly call: 'connected' | 'disconnected' | 'handled';
  readonly args: unknown[];
}

export interface SharedState {
  readonly clock: VirtualClock;
  readonly store: InMemoryPresenceStore;
  /** The nodes' way to the store, which a test can cut (`setUp(false)`). */
  readonly presence: InMemoryStoreLink;
  readonly lessons: InMemoryLessonRepository;
}

function sharedState(): SharedState {
  const clock = new VirtualClock();
  const store = new InMemoryPresenceStore(clock, { bornWithItsDatabase: true });
  return {
    clock,
    store,
    presence: store.link(),
    lessons: new InMemoryLessonRepository({
      lessons: LESSONS,
      quizzes: [{ id: 'quiz-1', lessonId: 'math', status: 'open' }],
      tasks: [],
    }),
  };
}

export interface ClassroomParts extends SharedState {
  readonly url: string;
  readonly io: Server;
  readonly namespace: Namespace;
  readonly gateway: Gateway;
  readonly node: ClassroomNode;
  readonly container: BuiltNode;
  readonly notifier: FaultyNotifier;
  /** Every pino line the gateway wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  readonly observed: ObserverCall[];
}

/**
 * A real HTTP server on 127.0.0.1 with the Socket.IO gateway in front of the real use cases from
 * the composition root, on embedded in-memory adapters and a virtual clock the test moves.
 */
export class Classroom {
  readonly clients: ClientSocket[] = [];

  private constructor(readonly parts: ClassroomParts) {}

  /**
   * One node. Nodes of a cluster pass the first node's `shared` state and a cluster adapter, as
   * production nodes share Redis, the database and the Socket.IO Redis adapter.
   */
  static async start(
    options: {
      rateLimit?: { perS: number; burst: number };
      shared?: SharedState;
      adapter?: ServerOptions['adapter'];
      edge?: Partial<EdgeSettings>;
    } = {},
  ): Promise<Classroom> {
    const http = createServer();
    const edgeSettings: EdgeSettings = { ...DEFAULT_EDGE, ...options.edge };
    const ioServer = createSocketServer(http, {
      adapter: options.adapter,
      allowEio3: edgeSettings.allowEio3,
    });
    const namespace = ioServer.of(CLASSROOM_NAMESPACE);
    const { clock, store, presence, lessons } = options.shared ?? sharedState();
    const notifier = new FaultyNotifier(new SocketIoNotifier(namespace));
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, lineCollector(logs));
    const container = buildNode({
      jwt: { secret: SECRET },
      rateLimit: options.rateLimit,
      observer: loggingNodeObserver(logger),
      adapters: {
        clock,
        presence: { store: presence, expiryFeed: new InMemorySessionExpiryFeed(store) },
        lessons,
        notifier,
      },
    });

    const edge = attachEdge(ioServer, namespace, {
      settings: edgeSettings,
      logger,
      production: false,
    });
    const observed: ObserverCall[] = [];
    const observer: GatewayObserver = {
      connected: (...args) => observed.push({ call: 'connected', args }),
      disconnected: (...args) => observed.push({ call: 'disconnected', args }),
      handled: (...args) => observed.push({ call: 'handled', args }),
    };
    const node = resolve(container, 'node');
    const gateway = attachGateway(namespace, {
      node,
      edge,
      logger,
      observer,
    });
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    const { port } = http.address() as AddressInfo;
    return new Classroom({
      url: `http://127.0.0.1:${port}`,
      io: ioServer,
      namespace,
      gateway,
      node,
      container,
      clock,
      store,
      presence,
      lessons,
      notifier,
      logs,
      observed,
    });
  }

  get clock() {
    return this.parts.clock;
  }

  /** A service of the container, the same instance the gateway's node uses. */
  useCase<K extends keyof Services>(key: K): Services[K] {
    return resolve(this.parts.container, key);
  }

  /** Ends every session whose grace period is over, as the periodic sweep does. */
  sweep(): Promise<number> {
    return resolve(this.parts.container, 'sweepOverdueSessions').execute();
  }

  token(identity: Identity, ttlS = 3_600): Promise<string> {
    return signAccessToken({
      secret: SECRET,
      sub: identity.sub,
      orgId: identity.org,
      role: identity.role,
      ttlS,
      nowS: Math.floor(Date.now() / 1000),
    });
  }

  /** A socket.io-client socket to the classroom namespace, not yet connected. */
  socket(options: Partial<ManagerOptions & SocketOptions>, transport: Transport = 'default') {
    const socket = io(`${this.parts.url}${CLASSROOM_NAMESPACE}`, {
      path: SOCKET_PATH,
      reconnection: false,
      forceNew: true,
      autoConnect: false,
      ...(transport === 'websocket' ? { transports: ['websocket'] } : {}),
      ...options,
    });
    this.clients.push(socket);
    return socket;
  }

  /** Connects with the handshake of a real client of that kind; rejects with the refusal. */
  async connect(
    identity: Identity,
    options: { transport?: Transport; productType?: 'manager'; viaAuth?: boolean } = {},
  ): Promise<Client> {
    const token = await this.token(identity);
    const fields: Record<string, string> = {
      role: identity.role,
      org_id: identity.org,
      auth: token,
      ...(options.productType === undefined ? {} : { product_type: options.productType }),
    };
    const socket = this.socket(
      options.viaAuth ? { auth: fields } : { query: fields },
      options.transport,
    );
    const client = record(socket, identity);
    await connected(socket);
    return client;
  }

  teacher(sub: string, org = 'north', transport?: Transport) {
    return this.connect({ sub, org, role: 'teacher' }, { transport });
  }

  student(sub: string, org = 'north', transport?: Transport) {
    return this.connect({ sub, org, role: 'student' }, { transport });
  }

  manager(sub: string, org = 'north', role: Role = 'admin', transport?: Transport) {
    return this.connect({ sub, org, role }, { productType: 'manager', transport });
  }

  /**
   * Disconnects a client and resolves once the server has run its DisconnectClient: with the
   * in-memory adapters that work finishes within the turn of the event loop that saw it leave.
   */
  async leave(client: Client): Promise<void> {
    const serverSide = this.parts.namespace.sockets.get(client.socket.id ?? '');
    if (serverSide === undefined) throw new Error('the client is not connected');
    const gone = new Promise((done) => serverSide.once('disconnect', done));
    client.socket.disconnect();
    await gone;
    await new Promise((done) => setImmediate(done));
  }

  /** The handshake refusal a socket gets: `err.message` and `err.data`. */
  async refusal(options: Partial<ManagerOptions & SocketOptions>, transport?: Transport) {
    const socket = this.socket(options, transport);
    return refusalOf(socket);
  }

  errorLogs(): Array<Record<string, unknown>> {
    return this.parts.logs.filter((line) => (line.level as number) >= 50);
  }

  async stop(): Promise<void> {
    for (const socket of this.clients) socket.disconnect();
    await this.parts.gateway.close();
    await this.parts.io.close();
  }
}

/** A notifier that can be told to fail, to see how the gateway copes with a bug in the core. */
export class FaultyNotifier implements RealtimeNotifier {
  failEmits = false;

  constructor(private readonly inner: RealtimeNotifier) {}

  join: RealtimeNotifier['join'] = (sid, audience) => this.inner.join(sid, audience);

  leaveAll: RealtimeNotifier['leaveAll'] = (sid) => this.inner.leaveAll(sid);

  close: RealtimeNotifier['close'] = (sid) => this.inner.close(sid);

  forceOut: RealtimeNotifier['forceOut'] = (teacher, sid, event) =>
    this.inner.forceOut(teacher, sid, event);

  emit: RealtimeNotifier['emit'] = async (audience, event) => {
    if (this.failEmits) throw new Error('notifier exploded');
    await this.inner.emit(audience, event);
  };

  onLinkRestored: RealtimeNotifier['onLinkRestored'] = (listener) =>
    this.inner.onLinkRestored(listener);
}

function lineCollector(lines: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
}

export function record(socket: ClientSocket, identity: Identity): Client {
  const received: Recorded[] = [];
  const waiting: Array<{ event: string; resolve: (payload: unknown) => void }> = [];
  const taken = new Set<Recorded>();
  socket.onAny((event: string, ...args: unknown[]) => {
    const entry = { event, args };
    received.push(entry);
    const index = waiting.findIndex((waiter) => waiter.event === event);
    if (index >= 0) {
      taken.add(entry);
      waiting.splice(index, 1)[0]?.resolve(args[0]);
    }
  });
  return {
    socket,
    identity,
    join: (lessonId) =>
      ack(socket, 'join_lesson', {
        user_id: identity.sub,
        lesson_id: lessonId,
        role: identity.role,
      }),
    received,
    events: (event) => received.filter((entry) => entry.event === event).map((e) => e.args[0]),
    next(event) {
      const ready = received.find((entry) => entry.event === event && !taken.has(entry));
      if (ready !== undefined) {
        taken.add(ready);
        return Promise.resolve(ready.args[0]);
      }
      return new Promise((resolve) => waiting.push({ event, resolve }));
    },
    async settle() {
      await socket.timeout(5_000).emitWithAck('__settle__', {});
    },
  };
}

export function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
    socket.connect();
  });
}

export function refusalOf(socket: ClientSocket): Promise<{ message: string; data: unknown }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('the handshake was accepted')));
    socket.once('connect_error', (error: Error & { data?: unknown }) =>
      resolve({ message: error.message, data: error.data }),
    );
    socket.connect();
  });
}

/** Resolves with the reason of the socket's next disconnect. */
export function disconnection(socket: ClientSocket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

/** The exact failure acknowledgement of PROTOCOL §4. */
export const failure = (code: string) => ({
  ok: false,
  error: { code, message: expect.any(String) },
});

export function ack(socket: ClientSocket, event: string, ...args: unknown[]): Promise<unknown> {
  return socket.timeout(5_000).emitWithAck(event, ...args);
}
