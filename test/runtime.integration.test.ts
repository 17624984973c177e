import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../sim/virtual-clock.js';
import { DEMO } from '../src/adapters/in-memory/demo-data.js';
import { InMemoryLessonRepository } from '../src/adapters/in-memory/in-memory-lesson-repository.js';
import { InMemoryPresenceStore } from '../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import { signAccessToken } from '../src/adapters/jwt/sign-access-token.js';
import { SystemClock } from '../src/adapters/system/system-clock.js';
import type { SessionExpiryFeed } from '../src/application/ports/session-expiry-feed.js';
import { resolve } from '../src/composition-root.js';
import { type Config, loadConfig } from '../src/config.js';
import type { Role } from '../src/domain/clients.js';
import { type RunningService, type StartOptions, startService } from '../src/runtime.js';
import { protocolKeys } from './support/protocol-keys.js';

const silent = pino({ level: 'silent' });
const running: RunningService[] = [];
const clients: Socket[] = [];

function configFor(env: NodeJS.ProcessEnv = {}): Config {
  const result = loadConfig({ PORT: '0', HOST: '127.0.0.1', ...env });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

async function start(env: NodeJS.ProcessEnv = {}, options: StartOptions = {}) {
  const config = configFor(env);
  const service = await startService(config, { logger: silent, ...options });
  running.push(service);
  return { config, service };
}

/** A feed that never reports an expiry, like Redis with notifications switched off. */
const silentFeed: SessionExpiryFeed = { start: async () => {}, stop: async () => {} };

/** The embedded store, its expiries heard by nobody when `silent`. */
function embeddedPresence({ silent }: { silent: boolean }) {
  const store = new InMemoryPresenceStore(new SystemClock());
  return { store, expiryFeed: silent ? silentFeed : new InMemorySessionExpiryFeed(store) };
}

async function connectAs(
  service: RunningService,
  config: Config,
  who: { sub: string; role: Role; productType?: 'manager' },
  transports?: Array<'polling' | 'websocket'>,
): Promise<Socket> {
  const token = await signAccessToken({
    secret: config.jwt.secret,
    sub: who.sub,
    orgId: DEMO.orgId,
    role: who.role,
    ttlS: 600,
    nowS: Math.floor(Date.now() / 1000),
  });
  const query: Record<string, string> = { role: who.role, org_id: DEMO.orgId, auth: token };
  if (who.productType !== undefined) query.product_type = who.productType;
  const socket = io(`${service.url}/classroom`, {
    path: '/sockets',
    query,
    reconnection: false,
    ...(transports === undefined ? {} : { transports }),
  });
  clients.push(socket);
  await new Promise<void>((done, failed) => {
    socket.once('connect', done);
    socket.once('connect_error', failed);
  });
  return socket;
}

const nextEvent = <T>(socket: Socket, event: string) =>
  new Promise<T>((done) => socket.once(event, done));

const joinMath = (socket: Socket, userId: string, role: Role) =>
  socket.emitWithAck('join_lesson', { user_id: userId, lesson_id: DEMO.lessons.math.id, role });

/**
 * The demo teacher joins the demo lesson and goes away while the demo manager watches; resolves to
 * the manager's next `logout` event, which marks the end of the teacher's session.
 */
async function teacherLeavesTheLesson(service: RunningService, config: Config) {
  const manager = await connectAs(service, config, {
    sub: DEMO.manager.userId,
    role: DEMO.manager.role,
    productType: 'manager',
  });
  const teacher = await connectAs(service, config, { sub: 't-ada', role: 'teacher' });
  await joinMath(teacher, 't-ada', 'teacher');
  const loggedOut = nextEvent(manager, 'logout');
  const leftAtMs = Date.now();
  teacher.close();
  return { loggedOut, leftAtMs };
}

const lessonStatus = (service: RunningService, lessonId: string) => {
  const lessons = resolve(service.container, 'lessons') as InMemoryLessonRepository;
  return lessons.snapshot().lessons.find((lesson) => lesson.id === lessonId)?.status;
};

afterEach(async () => {
  for (const socket of clients.splice(0)) socket.close();
  await Promise.all(running.splice(0).map((service) => service.close()));
});

describe('startService in embedded mode', () => {
  it('listens on a free port and lets the demo teacher join the demo lesson', async () => {
    const { config, service } = await start();
    expect(service.port).toBeGreaterThan(0);
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    const teacher = await connectAs(service, config, { sub: 't-ada', role: 'teacher' });
    const ack = await joinMath(teacher, 't-ada', 'teacher');
    expect(ack).toMatchObject({ ok: true, data: { lesson_id: 'lesson-math' } });
    expect(Object.keys(ack.data.seats)).toHaveLength(30);
  });

  it('answers the health, readiness and metrics endpoints on the same port', async () => {
    const { config, service } = await start(
      {},
      { readiness: [{ name: 'database', check: async () => ({ ok: false, detail: 'down' }) }] },
    );
    await connectAs(service, config, { sub: 't-ada', role: 'teacher' });
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ failed: ['database'] });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('classroom_connected_sockets{client="teacher_app"} 1');
  });

  it('closes gracefully: clients are dropped as by a server shutdown, then the closers run', async () => {
    const order: string[] = [];
    const socketsLeft = () => running[0]?.io.of('/classroom').sockets.size;
    const { config, service } = await start(
      {},
      {
        closers: [
          async () => {
            order.push(`first closer, sockets left: ${socketsLeft()}`);
          },
          async () => {
            order.push('second closer');
          },
        ],
      },
    );
    // Over WebSocket from the start: a long-polling client can miss a goodbye sent as the
    // connection closes, and would then reconnect whatever the server meant.
    const teacher = await connectAs(service, config, { sub: 't-ada', role: 'teacher' }, [
      'websocket',
    ]);
    const dropped = nextEvent<string>(teacher, 'disconnect');
    await service.close();
    // What is promised is that a stock client takes the drop as temporary and reconnects (to
    // another node); the transport's reason is "transport close" or "transport error", as the
    // OS has it, while "io server disconnect" would keep the client away.
    expect(await dropped).not.toBe('io server disconnect');
    expect(teacher.active).toBe(true);
    expect(order).toEqual(['first closer, sockets left: 0', 'second closer']);
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
  });

  it('closes once however often close() is called', async () => {
    let closed = 0;
    const { service } = await start({}, { closers: [async () => void closed++] });
    await Promise.all([service.close(), service.close()]);
    await service.close();
    expect(closed).toBe(1);
  });

  it('records the disconnect of its clients in presence before the stores close', async () => {
    const { config, service } = await start();
    const teacher = await connectAs(service, config, { sub: 't-ada', role: 'teacher' });
    await joinMath(teacher, 't-ada', 'teacher');
    await service.close();
    const presence = resolve(service.container, 'presence').store as InMemoryPresenceStore;
    expect(protocolKeys(presence)['alive:org_demo-org_user_t-ada']).toMatchObject({
      state: 'disconnect',
    });
  });

  it('refuses to start on a port in use, and still runs the closers', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const { port } = blocker.address() as { port: number };
    const closed: string[] = [];
    try {
      await expect(
        startService(configFor({ PORT: String(port) }), {
          logger: silent,
          closers: [async () => void closed.push('closer')],
        }),
      ).rejects.toThrow(/EADDRINUSE/);
      expect(closed).toEqual(['closer']);
    } finally {
      blocker.close();
    }
  });
});

describe('the background loops', () => {
  it('keep a connected teacher present past the presence TTL', async () => {
    const clock = new SystemClock();
    const presence = new InMemoryPresenceStore(clock);
    const refreshed: string[] = [];
    const refreshTeachers = presence.refreshTeachers.bind(presence);
    presence.refreshTeachers = async (input) => {
      refreshed.push(...input.teachers.map(({ socket }) => socket.identity.userId));
      return refreshTeachers(input);
    };
    const { config, service } = await start(
      { PRESENCE_TTL_S: '1' },
      { adapters: { presence: { store: presence, expiryFeed: silentFeed } } },
    );
    const teacher = await connectAs(service, config, { sub: 't-ada', role: 'teacher' });
    const aliveKey = 'alive:org_demo-org_user_t-ada';
    // Three refreshes at a third of the TTL each take the teacher past the first TTL.
    await expect.poll(() => refreshed.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(3);
    expect(refreshed.every((userId) => userId === 't-ada')).toBe(true);
    expect(teacher.connected).toBe(true);
    expect(protocolKeys(presence)[aliveKey]).toMatchObject({ state: 'connect' });
  });

  it('end a session at the end of its grace period through the in-memory expiry feed', async () => {
    const { config, service } = await start(
      { DISCONNECT_GRACE_S: '1', SWEEP_INTERVAL_S: '600' },
      // No sweep at all, so only the expiry feed can end the session.
      { useCases: { sweepOverdueSessions: () => ({ execute: async () => 0 }) } },
    );
    const { loggedOut } = await teacherLeavesTheLesson(service, config);
    expect(await loggedOut).toEqual({ user_id: 't-ada' });
    expect(lessonStatus(service, 'lesson-math')).toBe('ended');
  });

  it('end a session right after its grace through the deadline timer, without waiting for the sweep interval', async () => {
    const { config, service } = await start(
      { DISCONNECT_GRACE_S: '1', SWEEP_INTERVAL_S: '600' },
      { adapters: { presence: embeddedPresence({ silent: true }) } },
    );
    const { loggedOut, leftAtMs } = await teacherLeavesTheLesson(service, config);
    expect(await loggedOut).toEqual({ user_id: 't-ada' });
    expect(Date.now() - leftAtMs).toBeLessThan(3_000);
    expect(lessonStatus(service, 'lesson-math')).toBe('ended');
  });

  it('end, as soon as the node starts, a session whose expiry nobody saw', async () => {
    const clock = new VirtualClock(Date.now());
    // It outlives the node that died: it was reconciled before, and the database is its own.
    const presence = new InMemoryPresenceStore(clock, { bornWithItsDatabase: true });
    const lessons = new InMemoryLessonRepository({
      lessons: [{ ...DEMO.lessons.math }],
      quizzes: [],
      tasks: [],
    });
    const socket = {
      sid: 'sid-of-a-node-that-died',
      identity: { userId: 't-ada', orgId: DEMO.orgId, role: 'teacher', kind: 'teacher_app' },
    } as const;
    await presence.connectTeacher({
      socket,
      nowMs: clock.nowMs(),
      presenceTtlS: 60,
      lessonTtlS: 600,
    });
    // Its grace period ran out while no node was up: nobody heard the expiry.
    await presence.disconnectTeacher({ socket, nowMs: clock.nowMs(), graceS: 60, lessonTtlS: 600 });
    clock.advance(61_000);
    await start(
      { SWEEP_INTERVAL_S: '600' },
      { adapters: { clock, presence: { store: presence, expiryFeed: silentFeed }, lessons } },
    );
    await expect
      .poll(() => lessons.snapshot().lessons[0]?.status, { timeout: 2_000 })
      .toBe('ended');
  });

  it('log a failing loop and keep serving', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const presence = new InMemoryPresenceStore(new SystemClock()).link();
    presence.setUp(false);
    const { service } = await start(
      {},
      { logger, adapters: { presence: { store: presence, expiryFeed: silentFeed } } },
    );
    await expect
      .poll(() => lines.some((line) => line.includes('a dependency is unavailable')))
      .toBe(true);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});
