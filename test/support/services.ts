import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { requirement } from './requirements.js';

/**
 * Integration suites need the machine's Redis and PostgreSQL, and fault suites start servers of
 * their own from the machine's binaries. In CI (`CI=true`) a missing one is a failure; on a
 * developer's machine the suite is skipped and the reason named, so `npm test` still passes
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

/**
 * Whether a suite that needs `name` can run (see `requirement`); `missing` says what is wrong
 * when it is not available, as a phrase after the name.
 */
export function requireService(
  name: string,
  available: boolean,
  missing = 'cannot be reached',
): boolean {
  return requirement(name, available ? null : missing);
}

/** `describe.runIf` friendly: resolves once per file at collection time. */
export const hasRedis = requireService('Redis', await redisAvailable());
export const hasPostgres = requireService('PostgreSQL', await postgresAvailable());

/** The first executable `program` on `PATH`, or null. */
export function onPath(program: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory: look in the next.
    }
  }
  return null;
}

/** Where Debian installs the PostgreSQL server's programs (initdb, pg_ctl), newest version first. */
export function postgresBinDir(root = '/usr/lib/postgresql'): string | null {
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return (
    versions
      .map((version) => join(root, version, 'bin'))
      .find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) ?? null
  );
}

/**
 * For suites that stop, freeze or reconfigure their Redis: they start a `redis-server` of their
 * own from `PATH`. Call it in `describe.runIf`, so that only those suites ask.
 */
export function canStartOwnRedis(): boolean {
  return requireService(
    'redis-server',
    onPath('redis-server') !== null,
    'is not on PATH (fault tests start a Redis of their own)',
  );
}

/**
 * For suites that stop or freeze their PostgreSQL: they create a cluster of their own with the
 * server's programs, as the `postgres` user (initdb refuses root), through `runuser`.
 */
export function canStartOwnPostgres(): boolean {
  const name = 'A PostgreSQL server of their own';
  if (postgresBinDir() === null) {
    return requireService(name, false, 'has no initdb and pg_ctl under /usr/lib/postgresql/*/bin');
  }
  if (process.getuid?.() !== 0 || !existsSync('/usr/sbin/runuser')) {
    return requireService(
      name,
      false,
      'needs the tests to run as root with /usr/sbin/runuser (initdb runs as postgres)',
    );
  }
  return true;
}
