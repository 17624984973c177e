import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { io as connect } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachHttpEndpoints,
  type HttpEndpointsDeps,
  type ReadinessCheck,
} from '../../../src/adapters/http/http-endpoints.js';
import { ServiceMetrics } from '../../../src/adapters/http/metrics.js';
import { createSocketServer } from '../../../src/adapters/socket-io/socket-server.js';

const logger = pino({ level: 'silent' });
const servers: Server[] = [];

async function serve(deps: Partial<HttpEndpointsDeps> = {}) {
  const server = createServer();
  servers.push(server);
  const endpoints = attachHttpEndpoints(server, {
    metrics: new ServiceMetrics(),
    readiness: [],
    logger,
    ...deps,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, endpoints, base };
}

const check = (name: string, answer: ReadinessCheck['check']): ReadinessCheck => ({
  name,
  check: answer,
});

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

describe('the HTTP endpoints', () => {
  it('answer /healthz with 200 ok', async () => {
    const { base } = await serve();
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answer /readyz with 200 when every check passes', async () => {
    const { base } = await serve({
      readiness: [check('redis', async () => ({ ok: true, detail: 'PONG' }))],
    });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      checks: [{ name: 'redis', ok: true, detail: 'PONG' }],
    });
  });

  it('answer /readyz with 503 naming each check that failed, threw or did not answer in time', async () => {
    const { base } = await serve({
      checkTimeoutMs: 100,
      readiness: [
        check('redis', async () => ({ ok: true })),
        check('database', async () => ({ ok: false, detail: 'connection refused' })),
        check('expiry-notifications', async () => {
          throw new Error('CONFIG is disabled');
        }),
        check('mixpanel', () => new Promise(() => {})),
      ],
    });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: 'not_ready',
      failed: ['database', 'expiry-notifications', 'mixpanel'],
      checks: [
        { name: 'redis', ok: true },
        { name: 'database', ok: false, detail: 'connection refused' },
        { name: 'expiry-notifications', ok: false, detail: 'CONFIG is disabled' },
        { name: 'mixpanel', ok: false, detail: 'no answer within 100 ms' },
      ],
    });
  });

  it('answer /readyz with 503 draining once the service is shutting down', async () => {
    const { base, endpoints } = await serve();
    endpoints.drain();
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'draining' });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('serve the service metrics in the Prometheus text format at /metrics', async () => {
    const metrics = new ServiceMetrics();
    const { base } = await serve({ metrics });
    metrics.connected('teacher_app');
    metrics.handled('join_lesson', 'ok', 0.002);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('classroom_connected_sockets{client="teacher_app"} 1');
    expect(text).toContain('classroom_events_total{event="join_lesson",outcome="ok"} 1');
    expect(text).toContain('classroom_ack_latency_seconds_bucket');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('serve extra routes with their own headers, and never let one replace a built-in path', async () => {
    const page = (body: string) => () => ({
      status: 200,
      headers: { 'content-type': 'text/plain', 'cache-control': 'no-cache' },
      body,
    });
    const { base } = await serve({
      routes: new Map([
        ['/page', page('a page')],
        ['/healthz', page('not health')],
      ]),
    });
    const response = await fetch(`${base}/page`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toBe('a page');
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/page`, { method: 'POST' })).status).toBe(404);
  });

  it('answer HEAD like GET, without a body', async () => {
    const { base } = await serve();
    const response = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it.each([
    ['GET', '/'],
    ['GET', '/sockets'],
    ['GET', '/healthz/extra'],
    ['POST', '/healthz'],
    ['DELETE', '/metrics'],
  ])('answer %s %s with 404', async (method, path) => {
    const { base } = await serve();
    const response = await fetch(`${base}${path}`, { method });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found' });
  });

  it('answer 500 when producing a response fails, and keep serving', async () => {
    const { base } = await serve({
      metrics: {
        contentType: 'text/plain',
        text: async () => {
          throw new Error('registry broken');
        },
      },
    });
    expect((await fetch(`${base}/metrics`)).status).toBe(500);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it.each([
    ['before', true],
    ['after', false],
  ])('leave Socket.IO its /sockets path when attached %s it', async (_order, endpointsFirst) => {
    const server = createServer();
    servers.push(server);
    const attach = () =>
      attachHttpEndpoints(server, { metrics: new ServiceMetrics(), readiness: [], logger });
    if (endpointsFirst) attach();
    const io = createSocketServer(server);
    if (!endpointsFirst) attach();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = connect(base, { path: '/sockets', reconnection: false });
    try {
      await new Promise<void>((resolve) => client.once('connect', resolve));
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      client.close();
      await io.close();
    }
  });
});
