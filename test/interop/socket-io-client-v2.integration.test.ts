import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { hasSocketIoClientV2 } from '../support/clients.js';
import { type DemoService, startDemoService } from '../support/demo-service.js';

/** The part of socket.io-client 2.x, which ships no types, that this suite uses. */
interface V2Socket {
  readonly connected: boolean;
  on(event: string, listener: (...args: never[]) => void): V2Socket;
  once(event: string, listener: (...args: never[]) => void): V2Socket;
  emit(event: string, ...args: unknown[]): V2Socket;
  close(): void;
}

type V2Options = {
  path: string;
  query?: Record<string, string>;
  transports?: string[];
  reconnection: boolean;
  forceNew: boolean;
};

const TRANSPORTS = {
  'long-polling, then the upgrade': ['polling', 'websocket'],
  WebSocket: ['websocket'],
} as const;

describe.runIf(hasSocketIoClientV2())('socket.io-client 2 (Engine.IO 3)', () => {
  const connectV2 = createRequire(import.meta.url)('socket.io-client-v2') as (
    url: string,
    options: V2Options,
  ) => V2Socket;
  let demo: DemoService;
  const sockets: V2Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await demo?.service.close();
  });

  async function socketOf(
    who: { sub: string; role: 'teacher' | 'admin'; manager?: boolean },
    transports: readonly string[] = TRANSPORTS['long-polling, then the upgrade'],
    token?: string,
  ): Promise<V2Socket> {
    const query: Record<string, string> = {
      role: who.role,
      org_id: 'demo-org',
      auth: token ?? (await demo.token(who.sub, who.role)),
      ...(who.manager ? { product_type: 'manager' } : {}),
    };
    const socket = connectV2(`${demo.service.url}/classroom`, {
      path: '/sockets',
      query,
      transports: [...transports],
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    return socket;
  }

  /** Resolves once connected; rejects with what the 2.x client reports a refusal as: `error`. */
  const connected = (socket: V2Socket) =>
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', (data: never) => reject(data));
      socket.once('connect_error', (error: never) => reject(error));
    });

  const next = (socket: V2Socket, event: string) =>
    new Promise<unknown>((resolve) => socket.once(event, (payload: never) => resolve(payload)));

  const call = (socket: V2Socket, event: string, payload: unknown) =>
    new Promise<unknown>((resolve) => socket.emit(event, payload, resolve));

  describe('with ALLOW_EIO3=true', () => {
    it.each(Object.entries(TRANSPORTS))('joins a lesson over %s', async (_how, transports) => {
      demo = await startDemoService({ ALLOW_EIO3: 'true' });
      const teacher = await socketOf({ sub: 't-ada', role: 'teacher' }, transports);
      await connected(teacher);
      expect(
        await call(teacher, 'join_lesson', {
          user_id: 't-ada',
          lesson_id: 'lesson-math',
          role: 'teacher',
        }),
      ).toEqual({
        ok: true,
        data: { lesson_id: 'lesson-math', seats: expect.objectContaining({ '30': '' }) },
      });
    });

    it('delivers server events and force_logout, and its refusal codes, to 2.x clients', async () => {
      demo = await startDemoService({ ALLOW_EIO3: 'true' });
      const manager = await socketOf({ sub: 'm-linus', role: 'admin', manager: true });
      await connected(manager);
      const heard = next(manager, 'teacher_connect');
      const teacher = await socketOf({ sub: 't-ada', role: 'teacher' });
      await connected(teacher);
      expect(await heard).toEqual({ user_id: 't-ada' });

      const forced = next(teacher, 'force_logout');
      expect(await call(manager, 'force_logout', { user_id: 't-ada', org_id: 'demo-org' })).toEqual(
        { ok: true, data: { delivered: true } },
      );
      expect(await forced).toEqual({ user_id: 't-ada' });
      await expect(connected(await socketOf({ sub: 't-ada', role: 'teacher' }))).rejects.toEqual({
        code: 'cooldown',
        message: expect.any(String),
        retry_after_s: expect.any(Number),
      });
    });

    it('hands a bad token’s refusal over with its code', async () => {
      demo = await startDemoService({ ALLOW_EIO3: 'true' });
      const refused = await socketOf({ sub: 't-ada', role: 'teacher' }, ['websocket'], 'bad');
      await expect(connected(refused)).rejects.toEqual({
        code: 'unauthorized',
        message: expect.any(String),
      });
    });

    it('admits the automatic / connection, which serves nothing', async () => {
      demo = await startDemoService({ ALLOW_EIO3: 'true' });
      const root = connectV2(demo.service.url, {
        path: '/sockets',
        reconnection: false,
        forceNew: true,
      });
      sockets.push(root);
      await connected(root);
      expect(demo.service.io.of('/').sockets.size).toBe(1);
      expect(demo.service.io.of('/classroom').sockets.size).toBe(0);
    });
  });

  it('cannot connect with the default settings', async () => {
    demo = await startDemoService();
    const teacher = await socketOf({ sub: 't-ada', role: 'teacher' });
    await expect(connected(teacher)).rejects.toMatchObject({ message: 'xhr poll error' });
  });
});
