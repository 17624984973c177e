import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { formatLoadReport } from '../../sim/load/load-report.js';
import { loadRunPassed, runLoad } from '../../sim/load/load-run.js';
import { parseNodeUrl } from '../../sim/load/node-url.js';
import { demoPopulation, type Population, seededPopulation } from '../../sim/load/population.js';
import { seedPopulation } from '../../sim/load/seed-database.js';
import {
  durationOption,
  firstLineOf,
  postgresUrlOption,
  UsageError,
  wholeNumberOption,
} from '../../sim/load/usage.js';
import { type ProgressStream, progressBar } from '../progress-bar.js';
import type { CommandOutput } from './db.js';

/** The options as commander hands them over: strings, checked by `runSimLoad`. */
export interface SimLoadOptions {
  readonly url: readonly string[];
  readonly secret: string;
  readonly orgs: string;
  readonly teachers: string;
  readonly students: string;
  readonly duration: string;
  readonly rate: string;
  readonly rateLimit: string;
  readonly lessonsFrom?: string;
  readonly seedDatabase?: string;
  readonly websocket?: boolean;
  readonly connectConcurrency: string;
  readonly json?: boolean;
}

/** Bounds that keep a mistyped run from turning into a denial of service of the machine. */
const MAX_CLIENTS = 20_000;
const MAX_DURATION_MS = 3_600_000;
const SETTLE_TIMEOUT_MS = 5_000;
const ACK_TIMEOUT_MS = 10_000;

/**
 * `classroom-sim load`: a bounded lesson script over real Socket.IO clients against running
 * loopback nodes (see `runLoad`). Returns the exit code: 0 the run passed, 1 it found lost,
 * duplicated or unexpected events or unexpected errors, or could not run (a node or the database
 * cannot be reached), 2 bad usage. A progress bar is drawn on `terminal` while it runs, unless it
 * is not a terminal or the report is JSON.
 */
export async function runSimLoad(
  options: SimLoadOptions,
  output: CommandOutput,
  terminal: ProgressStream,
): Promise<number> {
  let population: Population;
  let loadOptions: Omit<Parameters<typeof runLoad>[0], 'population'>;
  let seedDatabase: string | undefined;
  try {
    ({ loadOptions, seedDatabase, population } = readOptions(options));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    output.writeErr(`classroom-sim load: ${error.message}\n`);
    return 2;
  }
  const bar = progressBar(
    terminal,
    'load {bar} {percentage}% | {value}/{total} s | {phase} | {connects} connects (reconnects included), {actions} actions',
    options.json,
  );
  try {
    if (seedDatabase !== undefined) await seedPopulation(seedDatabase, population);
    bar?.start(Math.ceil(loadOptions.durationMs / 1000), 0, {
      phase: 'connecting',
      connects: 0,
      actions: 0,
    });
    const report = await runLoad({
      ...loadOptions,
      population,
      // Setup may outlast the duration asked for; the bar stays full rather than run over.
      onProgress: ({ elapsedMs, ...progress }) =>
        bar?.update(Math.min(bar.getTotal(), Math.floor(elapsedMs / 1000)), progress),
    });
    bar?.stop();
    output.writeOut(
      options.json ? `${JSON.stringify(report, null, 2)}\n` : formatLoadReport(report),
    );
    return loadRunPassed(report) ? 0 : 1;
  } catch (error) {
    bar?.stop();
    output.writeErr(`classroom-sim load failed: ${firstLineOf(error)}\n`);
    return 1;
  }
}

function readOptions(options: SimLoadOptions) {
  if (options.url.length === 0) throw new UsageError('give at least one --url of a running node');
  const urls = options.url.map((text) => {
    const parsed = parseNodeUrl(text);
    if (!parsed.ok) throw new UsageError(parsed.reason);
    return parsed.url;
  });
  if (options.secret === '') throw new UsageError("--secret must be the nodes' AUTH_JWT_SECRET");
  const size = {
    orgs: wholeNumberOption('orgs', options.orgs, 1, MAX_CLIENTS),
    teachers: wholeNumberOption('teachers', options.teachers, 1, MAX_CLIENTS),
    students: wholeNumberOption('students', options.students, 0, MAX_CLIENTS),
  };
  if (size.orgs + size.teachers + size.students > MAX_CLIENTS) {
    throw new UsageError(`at most ${MAX_CLIENTS} clients in all (managers, teachers and students)`);
  }
  if ((options.lessonsFrom === undefined) === (options.seedDatabase === undefined)) {
    throw new UsageError(
      "say where the lessons are: --lessons-from demo (embedded nodes) or --seed-database URL (the nodes' DATABASE_URL)",
    );
  }
  if (options.lessonsFrom !== undefined && options.lessonsFrom !== 'demo') {
    throw new UsageError(
      `--lessons-from knows only "demo", got ${JSON.stringify(options.lessonsFrom)}`,
    );
  }
  const seedDatabase =
    options.seedDatabase === undefined
      ? undefined
      : postgresUrlOption('seed-database', options.seedDatabase);
  return {
    seedDatabase,
    population:
      seedDatabase === undefined
        ? demoPopulation(size)
        : seededPopulation(size, randomBytes(3).toString('hex')),
    loadOptions: {
      urls,
      secret: options.secret,
      durationMs: durationOption('duration', options.duration, 1_000, MAX_DURATION_MS),
      ratePerS: wholeNumberOption('rate', options.rate, 1, 10_000),
      rateLimitPerS: wholeNumberOption('rate-limit', options.rateLimit, 1, 2_000_000),
      connectConcurrency: wholeNumberOption(
        'connect-concurrency',
        options.connectConcurrency,
        1,
        1_000,
      ),
      settleTimeoutMs: SETTLE_TIMEOUT_MS,
      ackTimeoutMs: ACK_TIMEOUT_MS,
      ...(options.websocket ? { transports: ['websocket'] as const } : {}),
    },
  };
}

export function addSimLoadCommand(program: Command): void {
  program
    .command('load')
    .description(
      'drive real Socket.IO clients through a lesson script against running loopback nodes and report connect rate, ack latency, lost/duplicated events and /metrics deltas',
    )
    .option(
      '--url <url>',
      'a node to connect to, e.g. http://127.0.0.1:3000 (repeat for several nodes)',
      collect,
      [],
    )
    .requiredOption('--secret <secret>', "the nodes' AUTH_JWT_SECRET, to sign the clients' tokens")
    .option('--orgs <n>', 'organisations, each with one ManagerWeb', '1')
    .option('--teachers <n>', 'teachers in all, one lesson each, dealt to the organisations', '2')
    .option('--students <n>', 'students in all, spread over the lessons', '20')
    .option('--duration <time>', 'how long the whole run lasts (60s, 2m)', '60s')
    .option('--rate <n>', 'steady-phase actions per second, all clients together', '20')
    .option(
      '--rate-limit <n>',
      "the nodes' RATE_LIMIT_PER_S: each socket stays under half of it",
      '20',
    )
    .option('--lessons-from <source>', '"demo": the embedded demo lessons (1 org, 2 teachers)')
    .option('--seed-database <url>', "create this run's lessons in the nodes' PostgreSQL first")
    .option('--websocket', 'connect with WebSocket only instead of long-polling first')
    .option('--connect-concurrency <n>', 'handshakes in flight at once', '50')
    .option('--json', 'print the report as JSON')
    .action(async (options: SimLoadOptions, command: Command) => {
      process.exitCode = await runSimLoad(
        options,
        command.configureOutput() as CommandOutput,
        process.stderr,
      );
    });
}

function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}
