import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

/** The checkout: children run its TypeScript through tsx, as `bin/classroom.js` does. */
export const ROOT = resolve(import.meta.dirname, '../..');

/** How the machine's cores are shared between the measured server and the load it gets. */
export interface CorePlan {
  /** The core the server under test is pinned to; undefined when nothing is pinned. */
  readonly serverCpu?: number;
  /** The core the client processes are pinned to. */
  readonly clientCpu?: number;
  /** The same, in words, for the report. */
  readonly description: string;
}

/**
 * With two cores or more and `taskset` at hand, the server gets core 0 and the clients core 1, so
 * neither steals the other's time; Redis, PostgreSQL and the driver (idle while measuring) are left
 * to the scheduler. Otherwise nothing is pinned, and the report says so.
 */
export function planCores(): CorePlan {
  const cores = availableParallelism();
  const taskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  if (cores >= 2 && taskset) {
    return {
      serverCpu: 0,
      clientCpu: 1,
      description:
        `${cores} cores: the server under test pinned to core 0, the client processes to core 1 (taskset); ` +
        'Redis, PostgreSQL and this driver (idle while measuring) unpinned, so the service shares its core with them',
    };
  }
  return {
    description: `${cores} core(s)${taskset ? '' : ', no taskset'}: nothing pinned; server, clients, Redis and PostgreSQL share every core`,
  };
}

export interface ChildOptions {
  /** The program and its arguments, e.g. `[node, 'bin/classroom.js', 'serve']`. */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cpu?: number;
  /** The open-file limit raised in the child (up to the hard limit) before it starts. */
  readonly openFiles: number;
  /** Opens Node's IPC channel to the child (it must be a Node process). */
  readonly ipc: boolean;
  /** The directory it runs in; this checkout by default. */
  readonly cwd?: string;
}

/**
 * Starts a measured process: through `sh` to raise its open-file limit and `taskset` to pin it,
 * both of which `exec` into the program, so the child's pid is the program's own and
 * `/proc/<pid>` describes it alone.
 */
export function startChild(options: ChildOptions): ChildProcess {
  const pin = options.cpu === undefined ? [] : ['taskset', '-c', String(options.cpu)];
  return spawn(
    'sh',
    ['-c', 'ulimit -n "$0" && exec "$@"', String(options.openFiles), ...pin, ...options.argv],
    {
      cwd: options.cwd ?? ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
      serialization: 'advanced',
    },
  );
}

/**
 * A TypeScript entry point of this checkout in its own process (`node ...nodeOptions --import tsx
 * <script> ...args`), with an IPC channel to it.
 */
export function startScript(
  script: string,
  options: {
    readonly cpu: number | undefined;
    readonly openFiles: number;
    readonly nodeOptions?: readonly string[];
    readonly args?: readonly string[];
  },
): ChildProcess {
  return startChild({
    argv: [
      process.execPath,
      ...(options.nodeOptions ?? []),
      '--import',
      'tsx',
      resolve(ROOT, script),
      ...(options.args ?? []),
    ],
    env: process.env,
    openFiles: options.openFiles,
    ipc: true,
    ...(options.cpu === undefined ? {} : { cpu: options.cpu }),
  });
}

/** Ends a child with SIGTERM and waits for it; SIGKILL if it has not gone after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the first match of `pattern` in the child's standard output. */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpExecArray> {
  return new Promise((resolvePattern, reject) => {
    let output = '';
    let errors = '';
    const timer = setTimeout(
      () => finish(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}${errors}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = pattern.exec(output);
      if (match !== null) finish(match);
    };
    const onError = (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    };
    const onExit = () =>
      finish(new Error(`the process exited before printing ${pattern}:\n${output}${errors}`));
    const finish = (result: RegExpExecArray | Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onError);
      child.off('exit', onExit);
      if (result instanceof Error) reject(result);
      else resolvePattern(result);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onError);
    child.once('exit', onExit);
  });
}

/** Clock ticks per second of `/proc` CPU times: Linux fixes it at 100 on every architecture Node runs on. */
const USER_HZ = 100;

/** Resident memory of a process (`VmRSS` in `/proc/<pid>/status`), in bytes. */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** The open-file limits a process runs with (`/proc/<pid>/limits`); the soft one is enforced. */
export function openFileLimits(pid: number | 'self'): { soft: number; hard: number } {
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(
    readFileSync(`/proc/${pid}/limits`, 'utf8'),
  );
  const read = (value: string | undefined) =>
    value === undefined || value === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(value);
  return { soft: read(match?.[1]), hard: read(match?.[2]) };
}

/**
 * CPU time the whole machine has spent busy so far, every core together (`/proc/stat`: user, nice,
 * system, irq and softirq), in seconds: the server, its clients, Redis, PostgreSQL and anything
 * else running.
 */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal …: steal is the hypervisor's, not ours.
  const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) / USER_HZ;
}

/** CPU time a process has used so far (user + system, `/proc/<pid>/stat`), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}
