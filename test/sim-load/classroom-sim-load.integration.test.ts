import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimLoad, type SimLoadOptions } from '../../cli/commands/sim-load.js';
import type { LoadReport } from '../../sim/load/load-run.js';
import { loadConfig } from '../../src/config.js';
import { type RunningService, startService } from '../../src/runtime.js';
import { ROOT } from '../cli/cli-process.js';
import { capturedStream } from '../support/captured-stream.js';

const SECRET = 'cli-load-test-secret-that-is-long-enough-for-hs256';

/** `npx classroom-sim …args` from the checkout, to the end: exit code and what it printed. */
async function classroomSim(...args: string[]) {
  const child = spawn(process.execPath, [resolve(ROOT, 'bin/classroom-sim.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('classroom-sim load on the command line', () => {
  let service: RunningService;

  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', AUTH_JWT_SECRET: SECRET });
    if (!config.ok) throw new Error(config.error.message);
    service = await startService(config.value, { logger: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('refuses a node that is not on the loopback interface with exit 2', async () => {
    const run = await classroomSim(
      'load',
      '--url',
      'http://192.0.2.1:3000',
      '--secret',
      SECRET,
      '--lessons-from',
      'demo',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('http://192.0.2.1:3000 is not a loopback address');
  });

  it('refuses a run without --secret with exit 2', async () => {
    const run = await classroomSim('load', '--url', service.url, '--lessons-from', 'demo');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--secret <secret>' not specified");
  });

  it('refuses a run that does not say where its lessons are with exit 2', async () => {
    const run = await classroomSim('load', '--url', service.url, '--secret', SECRET);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--lessons-from demo');
  });

  it('runs the script against an embedded node and prints a passing JSON report', async () => {
    const run = await classroomSim(
      'load',
      '--url',
      service.url,
      '--secret',
      SECRET,
      '--lessons-from',
      'demo',
      '--students',
      '6',
      '--duration',
      '2s',
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as LoadReport;
    expect(report.clients).toEqual({ managers: 1, teachers: 2, students: 6 });
    expect(report.delivery).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0 });
    expect(report.counterMismatches).toEqual([]);
  });

  describe('in this process', () => {
    const demoRun = (json: boolean): SimLoadOptions => ({
      url: [service.url],
      secret: SECRET,
      orgs: '1',
      teachers: '2',
      students: '6',
      duration: '2s',
      rate: '20',
      rateLimit: '20',
      lessonsFrom: 'demo',
      connectConcurrency: '10',
      json,
    });
    const run = async (options: SimLoadOptions, terminal: ReturnType<typeof capturedStream>) => {
      const stdout: string[] = [];
      const stderr: string[] = [];
      const code = await runSimLoad(
        options,
        { writeOut: (text) => stdout.push(text), writeErr: (text) => stderr.push(text) },
        terminal.stream,
      );
      return { code, stdout: stdout.join(''), stderr: stderr.join('') };
    };

    it('draws a progress bar on a terminal while it runs, then prints the report alone', async () => {
      const terminal = capturedStream(true);
      const { code, stdout } = await run(demoRun(false), terminal);
      expect(code).toBe(0);
      expect(terminal.text()).toMatch(/load .* connects \(reconnects included\), \d+ actions/);
      expect(terminal.text()).toMatch(/steady/);
      expect(stdout).not.toContain('reconnects included), ');
    });

    it('draws no bar with --json, nor where standard error is not a terminal', async () => {
      const json = capturedStream(true);
      expect((await run(demoRun(true), json)).code).toBe(0);
      const piped = capturedStream(false);
      expect((await run(demoRun(false), piped)).code).toBe(0);
      expect(json.text() + piped.text()).toBe('');
    });

    it('counts its clients in words and says that connects include reconnects', async () => {
      const { stdout } = await run(demoRun(false), capturedStream(false));
      expect(stdout).toContain('  1 manager, 2 teachers, 6 students; ran');
      expect(stdout).toContain('"connect" is every handshake, reconnects included');
      expect(stdout).toMatch(/\n {2}connect \(with reconnects\) +\d+/);
    });
  });

  it('fails a run whose clients are all refused, with exit 1 and the likely cause', async () => {
    const run = await classroomSim(
      'load',
      '--url',
      service.url,
      '--secret',
      'not-the-secret-of-this-node-at-all-0123456789',
      '--lessons-from',
      'demo',
      '--students',
      '2',
      '--duration',
      '1s',
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Errors by code: unauthorized 5');
    expect(run.stdout).toContain("note: unauthorized: --secret must be the nodes' AUTH_JWT_SECRET");
    expect(run.stdout).toContain('FAIL');
  });

  it('answers a node that is down with exit 1 and the reason', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    const run = await classroomSim(
      'load',
      '--url',
      `http://127.0.0.1:${port}`,
      '--secret',
      SECRET,
      '--lessons-from',
      'demo',
      '--duration',
      '1s',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /classroom-sim load failed: cannot read http:\/\/127\.0\.0\.1:\d+\/metrics .*ECONNREFUSED/,
    );
  });
});

describe('classroom-sim bench on the command line', () => {
  it('refuses more than two client processes with exit 2', async () => {
    const run = await classroomSim('bench', '--workers', '3');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--workers must be a whole number from 1 to 2');
  });
});
