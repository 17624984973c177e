import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { BENCH_EVENTS, type BenchClient, type BenchEvent } from './bench-protocol.js';
import {
  type BenchServer,
  BenchWorker,
  benchClients,
  connectAll,
  deleteKeys,
  RAISED_RATE_LIMIT,
  seatCountOf,
  startEchoServer,
  startServiceServer,
} from './bench-servers.js';
import {
  cpuSeconds,
  machineBusySeconds,
  openFileLimits,
  planCores,
  residentBytes,
  stopChild,
} from './child-processes.js';
import { measureDatabaseCeiling } from './database-ceiling.js';
import { type DeliveryReport, mergeDeliveryReports } from './delivery-ledger.js';
import { freePort, InspectorSession } from './inspector.js';
import type { LatencySummary } from './latency-histogram.js';
import { seededPopulation } from './population.js';
import { RequestStats } from './request-stats.js';
import { scratchDatabase, seedPopulation } from './seed-database.js';

export interface BenchOptions {
  /** Students driven in the throughput phases, with a teacher for every 25. */
  readonly clients: number;
  /** Students connected and left idle for the memory measurement. */
  readonly idleClients: number;
  /**
   * Alternating rounds of every measurement (the echo server, then the service); the report gives
   * each figure's median and range over them, and the targets read the medians.
   */
  readonly rounds: number;
  /** Each measured phase, after its warm-up. */
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Requests each student keeps in flight. */
  readonly concurrency: number;
  /** Client processes per server in the throughput phases. */
  readonly workers: number;
  readonly connectConcurrency: number;
  readonly redisUrl: string;
  /** Any database on the PostgreSQL server; the bench creates and drops one of its own there. */
  readonly databaseUrl: string;
  /**
   * Another checkout of the service to measure instead of this one (an earlier commit's worktree,
   * for a before/after comparison against the same echo server and driver).
   */
  readonly serviceCheckout?: string;
  /** Progress lines while the bench runs (it takes minutes at full size). */
  readonly progress?: (line: string) => void;
}

/** One server's figures for one event in one round, over the measured window. */
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
  /** The server's CPU time per acknowledgement, in µs: what the target compares. */
  readonly serverCpuPerAckUs: number;
  /** The whole machine's CPU time per acknowledgement, in µs. */
  readonly machineCpuPerAckUs: number;
}

/** A figure over the rounds: the median the targets read, and the range it came from. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface EventRound {
  readonly echo: PhaseFigures;
  readonly service: PhaseFigures;
}

export interface EventComparison {
  readonly rounds: readonly EventRound[];
  /** The service's server CPU per acknowledgement over the echo server's, round by round (target ≤ 2). */
  readonly serverCpuPerAckRatio: Spread;
  /**
   * Service acks/s over echo acks/s, round by round: information, not a target (on two shared
   * cores it compares what an acknowledgement costs the whole machine).
   */
  readonly throughputRatio: Spread;
  /** Service p99 over echo p99, round by round. */
  readonly p99Ratio: Spread;
  /** The event's PostgreSQL work alone, per second (see `measureDatabaseCeiling`). */
  readonly databaseCeilingPerS: number;
  /** That ceiling over the echo's median acks/s: the best throughput ratio this machine allows. */
  readonly ceilingRatio: number;
}

/** One server's resident memory before and after the idle clients connected and joined. */
/**
 * One server's memory before and after the idle clients connected and joined, each reading taken
 * after full garbage collections, so that it does not depend on when the server last collected.
 */
export interface ServerMemory {
  /** Clients whose connection and join the server acknowledged. */
  readonly connected: number;
  /** Sockets the server itself counted (the service's `classroom_connected_sockets`). */
  readonly admitted: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** What the target compares: resident memory per admitted client. */
  readonly rssPerClientBytes: number;
  /**
   * The same as found, before the collection: garbage the connections left is in it as long as
   * the server has not collected it.
   */
  readonly rssPerClientUncollectedBytes: number;
  /** Live V8 heap per admitted client: what the server keeps for each socket. */
  readonly heapPerClientBytes: number;
  readonly openFileLimit: number;
}

export interface MemoryRound {
  readonly echo: ServerMemory;
  readonly service: ServerMemory;
}

export interface MemoryFigures {
  /** Idle clients asked for, on each server in each round. */
  readonly clients: number;
  /** Client processes they were spread over. */
  readonly workers: number;
  readonly rounds: readonly MemoryRound[];
  /** The service's RSS per client over the bare echo server's, round by round (target ≤ 1.1). */
  readonly rssRatio: Spread;
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
  /** `set_student_name` events at the teachers over every round, on each server. */
  readonly delivery: { readonly echo: DeliveryReport; readonly service: DeliveryReport };
  readonly targets: readonly Target[];
}

export const TARGETS = {
  serverCpuPerAckRatio: 2,
  rssRatio: 1.1,
} as const;

const STUDENTS_PER_LESSON = 25;
const SECRET = randomBytes(32).toString('base64url');
/** Open files a process needs besides its sockets: modules, pipes, Redis and PostgreSQL pools. */
const SPARE_OPEN_FILES = 1_024;
/** Files a server may open while measured beyond those it had and its clients' sockets (a scrape). */
const OPEN_FILES_MARGIN = 32;
/** Idle clients per client process in the memory phase: the driver deals them to enough processes. */
const IDLE_CLIENTS_PER_WORKER = 5_000;
const SETTLE_TIMEOUT_MS = 10_000;
/** The database ceiling is a diagnosis, not a target: a few seconds say enough. */
const CEILING_DURATION_MS = 5_000;
/** Idle clients are measured after this long idle, as they would be on a real server. */
const IDLE_SETTLE_MS = 2_000;

/**
 * `classroom-sim bench`: measures the service against a bare Socket.IO echo server doing the same
 * transport work (echo-server.ts), on the same machine, with the same clients and transport
 * (WebSocket), each server in a child process of its own and the clients in others, pinned apart
 * when there are cores to do so:
 *
 * 1. the echo server and the service (real Redis under a key prefix of its own, a fresh PostgreSQL
 *    database migrated and seeded, rate limit raised) start side by side, each with its own client
 *    processes connected, joined and seated; the events' database work alone is measured, which
 *    bounds what the service can reach; then, `rounds` times, the echo server and then the service
 *    are driven with `join_lesson` and then `set_student_name` for `durationMs` after a warm-up;
 * 2. `rounds` times, a fresh echo server and then a fresh service process, whose resident memory is
 *    read before and after `idleClients` students connect and join a lesson.
 *
 * Everything it made (processes, database, Redis keys) is removed at the end, also on failure.
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const say = options.progress ?? (() => {});
  const loadAtStart = loadavg()[0] ?? 0;
  const cores = planCores();
  const runTag = randomBytes(3).toString('hex');
  // Every Redis key of the run starts with this: the driven service's and each memory round's.
  const keyStem = `bench-${runTag}`;
  const database = scratchDatabase(options.databaseUrl);
  const population = (students: number, tag: string) =>
    seededPopulation(
      { orgs: 1, teachers: Math.ceil(students / STUDENTS_PER_LESSON), students },
      `${runTag}${tag}`,
    );
  const driven = population(options.clients, 'a');
  const idle = population(options.idleClients, 'i');
  const memoryWorkers = Math.ceil(options.idleClients / IDLE_CLIENTS_PER_WORKER);
  const openFiles = Math.min(
    openFileLimits('self').hard,
    Math.max(options.idleClients, options.clients) + SPARE_OPEN_FILES,
  );
  // Every process the run starts, so that all of them are stopped, also on failure.
  const children = new Set<ChildProcess>();
  const tracked = <T extends { child: ChildProcess }>(started: T): T => {
    children.add(started.child);
    return started;
  };
  const place = (cpu: number | undefined) => ({ cpu, openFiles });
  const startEcho = async (seatCount: number, nodeOptions: readonly string[] = []) =>
    tracked(await startEchoServer(seatCount, { ...place(cores.serverCpu), nodeOptions }));
  const startService = async (keyPrefix: string, nodeOptions: readonly string[] = []) =>
    tracked(
      await startServiceServer(
        {
          redisUrl: options.redisUrl,
          keyPrefix,
          databaseUrl: database.url,
          secret: SECRET,
          ...(options.serviceCheckout === undefined ? {} : { checkout: options.serviceCheckout }),
        },
        { ...place(cores.serverCpu), nodeOptions },
      ),
    );
  const startWorkers = (count: number) =>
    Promise.all(
      Array.from({ length: count }, async () =>
        tracked(await BenchWorker.start(place(cores.clientCpu))),
      ),
    );
  const connect = (
    workers: readonly BenchWorker[],
    server: BenchServer,
    clients: readonly BenchClient[],
    claimSeats: boolean,
  ) =>
    connectAll(workers, server.url, clients, {
      claimSeats,
      connectConcurrency: options.connectConcurrency,
    });
  const stop = async (processes: ReadonlyArray<ChildProcess>) => {
    for (const child of processes) {
      await stopChild(child);
      children.delete(child);
    }
  };

  // The driver's own connection: Redis' CPU figures, and the clean-up of the bench's keys.
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });

  try {
    await redis.connect();
    say('seeding a fresh PostgreSQL database');
    await seedPopulation(database.url, driven);
    await seedPopulation(database.url, idle);
    const drivenClients = await benchClients(driven, SECRET);

    say('starting the echo server and the service, and connecting their clients');
    const echo = await startEcho(seatCountOf(driven));
    const service = await startService(`${keyStem}:`);
    const echoWorkers = await startWorkers(options.workers);
    const serviceWorkers = await startWorkers(options.workers);
    await connect(echoWorkers, echo, drivenClients, true);
    await connect(serviceWorkers, service, drivenClients, true);

    say('measuring the database work alone');
    const ceiling = await measureDatabaseCeiling(
      database.url,
      drivenClients.filter((client) => client.role === 'student'),
      options.clients * options.concurrency,
      Math.min(options.durationMs, CEILING_DURATION_MS),
    );

    const drivenRounds: Array<Record<'echo' | 'service', Record<BenchEvent, PhaseFigures>>> = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      say(`round ${round} of ${options.rounds}: driving the echo server`);
      const echoFigures = await drive(echo, echoWorkers);
      say(`round ${round} of ${options.rounds}: driving the service`);
      drivenRounds.push({ echo: echoFigures, service: await drive(service, serviceWorkers) });
    }
    const delivery = {
      echo: await settle(echoWorkers),
      service: await settle(serviceWorkers),
    };
    for (const [server, workers] of [
      [echo, echoWorkers],
      [service, serviceWorkers],
    ] as const) {
      await Promise.all(workers.map((worker) => worker.ask({ type: 'disconnect' })));
      await stop([...workers.map((worker) => worker.child), server.child]);
    }

    const idleStudents = (await benchClients(idle, SECRET)).filter(
      (client) => client.role === 'student',
    );
    const memoryRounds: MemoryRound[] = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      say(`memory round ${round} of ${options.rounds}: ${idleStudents.length} idle clients`);
      // The bench collects the server's garbage through its inspector before every reading.
      let port = await freePort();
      const freshEcho = await startEcho(seatCountOf(idle), [`--inspect=127.0.0.1:${port}`]);
      const echoMemory = await measureMemory(freshEcho, port, idleStudents);
      port = await freePort();
      // A key prefix per round, so that every round's service starts from an empty Redis.
      const freshService = await startService(`${keyStem}-m${round}:`, [
        `--inspect=127.0.0.1:${port}`,
      ]);
      memoryRounds.push({
        echo: echoMemory,
        service: await measureMemory(freshService, port, idleStudents),
      });
    }

    const compare = (event: BenchEvent): EventComparison => {
      const rounds = drivenRounds.map((round) => ({
        echo: round.echo[event],
        service: round.service[event],
      }));
      const echoAcksPerS = spreadOf(rounds.map((round) => round.echo.acksPerS)).median;
      return {
        rounds,
        serverCpuPerAckRatio: spreadOf(
          rounds.map((r) => ratio(r.service.serverCpuPerAckUs, r.echo.serverCpuPerAckUs)),
        ),
        throughputRatio: spreadOf(rounds.map((r) => ratio(r.service.acksPerS, r.echo.acksPerS))),
        p99Ratio: spreadOf(rounds.map((r) => ratio(r.service.latency.p99Ms, r.echo.latency.p99Ms))),
        databaseCeilingPerS: ceiling[event],
        ceilingRatio: ratio(ceiling[event], echoAcksPerS),
      };
    };
    const events = {
      join_lesson: compare('join_lesson'),
      set_student_name: compare('set_student_name'),
    } satisfies Record<BenchEvent, EventComparison>;
    const memory: MemoryFigures = {
      clients: idleStudents.length,
      workers: memoryWorkers,
      rounds: memoryRounds,
      rssRatio: spreadOf(
        memoryRounds.map((r) => ratio(r.service.rssPerClientBytes, r.echo.rssPerClientBytes)),
      ),
    };
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
        rounds: options.rounds,
        durationMs: options.durationMs,
        warmupMs: options.warmupMs,
        concurrency: options.concurrency,
        workers: options.workers,
        connectConcurrency: options.connectConcurrency,
      },
      settings: [
        ...(options.serviceCheckout === undefined
          ? []
          : [`the service measured was the checkout in ${options.serviceCheckout}`]),
        `the service ran with RATE_LIMIT_PER_S=RATE_LIMIT_BURST=MAX_CONNECTIONS_PER_IP=${RAISED_RATE_LIMIT}, so that its per-socket limiter is not what is measured and every client (all from 127.0.0.1) is admitted`,
        `the service used Redis ${redactUrl(options.redisUrl)} under key prefixes starting ${keyStem} and a fresh database on ${redactUrl(options.databaseUrl)}, both removed afterwards`,
        'every client connected with transports: ["websocket"] to path /sockets, namespace /classroom, on both servers',
        `the echo server did the service's transport work: join_lesson joined the lesson's rooms and acknowledged its ${seatCountOf(driven)}-seat map, set_student_name pushed set_student_name to the lesson's teacher`,
        `each student kept ${options.concurrency} request(s) in flight, back to back; a teacher per ${STUDENTS_PER_LESSON} students listened for set_student_name`,
        `the echo server and the service ran side by side, each with its own ${options.workers} client process(es) connected throughout; rounds alternated echo, service`,
      ],
      scratch: { redisKeyPrefix: keyStem, database: database.name },
      events,
      memory,
      delivery,
      targets: targetsOf(events, memory, delivery.service),
    };
  } finally {
    await stop([...children]);
    await database
      .drop()
      .catch((error: unknown) => say(`could not drop the bench database: ${String(error)}`));
    await deleteKeys(redis, keyStem).catch((error: unknown) =>
      say(`could not delete the bench's Redis keys: ${String(error)}`),
    );
    redis.disconnect();
  }

  /** Drives `server`'s connected clients with each event in turn; the figures per event. */
  async function drive(
    server: BenchServer,
    workers: readonly BenchWorker[],
  ): Promise<Record<BenchEvent, PhaseFigures>> {
    const phases: Partial<Record<BenchEvent, PhaseFigures>> = {};
    for (const event of BENCH_EVENTS) {
      const cpuBefore = await phaseCpu(server.child, workers, redis);
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
      const cpuAfter = await phaseCpu(server.child, workers, redis);
      const stats = new RequestStats();
      let measured = 0;
      for (const answer of answers) {
        if (answer.type !== 'driven') throw new Error(`unexpected answer ${answer.type}`);
        stats.merge(answer.stats);
        measured += answer.measured;
      }
      const summary = stats.summary()[event];
      const acksPerS = Math.round(measured / (options.durationMs / 1000));
      const serverCpuPercent = share(cpuAfter.server - cpuBefore.server);
      const machineCpuPercent = share(cpuAfter.machine - cpuBefore.machine);
      const phase: PhaseFigures = {
        acksPerS,
        latency: summary?.latency ?? emptyLatency(),
        errors: summary?.errors ?? {},
        serverCpuPercent,
        clientCpuPercent: share(cpuAfter.clients - cpuBefore.clients),
        redisCpuPercent: share(cpuAfter.redis - cpuBefore.redis),
        machineCpuPercent,
        serverCpuPerAckUs: microsPerAck(serverCpuPercent, acksPerS),
        machineCpuPerAckUs: microsPerAck(machineCpuPercent, acksPerS),
      };
      phases[event] = phase;
      say(
        `  ${event}: ${acksPerS} acks/s, p99 ${phase.latency.p99Ms} ms, ${phase.serverCpuPerAckUs} µs server CPU per ack`,
      );
    }
    return phases as Record<BenchEvent, PhaseFigures>;
  }

  /** Waits for the teachers of `workers` to hear every seat claim acknowledged; what arrived. */
  async function settle(workers: readonly BenchWorker[]): Promise<DeliveryReport> {
    const settled = await Promise.all(
      workers.map((worker) => worker.ask({ type: 'settle', timeoutMs: SETTLE_TIMEOUT_MS })),
    );
    return mergeDeliveryReports(
      settled.map((answer) =>
        answer.type === 'settled' ? answer.delivery : mergeDeliveryReports([]),
      ),
    );
  }

  /**
   * Connects `clients` to a fresh `server`, whose inspector listens on `inspectorPort`, and reads
   * what they cost it; stops it after.
   */
  async function measureMemory(
    server: BenchServer,
    inspectorPort: number,
    clients: readonly BenchClient[],
  ): Promise<ServerMemory> {
    const pid = server.child.pid as number;
    const openFileLimit = openFileLimits(pid).soft;
    const inUse = readdirSync(`/proc/${pid}/fd`).length;
    if (openFileLimit < inUse + clients.length + OPEN_FILES_MARGIN) {
      throw new Error(
        `the ${server.kind} may open ${openFileLimit} files and has ${inUse} open, too few for ${clients.length} clients; lower --idle-clients or raise the hard limit (ulimit -Hn)`,
      );
    }
    const inspector = await InspectorSession.connect(inspectorPort);
    const workers = await startWorkers(memoryWorkers);
    try {
      // Twice: the first collection frees the garbage the connections left, the second compacts
      // the pages that left fragmented (V8 picks the pages to compact from what the collection
      // before found); what remains is what the sockets hold.
      const collected = async () => {
        await inspector.collectGarbage();
        await inspector.collectGarbage();
        return { rssBytes: residentBytes(pid), heapBytes: await inspector.heapUsedBytes() };
      };
      const socketsBefore = await server.sockets();
      const before = await collected();
      const connected = await connect(workers, server, clients, false);
      await delay(IDLE_SETTLE_MS);
      const rssUncollectedBytes = residentBytes(pid);
      const after = await collected();
      const admitted = (await server.sockets()) - socketsBefore;
      say(
        `  ${server.kind}: ${connected} clients connected, ${admitted} admitted; RSS ${mb(before.rssBytes)} → ${mb(after.rssBytes)} MB`,
      );
      await Promise.all(workers.map((worker) => worker.ask({ type: 'disconnect' })));
      const perClient = (bytes: number) => Math.round(bytes / Math.max(1, admitted));
      return {
        connected,
        admitted,
        rssBeforeBytes: before.rssBytes,
        rssAfterBytes: after.rssBytes,
        rssPerClientBytes: perClient(after.rssBytes - before.rssBytes),
        rssPerClientUncollectedBytes: perClient(rssUncollectedBytes - before.rssBytes),
        heapPerClientBytes: perClient(after.heapBytes - before.heapBytes),
        openFileLimit,
      };
    } finally {
      inspector.close();
      await stop([...workers.map((worker) => worker.child), server.child]);
    }
  }
}

/** CPU seconds used so far by the server, its clients, Redis and the whole machine. */
async function phaseCpu(server: ChildProcess, workers: readonly BenchWorker[], redis: Redis) {
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

/**
 * The targets, read from the medians over the rounds: the service's server CPU per acknowledgement
 * at most twice the echo server's for each event, its RSS per idle client at most 1.1× the echo
 * server's with every client admitted, and no seat claim lost or duplicated on its way to the
 * teacher. The exit code of `classroom-sim bench` follows them.
 */
export function targetsOf(
  events: Readonly<Record<BenchEvent, Pick<EventComparison, 'serverCpuPerAckRatio'>>>,
  memory: Pick<MemoryFigures, 'clients' | 'rounds' | 'rssRatio'>,
  delivery: DeliveryReport,
): Target[] {
  const everyoneAdmitted = memory.rounds.every(
    (round) => round.echo.admitted === memory.clients && round.service.admitted === memory.clients,
  );
  return [
    ...BENCH_EVENTS.map((event) => {
      const spread = events[event].serverCpuPerAckRatio;
      return {
        name: `${event} server CPU per acknowledgement`,
        goal: `≤ ${TARGETS.serverCpuPerAckRatio}× the echo server's, median of the rounds`,
        value: spreadText(spread),
        met: spread.median <= TARGETS.serverCpuPerAckRatio,
      };
    }),
    {
      name: `server RSS per idle client, ${memory.clients} on one node`,
      goal: `≤ ${TARGETS.rssRatio}× the echo server's, median of the rounds, all admitted`,
      value: `${spreadText(memory.rssRatio)}, ${everyoneAdmitted ? 'all' : 'NOT all'} admitted`,
      met: memory.rssRatio.median <= TARGETS.rssRatio && everyoneAdmitted,
    },
    {
      name: 'set_student_name events at the teachers',
      goal: 'none lost or duplicated',
      value: `${delivery.lost} lost, ${delivery.duplicated} duplicated, ${delivery.unexpected} unexpected of ${delivery.expected}`,
      met: delivery.lost + delivery.duplicated + delivery.unexpected === 0,
    },
  ];
}

/** The median of `values` (the mean of the middle two for an even count), and their range. */
export function spreadOf(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median =
    sorted.length % 2 === 1
      ? (sorted[Math.floor(middle)] ?? 0)
      : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return {
    median: Math.round(median * 100) / 100,
    min: sorted[0] ?? 0,
    max: sorted.at(-1) ?? 0,
  };
}

/** `2.35× (2.1–2.6×)`: the median, then the range when the rounds differ. */
export function spreadText(spread: Spread): string {
  return spread.min === spread.max
    ? `${spread.median}×`
    : `${spread.median}× (${spread.min}–${spread.max}×)`;
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}

/** CPU time per acknowledgement, in µs, from a CPU share (% of one core) and acks/s. */
function microsPerAck(cpuPercent: number, acksPerS: number): number {
  return acksPerS === 0 ? 0 : Math.round(((cpuPercent / 100) * 1e6) / acksPerS);
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
