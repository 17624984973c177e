import { isIPv4 } from 'node:net';

/**
 * A server node the load driver may talk to: `http://` on a loopback address only, because the
 * driver opens thousands of connections and must never be pointed at somebody else's machine.
 * Returns the URL's origin, or an error sentence naming what is wrong.
 */
export function parseNodeUrl(
  text: string,
): { ok: true; url: string } | { ok: false; reason: string } {
  if (!URL.canParse(text)) return { ok: false, reason: `${JSON.stringify(text)} is not a URL` };
  const url = new URL(text);
  if (url.protocol !== 'http:') {
    return { ok: false, reason: `${text} must be an http:// URL (the service's HTTP port)` };
  }
  if (!isLoopbackHost(url.hostname)) {
    return {
      ok: false,
      reason: `${text} is not a loopback address; load runs only against 127.0.0.0/8, [::1] or localhost`,
    };
  }
  return { ok: true, url: url.origin };
}

function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return isIPv4(hostname) && hostname.startsWith('127.');
}
