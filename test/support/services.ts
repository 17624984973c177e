import { Socket } from 'node:net';
import { requirement } from './requirements.js';

/**
 * Integration suites need the machine's Redis and PostgreSQL. In CI (`CI=true`) a missing one is
 * a failure; on a developer's machine the suite is skipped and named, so `npm test` still passes
 * everything else.
 */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port || defaultPort), hostname, () => done(true));
  });
}

export const redisAvailable = (url = REDIS_URL) => reachable(url, 6379);
export const postgresAvailable = (url = POSTGRES_URL) => reachable(url, 5432);

/** Whether a suite that needs `name` can run (see `requirement`). */
export function requireService(name: 'Redis' | 'PostgreSQL', available: boolean): boolean {
  return requirement(name, available ? null : 'cannot be reached');
}

/** `describe.runIf` friendly: resolves once per file at collection time. */
export const hasRedis = requireService('Redis', await redisAvailable());
export const hasPostgres = requireService('PostgreSQL', await postgresAvailable());
