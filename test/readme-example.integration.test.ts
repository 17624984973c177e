import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../src/adapters/jwt/sign-access-token.js';
import { loadConfig } from '../src/config.js';
import { type RunningService, startService } from '../src/runtime.js';

const ROOT = resolve(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The first ```js block after the `example:join-lesson` marker: what the printed command runs. */
function exampleBlock(markdown: string): string {
  const afterMarker = markdown.slice(markdown.indexOf('example:join-lesson'));
  const block = /^```js\n([\s\S]*?)^```$/m.exec(afterMarker);
  if (!markdown.includes('example:join-lesson') || block === null) {
    throw new Error('README.md has no ```js block after the example:join-lesson marker');
  }
  return block[1] ?? '';
}

describe('README.md', () => {
  it('opens with the two commands a newcomer needs', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
    const commands = firstBlock.split('\n').map((line) => line.split('#')[0]?.trim());
    expect(commands.slice(0, 2)).toEqual(['npm ci && npm start', 'npm test']);
    expect(README.indexOf(firstBlock)).toBeLessThan(README.indexOf('\n## '));
  });

  describe('the client example', () => {
    let service: RunningService;
    let token: string;
    // Inside the repository, so that the example's `socket.io-client` import resolves.
    const dir = join(ROOT, '.tmp');
    const file = join(dir, `readme-example-${randomUUID()}.mjs`);

    beforeAll(async () => {
      const config = loadConfig({ PORT: '0', HOST: '127.0.0.1' });
      if (!config.ok) throw new Error(config.error.message);
      service = await startService(config.value, { logger: pino({ level: 'silent' }) });
      token = await signAccessToken({
        secret: config.value.jwt.secret,
        sub: 't-ada',
        orgId: 'demo-org',
        role: 'teacher',
        ttlS: 600,
        nowS: Math.floor(Date.now() / 1000),
      });
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, exampleBlock(README));
    });

    afterAll(async () => {
      rmSync(file, { force: true });
      await service?.close();
    });

    it('joins the demo lesson as the demo teacher and prints an ok ack with the seat map', async () => {
      const stdout = await new Promise<string>((done, failed) =>
        execFile(
          process.execPath,
          [file],
          {
            cwd: ROOT,
            timeout: 10_000,
            env: { PATH: process.env.PATH, CLASSROOM_URL: service.url, CLASSROOM_TOKEN: token },
          },
          (error, out, err) => (error === null ? done(out) : failed(new Error(`${error}\n${err}`))),
        ),
      );
      const ack = JSON.parse(stdout);
      expect(ack.ok).toBe(true);
      expect(ack.data.lesson_id).toBe('lesson-math');
      const seats = Array.from({ length: 30 }, (_, index) => [String(index + 1), '']);
      expect(ack.data.seats).toEqual(Object.fromEntries(seats));
    });
  });
});
