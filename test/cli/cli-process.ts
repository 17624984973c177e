import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** The repository root: the CLI runs from a checkout, where README.md and node_modules are. */
export const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'bin/classroom.js');

/** Only what a shell would need, so that a developer's own AUTH_* or PORT never leak in. */
const baseEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...env,
});

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `classroom …args` to completion, as `npx classroom` would from the checkout. */
export function runClassroom(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Finished> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: baseEnv(env), timeout: 15_000 },
      (error, stdout, stderr) => {
        done({ code: error === null ? 0 : (error.code as number | null), stdout, stderr });
      },
    );
  });
}

export interface Serving {
  readonly child: ChildProcess;
  /** Everything the process wrote to standard output so far. */
  stdout(): string;
  /** Resolves once standard output contains `text`. */
  waitFor(text: string | RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a long-running `classroom serve` child. */
export function startServe(env: NodeJS.ProcessEnv): Serving {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  });
  child.stderr?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return {
    child,
    stdout: () => output,
    exited,
    waitFor(text) {
      return new Promise((done, failed) => {
        const check = () => {
          const found = typeof text === 'string' ? output.includes(text) : text.test(output);
          if (found) {
            listeners.delete(check);
            done(output);
          }
        };
        listeners.add(check);
        void exited.then(() =>
          failed(new Error(`serve exited before printing ${text}:\n${output}`)),
        );
        check();
      });
    },
  };
}
