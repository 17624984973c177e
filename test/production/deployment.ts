import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { io } from 'socket.io-client';
import { afterAll, beforeAll } from 'vitest';
import { ServiceMetrics } from '../../src/adapters/http/metrics.js';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import { seedLessons } from '../../src/adapters/mikro-orm/mikro-orm-lesson-repository.js';
import { CLASSROOM_NAMESPACE, SOCKET_PATH } from '../../src/adapters/socket-io/socket-server.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { LessonStatus } from '../../src/domain/lesson.js';
import { productionOptions } from '../../src/production.js';
import { type RunningService, startService } from '../../src/runtime.js';
import {
  createFreshDatabase,
  type FreshDatabase,
  migratedOrm,
} from '../adapters/mikro-orm/fresh-database.js';
import { deleteKeys, quietClient } from '../adapters/redis/fixtures.js';
import { RedisServerProcess } from '../adapters/redis/redis-server-process.js';
import {
  type Client,
  connected,
  type Identity,
  record,
  refusalOf,
} from '../adapters/socket-io/classroom-harness.js';
import { type Serving, startServe } from '../cli/cli-process.js';
import { POSTGRES_URL, REDIS_URL } from '../support/services.js';

const SECRET = 'production-test-secret-0123456789abcdef';
export const ORG = 'north';

/** The settings that decide when a session ends, as a node's environment gives them. */
export interface SessionTimings {
  readonly PRESENCE_TTL_S: string;
  readonly DISCONNECT_GRACE_S: string;
  readonly SWEEP_INTERVAL_S: string;
}

/**
 * Short enough that a session ends within seconds of its teacher leaving, long enough that a
 * loaded 2-core machine refreshes presence in time (every third of the TTL).
 */
export const FAST_TIMINGS: SessionTimings = {
  PRESENCE_TTL_S: '3',
  DISCONNECT_GRACE_S: '1',
  SWEEP_INTERVAL_S: '1',
};

/** The line `classroom serve` prints once it listens in production mode. */
const LISTENING = /listening on (\S+) \(production mode\)/;

/** A node as a test reaches it, whether it runs in this process or in a child. */
export interface Node {
  readonly url: string;
}

export interface ChildNode extends Node {
  readonly serving: Serving;
  /** When the child printed that it listens, by this process' clock (`Date.now()`). */
  readonly listeningAtMs: number;
}

export interface LessonRowState {
  readonly status: LessonStatus;
  /** Unix milliseconds, null while the lesson runs. */
  readonly endedAtMs: number | null;
  /** `closed_at` of the lesson's quiz and task, null while they are open. */
  readonly quizClosedAtMs: number | null;
  readonly taskClosedAtMs: number | null;
}

/**
 * One production deployment for a test file: a fresh database on a PostgreSQL server (migrated,
 * lessons added per test), a random key prefix on a Redis server, and the nodes and clients the
 * file starts on them, all cleaned up by `destroy()`. Shared servers are never reconfigured: what
 * a file leaves behind is its own database and its own keys, and both go.
 */
export class Deployment {
  private readonly nodes: RunningService[] = [];
  private readonly children: ChildNode[] = [];
  private readonly sockets: Client[] = [];
  private names = 0;

  private constructor(
    readonly redisUrl: string,
    readonly keyPrefix: string,
    private readonly database: FreshDatabase,
    /** The test's own connections, to seed and to look at what the nodes wrote. */
    readonly redis: Redis,
    readonly orm: MikroORM,
  ) {}

  static async create(
    servers: { redisUrl?: string; postgresUrl?: string } = {},
  ): Promise<Deployment> {
    const redisUrl = servers.redisUrl ?? REDIS_URL;
    const database = await createFreshDatabase(servers.postgresUrl ?? POSTGRES_URL);
    const orm = await migratedOrm(database.url);
    return new Deployment(
      redisUrl,
      `test-production-${randomUUID()}:`,
      database,
      quietClient(redisUrl, 'classroom-production-test'),
      orm,
    );
  }

  /** The environment of `classroom serve` for a node of this deployment. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: this.redisUrl,
      REDIS_KEY_PREFIX: this.keyPrefix,
      DATABASE_URL: this.database.url,
      AUTH_JWT_SECRET: SECRET,
      LOG_LEVEL: 'silent',
      ...FAST_TIMINGS,
      ...extra,
    };
  }

  /**
   * A node in this process, wired exactly as `classroom serve` wires it. `adjust` changes what the
   * environment cannot express, such as the session-end lease.
   */
  async startNode(
    extra: NodeJS.ProcessEnv = {},
    options: { logger?: Logger; adjust?: (config: Config) => Config } = {},
  ): Promise<RunningService> {
    const loaded = loadConfig(this.env(extra));
    if (!loaded.ok) throw new Error(loaded.error.message);
    const config = options.adjust?.(loaded.value) ?? loaded.value;
    const logger = options.logger ?? pino({ level: 'silent' });
    const production = await productionOptions(config, logger, new ServiceMetrics());
    const node = await startService(config, { ...production, logger });
    this.nodes.push(node);
    return node;
  }

  /** `node bin/classroom.js serve` in a child process, for tests where a node must die. */
  async startChild(extra: NodeJS.ProcessEnv = {}): Promise<ChildNode> {
    const serving = startServe(this.env(extra));
    const banner = await serving.waitFor(LISTENING);
    const url = LISTENING.exec(banner)?.[1] ?? '';
    const child = { url, serving, listeningAtMs: Date.now() };
    this.children.push(child);
    return child;
  }

  /** A name no other test of the file uses, so that no Redis key of one test meets another's. */
  unique(kind: string): string {
    this.names += 1;
    return `${kind}-${this.names}`;
  }

  /**
   * A lesson of `teacherId` (of `ORG` unless told) in the database with an open quiz and task
   * (ids `quiz-{id}` and `task-{id}`); returns its id.
   */
  async addLesson(
    teacherId: string,
    lesson: { status?: LessonStatus; seatCount?: number; orgId?: string } = {},
  ): Promise<string> {
    const id = this.unique('lesson');
    await seedLessons(this.orm, {
      lessons: [
        {
          id,
          orgId: lesson.orgId ?? ORG,
          teacherId,
          title: null,
          seatCount: lesson.seatCount ?? 4,
          status: lesson.status ?? 'active',
        },
      ],
      quizzes: [{ id: `quiz-${id}`, lessonId: id, status: 'open' }],
      tasks: [{ id: `task-${id}`, lessonId: id, status: 'open' }],
    });
    return id;
  }

  async lessonRow(id: string): Promise<LessonRowState> {
    const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
    const [row] = await this.orm.em
      .fork()
      .getConnection()
      .execute<LessonRowState[]>(
        `select l.status, ${ms('l.ended_at')} as "endedAtMs",
                ${ms('q.closed_at')} as "quizClosedAtMs", ${ms('t.closed_at')} as "taskClosedAtMs"
           from lesson l join quiz q on q.lesson_id = l.id join task t on t.lesson_id = l.id
          where l.id = ?`,
        [id],
      );
    if (row === undefined) throw new Error(`no lesson ${id}`);
    return row;
  }

  /** The lesson's `student_attend` rows, by student id. */
  async attendance(
    lessonId: string,
  ): Promise<Record<string, { displayName: string | null; seatId: string | null }>> {
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<Array<{ student_id: string; display_name: string | null; seat_id: string | null }>>(
        'select student_id, display_name, seat_id from student_attend where lesson_id = ?',
        [lessonId],
      );
    return Object.fromEntries(
      rows.map((row) => [row.student_id, { displayName: row.display_name, seatId: row.seat_id }]),
    );
  }

  /** The lesson's seat map in Redis (`lesson_seat_{lesson}`): seat → student id or `""`. */
  seatMap(lessonId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key(`lesson_seat_${lessonId}`));
  }

  /** `notify-keyspace-events` of the deployment's Redis, as CONFIG GET reports it. */
  async notificationFlags(): Promise<string> {
    const [, flags] = (await this.redis.config('GET', 'notify-keyspace-events')) as string[];
    return flags ?? '';
  }

  /** A Redis key of the service, with this deployment's prefix. */
  key(name: string): string {
    return `${this.keyPrefix}${name}`;
  }

  /** Connects a client of `identity` to `node` as the real client of that kind does. */
  async connect(
    node: Node,
    identity: Identity,
    options: { productType?: 'manager'; reconnection?: boolean; websocket?: boolean } = {},
  ): Promise<Client> {
    const client = record(this.socket(node, identity, options), identity);
    this.sockets.push(client);
    await connected(client.socket);
    return client;
  }

  teacher(node: Node, sub: string, options?: { reconnection?: boolean; websocket?: boolean }) {
    return this.connect(node, { sub, org: ORG, role: 'teacher' }, options);
  }

  student(node: Node, sub: string) {
    return this.connect(node, { sub, org: ORG, role: 'student' });
  }

  manager(node: Node, sub: string) {
    return this.connect(node, { sub, org: ORG, role: 'admin' }, { productType: 'manager' });
  }

  /** The handshake refusal a teacher gets from `node`: `err.message` and `err.data`. */
  teacherRefusal(node: Node, sub: string) {
    return this.refusal(node, { sub, org: ORG, role: 'teacher' });
  }

  /** The handshake refusal a TeacherApp or StudentWeb of `identity` gets from `node`. */
  refusal(node: Node, identity: Identity) {
    const client = record(this.socket(node, identity, {}), identity);
    this.sockets.push(client);
    return refusalOf(client.socket);
  }

  private socket(
    node: Node,
    identity: Identity,
    options: { productType?: 'manager'; reconnection?: boolean; websocket?: boolean },
  ) {
    return io(`${node.url}${CLASSROOM_NAMESPACE}`, {
      path: SOCKET_PATH,
      forceNew: true,
      autoConnect: false,
      reconnection: options.reconnection ?? false,
      ...(options.websocket ? { transports: ['websocket'] } : {}),
      // A fresh token per connection attempt, as a real client fetches one before it reconnects.
      auth: async (deliver: (fields: Record<string, string>) => void) =>
        deliver({
          role: identity.role,
          org_id: identity.org,
          auth: await tokenFor(identity),
          ...(options.productType === undefined ? {} : { product_type: options.productType }),
        }),
    });
  }

  /** Closes the clients and stops every node (SIGKILL for children). */
  async stopNodes(): Promise<void> {
    for (const client of this.sockets.splice(0)) client.socket.disconnect();
    await Promise.all(this.nodes.splice(0).map((node) => node.close()));
    await Promise.all(this.children.splice(0).map(({ serving }) => kill(serving)));
  }

  /** Stops everything, then drops the keys and the database. */
  async destroy(): Promise<void> {
    await this.stopNodes();
    await deleteKeys(this.redis, this.keyPrefix);
    this.redis.disconnect();
    await this.orm.close(true);
    await this.database.drop();
  }
}

export interface OwnRedisDeployment {
  readonly redis: RedisServerProcess;
  readonly deployment: Deployment;
}

/**
 * For a suite that reconfigures, stops or restarts its Redis: a redis-server of its own on a spare
 * port (started with `serverArgs`) and a deployment on it, made before the suite's tests and
 * removed after them. The fields are set from the suite's first hook on.
 */
export function useOwnRedis(serverArgs: readonly string[] = []): OwnRedisDeployment {
  const own = {} as { redis: RedisServerProcess; deployment: Deployment };
  beforeAll(async () => {
    own.redis = await RedisServerProcess.start(serverArgs);
    own.deployment = await Deployment.create({ redisUrl: own.redis.url });
  });
  afterAll(async () => {
    await own.deployment?.destroy();
    await own.redis?.stop();
  });
  return own;
}

/** Kills a child node at once, as a crash or an OOM kill would, and waits until it is gone. */
export async function kill(serving: Serving): Promise<void> {
  const { child, exited } = serving;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}

function tokenFor(identity: Identity): Promise<string> {
  return signAccessToken({
    secret: SECRET,
    sub: identity.sub,
    orgId: identity.org,
    role: identity.role,
    ttlS: 3_600,
    nowS: Math.floor(Date.now() / 1000),
  });
}

/** `GET /readyz` of a node: the status code and the body. */
export async function readiness(node: Node): Promise<{ status: number; body: ReadyBody }> {
  const response = await fetch(`${node.url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadyBody };
}

export interface ReadyBody {
  readonly status: string;
  readonly failed?: string[];
  readonly checks: Array<{ name: string; ok: boolean; detail?: string }>;
}
