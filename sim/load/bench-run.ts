import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import {
  BENCH_EVENTS,
  type BenchClient,
  type BenchEvent,
  type WorkerAnswer,
  type WorkerCommand,
} from './bench-protocol.js';
import {
  type CorePlan,
  cpuSeconds,
  machineBusySeconds,
  openFileLimits,
  planCores,
  residentBytes,
  startChild,
  startScript,
  stopChild,
  waitForOutput,
} from './child-processes.js';
import { measureDatabaseCeiling } from './database-ceiling.js';
import { type DeliveryReport, mergeDeliveryReports } from './delivery-ledger.js';
import type { LatencySummary } from './latency-histogram.js';
import { scrapeMetrics } from './metrics-scrape.js';
import { type Population, seededPopulation } from './population.js';
import { RequestStats } from './request-stats.js';
import { scratchDatabase, seedPopulation } from './seed-database.js';

export interface BenchOptions {
  /** Students driven in the throughput phases, with a teacher for every 25. */
  readonly clients: number;
  /** Students connected and left idle for the memory measurement. */
  readonly idleClients: number;
  /** Each measured phase, after its warm-up. */
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Requests each student keeps in flight. */
  readonly concurrency: number;
  /** Client processes. */
  readonly workers: number;
  readonly connectConcurrency: number;
  readonly redisUrl: string;
  /** Any database on the PostgreSQL server; the bench creates and drops one of its own there. */
  readonly databaseUrl: string;
  /** Progress lines while the bench runs (it takes minutes at full size). */
  readonly progress?: (line: string) => void;
}

/** One target's figures for one event, over the measured window. */
export interface PhaseFigures {
  readonly acksPerS: number;
  readonly latency: LatencySummary;
  readonly errors: Readonly<Record<string, number>>;
  /** CPU the server process used while driven, as a share of one core. */
  readonly serverCpuPercent: number;
  /** CPU the client processes used together, as a share of one core. */
  readonly clientCpuPercent: number;
  /** CPU the Redis server used (its `INFO cpu`), as a share of one core. */
  readonly redisCpuPercent: number;
  /**
   * CPU the whole machine used, every process and the kernel's network work included, as a share
   * of one core (at most 100 × cores).
   */
  readonly machineCpuPercent: number;
}

export interface EventComparison {
  readonly echo: PhaseFigures;
  readonly service: PhaseFigures;
  /** Service acks/s over echo acks/s (target ≥ 0.5). */
  readonly throughputRatio: number;
  /** Service p99 over echo p99. */
  readonly p99Ratio: number;
  /** The event's PostgreSQL work alone, per second (see `measureDatabaseCeiling`). */
  readonly databaseCeilingPerS: number;
  /** That ceiling over echo acks/s: the best ratio the service could reach on this machine. */
  readonly ceilingRatio: number;
}

export interface MemoryFigures {
  readonly clients: number;
  /** Admitted by the server, by its `classroom_connected_sockets`. */
  readonly admitted: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly rssPerClientBytes: number;
  readonly heapPerClientBytes: number;
  readonly serverOpenFileLimit: number;
}

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly value: string;
  readonly met: boolean;
}

export interface BenchReport {
  readonly date: string;
  readonly machine: string;
  readonly cores: string;
  readonly sizes: Omit<BenchOptions, 'redisUrl' | 'databaseUrl' | 'progress'> & {
    readonly teachers: number;
  };
  readonly settings: readonly string[];
  /** What the run made for the service and removed at the end. */
  readonly scratch: { readonly redisKeyPrefix: string; readonly database: string };
  readonly events: Readonly<Record<BenchEvent, EventComparison>>;
  readonly memory: MemoryFigures;
  /** `set_student_name` events at the teachers during the service phases. */
  readonly delivery: DeliveryReport;
  readonly targets: readonly Target[];
}

export const TARGETS = {
  throughputRatio: 0.5,
  rssPerClientBytes: 30 * 1024,
} as const;

const STUDENTS_PER_LESSON = 25;
/** The service's per-socket limiter, raised so that it is not what is measured. */
const RAISED_RATE_LIMIT = '1000000';
const SECRET = randomBytes(32).toString('base64url');
/** Open files a process needs besides its sockets: modules, pipes, Redis and PostgreSQL pools. */
const SPARE_OPEN_FILES = 1_024;
const START_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 10_000;
/** The database ceiling is a diagnosis, not a target: a few seconds say enough. */
const CEILING_DURATION_MS = 5_000;
/** Idle clients are measured after this long idle, as they would be on a real server. */
const IDLE_SETTLE_MS = 2_000;

/**
 * `classroom-sim bench`: measures the service against a bare Socket.IO echo server on the same
 * machine, with the same clients and transport (WebSocket), each server in a child process of its
 * own and the clients in `workers` others, pinned apart when there are cores to do so:
 *
 * 1. the echo server, then the service (real Redis under a key prefix of its own, a fresh
 *    PostgreSQL database migrated and seeded, rate limit raised), each driven with `join_lesson`
 *    then `set_student_name` for `durationMs` after a warm-up; in between, the events' database
 *    work alone, which bounds what the service can reach;
 * 2. a fresh service process, whose resident memory is read before and after `idleClients`
 *    students connect and join a lesson.
 *
 * Everything it made (processes, database, Redis keys) is removed at the end, also on failure.
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const say = options.progress ?? (() => {});
  const loadAtStart = loadavg()[0] ?? 0;
  const cores = planCores();
  const runTag = randomBytes(3).toString('hex');
  const keyPrefix = `bench-${runTag}:`;
  const database = scratchDatabase(options.databaseUrl);
  const driven = seededPopulation(
    {
      orgs: 1,
      teachers: Math.ceil(options.clients / STUDENTS_PER_LESSON),
      students: options.clients,
    },
    `${runTag}a`,
  );
  const idle = seededPopulation(
    {
      orgs: 1,
      teachers: Math.ceil(options.idleClients / STUDENTS_PER_LESSON),
      students: options.idleClients,
    },
    `${runTag}i`,
  );
  const openFiles = Math.min(
    openFileLimits('self').hard,
    Math.max(options.idleClients, options.clients) + SPARE_OPEN_FILES,
  );
  const serviceEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    DATABASE_URL: database.url,
    AUTH_JWT_SECRET: SECRET,
    RATE_LIMIT_PER_S: RAISED_RATE_LIMIT,
    RATE_LIMIT_BURST: RAISED_RATE_LIMIT,
    LOG_LEVEL: 'warn',
  };
  const children = new Set<ChildProcess>();
  const startService = async () => {
    const child = startChild({
      argv: [process.execPath, 'bin/classroom.js', 'serve'],
      env: serviceEnv,
      openFiles,
      ipc: false,
      ...(cores.serverCpu === undefined ? {} : { cpu: cores.serverCpu }),
    });
    children.add(child);
    const [, url] = await waitForOutput(child, /listening on (http:\/\/\S+)/, START_TIMEOUT_MS);
    // Nothing reads the log from here on; a full pipe must never block the server.
    child.stdout?.resume();
    child.stderr?.resume();
    return { child, url: url as string };
  };
  const startWorkers = () =>
    Promise.all(
      Array.from({ length: options.workers }, async () => {
        const worker = await Worker.start(cores, openFiles);
        children.add(worker.child);
        return worker;
      }),
    );

  // The driver's own connection: Redis' CPU figures, and the clean-up of the bench's keys.
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });

  try {
    await redis.connect();
    say('seeding a fresh PostgreSQL database');
    await seedPopulation(database.url, driven);
    await seedPopulation(database.url, idle);
    const drivenClients = await benchClients(driven);

    say('measuring the bare Socket.IO echo server');
    const echoChild = startScript('sim/load/echo-server.ts', { cpu: cores.serverCpu, openFiles });
    children.add(echoChild);
    const [{ port }] = (await once(echoChild, 'message')) as [{ port: number }];
    const echo = await measure(`http://127.0.0.1:${port}`, echoChild, drivenClients, false);
    await stopChild(echoChild);

    say('measuring the database work alone');
    const ceiling = await measureDatabaseCeiling(
      database.url,
      drivenClients.filter((client) => client.role === 'student'),
      options.clients * options.concurrency,
      Math.min(options.durationMs, CEILING_DURATION_MS),
    );

    say('measuring the service');
    const first = await startService();
    const service = await measure(first.url, first.child, drivenClients, true);
    await stopChild(first.child);

    say(`connecting ${options.idleClients} idle clients to a fresh service process`);
    const idleStudents = (await benchClients(idle)).filter((client) => client.role === 'student');
    const memory = await measureMemory(await startService(), idleStudents);

    const events = Object.fromEntries(
      BENCH_EVENTS.map((event) => {
        const a = echo.phases[event];
        const b = service.phases[event];
        return [
          event,
          {
            echo: a,
            service: b,
            throughputRatio: ratio(b.acksPerS, a.acksPerS),
            p99Ratio: ratio(b.latency.p99Ms, a.latency.p99Ms),
            databaseCeilingPerS: ceiling[event],
            ceilingRatio: ratio(ceiling[event], a.acksPerS),
          },
        ];
      }),
    ) as Record<BenchEvent, EventComparison>;
    const delivery = service.delivery ?? mergeDeliveryReports([]);
    return {
      date: new Date().toISOString(),
      machine:
        `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
        `load average ${loadAtStart.toFixed(1)} at the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end (other work on the machine shares its cores)`,
      cores: cores.description,
      sizes: {
        clients: options.clients,
        teachers: driven.teachers.length,
        idleClients: options.idleClients,
        durationMs: options.durationMs,
        warmupMs: options.warmupMs,
        concurrency: options.concurrency,
        workers: options.workers,
        connectConcurrency: options.connectConcurrency,
      },
      settings: [
        `the service ran with RATE_LIMIT_PER_S=RATE_LIMIT_BURST=${RAISED_RATE_LIMIT}, so that its per-socket limiter is not what is measured`,
        `the service used Redis ${redactUrl(options.redisUrl)} under the key prefix ${keyPrefix} and a fresh database on ${redactUrl(options.databaseUrl)}, both removed afterwards`,
        'every client connected with transports: ["websocket"] to path /sockets, namespace /classroom, on both servers; the echo server only acknowledges (no teacher is told of a seat claim)',
        `each student kept ${options.concurrency} request(s) in flight, back to back; a teacher per ${STUDENTS_PER_LESSON} students listened for set_student_name`,
      ],
      scratch: { redisKeyPrefix: keyPrefix, database: database.name },
      events,
      memory,
      delivery,
      targets: targetsOf(events, memory, delivery),
    };
  } finally {
    for (const child of children) await stopChild(child);
    await database
      .drop()
      .catch((error: unknown) => say(`could not drop the bench database: ${String(error)}`));
    await deleteKeys(redis, keyPrefix).catch((error: unknown) =>
      say(`could not delete the bench's Redis keys: ${String(error)}`),
    );
    redis.disconnect();
  }

  /** Connects the clients to `url`, drives each event, and reports the figures per event. */
  async function measure(
    url: string,
    server: ChildProcess,
    clients: readonly BenchClient[],
    expectEvents: boolean,
  ): Promise<{ phases: Record<BenchEvent, PhaseFigures>; delivery?: DeliveryReport }> {
    const workers = await startWorkers();
    try {
      await connectAll(workers, url, clients, true);
      const phases: Partial<Record<BenchEvent, PhaseFigures>> = {};
      for (const event of BENCH_EVENTS) {
        const cpuBefore = await phaseCpu(server, workers, redis);
        const startedAt = performance.now();
        const answers = await Promise.all(
          workers.map((worker) =>
            worker.ask({
              type: 'drive',
              event,
              warmupMs: options.warmupMs,
              durationMs: options.durationMs,
              concurrency: options.concurrency,
            }),
          ),
        );
        const elapsedS = (performance.now() - startedAt) / 1000;
        const share = (seconds: number) => Math.round((seconds / elapsedS) * 1000) / 10;
        const cpuAfter = await phaseCpu(server, workers, redis);
        const stats = new RequestStats();
        let measured = 0;
        for (const answer of answers) {
          if (answer.type !== 'driven') throw new Error(`unexpected answer ${answer.type}`);
          stats.merge(answer.stats);
          measured += answer.measured;
        }
        const summary = stats.summary()[event];
        phases[event] = {
          acksPerS: Math.round(measured / (options.durationMs / 1000)),
          latency: summary?.latency ?? emptyLatency(),
          errors: summary?.errors ?? {},
          serverCpuPercent: share(cpuAfter.server - cpuBefore.server),
          clientCpuPercent: share(cpuAfter.clients - cpuBefore.clients),
          redisCpuPercent: share(cpuAfter.redis - cpuBefore.redis),
          machineCpuPercent: share(cpuAfter.machine - cpuBefore.machine),
        };
        say(
          `  ${event}: ${phases[event]?.acksPerS} acks/s, p99 ${phases[event]?.latency.p99Ms} ms`,
        );
      }
      let delivery: DeliveryReport | undefined;
      if (expectEvents) {
        const settled = await Promise.all(
          workers.map((worker) => worker.ask({ type: 'settle', timeoutMs: SETTLE_TIMEOUT_MS })),
        );
        delivery = mergeDeliveryReports(
          settled.map((answer) =>
            answer.type === 'settled' ? answer.delivery : mergeDeliveryReports([]),
          ),
        );
      }
      await Promise.all(workers.map((worker) => worker.ask({ type: 'disconnect' })));
      return {
        phases: phases as Record<BenchEvent, PhaseFigures>,
        ...(delivery === undefined ? {} : { delivery }),
      };
    } finally {
      for (const worker of workers) await stopChild(worker.child);
    }
  }

  async function measureMemory(
    server: { child: ChildProcess; url: string },
    clients: readonly BenchClient[],
  ): Promise<MemoryFigures> {
    const pid = server.child.pid as number;
    const serverOpenFileLimit = openFileLimits(pid).soft;
    if (serverOpenFileLimit < clients.length + SPARE_OPEN_FILES / 4) {
      throw new Error(
        `the server may open only ${serverOpenFileLimit} files, too few for ${clients.length} clients; lower --idle-clients or raise the hard limit (ulimit -Hn)`,
      );
    }
    const heap = async () =>
      (await scrapeMetrics(server.url, 'nodejs_heap_size_used_bytes')).get(
        'nodejs_heap_size_used_bytes',
      ) ?? 0;
    const workers = await startWorkers();
    try {
      const heapBefore = await heap();
      const rssBeforeBytes = residentBytes(pid);
      const connected = await connectAll(workers, server.url, clients, false);
      await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
      const rssAfterBytes = residentBytes(pid);
      const heapAfter = await heap();
      const sockets = await scrapeMetrics(server.url, 'classroom_connected_sockets');
      const admitted = [...sockets.values()].reduce((sum, value) => sum + value, 0);
      say(
        `  ${connected} clients connected, ${admitted} admitted; RSS ${mb(rssBeforeBytes)} → ${mb(rssAfterBytes)} MB`,
      );
      await Promise.all(workers.map((worker) => worker.ask({ type: 'disconnect' })));
      return {
        clients: connected,
        admitted,
        rssBeforeBytes,
        rssAfterBytes,
        rssPerClientBytes: Math.round((rssAfterBytes - rssBeforeBytes) / Math.max(1, admitted)),
        heapPerClientBytes: Math.round((heapAfter - heapBefore) / Math.max(1, admitted)),
        serverOpenFileLimit,
      };
    } finally {
      for (const worker of workers) await stopChild(worker.child);
      await stopChild(server.child);
    }
  }

  /** Deals whole lessons (teacher and students) to the workers and connects them; returns how many connected. */
  async function connectAll(
    workers: readonly Worker[],
    url: string,
    clients: readonly BenchClient[],
    claimSeats: boolean,
  ): Promise<number> {
    const lessons = [...new Set(clients.map((client) => client.lessonId))];
    const workerOf = new Map(lessons.map((lessonId, i) => [lessonId, i % workers.length]));
    const answers = await Promise.all(
      workers.map((worker, i) =>
        worker.ask({
          type: 'connect',
          url,
          clients: clients.filter((client) => workerOf.get(client.lessonId) === i),
          connectConcurrency: options.connectConcurrency,
          claimSeats,
        }),
      ),
    );
    return answers.reduce(
      (sum, answer) => sum + (answer.type === 'connected' ? answer.connected : 0),
      0,
    );
  }
}

/** A client process of the bench, asked one command at a time over IPC. */
class Worker {
  private constructor(readonly child: ChildProcess) {}

  static async start(cores: CorePlan, openFiles: number): Promise<Worker> {
    const child = startScript('sim/load/bench-worker.ts', { cpu: cores.clientCpu, openFiles });
    child.stdout?.resume();
    child.stderr?.resume();
    // Commands sent before the worker listens would be lost: it says when it is ready.
    const [answer] = (await once(child, 'message')) as [WorkerAnswer];
    if (answer.type !== 'ready')
      throw new Error(`a bench client process said ${answer.type} first`);
    return new Worker(child);
  }

  async ask(command: WorkerCommand): Promise<WorkerAnswer> {
    const answered = once(this.child, 'message') as Promise<[WorkerAnswer]>;
    const exited = once(this.child, 'exit').then(() => {
      throw new Error(`a bench client process exited while asked to ${command.type}`);
    });
    this.child.send(command);
    const [answer] = await Promise.race([answered, exited]);
    if (answer.type === 'failed')
      throw new Error(`a bench client process failed: ${answer.message}`);
    return answer;
  }
}

/** Tokens and seats for a seeded population: the i-th student of a lesson takes seat i. */
async function benchClients(population: Population): Promise<BenchClient[]> {
  const nowS = Math.floor(Date.now() / 1000);
  const token = (userId: string, orgId: string, role: 'teacher' | 'student') =>
    signAccessToken({ secret: SECRET, sub: userId, orgId, role, ttlS: 24 * 3600, nowS });
  const seated = new Map<string, number>();
  const teacherOf = new Map(population.lessons.map((lesson) => [lesson.id, lesson.teacherId]));
  const clients: BenchClient[] = [];
  for (const teacher of population.teachers) {
    clients.push({
      userId: teacher.userId,
      orgId: teacher.orgId,
      role: 'teacher',
      token: await token(teacher.userId, teacher.orgId, 'teacher'),
      lessonId: teacher.lessonId,
      teacherId: teacher.userId,
      seatId: '',
    });
  }
  for (const student of population.students) {
    const seat = (seated.get(student.lessonId) ?? 0) + 1;
    seated.set(student.lessonId, seat);
    clients.push({
      userId: student.userId,
      orgId: student.orgId,
      role: 'student',
      token: await token(student.userId, student.orgId, 'student'),
      lessonId: student.lessonId,
      teacherId: teacherOf.get(student.lessonId) as string,
      seatId: String(seat),
    });
  }
  return clients;
}

/** CPU seconds used so far by the server, its clients, Redis and the whole machine. */
async function phaseCpu(server: ChildProcess, workers: readonly Worker[], redis: Redis) {
  return {
    server: cpuSeconds(server.pid as number),
    clients: workers.reduce((sum, worker) => sum + cpuSeconds(worker.child.pid as number), 0),
    redis: await redisCpuSeconds(redis),
    machine: machineBusySeconds(),
  };
}

/** CPU time the Redis server has used so far (`INFO cpu`, its main and background threads), in seconds. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

function targetsOf(
  events: Record<BenchEvent, EventComparison>,
  memory: MemoryFigures,
  delivery: DeliveryReport,
): Target[] {
  return [
    ...BENCH_EVENTS.map((event) => ({
      name: `${event} ack throughput`,
      goal: `≥ ${TARGETS.throughputRatio}× the bare echo`,
      value: `${events[event].throughputRatio}×`,
      met: events[event].throughputRatio >= TARGETS.throughputRatio,
    })),
    {
      name: `${memory.clients} idle clients on one node`,
      goal: `≤ ${TARGETS.rssPerClientBytes / 1024} KB server RSS per client, all admitted`,
      value: `${(memory.rssPerClientBytes / 1024).toFixed(1)} KB, ${memory.admitted} admitted`,
      met:
        memory.rssPerClientBytes <= TARGETS.rssPerClientBytes && memory.admitted === memory.clients,
    },
    {
      name: 'set_student_name events at the teachers',
      goal: 'none lost or duplicated',
      value: `${delivery.lost} lost, ${delivery.duplicated} duplicated, ${delivery.unexpected} unexpected of ${delivery.expected}`,
      met: delivery.lost + delivery.duplicated + delivery.unexpected === 0,
    },
  ];
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function emptyLatency(): LatencySummary {
  return { count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
}

/** A URL as it may be printed: without its password. */
function redactUrl(text: string): string {
  const url = new URL(text);
  if (url.password !== '') url.password = '***';
  return url.toString();
}

/** Removes every key under `prefix`, a batch at a time. */
async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1_000 })) {
    if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
  }
}
