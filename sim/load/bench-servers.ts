import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import type {
  BenchClient,
  EchoAnswer,
  EchoCommand,
  WorkerAnswer,
  WorkerCommand,
} from './bench-protocol.js';
import { startChild, startScript, stopChild, waitForOutput } from './child-processes.js';
import { scrapeMetrics } from './metrics-scrape.js';
import type { Population } from './population.js';

/** Where a process of the bench runs. */
export interface Placement {
  /** The core it is pinned to; undefined leaves it to the scheduler. */
  readonly cpu: number | undefined;
  /** Its open-file limit, raised up to the hard limit before it starts. */
  readonly openFiles: number;
  /** Options for Node itself, such as `--heapsnapshot-signal=SIGUSR2`. */
  readonly nodeOptions?: readonly string[];
}

/** A server under test in a child process of its own: the echo server or the service. */
export interface BenchServer {
  readonly kind: 'echo' | 'service';
  readonly child: ChildProcess;
  readonly url: string;
  /** The sockets it holds, by its own count. */
  sockets(): Promise<number>;
}

/** What the service is given to run on: its Redis, its key prefix, its database and its secret. */
export interface ServiceSettings {
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly databaseUrl: string;
  readonly secret: string;
  /** The checkout whose `bin/classroom.js serve` runs; this one by default. */
  readonly checkout?: string;
}

/** The service's per-socket and per-IP limits, raised so that they are not what is measured. */
export const RAISED_RATE_LIMIT = '1000000';
const START_TIMEOUT_MS = 60_000;

/** The echo server (echo-server.ts) with seat maps of `seatCount` seats. */
export async function startEchoServer(
  seatCount: number,
  placement: Placement,
): Promise<BenchServer> {
  const child = startScript('sim/load/echo-server.ts', { ...placement, args: [String(seatCount)] });
  return stoppedOnFailure(child, async () => {
    const [answer] = (await once(child, 'message')) as [EchoAnswer];
    if (answer.type !== 'listening') throw new Error(`the echo server said ${answer.type} first`);
    return {
      kind: 'echo',
      child,
      url: `http://127.0.0.1:${answer.port}`,
      async sockets() {
        const answered = once(child, 'message') as Promise<[EchoAnswer]>;
        child.send({ type: 'sockets' } satisfies EchoCommand);
        const [answer] = await answered;
        if (answer.type !== 'sockets') throw new Error(`the echo server answered ${answer.type}`);
        return answer.sockets;
      },
    };
  });
}

/** `classroom serve` in production mode on `settings`, with its rate limit raised. */
export async function startServiceServer(
  settings: ServiceSettings,
  placement: Placement,
): Promise<BenchServer> {
  const child = startChild({
    argv: [process.execPath, ...(placement.nodeOptions ?? []), 'bin/classroom.js', 'serve'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HOST: '127.0.0.1',
      PORT: '0',
      REDIS_URL: settings.redisUrl,
      REDIS_KEY_PREFIX: settings.keyPrefix,
      DATABASE_URL: settings.databaseUrl,
      AUTH_JWT_SECRET: settings.secret,
      RATE_LIMIT_PER_S: RAISED_RATE_LIMIT,
      RATE_LIMIT_BURST: RAISED_RATE_LIMIT,
      // Every bench client comes from 127.0.0.1: the per-IP cap counts them, and must admit them all.
      MAX_CONNECTIONS_PER_IP: RAISED_RATE_LIMIT,
      LOG_LEVEL: 'warn',
    },
    openFiles: placement.openFiles,
    ipc: false,
    ...(placement.cpu === undefined ? {} : { cpu: placement.cpu }),
    ...(settings.checkout === undefined ? {} : { cwd: settings.checkout }),
  });
  return stoppedOnFailure(child, async () => {
    const [, url] = await waitForOutput(child, /listening on (http:\/\/\S+)/, START_TIMEOUT_MS);
    // Nothing reads the log from here on; a full pipe must never block the server.
    child.stdout?.resume();
    child.stderr?.resume();
    const serviceUrl = url as string;
    return {
      kind: 'service',
      child,
      url: serviceUrl,
      sockets: async () =>
        [...(await scrapeMetrics(serviceUrl, 'classroom_connected_sockets')).values()].reduce(
          (sum, value) => sum + value,
          0,
        ),
    };
  });
}

/** A client process of the bench (bench-worker.ts), asked one command at a time over IPC. */
export class BenchWorker {
  private constructor(readonly child: ChildProcess) {}

  static async start(placement: Placement): Promise<BenchWorker> {
    const child = startScript('sim/load/bench-worker.ts', placement);
    child.stdout?.resume();
    child.stderr?.resume();
    return stoppedOnFailure(child, async () => {
      // Commands sent before the worker listens would be lost: it says when it is ready.
      const [answer] = (await once(child, 'message')) as [WorkerAnswer];
      if (answer.type !== 'ready') {
        throw new Error(`a bench client process said ${answer.type} first`);
      }
      return new BenchWorker(child);
    });
  }

  async ask(command: WorkerCommand): Promise<WorkerAnswer> {
    const answered = once(this.child, 'message') as Promise<[WorkerAnswer]>;
    const exited = once(this.child, 'exit').then(() => {
      throw new Error(`a bench client process exited while asked to ${command.type}`);
    });
    this.child.send(command);
    const [answer] = await Promise.race([answered, exited]);
    if (answer.type === 'failed') {
      throw new Error(`a bench client process failed: ${answer.message}`);
    }
    return answer;
  }
}

/**
 * Deals whole lessons (teacher and students) to the workers, so that a teacher hears its students'
 * seat claims in the same process, and connects them; returns how many connected.
 */
export async function connectAll(
  workers: readonly BenchWorker[],
  url: string,
  clients: readonly BenchClient[],
  options: { readonly claimSeats: boolean; readonly connectConcurrency: number },
): Promise<number> {
  const lessons = [...new Set(clients.map((client) => client.lessonId))];
  const workerOf = new Map(lessons.map((lessonId, i) => [lessonId, i % workers.length]));
  const answers = await Promise.all(
    workers.map((worker, i) =>
      worker.ask({
        type: 'connect',
        url,
        clients: clients.filter((client) => workerOf.get(client.lessonId) === i),
        ...options,
      }),
    ),
  );
  return answers.reduce(
    (sum, answer) => sum + (answer.type === 'connected' ? answer.connected : 0),
    0,
  );
}

/** Tokens and seats for a seeded population: the i-th student of a lesson takes seat i. */
export async function benchClients(population: Population, secret: string): Promise<BenchClient[]> {
  const nowS = Math.floor(Date.now() / 1000);
  const token = (userId: string, orgId: string, role: 'teacher' | 'student') =>
    signAccessToken({ secret, sub: userId, orgId, role, ttlS: 24 * 3600, nowS });
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

/** The seat count of the population's lessons, which the echo server's seat maps must have. */
export function seatCountOf(population: Population): number {
  const counts = new Set(population.lessons.map((lesson) => lesson.seatCount));
  if (counts.size !== 1) throw new Error(`the bench's lessons have seat counts ${[...counts]}`);
  return [...counts][0] as number;
}

/** Removes every key under `prefix` (the service's, after a run), a batch at a time. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1_000 })) {
    if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
  }
}

/** Runs `started` on a just-spawned child; the child is stopped when it fails to start. */
async function stoppedOnFailure<T>(child: ChildProcess, started: () => Promise<T>): Promise<T> {
  try {
    return await started();
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}
