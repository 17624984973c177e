import type { IncomingMessage } from 'node:http';

/**
 * The client IP that the per-IP limits count (PROTOCOL §1): the connection's remote address, or,
 * with `trustProxy`, the first `X-Forwarded-For` hop — the client as the load balancer in front
 * saw it. Without such a proxy the header is whatever the client wrote, so it is only read when
 * the operator says a proxy sets it.
 */
export function clientIp(request: IncomingMessage, trustProxy: boolean): string {
  const hops = trustProxy ? [request.headers['x-forwarded-for'] ?? []].flat().join(',') : '';
  return hops.split(',', 1)[0]?.trim() || request.socket.remoteAddress || 'unknown';
}
