import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations.js';

/**
 * Limits that make a lost or stopped database surface as an error within seconds instead of a
 * request that hangs: opening a connection, waiting for a free one, and each statement (on the
 * server, and on the client in case the server never answers at all).
 */
const CONNECT_TIMEOUT_MS = 3_000;
const ACQUIRE_TIMEOUT_MS = 4_000;
const STATEMENT_TIMEOUT_MS = 5_000;
export const QUERY_TIMEOUT_MS = 6_000;
/** A node that dies inside a transaction must not hold lesson rows locked for long. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;
const DEFAULT_POOL_MAX = 10;

export interface OrmOptions {
  readonly databaseUrl: string;
  readonly logger?: Logger;
  readonly poolMax?: number;
}

/**
 * Opens the pool lazily: nothing is connected until the first query, so a service can start (and
 * report itself not ready) while the database is down. The database is never created here; only
 * `migrateDatabase` creates a missing one.
 */
export async function openOrm(options: OrmOptions): Promise<MikroORM> {
  const { logger } = options;
  return MikroORM.init({
    clientUrl: options.databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: { migrationsList: MIGRATIONS, silent: true, snapshot: false },
    discovery: { warnWhenNoEntities: false },
    connect: false,
    ensureDatabase: false,
    allowGlobalContext: false,
    colors: false,
    debug: logger?.isLevelEnabled('debug') ? ['query', 'info', 'discovery'] : false,
    logger: (message) => logger?.debug({ component: 'mikro-orm' }, message),
    driverOptions: {
      // knex would print to the console; a broken pooled connection is worth a warning in the log.
      log: {
        warn: (message: string) => logger?.warn({ component: 'knex' }, message),
        error: (message: string) => logger?.error({ component: 'knex' }, message),
        deprecate: (message: string) => logger?.debug({ component: 'knex' }, message),
        debug: (message: string) => logger?.debug({ component: 'knex' }, message),
      },
      pool: { min: 0, max: options.poolMax ?? DEFAULT_POOL_MAX, validate: isIdle },
      acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
      connection: {
        application_name: 'classroom',
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        statement_timeout: STATEMENT_TIMEOUT_MS,
        query_timeout: QUERY_TIMEOUT_MS,
        idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
        keepAlive: true,
      },
    },
  });
}

/**
 * A pooled pg client whose query was abandoned by `query_timeout` is still waiting for that answer
 * and would queue every later query behind it; the pool replaces it instead of handing it out.
 */
function isIdle(client: { readyForQuery?: boolean }): boolean {
  return client.readyForQuery === true;
}

/** Socket-level failures: nothing answered at that address. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs meaning the server cannot serve us now: connection exceptions (08), insufficient
 * resources such as too many connections (53), shutdown or restart (57P01–57P03), a statement
 * cancelled by `statement_timeout` (57014), an idle transaction cut off (25P03), and a login the
 * server refuses (28, 3D000: wrong credentials or database), which no request can work around.
 */
const UNAVAILABLE_SQLSTATE = /^(?:08|53|28|57P0[123]$|57014$|25P03$|3D000$)/;

/** Messages of pg and knex errors that carry no code; knex puts the failed SQL and " - " first. */
const UNAVAILABLE_MESSAGE =
  /(?:^| - )(?:Connection terminated|timeout expired|Query read timeout|Client has encountered a connection error|Client was closed|Knex: Timeout acquiring a connection|Unable to acquire a connection)/;

/**
 * Whether `error` means the database could not be reached or did not answer in time, as opposed
 * to a query the database refused. Looks through MikroORM's wrappers, `cause` chains and the
 * per-address errors of an `AggregateError`.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const pending: unknown[] = [error];
  for (let seen = 0; pending.length > 0 && seen < 16; seen += 1) {
    const current = pending.shift();
    if (!(current instanceof Error)) continue;
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (UNREACHABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))
    ) {
      return true;
    }
    if (UNAVAILABLE_MESSAGE.test(current.message)) return true;
    pending.push(current.cause);
    if (current instanceof AggregateError) pending.push(...current.errors);
  }
  return false;
}
