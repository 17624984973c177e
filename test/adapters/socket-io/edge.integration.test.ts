import { Writable } from 'node:stream';
import { pino } from 'pino';
import { io as connectTo } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { EdgeSettings } from '../../../src/adapters/socket-io/edge.js';
import { SOCKET_PATH } from '../../../src/adapters/socket-io/socket-server.js';
import { loadConfig } from '../../../src/config.js';
import { startService } from '../../../src/runtime.js';
import { Classroom, type Identity, refusalOf } from './classroom-harness.js';

const ADA: Identity = { sub: 't-ada', org: 'north', role: 'teacher' };
const LISTED = 'https://teacher.example';
const UNLISTED = 'https://evil.example';
/** Engine.IO packets in one long-polling body are separated by this record separator. */
const SEPARATOR = '\x1e';

type Headers = Record<string, string>;

const pollingUrl = (url: string) => `${url}${SOCKET_PATH}/?EIO=4&transport=polling`;

/** The status of an Engine.IO long-polling handshake request. */
async function handshakeStatus(url: string, headers: Headers = {}): Promise<number> {
  const response = await fetch(pollingUrl(url), { headers });
  await response.body?.cancel();
  return response.status;
}

/** 101 when a WebSocket handshake is accepted (the socket is closed again), else the HTTP status. */
function upgradeStatus(url: string, headers: Headers = {}): Promise<number> {
  const socket = new WebSocket(
    `${url.replace('http', 'ws')}${SOCKET_PATH}/?EIO=4&transport=websocket`,
    {
      headers,
    },
  );
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', reject);
  });
}

/** An Engine.IO 4 long-polling session driven by hand, to send what no stock client sends. */
class PollingSession {
  private readonly received: string[] = [];

  private constructor(
    /** Where every later request of the session goes. */
    readonly url: string,
    private readonly headers: Headers,
  ) {}

  static async open(url: string, headers: Headers = {}): Promise<PollingSession> {
    const open = await (await fetch(pollingUrl(url), { headers })).text();
    const { sid } = JSON.parse(open.slice(1)) as { sid: string };
    return new PollingSession(`${pollingUrl(url)}&sid=${sid}`, headers);
  }

  /** Sends packets in one POST body. */
  post(...packets: string[]): Promise<Response> {
    return fetch(this.url, {
      method: 'POST',
      body: packets.join(SEPARATOR),
      headers: this.headers,
    });
  }

  /** Polls until a packet that `matches` arrives; returns it, and keeps the others for later. */
  async next(matches: (packet: string) => boolean): Promise<string> {
    for (;;) {
      const index = this.received.findIndex(matches);
      if (index >= 0) return this.received.splice(index, 1)[0] ?? '';
      const body = await (await fetch(this.url, { headers: this.headers })).text();
      this.received.push(...body.split(SEPARATOR));
    }
  }
}

/** The JSON after a Socket.IO packet's prefix, such as `44/classroom,`. */
const payloadAfter = (packet: string, prefix: string) => JSON.parse(packet.slice(prefix.length));

describe('The edge', () => {
  let classroom: Classroom;
  const running: Classroom[] = [];

  const start = async (edge: Partial<EdgeSettings> = {}) => {
    classroom = await Classroom.start({ edge });
    running.push(classroom);
    return classroom.parts.url;
  };

  afterEach(async () => {
    for (const node of running.splice(0)) await node.stop();
  });

  describe('with CORS_ORIGINS set', () => {
    it('lets a listed origin in over long-polling, with CORS answers that allow credentials', async () => {
      const url = await start({ corsOrigins: [LISTED] });
      const response = await fetch(pollingUrl(url), { headers: { Origin: LISTED } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(LISTED);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('vary')).toBe('Origin');
      await response.body?.cancel();
    });

    it('lets a listed origin upgrade to WebSocket', async () => {
      const url = await start({ corsOrigins: [LISTED] });
      expect(await upgradeStatus(url, { Origin: LISTED })).toBe(101);
    });

    it('refuses an unlisted origin with 403 over long-polling and WebSocket alike', async () => {
      const url = await start({ corsOrigins: [LISTED] });
      const response = await fetch(pollingUrl(url), { headers: { Origin: UNLISTED } });
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(await response.json()).toEqual({
        error: 'origin_not_allowed',
        message: expect.stringContaining('CORS_ORIGINS'),
      });
      expect(await upgradeStatus(url, { Origin: UNLISTED })).toBe(403);
      expect(await upgradeStatus(url, { Origin: 'null' })).toBe(403);
    });

    it('refuses an unlisted origin on a session a listed one opened', async () => {
      const url = await start({ corsOrigins: [LISTED] });
      const session = await PollingSession.open(url, { Origin: LISTED });
      const foreign = await fetch(session.url, {
        method: 'POST',
        body: '40/classroom,',
        headers: { Origin: UNLISTED },
      });
      expect(foreign.status).toBe(403);
    });

    it('answers a listed origin’s preflight and refuses an unlisted one’s with 403', async () => {
      const url = await start({ corsOrigins: [LISTED] });
      const preflight = (origin: string) =>
        fetch(pollingUrl(url), {
          method: 'OPTIONS',
          headers: {
            Origin: origin,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'content-type',
          },
        });
      const listed = await preflight(LISTED);
      expect(listed.status).toBe(204);
      expect(Object.fromEntries(listed.headers)).toMatchObject({
        'access-control-allow-origin': LISTED,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'content-type',
        vary: 'Origin, Access-Control-Request-Headers',
      });
      expect((await preflight(UNLISTED)).status).toBe(403);
    });

    it('leaves a client that sends no Origin header alone', async () => {
      await start({ corsOrigins: [LISTED] });
      const ada = await classroom.teacher('t-ada');
      expect(await ada.join('math')).toMatchObject({ ok: true });
      expect(await upgradeStatus(classroom.parts.url)).toBe(101);
    });
  });

  describe('with CORS_ORIGINS unset', () => {
    it('reflects any origin, without credentials', async () => {
      const url = await start();
      const response = await fetch(pollingUrl(url), { headers: { Origin: UNLISTED } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(UNLISTED);
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      await response.body?.cancel();
      expect(await upgradeStatus(url, { Origin: UNLISTED })).toBe(101);
    });

    it.each([
      ['warns once on a production node', { REDIS_URL: 'redis://127.0.0.1:1' }, 1],
      ['stays quiet on an embedded node', {}, 0],
      [
        'stays quiet once origins are listed',
        { REDIS_URL: 'redis://127.0.0.1:1', CORS_ORIGINS: LISTED },
        0,
      ],
    ])('%s', async (_what, env, warnings) => {
      const lines: Array<{ msg: string }> = [];
      const logger = pino(
        { level: 'warn' },
        new Writable({
          write(chunk, _encoding, done) {
            lines.push(JSON.parse(String(chunk)));
            done();
          },
        }),
      );
      const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', AUTH_JWT_SECRET: 's', ...env });
      if (!config.ok) throw new Error(config.error.message);
      // Without production adapters: only the mode matters here, and no Redis is dialled.
      const node = await startService(config.value, { logger });
      await node.close();
      expect(lines.filter((line) => line.msg.includes('CORS_ORIGINS'))).toHaveLength(warnings);
    });
  });

  describe('per client IP', () => {
    it('refuses connections beyond MAX_CONNECTIONS_PER_IP with 429, upgrades too, until one closes', async () => {
      const url = await start({ maxConnectionsPerIp: 2 });
      const first = await PollingSession.open(url);
      await PollingSession.open(url);
      const refused = await fetch(pollingUrl(url));
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({
        error: 'too_many_connections',
        message: expect.any(String),
      });
      expect(await upgradeStatus(url)).toBe(429);

      await first.post('1');
      expect(await handshakeStatus(url)).toBe(200);
    });

    it('gives the place of a handshake refused further on back', async () => {
      const url = await start({ maxConnectionsPerIp: 1 });
      const unsupported = await fetch(`${url}${SOCKET_PATH}/?EIO=3&transport=polling`);
      expect(unsupported.status).toBe(400);
      expect(await handshakeStatus(url)).toBe(200);
    });

    it('counts the first X-Forwarded-For hop with TRUST_PROXY=true', async () => {
      const url = await start({ maxConnectionsPerIp: 1, trustProxy: true });
      const from = (hops: string) => ({ 'X-Forwarded-For': hops });
      expect(await handshakeStatus(url, from('203.0.113.7, 10.0.0.1'))).toBe(200);
      expect(await handshakeStatus(url, from('203.0.113.7'))).toBe(429);
      expect(await handshakeStatus(url, from('198.51.100.9, 10.0.0.1'))).toBe(200);
    });

    it('ignores X-Forwarded-For without TRUST_PROXY', async () => {
      const url = await start({ maxConnectionsPerIp: 1 });
      expect(await handshakeStatus(url, { 'X-Forwarded-For': '203.0.113.7' })).toBe(200);
      expect(await handshakeStatus(url, { 'X-Forwarded-For': '198.51.100.9' })).toBe(429);
    });

    it('refuses handshakes with rate_limited after HANDSHAKE_FAILURES_PER_IP_PER_MIN refusals, before reading the token or the store', async () => {
      await start({ handshakeFailuresPerIpPerMin: 3 });
      for (let refused = 0; refused < 3; refused += 1) {
        expect(
          await classroom.refusal({ query: { role: 'teacher', org_id: 'north', auth: 'bad' } }),
        ).toMatchObject({ message: 'unauthorized' });
      }
      classroom.parts.presence.setUp(false);
      const limited = await refusalOf(classroom.socket({ query: { role: 'janitor' } }));
      expect(limited).toEqual({
        message: 'rate_limited',
        data: {
          code: 'rate_limited',
          message: expect.any(String),
          retry_after_s: expect.any(Number),
        },
      });
      const { retry_after_s } = limited.data as { retry_after_s: number };
      expect(retry_after_s).toBeGreaterThanOrEqual(1);
      expect(retry_after_s).toBeLessThanOrEqual(60);
      classroom.parts.presence.setUp(true);
      await expect(classroom.connect(ADA)).rejects.toMatchObject({ message: 'rate_limited' });
    });

    it('does not count unavailable refusals, which are the service’s own trouble', async () => {
      await start({ handshakeFailuresPerIpPerMin: 2 });
      classroom.parts.presence.setUp(false);
      for (let refused = 0; refused < 3; refused += 1) {
        await expect(classroom.connect(ADA)).rejects.toMatchObject({ message: 'unavailable' });
      }
      classroom.parts.presence.setUp(true);
      await classroom.connect(ADA);
    });

    it('counts refusals of other namespaces, and refuses them rate_limited too once over', async () => {
      const url = await start({ handshakeFailuresPerIpPerMin: 2 });
      const toNamespace = (namespace: string) =>
        refusalOf(
          connectTo(`${url}${namespace}`, {
            path: SOCKET_PATH,
            forceNew: true,
            autoConnect: false,
            reconnection: false,
          }),
        );
      expect(await toNamespace('/')).toMatchObject({ message: 'invalid_handshake' });
      expect(await toNamespace('/admin')).toMatchObject({ message: 'invalid_handshake' });
      expect(await toNamespace('/')).toMatchObject({ message: 'rate_limited' });
      await expect(classroom.connect(ADA)).rejects.toMatchObject({ message: 'rate_limited' });
    });
  });

  describe('namespaces', () => {
    it.each(['/', '/admin'])(
      'refuses %s at once with invalid_handshake naming /classroom',
      async (namespace) => {
        const url = await start();
        const socket = connectTo(`${url}${namespace}`, {
          path: SOCKET_PATH,
          forceNew: true,
          autoConnect: false,
          reconnection: false,
        });
        expect(await refusalOf(socket)).toEqual({
          message: 'invalid_handshake',
          data: { code: 'invalid_handshake', message: expect.stringContaining('/classroom') },
        });
        socket.disconnect();
      },
    );
  });

  describe('one socket per connection', () => {
    const connectPacket = (token: string) =>
      `40/classroom,${JSON.stringify({ role: 'teacher', org_id: 'north', auth: token })}`;
    const isAnswer = (packet: string) => /^4[04]\/classroom,/.test(packet);
    const connections = () =>
      classroom.parts.observed.filter((call) => call.call !== 'handled').map((call) => call.call);

    it('refuses a second CONNECT on a connection that has a socket, and leaves that socket as it was', async () => {
      const session = await PollingSession.open(await start());
      const token = await classroom.token(ADA);
      await session.post(connectPacket(token));
      expect(await session.next(isAnswer)).toMatch(/^40\/classroom,/);

      await session.post(connectPacket(token));
      const refused = await session.next(isAnswer);
      expect(payloadAfter(refused, '44/classroom,')).toEqual({
        message: 'invalid_handshake',
        data: { code: 'invalid_handshake', message: expect.any(String) },
      });

      await session.post(
        `42/classroom,1${JSON.stringify(['join_lesson', { user_id: 't-ada', lesson_id: 'math', role: 'teacher' }])}`,
      );
      const joined = await session.next((packet) => packet.startsWith('43/classroom,1'));
      expect(payloadAfter(joined, '43/classroom,1')).toMatchObject([{ ok: true }]);
      expect(connections()).toEqual(['connected']);
    });

    it('refuses a second CONNECT that arrives while the first is still being admitted', async () => {
      const session = await PollingSession.open(await start());
      const token = await classroom.token(ADA);
      await session.post(connectPacket(token), connectPacket(token));
      const answers = [await session.next(isAnswer), await session.next(isAnswer)];
      expect(answers.map((packet) => packet.slice(0, 2)).sort()).toEqual(['40', '44']);
      expect(connections()).toEqual(['connected']);
    });

    it('lets the connection connect again after a refusal', async () => {
      const session = await PollingSession.open(await start());
      await session.post(connectPacket('not-a-token'));
      expect(await session.next(isAnswer)).toMatch(/^44\/classroom,/);
      await session.post(connectPacket(await classroom.token(ADA)));
      expect(await session.next(isAnswer)).toMatch(/^40\/classroom,/);
    });

    it('lets the connection connect again once its socket has left', async () => {
      const session = await PollingSession.open(await start());
      const token = await classroom.token(ADA);
      await session.post(connectPacket(token));
      await session.next(isAnswer);
      const [socket] = classroom.parts.namespace.sockets.values();
      const left = new Promise((done) => socket?.once('disconnect', done));
      await session.post('41/classroom,');
      await left;
      await session.post(connectPacket(token));
      expect(await session.next(isAnswer)).toMatch(/^40\/classroom,/);
    });
  });

  describe('over HTTP long-polling', () => {
    it('answers an oversize POST with 413 and closes its session', async () => {
      const session = await PollingSession.open(await start());
      expect((await session.post(`4${'x'.repeat(64 * 1024)}`)).status).toBe(413);
      const later = await session.post('40/classroom,');
      expect(later.status).toBe(400);
      expect(await later.json()).toEqual({ code: 1, message: 'Session ID unknown' });
    });
  });
});
