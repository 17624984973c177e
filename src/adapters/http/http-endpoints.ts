import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ServiceMetrics } from './metrics.js';

/** One dependency `/readyz` asks about, such as Redis or the database. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<{ readonly ok: boolean; readonly detail?: string }>;
}

interface CheckReport {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/** What a route answers; headers replace the default `cache-control: no-store` when they set it. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Answers GET and HEAD of one path; HEAD sends the headers without the body. */
export type HttpRoute = (request: IncomingMessage) => HttpAnswer | Promise<HttpAnswer>;

export interface HttpEndpoints {
  /** From now on `/readyz` answers 503 `draining`, so load balancers stop sending new clients. */
  drain(): void;
}

export interface HttpEndpointsDeps {
  readonly metrics: Pick<ServiceMetrics, 'text' | 'contentType'>;
  readonly readiness: readonly ReadinessCheck[];
  readonly logger: Logger;
  /** How long one readiness check may take before it counts as failed. */
  readonly checkTimeoutMs?: number;
  /** Socket.IO's path: requests below it are left to engine.io, whatever the attach order. */
  readonly socketPath?: string;
  /** More pages by path, such as the manager console; the built-in paths cannot be replaced. */
  readonly routes?: ReadonlyMap<string, HttpRoute>;
}

const DEFAULT_CHECK_TIMEOUT_MS = 1_000;

/**
 * Answers `GET /healthz` (200 while the process runs), `GET /readyz` (200 when every readiness
 * check passes, else 503 naming the failed ones), `GET /metrics` (Prometheus text) and the extra
 * `routes` on the service's HTTP server; HEAD works like GET, anything else is 404.
 */
export function attachHttpEndpoints(server: Server, deps: HttpEndpointsDeps): HttpEndpoints {
  const socketPrefix = `${deps.socketPath ?? '/sockets'}/`;
  const timeoutMs = deps.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  let draining = false;

  const routes = new Map<string, HttpRoute>([
    ...(deps.routes ?? []),
    ['/healthz', () => json(200, { status: 'ok' })],
    [
      '/readyz',
      async () => {
        if (draining) return json(503, { status: 'draining', failed: [], checks: [] });
        const checks = await Promise.all(deps.readiness.map((check) => run(check, timeoutMs)));
        const failed = checks.filter((report) => !report.ok).map((report) => report.name);
        return failed.length === 0
          ? json(200, { status: 'ready', checks })
          : json(503, { status: 'not_ready', failed, checks });
      },
    ],
    [
      '/metrics',
      async () => ({
        status: 200,
        headers: { 'content-type': deps.metrics.contentType },
        body: await deps.metrics.text(),
      }),
    ],
  ]);

  const answer = async (request: IncomingMessage): Promise<HttpAnswer> => {
    const route =
      request.method === 'GET' || request.method === 'HEAD'
        ? routes.get(new URL(request.url ?? '/', 'http://service').pathname)
        : undefined;
    return route === undefined ? json(404, { error: 'not_found' }) : route(request);
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url?.startsWith(socketPrefix)) return;
    answer(request)
      .catch((error: unknown) => {
        deps.logger.error({ err: error, url: request.url }, 'HTTP endpoint failed');
        return json(500, { error: 'internal' });
      })
      .then(({ status, headers, body }) => {
        response.writeHead(status, { 'cache-control': 'no-store', ...headers });
        response.end(body);
      });
  });

  return {
    drain: () => {
      draining = true;
    },
  };
}

function json(status: number, body: unknown): HttpAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
  };
}

/** Runs one check; a throw or a timeout is a failure with its reason, never an error. */
async function run(check: ReadinessCheck, timeoutMs: number): Promise<CheckReport> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckReport>((resolve) => {
    timer = setTimeout(
      () => resolve({ name: check.name, ok: false, detail: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const checked = check.check().then(
    ({ ok, detail }): CheckReport => ({
      name: check.name,
      ok,
      ...(detail === undefined ? {} : { detail }),
    }),
    (error: unknown): CheckReport => ({
      name: check.name,
      ok: false,
      detail: error instanceof Error ? error.message : String(error),
    }),
  );
  try {
    return await Promise.race([checked, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
