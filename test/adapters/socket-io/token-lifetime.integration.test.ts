import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../../src/adapters/in-memory/demo-data.js';
import { signAccessToken } from '../../../src/adapters/jwt/sign-access-token.js';
import { loadConfig } from '../../../src/config.js';
import type { Role } from '../../../src/domain/clients.js';
import { type RunningService, startService } from '../../../src/runtime.js';

const SECRET = 'token-lifetime-test-secret-0123456789';

/**
 * PROTOCOL §2a through the real gateway and node on real time: the notices reach the socket, the
 * server closes it at `exp`, and `refresh_token` answers as the contract says.
 */
describe('token lifetime on an open socket', () => {
  let service: RunningService;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await service?.close();
  });

  async function start() {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', AUTH_JWT_SECRET: SECRET });
    if (!config.ok) throw new Error(config.error.message);
    service = await startService(config.value, { logger: pino({ level: 'silent' }) });
  }

  const sign = (sub: string, role: Role, ttlS: number) =>
    signAccessToken({
      secret: SECRET,
      sub,
      orgId: DEMO.orgId,
      role,
      ttlS,
      nowS: Math.floor(Date.now() / 1000),
    });

  async function connect(sub: string, role: Role, ttlS: number, productType?: 'manager') {
    const auth = {
      role,
      org_id: DEMO.orgId,
      auth: await sign(sub, role, ttlS),
      ...(productType === undefined ? {} : { product_type: productType }),
    };
    const socket = io(`${service.url}/classroom`, {
      path: '/sockets',
      auth,
      reconnection: false,
      autoConnect: false,
    });
    sockets.push(socket);
    // Events may come right behind the connect: every one is kept from the first packet on.
    const received = new Map<string, unknown[]>();
    socket.onAny((event: string, payload: unknown) => {
      received.set(event, [...(received.get(event) ?? []), payload]);
    });
    await new Promise<void>((done, failed) => {
      socket.once('connect', done);
      socket.once('connect_error', failed);
      socket.connect();
    });
    const next = <T>(event: string) =>
      new Promise<T>((done) => {
        const [first] = received.get(event) ?? [];
        if (first !== undefined) done(first as T);
        else socket.once(event, done);
      });
    return { socket, next };
  }

  it('warns at once when under 30 s are left, then expires the socket: the server closes it, and the managers hear token_expired', async () => {
    await start();
    const manager = await connect(DEMO.manager.userId, DEMO.manager.role, 600, 'manager');
    const heard = manager.next<{ reason: string }>('teacher_disconnect');
    const teacher = await connect('t-ada', 'teacher', 2);
    const closed = new Promise((done) => teacher.socket.once('disconnect', done));
    const expiring = await teacher.next<{ exp: number }>('token_expiring');
    expect(expiring.exp).toBeGreaterThan(Date.now() / 1000);
    expect(await teacher.next('token_expired')).toEqual({});
    expect(await closed).toBe('io server disconnect');
    expect(await heard).toEqual({ user_id: 't-ada', reason: 'token_expired' });
  });

  it('answers refresh_token with the new exp, and refuses another identity or a bad token', async () => {
    await start();
    const { socket: teacher } = await connect('t-ada', 'teacher', 600);
    const fresh = await sign('t-ada', 'teacher', 3600);
    const [, payload] = fresh.split('.');
    const { exp } = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as {
      exp: number;
    };
    expect(await teacher.emitWithAck('refresh_token', { auth: fresh })).toEqual({
      ok: true,
      data: { exp },
    });
    const someoneElse = await sign('t-grace', 'teacher', 3600);
    expect(await teacher.emitWithAck('refresh_token', { auth: someoneElse })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(await teacher.emitWithAck('refresh_token', { auth: 'x.y.z' })).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
    expect(await teacher.emitWithAck('refresh_token', { token: fresh })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload' },
    });
  });
});
