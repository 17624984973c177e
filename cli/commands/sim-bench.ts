import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatBenchReport } from '../../sim/load/bench-report.js';
import { runBench, type Target } from '../../sim/load/bench-run.js';
import {
  durationOption,
  firstLineOf,
  postgresUrlOption,
  UsageError,
  wholeNumberOption,
} from '../../sim/load/usage.js';
import type { CommandOutput } from './db.js';

/**
 * The memory target is set at 20,000 idle students on one node, but a server holding them needs a
 * few dozen open files more than that, and the development machines' hard limit (`ulimit -Hn`) is
 * 20,000, which a process without CAP_SYS_RESOURCE cannot raise; the figure per client is the same.
 */
const DEFAULT_IDLE_CLIENTS = 19_500;
/** Every client of one server takes a loopback port: the default ephemeral range has 28,232. */
const MAX_IDLE_CLIENTS = 28_000;

/** The options as commander hands them over: strings, checked by `runSimBench`. */
export interface SimBenchOptions {
  readonly clients: string;
  readonly idleClients: string;
  readonly rounds: string;
  readonly duration: string;
  readonly warmup: string;
  readonly concurrency: string;
  readonly workers: string;
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly service?: string;
  readonly json?: boolean;
}

/**
 * `classroom-sim bench`: the service against a bare Socket.IO echo server doing the same transport
 * work, by server CPU per acknowledgement and RSS per idle client (see `runBench` and `targetsOf`).
 * Returns the exit code: 0 every target met, 1 a target missed or the bench could not run (Redis or
 * PostgreSQL unreachable, too few open files), 2 bad usage.
 */
export async function runSimBench(
  options: SimBenchOptions,
  output: CommandOutput,
): Promise<number> {
  let bench: Parameters<typeof runBench>[0];
  try {
    const redisUrl = options.redisUrl;
    if (!/^rediss?:\/\/./.test(redisUrl))
      throw new UsageError('--redis-url must be a redis://host URL');
    bench = {
      clients: wholeNumberOption('clients', options.clients, 1, 5_000),
      idleClients: wholeNumberOption('idle-clients', options.idleClients, 1, MAX_IDLE_CLIENTS),
      rounds: wholeNumberOption('rounds', options.rounds, 1, 9),
      durationMs: durationOption('duration', options.duration, 1_000, 600_000),
      warmupMs: durationOption('warmup', options.warmup, 0, 60_000),
      concurrency: wholeNumberOption('concurrency', options.concurrency, 1, 100),
      workers: wholeNumberOption('workers', options.workers, 1, 2),
      connectConcurrency: 200,
      redisUrl,
      databaseUrl: postgresUrlOption('database-url', options.databaseUrl),
      ...(options.service === undefined ? {} : { serviceCheckout: resolve(options.service) }),
      progress: (line) => output.writeErr(`${line}\n`),
    };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    output.writeErr(`classroom-sim bench: ${error.message}\n`);
    return 2;
  }
  try {
    const report = await runBench(bench);
    output.writeOut(
      options.json ? `${JSON.stringify(report, null, 2)}\n` : formatBenchReport(report),
    );
    return exitCodeOf(report.targets);
  } catch (error) {
    output.writeErr(`classroom-sim bench failed: ${firstLineOf(error)}\n`);
    return 1;
  }
}

/** 0 when every target is met, 1 otherwise. */
export function exitCodeOf(targets: readonly Target[]): number {
  return targets.every((target) => target.met) ? 0 : 1;
}

export function addSimBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'compare the service (real Redis and PostgreSQL) with a bare Socket.IO echo server doing the same transport work: server CPU per acknowledgement and RSS per idle client, over alternating rounds',
    )
    .option('--clients <n>', 'students driven in the throughput phases (a teacher per 25)', '100')
    .option(
      '--idle-clients <n>',
      'idle clients connected to one server for the memory figure (each server needs an open-file limit above it)',
      String(DEFAULT_IDLE_CLIENTS),
    )
    .option('--rounds <n>', 'alternating rounds of echo and service; medians are reported', '3')
    .option('--duration <time>', 'each measured phase, after its warm-up (10s, 1m)', '5s')
    .option('--warmup <time>', 'unmeasured warm-up before each phase', '2s')
    .option('--concurrency <n>', 'requests each student keeps in flight', '1')
    .option('--workers <n>', 'client processes per server while driven (1 or 2)', '2')
    .option(
      '--redis-url <url>',
      'the Redis the service uses (its own key prefix, removed after)',
      'redis://127.0.0.1:6379',
    )
    .option(
      '--database-url <url>',
      'a database on the PostgreSQL server; the bench creates and drops a fresh one beside it',
      'postgres://postgres@127.0.0.1:5432/postgres',
    )
    .option(
      '--service <dir>',
      "another checkout whose service is measured instead of this one's (an earlier commit's worktree, for before and after)",
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: SimBenchOptions, command: Command) => {
      process.exitCode = await runSimBench(options, command.configureOutput() as CommandOutput);
    });
}
