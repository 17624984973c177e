import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { type RunningService, startService } from '../../../src/runtime.js';

const running: RunningService[] = [];

async function start(env: NodeJS.ProcessEnv = {}): Promise<RunningService> {
  const loaded = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DISCONNECT_GRACE_S: '120',
    COOLDOWN_S: '900',
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const service = await startService(loaded.value, {
    logger: pino({ level: 'silent' }),
  });
  running.push(service);
  return service;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.close()));
});

/** A GET with headers `fetch` refuses to set, such as Host. */
function get(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, unknown> }>((done, failed) => {
    httpRequest(url, { headers }, (response) => {
      response.resume();
      done({ status: response.statusCode ?? 0, headers: response.headers });
    })
      .on('error', failed)
      .end();
  });
}

const installedBundle = () => {
  const manifest = createRequire(import.meta.url).resolve('socket.io-client/package.json');
  return readFileSync(join(dirname(manifest), 'dist', 'socket.io.esm.min.js'), 'utf8');
};

describe('the manager console route', () => {
  it('serves the page with a strict Content-Security-Policy and the timings as data attributes', async () => {
    const service = await start();
    const response = await fetch(`${service.url}/console`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const host = new URL(service.url).host;
    expect(response.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
        `connect-src 'self' ws://${host} wss://${host}; base-uri 'none'; form-action 'none'; ` +
        "frame-ancestors 'none'",
    );
    const html = await response.text();
    expect(html).toContain('data-disconnect-grace-s="120"');
    expect(html).toContain('data-cooldown-s="900"');
    expect(html).not.toContain('{{');
  });

  it('has no inline script, style or event handler for the policy to block', async () => {
    const service = await start();
    const html = await (await fetch(`${service.url}/console`)).text();
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts.map(([tag]) => /\ssrc="\/console\//.test(tag))).toEqual([true]);
    expect(scripts.map(([, body]) => body?.trim())).toEqual(['']);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });

  it.each([
    ['/console/console.js', 'text/javascript; charset=utf-8'],
    ['/console/console.css', 'text/css; charset=utf-8'],
    ['/console/favicon.svg', 'image/svg+xml'],
    ['/console/socket.io.esm.min.js', 'text/javascript; charset=utf-8'],
  ])('serves %s as %s, not to be sniffed as anything else', async (path, contentType) => {
    const service = await start();
    const response = await fetch(`${service.url}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(contentType);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await response.text()).length).toBeGreaterThan(0);
  });

  it('serves the installed socket.io-client’s browser bundle, without its source map link', async () => {
    const service = await start();
    const served = await (await fetch(`${service.url}/console/socket.io.esm.min.js`)).text();
    const installed = installedBundle();
    expect(installed).toContain('//# sourceMappingURL=');
    expect(served).not.toContain('sourceMappingURL');
    expect(served.trimEnd()).toBe(
      installed.replace(/\/\/# sourceMappingURL=\S+\s*$/, '').trimEnd(),
    );
  });

  it('answers 304 without a body while the browser’s copy is current', async () => {
    const service = await start();
    const first = await fetch(`${service.url}/console/console.js`);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${service.url}/console/console.js`, {
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const stale = await fetch(`${service.url}/console/console.js`, {
      headers: { 'if-none-match': '"something-else"' },
    });
    expect(stale.status).toBe(200);
  });

  it('leaves a Host header that could extend the policy out of it', async () => {
    const service = await start();
    const response = await get(`${service.url}/console`, {
      host: "evil.example; script-src 'unsafe-inline'",
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-security-policy']).toContain("connect-src 'self'; ");
    expect(response.headers['content-security-policy']).not.toContain('unsafe-inline');
  });

  it('answers 404 on every console path when CONSOLE_ENABLED=false', async () => {
    const service = await start({ CONSOLE_ENABLED: 'false' });
    for (const path of ['/console', '/console/console.js', '/console/socket.io.esm.min.js']) {
      expect((await fetch(`${service.url}${path}`)).status).toBe(404);
    }
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});
