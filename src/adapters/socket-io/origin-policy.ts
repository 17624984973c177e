import { ServerResponse } from 'node:http';
import { type EngineMiddleware, refuseRequest } from './engine-middleware.js';

/**
 * The Origin rule of PROTOCOL §1 and the CORS answers of the socket path. A request with an
 * `Origin` header that is not in `allowlist` is refused with 403 before Engine.IO looks at it,
 * long-polling and WebSocket upgrades alike; listed origins get CORS answers that allow
 * credentials (cookie-based sticky sessions at a load balancer). A null `allowlist` allows every
 * origin, without credentials: tokens travel in the handshake, not in cookies. Requests without
 * an `Origin` header (native apps, servers) pass untouched.
 *
 * This takes the place of Engine.IO's `cors` option, whose middleware runs before any other and
 * would answer an unlisted origin's preflight with a 204 before this rule could refuse it.
 */
export function originPolicy(allowlist: readonly string[] | null): EngineMiddleware {
  return (request, response, next) => {
    const { origin } = request.headers;
    if (origin === undefined) {
      next();
      return;
    }
    if (allowlist !== null && !allowlist.includes(origin)) {
      refuseRequest(response, 403, {
        error: 'origin_not_allowed',
        message: `Origin ${origin} may not connect: it is not in CORS_ORIGINS.`,
      });
      return;
    }
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Vary', 'Origin');
    if (allowlist !== null) response.setHeader('Access-Control-Allow-Credentials', 'true');
    if (request.method === 'OPTIONS' && response instanceof ServerResponse) {
      // A preflight, which Engine.IO itself would not answer; it serves GET and POST only.
      const requestedHeaders = request.headers['access-control-request-headers'];
      response.setHeader('Access-Control-Allow-Methods', 'GET, POST');
      if (requestedHeaders !== undefined) {
        response.setHeader('Access-Control-Allow-Headers', requestedHeaders);
        response.setHeader('Vary', 'Origin, Access-Control-Request-Headers');
      }
      response.writeHead(204).end();
      return;
    }
    next();
  };
}
