import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import {
  FAULTS,
  formatDuration,
  LIMITS,
  parseDuration,
  parseFaults,
  type SimOptions,
} from '../../sim/options.js';
import { runSimulation, type SimReport, type SimulationHooks } from '../../sim/simulator.js';
import { type ProgressStream, progressBar } from '../progress-bar.js';

/** The options as commander hands them over: strings, validated here. */
export interface SimRunFlags {
  readonly seed?: string;
  readonly orgs: string;
  readonly teachers: string;
  readonly students: string;
  readonly duration: string;
  readonly nodes: string;
  readonly faults: string;
  readonly json?: boolean;
}

/** Where the command writes; a progress bar is drawn only on a terminal. */
export interface SimRunIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressStream;
}

export const SIM_RUN_DEFAULTS = {
  orgs: '3',
  teachers: '10',
  students: '200',
  duration: '2h',
  nodes: '3',
  faults: 'none',
} as const;

/** Resolves once every promise that can settle has: how the simulator tells a stuck step. */
export const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const MAX_SEED = 4_294_967_295;

function wholeNumber(text: string, min: number, max: number): number | null {
  if (!/^[0-9]{1,12}$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}

/** The run's options, or the one line that says which flag is wrong. */
export function readSimOptions(flags: SimRunFlags): SimOptions | string {
  const numbers: Record<'orgs' | 'teachers' | 'students' | 'nodes', number> = {
    orgs: 0,
    teachers: 0,
    students: 0,
    nodes: 0,
  };
  for (const [name, min] of [
    ['orgs', 1],
    ['teachers', 1],
    ['students', 0],
    ['nodes', 1],
  ] as const) {
    const value = wholeNumber(flags[name], min, LIMITS[name]);
    if (value === null) {
      return `--${name} must be a whole number from ${min} to ${LIMITS[name]}, got ${JSON.stringify(flags[name])}.`;
    }
    numbers[name] = value;
  }
  if (numbers.teachers < numbers.orgs) {
    return `--teachers must be at least --orgs (every org needs a teacher), got ${numbers.teachers} for ${numbers.orgs} orgs.`;
  }
  const durationMs = parseDuration(flags.duration);
  if (durationMs === null || durationMs < 1_000 || durationMs > LIMITS.durationMs) {
    return `--duration must be like 8h, 90m, 1h30m or 45s, from 1s to ${formatDuration(LIMITS.durationMs)}, got ${JSON.stringify(flags.duration)}.`;
  }
  const seed =
    flags.seed === undefined ? randomInt(0, MAX_SEED + 1) : wholeNumber(flags.seed, 0, MAX_SEED);
  if (seed === null) {
    return `--seed must be a whole number from 0 to ${MAX_SEED}, got ${JSON.stringify(flags.seed)}.`;
  }
  let faults: Set<(typeof FAULTS)[number]>;
  try {
    faults = parseFaults(flags.faults);
  } catch (error) {
    return `--faults: ${(error as Error).message}.`;
  }
  return { seed, ...numbers, durationMs, faults };
}

/** The summary as one object: what `--json` prints. */
export function summarise(options: SimOptions, report: SimReport, wallMs: number) {
  const { violation, seed, ...figures } = report;
  return {
    seed,
    orgs: options.orgs,
    teachers: options.teachers,
    students: options.students,
    duration: formatDuration(options.durationMs),
    nodes: options.nodes,
    faults: FAULTS.filter((fault) => options.faults.has(fault)),
    ...figures,
    wallMs: Math.round(wallMs),
    eventsPerSecond: Math.round(report.steps / Math.max(wallMs / 1000, 1e-3)),
    violation,
  };
}

const thousands = (value: number) => value.toLocaleString('en-US');

const byCount = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([name, count]) => `${name} ${thousands(count)}`)
    .join(', ');

function humanSummary(summary: ReturnType<typeof summarise>): string {
  const faults = summary.faults.length === 0 ? 'none' : summary.faults.join(', ');
  const result =
    summary.violation === null
      ? 'no violation'
      : `VIOLATION of ${summary.violation.invariant} at step ${thousands(summary.violation.step)}`;
  return [
    `classroom-sim run: seed ${summary.seed}, ${summary.orgs} orgs, ${summary.teachers} teachers, ${summary.students} students, ${summary.duration}, ${summary.nodes} nodes, faults: ${faults}`,
    `  event log sha256   ${summary.hash}`,
    `  wall time          ${(summary.wallMs / 1000).toFixed(2)} s for ${formatDuration(summary.simulatedMs)} simulated`,
    `  events             ${thousands(summary.steps)} (${thousands(summary.eventsPerSecond)} simulated events/s)`,
    `  events by kind     ${byCount(summary.stepsByKind)}`,
    `  server events      ${byCount(summary.deliveriesByEvent)}`,
    `  sessions ended     ${thousands(summary.sessionsEnded)}`,
    `  invariant checks   ${thousands(summary.invariantChecks)}`,
    `  result             ${result}`,
  ].join('\n');
}

function violationReport(summary: ReturnType<typeof summarise>): string {
  const violation = summary.violation;
  if (violation === null) return '';
  return [
    `VIOLATION of ${violation.invariant}: ${violation.statement}`,
    `  ${violation.message}`,
    `  seed ${summary.seed}, step ${violation.step}, at ${violation.at} simulated`,
    `  trace (the last ${violation.trace.length} log lines):`,
    ...violation.trace.map((line) => `    ${line}`),
    `  replay: ${violation.replay}`,
  ].join('\n');
}

/**
 * `classroom-sim run`: one deterministic simulation. Returns the exit code: 0 no violation, 1 a
 * violation (reported on stderr with its seed, step, trace and replay command), 2 bad usage.
 */
export async function runSimRun(
  flags: SimRunFlags,
  io: SimRunIo,
  /** Only tests pass these, to plant a bug and see it reported. */
  hooks: SimulationHooks = {},
): Promise<number> {
  const options = readSimOptions(flags);
  if (typeof options === 'string') {
    io.stderr.write(`${options}\n`);
    return 2;
  }
  const bar = progressBar(
    io.stderr,
    'simulating {bar} {percentage}% | {value}/{total} simulated s | {duration_formatted}',
    flags.json,
  );
  bar?.start(Math.ceil(options.durationMs / 1000), 0);
  const startedAt = performance.now();
  const report = await runSimulation(
    options,
    {
      macrotask: nextMacrotask,
      onProgress: (simulatedMs) => bar?.update(Math.floor(simulatedMs / 1000)),
    },
    hooks,
  );
  const wallMs = performance.now() - startedAt;
  bar?.stop();
  const summary = summarise(options, report, wallMs);
  io.stdout.write(`${flags.json === true ? JSON.stringify(summary) : humanSummary(summary)}\n`);
  if (summary.violation === null) return 0;
  io.stderr.write(`${violationReport(summary)}\n`);
  return 1;
}

export function addSimRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'run the deterministic simulator: real use cases, in-memory adapters, virtual time',
    )
    .option('--seed <n>', 'PRNG seed, 0 to 4294967295 (default: a random one, printed)')
    .option('--orgs <n>', 'organisations', SIM_RUN_DEFAULTS.orgs)
    .option('--teachers <n>', 'teachers, spread over the orgs', SIM_RUN_DEFAULTS.teachers)
    .option('--students <n>', 'students, spread over the orgs', SIM_RUN_DEFAULTS.students)
    .option('--duration <d>', 'simulated time, e.g. 8h, 90m, 1h30m', SIM_RUN_DEFAULTS.duration)
    .option('--nodes <k>', 'server nodes sharing one store', SIM_RUN_DEFAULTS.nodes)
    .option(
      '--faults <list>',
      `comma list of ${FAULTS.join(', ')}; or all, none`,
      SIM_RUN_DEFAULTS.faults,
    )
    .option('--json', 'print the summary as one JSON object')
    .action(async (flags: SimRunFlags) => {
      process.exitCode = await runSimRun(flags, { stdout: process.stdout, stderr: process.stderr });
    });
}
