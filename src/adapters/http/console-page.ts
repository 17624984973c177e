import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { HttpAnswer, HttpRoute } from './http-endpoints.js';

/** The settings the page needs to draw countdowns; the server writes them into the HTML. */
export interface ConsoleSettings {
  readonly disconnectGraceS: number;
  readonly cooldownS: number;
}

/** Where the page lives (PROTOCOL §5b); its assets sit below it. */
export const CONSOLE_PATH = '/console';

const PAGE_DIR = join(import.meta.dirname, 'console');

/**
 * The Socket.IO client's browser bundle, from the installed package: the page speaks exactly the
 * protocol of the client version the service was tested with. The package's `exports` do not list
 * this file, so it is found next to the package's manifest.
 */
function socketIoClientBundle(): string {
  const manifest = createRequire(import.meta.url).resolve('socket.io-client/package.json');
  const bundle = readFileSync(join(dirname(manifest), 'dist', 'socket.io.esm.min.js'), 'utf8');
  // The source map is not served: without this line a browser's developer tools ask for it and
  // log a 404 on every open.
  return bundle.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

/**
 * Nothing but the service's own scripts, styles and sockets: no inline code, no other origin, no
 * framing. Browsers that predate CSP 3 do not count WebSockets as `'self'`, hence the explicit
 * ws/wss sources for the host the page was asked for.
 */
function contentSecurityPolicy(request: IncomingMessage): string {
  const host = request.headers.host;
  const sockets = host !== undefined && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A host name or address with an optional port: nothing that could end or extend a directive. */
const PLAIN_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

const HTML = 'text/html; charset=utf-8';
const JAVASCRIPT = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const SVG = 'image/svg+xml';

/**
 * One file answered from memory. `no-cache` with an ETag: a browser asks again every time and gets
 * an empty 304 while nothing changed, so a new version of the service is picked up at once.
 */
function staticRoute(
  body: string,
  contentType: string,
  headers: (request: IncomingMessage) => Record<string, string> = () => ({}),
): HttpRoute {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return (request): HttpAnswer => {
    const common = {
      'cache-control': 'no-cache',
      etag,
      'x-content-type-options': 'nosniff',
      ...headers(request),
    };
    return request.headers['if-none-match'] === etag
      ? { status: 304, headers: common, body: '' }
      : { status: 200, headers: { ...common, 'content-type': contentType }, body };
  };
}

/**
 * The manager console (PROTOCOL §5b): `GET /console` and the files it loads, read once, here, at
 * start-up. The page is plain HTML, CSS and an ES module with no build step; the timings it counts
 * down with travel as data attributes, since the CSP forbids inline scripts.
 */
export function consoleRoutes(settings: ConsoleSettings): ReadonlyMap<string, HttpRoute> {
  const file = (name: string) => readFileSync(join(PAGE_DIR, name), 'utf8');
  const html = file('index.html')
    .replace('{{DISCONNECT_GRACE_S}}', String(settings.disconnectGraceS))
    .replace('{{COOLDOWN_S}}', String(settings.cooldownS));
  const page = staticRoute(html, HTML, (request) => ({
    'content-security-policy': contentSecurityPolicy(request),
    'referrer-policy': 'no-referrer',
  }));
  return new Map([
    [CONSOLE_PATH, page],
    [`${CONSOLE_PATH}/`, page],
    [`${CONSOLE_PATH}/console.js`, staticRoute(file('console.js'), JAVASCRIPT)],
    [`${CONSOLE_PATH}/console.css`, staticRoute(file('console.css'), CSS)],
    [`${CONSOLE_PATH}/favicon.svg`, staticRoute(file('favicon.svg'), SVG)],
    [`${CONSOLE_PATH}/socket.io.esm.min.js`, staticRoute(socketIoClientBundle(), JAVASCRIPT)],
  ]);
}
