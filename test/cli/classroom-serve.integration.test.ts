import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JoseTokenVerifier } from '../../src/adapters/jwt/jose-token-verifier.js';
import { ROOT, runClassroom, type Serving, startServe } from './cli-process.js';

const serving: Serving[] = [];

function serve(env: NodeJS.ProcessEnv = {}): Serving {
  const child = startServe({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env });
  serving.push(child);
  return child;
}

/** The banner ends with the command that runs the README example. */
const bannerDone = /CLASSROOM_TOKEN=\S+ node .*README\.md\)"\n/;

afterEach(async () => {
  for (const { child, exited } of serving.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
});

describe('classroom serve', () => {
  it.concurrent.each([
    ['PORT', { PORT: 'eighty' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['AUTH_JWT_SECRET', { REDIS_URL: 'redis://127.0.0.1:6379' }],
  ])('exits 2 with one line naming %s when the configuration is bad', async (variable, env) => {
    const { code, stdout, stderr } = await runClassroom(['serve'], env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${variable} `)),
    ]);
  });

  it('exits 1 with one line when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const { port } = blocker.address() as { port: number };
    try {
      const { code, stderr } = await runClassroom(['serve'], {
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
      });
      expect(code).toBe(1);
      expect(stderr).toMatch(/^Cannot start: .*EADDRINUSE/);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    } finally {
      blocker.close();
    }
  });

  it('prints the URL, the demo school, tokens and a command that joins the demo lesson', async () => {
    const server = serve();
    const banner = await server.waitFor(bannerDone);
    const url = /Socket\.IO\s+(http:\/\/127\.0\.0\.1:\d+)\/classroom/.exec(banner)?.[1];
    expect(url).toBeDefined();
    expect(banner).toContain('demo-org');
    expect(banner).toContain('lesson-math');
    // Tokens of a made-up secret die with the run: the banner says how to keep them.
    expect(banner).toContain('set AUTH_JWT_SECRET to keep them');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const command = /^ {4}(CLASSROOM_URL=.*)$/m.exec(banner)?.[1] ?? '';
    const printed = await new Promise<string>((done, failed) =>
      execFile('sh', ['-c', command], { cwd: ROOT, timeout: 10_000 }, (error, stdout, stderr) =>
        error === null ? done(stdout) : failed(new Error(`${error.message}\n${stderr}`)),
      ),
    );
    const ack = JSON.parse(printed);
    expect(ack).toMatchObject({ ok: true, data: { lesson_id: 'lesson-math' } });
    expect(Object.keys(ack.data.seats)).toHaveLength(30);
  });

  it('prints the console’s URL, which serves the console', async () => {
    const banner = await serve().waitFor(bannerDone);
    const consoleUrl = /^ {2}Console\s+(http:\/\/127\.0\.0\.1:\d+\/console)\s/m.exec(banner)?.[1];
    expect(consoleUrl).toBeDefined();
    const response = await fetch(consoleUrl ?? '');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Manager token');
  });

  it('prints demo tokens for a teacher, a student and an admin manager', async () => {
    const secret = 'a-serve-test-secret-of-enough-length';
    const banner = await serve({ AUTH_JWT_SECRET: secret }).waitFor(bannerDone);
    expect(banner).toContain('signed with AUTH_JWT_SECRET');
    const tokens = [...banner.matchAll(/^ {6}(ey\S+)$/gm)].map((match) => match[1] ?? '');
    const verifier = new JoseTokenVerifier({ secret });
    const claims = await Promise.all(tokens.map((token) => verifier.verify(token)));
    const exp = expect.any(Number);
    expect(claims).toEqual([
      { ok: true, value: { userId: 't-ada', orgId: 'demo-org', role: 'teacher', expiresAtS: exp } },
      { ok: true, value: { userId: 's-1', orgId: 'demo-org', role: 'student', expiresAtS: exp } },
      { ok: true, value: { userId: 'm-linus', orgId: 'demo-org', role: 'admin', expiresAtS: exp } },
    ]);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'shuts down gracefully on %s and exits 0',
    async (signal) => {
      const server = serve();
      const banner = await server.waitFor(bannerDone);
      const url = /Socket\.IO\s+(http:\/\/\S+)\/classroom/.exec(banner)?.[1];
      server.child.kill(signal);
      expect(await server.exited).toEqual({ code: 0, signal: null });
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    },
  );
});
