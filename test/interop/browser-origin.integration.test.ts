import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../support/chromium.js';
import { type DemoService, startDemoService } from '../support/demo-service.js';

/** The browser bundle that socket.io-client ships (its package exports do not name it). */
const CLIENT_BUNDLE = readFileSync(
  join(import.meta.dirname, '../../node_modules/socket.io-client/dist/socket.io.min.js'),
);

/** A web app's own server: a page that loads the stock Socket.IO 4 browser client. */
async function pageServer(): Promise<{ readonly origin: string; readonly server: Server }> {
  const server = createServer((request, response) => {
    if (request.url === '/socket.io.min.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(CLIENT_BUNDLE);
    } else {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>app</title><script src="/socket.io.min.js"></script>');
    }
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * The HTTP statuses Chromium gets for requests under the socket path, seen through DevTools: a
 * response that CORS hides from the page still shows its status there, and a refused WebSocket
 * handshake reports it in its error. DevTools reports them on its own schedule, possibly after
 * the page has seen the outcome, so `first` waits for one. A response's ExtraInfo event comes
 * from the network service and may arrive before the renderer's event that names the request's
 * URL (it did on a loaded machine), so a status waits for its URL as much as the other way round.
 */
async function socketPathStatuses(page: Page) {
  const statuses: number[] = [];
  let firstSeen: (status: number) => void = () => {};
  const first = new Promise<number>((resolve) => {
    firstSeen = resolve;
  });
  const record = (status: number) => {
    statuses.push(status);
    firstSeen(status);
  };
  const socketRequests = new Set<string>();
  const otherRequests = new Set<string>();
  const statusesAwaitingUrl = new Map<string, number>();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
    if (!new URL(request.url).pathname.startsWith('/sockets/')) {
      otherRequests.add(requestId);
      return;
    }
    socketRequests.add(requestId);
    const status = statusesAwaitingUrl.get(requestId);
    statusesAwaitingUrl.delete(requestId);
    if (status !== undefined) record(status);
  });
  cdp.on('Network.responseReceivedExtraInfo', ({ requestId, statusCode }) => {
    if (socketRequests.has(requestId)) record(statusCode);
    else if (!otherRequests.has(requestId)) statusesAwaitingUrl.set(requestId, statusCode);
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', ({ response }) => {
    record(response.status);
  });
  cdp.on('Network.webSocketFrameError', ({ errorMessage }) => {
    const refused = /Unexpected response code: (\d+)/.exec(errorMessage)?.[1];
    if (refused !== undefined) record(Number(refused));
  });
  return { statuses, first };
}

type Outcome = { connected: true; transport: string; joined: boolean } | { connected: false };

/** From the page: connects as the demo teacher with credentials on, and joins the lesson. */
function connectFromPage(page: Page, url: string, transport: string, token: string) {
  return page.evaluate(
    ([url, transport, token]) =>
      new Promise<Outcome>((resolve) => {
        const { io } = window as unknown as { io: typeof import('socket.io-client').io };
        const socket = io(`${url}/classroom`, {
          path: '/sockets',
          transports: [transport],
          auth: { role: 'teacher', org_id: 'demo-org', auth: token },
          withCredentials: true,
          reconnection: false,
        });
        socket.on('connect', () => {
          const { name } = socket.io.engine.transport;
          socket.emit(
            'join_lesson',
            { user_id: 't-ada', lesson_id: 'lesson-math', role: 'teacher' },
            (ack: { ok: boolean }) => {
              socket.disconnect();
              resolve({ connected: true, transport: name, joined: ack.ok });
            },
          );
        });
        socket.on('connect_error', () => {
          socket.disconnect();
          resolve({ connected: false });
        });
      }),
    [url, transport, token] as const,
  );
}

describe.runIf(hasChromium)('A browser page on another origin, with CORS_ORIGINS set', () => {
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let listed: Awaited<ReturnType<typeof pageServer>>;
  let unlisted: Awaited<ReturnType<typeof pageServer>>;
  let demo: DemoService;
  let token: string;

  beforeAll(async () => {
    listed = await pageServer();
    unlisted = await pageServer();
    demo = await startDemoService({ CORS_ORIGINS: listed.origin });
    token = await demo.token('t-ada', 'teacher');
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await demo?.service.close();
    for (const app of [listed, unlisted]) app?.server.close();
  });

  async function tryFrom(origin: string, transport: string) {
    const page = await chromium.newPage();
    try {
      const { statuses, first } = await socketPathStatuses(page);
      await page.goto(origin);
      const outcome = await connectFromPage(page, demo.service.url, transport, token);
      await first;
      return { outcome, statuses };
    } finally {
      await page.close();
    }
  }

  it.each([
    ['polling', 200],
    ['websocket', 101],
  ])('connects from a listed origin over %s', async (transport, status) => {
    const { outcome, statuses } = await tryFrom(listed.origin, transport);
    expect(outcome).toEqual({ connected: true, transport, joined: true });
    expect(new Set(statuses)).toEqual(new Set([status]));
  });

  it.each(['polling', 'websocket'])(
    'is refused with 403 from an unlisted origin over %s',
    async (transport) => {
      const { outcome, statuses } = await tryFrom(unlisted.origin, transport);
      expect(outcome).toEqual({ connected: false });
      expect(statuses).toEqual([403]);
    },
  );
});
