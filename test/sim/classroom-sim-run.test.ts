import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSimProgram } from '../../cli/classroom-sim.js';
import { nextMacrotask, runSimRun, type SimRunFlags } from '../../cli/commands/sim-run.js';
import { parseFaults } from '../../sim/options.js';
import { runSimulation } from '../../sim/simulator.js';
import { ok } from '../../src/domain/result.js';
import { type Finished, ROOT } from '../cli/cli-process.js';
import { capturedStream } from '../support/captured-stream.js';

const BIN = resolve(ROOT, 'bin/classroom-sim.js');

/** Runs `classroom-sim …args` as `npx classroom-sim` would from the checkout. */
function runSim(args: readonly string[]): Promise<Finished> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeout: 15_000 },
      (error, stdout, stderr) => {
        done({ code: error === null ? 0 : (error.code as number | null), stdout, stderr });
      },
    );
  });
}

const FLAGS: SimRunFlags = {
  seed: '11',
  orgs: '2',
  teachers: '4',
  students: '40',
  duration: '30m',
  nodes: '2',
  faults: 'all',
};

describe('classroom-sim run, as a process', () => {
  it('prints one JSON summary whose hash is the in-process run of the same options', async () => {
    const { code, stdout, stderr } = await runSim([
      'run',
      '--seed',
      '11',
      '--orgs',
      '2',
      '--teachers',
      '4',
      '--students',
      '40',
      '--duration',
      '30m',
      '--nodes',
      '2',
      '--faults',
      'all',
      '--json',
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(stdout);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(summary).toMatchObject({
      seed: 11,
      orgs: 2,
      teachers: 4,
      students: 40,
      duration: '30m',
      nodes: 2,
      faults: [...parseFaults('all')],
      simulatedMs: 1_800_000,
      violation: null,
    });
    for (const figure of [
      'steps',
      'sessionsEnded',
      'invariantChecks',
      'wallMs',
      'eventsPerSecond',
    ]) {
      expect(summary[figure]).toEqual(expect.any(Number));
    }
    const inProcess = await runSimulation(
      {
        seed: 11,
        orgs: 2,
        teachers: 4,
        students: 40,
        durationMs: 1_800_000,
        nodes: 2,
        faults: parseFaults('all'),
      },
      { macrotask: nextMacrotask },
    );
    expect(summary.hash).toBe(inProcess.hash);
  });

  it.concurrent.each([
    [['run', '--orgs', 'many'], /^--orgs must be a whole number/],
    [['run', '--speed', '2'], /^error: unknown option '--speed'/],
    [['walk'], /^error: unknown command 'walk'/],
  ])('exits 2 with one line for %j', async (args, message) => {
    const { code, stdout, stderr } = await runSim(args);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('classroom-sim run', () => {
  it.each([
    [{ orgs: '3', teachers: '2' }, /^--teachers must be at least --orgs/],
    [{ duration: '8 hours' }, /^--duration must be like 8h/],
    [{ duration: '0s' }, /^--duration must be like 8h/],
    [{ faults: 'meteor' }, /^--faults: unknown fault "meteor"/],
    [{ seed: '4294967296' }, /^--seed must be a whole number from 0 to 4294967295/],
    [{ nodes: '65' }, /^--nodes must be a whole number from 1 to 64/],
    [{ students: '-1' }, /^--students must be a whole number from 0 to/],
  ])('refuses %j with exit code 2 and one line naming the flag', async (bad, message) => {
    const stdout = capturedStream();
    const stderr = capturedStream();
    expect(
      await runSimRun({ ...FLAGS, ...bad }, { stdout: stdout.stream, stderr: stderr.stream }),
    ).toBe(2);
    expect(stdout.text()).toBe('');
    expect(stderr.text()).toMatch(message);
    expect(stderr.text().trimEnd().split('\n')).toHaveLength(1);
  });

  it('summarises a run for a reader: hash, wall time, events, checks and the result', async () => {
    const stdout = capturedStream();
    const stderr = capturedStream();
    expect(await runSimRun(FLAGS, { stdout: stdout.stream, stderr: stderr.stream })).toBe(0);
    expect(stderr.text()).toBe('');
    const text = stdout.text();
    for (const line of [
      /^classroom-sim run: seed 11, 2 orgs, 4 teachers, 40 students, 30m, 2 nodes, faults: expiry-delay, /,
      /^ {2}event log sha256 {3}[0-9a-f]{64}$/m,
      /^ {2}wall time {10}\d+\.\d\d s for 30m simulated$/m,
      /^ {2}events {13}[\d,]+ \([\d,]+ simulated events\/s\)$/m,
      /^ {2}events by kind {5}expiry_cycle 1,800, /m,
      /^ {2}sessions ended {5}\d+$/m,
      /^ {2}invariant checks {3}[\d,]+$/m,
      /^ {2}result {13}no violation$/m,
    ]) {
      expect(text).toMatch(line);
    }
  });

  it('reports a violation on stderr with its seed, step, trace and replay command, and exits 1', async () => {
    const stdout = capturedStream();
    const stderr = capturedStream();
    const code = await runSimRun(
      { ...FLAGS, json: true },
      { stdout: stdout.stream, stderr: stderr.stream },
      {
        sessionEnder: ({ lessons, clock }) => ({
          async execute(teacher) {
            const lessonIds = await lessons.endActiveLessons(teacher, clock.nowMs());
            return ok({ ended: true as const, lessonIds });
          },
        }),
      },
    );
    expect(code).toBe(1);
    const summary = JSON.parse(stdout.text());
    expect(summary.violation).toMatchObject({ invariant: 'session-ends-once' });
    const report = stderr.text().trimEnd().split('\n');
    expect(report[0]).toBe(
      'VIOLATION of session-ends-once: a session ends exactly once per expiry, in time, never while its teacher is connected and never within the grace period after',
    );
    expect(report[2]).toMatch(/^ {2}seed 11, step \d+, at \+\d\d:\d\d:\d\d\.\d{3} simulated$/);
    expect(report[3]).toBe(`  trace (the last ${summary.violation.trace.length} log lines):`);
    expect(report.at(-1)).toBe(
      '  replay: npx classroom-sim run --seed 11 --orgs 2 --teachers 4 --students 40 --duration 30m --nodes 2 --faults all',
    );
  });

  it('draws a progress bar on a terminal, and none with --json', async () => {
    const terminal = capturedStream(true);
    await runSimRun(FLAGS, { stdout: capturedStream().stream, stderr: terminal.stream });
    expect(terminal.text()).toContain('simulating');
    const quiet = capturedStream(true);
    await runSimRun(
      { ...FLAGS, json: true },
      { stdout: capturedStream().stream, stderr: quiet.stream },
    );
    expect(quiet.text()).toBe('');
  });

  it('picks and prints a seed when none is given', async () => {
    const stdout = capturedStream();
    const { seed: _seed, ...unseeded } = FLAGS;
    await runSimRun(
      { ...unseeded, json: true },
      { stdout: stdout.stream, stderr: capturedStream().stream },
    );
    expect(JSON.parse(stdout.text()).seed).toEqual(expect.any(Number));
  });

  it('registers run on the exported program, which reports bad usage instead of exiting', async () => {
    const errors: string[] = [];
    const program = buildSimProgram({ writeErr: (text) => errors.push(text), writeOut: () => {} });
    expect(program.commands.map((command) => command.name())).toContain('run');
    await expect(program.parseAsync(['node', 'classroom-sim', 'run', '--bogus'])).rejects.toThrow();
    expect(errors.join('')).toMatch(/^error: unknown option '--bogus'/);
  });
});
