import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPythonSocketIo, hasSocketIoClientV2, PYTHON } from '../support/clients.js';
import { type DemoService, startDemoService } from '../support/demo-service.js';

const ROOT = resolve(import.meta.dirname, '../..');
const GUIDE = readFileSync(join(ROOT, 'docs/clients.md'), 'utf8');

interface Example {
  /** From the `<!-- example:NAME -->` line right before the block; null when it has none. */
  readonly name: string | null;
  readonly language: string;
  readonly code: string;
}

/** Every fenced code block of the guide, in order. */
function examples(markdown: string): Example[] {
  return [
    ...markdown.matchAll(/(?:<!-- example:([a-z0-9-]+) -->\n)?^```(\w*)\n([\s\S]*?)^```$/gm),
  ].map(([, name, language, code]) => ({
    name: name ?? null,
    language: language ?? '',
    code: code ?? '',
  }));
}

interface Runner {
  readonly language: 'js' | 'python';
  /** What the example shows: joining the demo lesson, or refreshing a token that runs out. */
  readonly shows: 'join' | 'refresh';
  /** Whether this machine has the client (a named skip, or a failure under CI=true). */
  readonly ready: boolean;
  /** The file run: the block itself, or with the package as this repository installs it. */
  readonly source?: (code: string) => string;
}

/** Each example of the guide, in order, and how it runs. */
const RUNNERS: Record<string, Runner> = {
  'teacher-js': { language: 'js', shows: 'join', ready: true },
  'teacher-js-v2': {
    language: 'js',
    shows: 'join',
    ready: hasSocketIoClientV2(),
    // socket.io-client 2 is installed here under an alias; the block names the package an app
    // would install.
    source: (code) => code.replace("'socket.io-client'", "'socket.io-client-v2'"),
  },
  'teacher-python': { language: 'python', shows: 'join', ready: await hasPythonSocketIo() },
  'refresh-token-js': { language: 'js', shows: 'refresh', ready: true },
};

function exampleNamed(name: string): Example {
  const found = examples(GUIDE).find((example) => example.name === name);
  if (found === undefined) throw new Error(`docs/clients.md has no example:${name} block`);
  return found;
}

describe('docs/clients.md', () => {
  let demo: DemoService;
  // Inside the repository, so that the examples' imports resolve.
  const dir = join(ROOT, '.tmp');
  const written: string[] = [];

  beforeAll(async () => {
    demo = await startDemoService({ ALLOW_EIO3: 'true' });
    mkdirSync(dir, { recursive: true });
  });

  afterAll(async () => {
    for (const file of written) rmSync(file, { force: true });
    await demo?.service.close();
  });

  /**
   * Runs an example as a teacher with `token` (and `freshToken` for the refresh example);
   * resolves with what it printed.
   */
  function run(name: string, runner: Runner, token: string, freshToken = ''): Promise<string> {
    const { code } = exampleNamed(name);
    const extension = runner.language === 'js' ? 'mjs' : 'py';
    const file = join(dir, `clients-guide-${name}-${randomUUID()}.${extension}`);
    writeFileSync(file, runner.source?.(code) ?? code);
    written.push(file);
    const program = runner.language === 'js' ? process.execPath : PYTHON;
    const env = {
      PATH: process.env.PATH,
      CLASSROOM_URL: demo.service.url,
      CLASSROOM_TOKEN: token,
      CLASSROOM_FRESH_TOKEN: freshToken,
    };
    return new Promise((done, failed) =>
      execFile(program, [file], { cwd: ROOT, env, timeout: 20_000 }, (error, stdout, stderr) =>
        error === null ? done(stdout) : failed(new Error(`${error.message}\n${stderr}`)),
      ),
    );
  }

  it('marks every code block with the example that runs it', () => {
    const blocks = examples(GUIDE);
    expect(blocks.filter((block) => block.name === null)).toEqual([]);
    expect(blocks.map((block) => [block.name, block.language])).toEqual(
      Object.entries(RUNNERS).map(([name, runner]) => [name, runner.language]),
    );
  });

  it('would notice a code block without a marker', () => {
    expect(examples('text\n```js\nx\n```\n').map((block) => block.name)).toEqual([null]);
  });

  for (const [name, runner] of Object.entries(RUNNERS)) {
    if (runner.shows !== 'join') continue;
    it.runIf(runner.ready)(
      `${name} joins the demo lesson, and prints the code of a bad token’s refusal`,
      async () => {
        const joined = await run(name, runner, await demo.token('t-ada', 'teacher'));
        expect(joined).toMatch(/^joined lesson-math\b/);
        expect(await run(name, runner, 'not-a-token')).toBe('refused: unauthorized\n');
      },
    );
  }

  it('refresh-token-js refreshes a token that runs out, and shows the code when the new one is wrong', async () => {
    const runner = RUNNERS['refresh-token-js'] as Runner;
    // Under 30 s left: token_expiring comes at once.
    const expiring = await demo.token('t-ada', 'teacher', 20);
    const fresh = await demo.token('t-ada', 'teacher', 3600);
    const { exp } = JSON.parse(Buffer.from(fresh.split('.')[1] ?? '', 'base64url').toString()) as {
      exp: number;
    };
    expect(await run('refresh-token-js', runner, expiring, fresh)).toMatch(
      new RegExp(`^token expires at \\d+\nrefreshed until ${exp}\n$`),
    );
    const someoneElse = await demo.token('t-grace', 'teacher', 3600);
    expect(await run('refresh-token-js', runner, expiring, someoneElse)).toMatch(
      /\nrefresh_token failed: forbidden\n$/,
    );
  });

  it('states the heartbeat the server really uses', () => {
    const { pingInterval = 0, pingTimeout = 0 } = demo.service.io.engine.opts;
    expect(GUIDE).toContain(`a ping every **${pingInterval / 1000} s**`);
    expect(GUIDE).toContain(`**${pingTimeout / 1000} s** later is closed`);
  });
});
