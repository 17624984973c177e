import { Redis, ReplyError } from 'ioredis';
import type { Logger } from 'pino';
import { DependencyUnavailableError } from '../../application/errors.js';

export interface RedisClientOptions {
  /** Shown in `CLIENT LIST` and in the logs, so operators can tell our connections apart. */
  readonly name: string;
  readonly logger: Logger;
  readonly connectTimeoutMs?: number;
  /** Longest wait for one reply; our scripts run in microseconds, so a slow reply means trouble. */
  readonly commandTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * A connection tuned to fail fast: while Redis is down every command is refused at once (or after
 * `commandTimeoutMs` when the server hangs) instead of queueing, so a socket event answers
 * `unavailable` promptly and the client retries. Reconnects forever with a capped backoff.
 * Make other connections with this function too: `duplicate()` would copy the disabled offline
 * queue into a client that has not connected yet, which then refuses its first commands.
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  const log = options.logger.child({ redis: options.name });
  const redis = new Redis(url, {
    connectionName: options.name,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // A command whose connection dropped may or may not have run; the caller has already been
    // told it failed, so replaying it after the reconnect could apply a change twice.
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
  });
  // Commands issued during start-up may wait for the first connection; after that, an outage must
  // be answered immediately rather than by a growing queue replayed later.
  redis.once('ready', () => {
    redis.options.enableOfflineQueue = false;
  });
  // ioredis reports every failed reconnect attempt; one warning per outage is enough to act on.
  let outageReported = false;
  redis.on('ready', () => {
    outageReported = false;
    log.info('Redis connection ready');
  });
  redis.on('error', (error: Error) => {
    if (outageReported) return;
    outageReported = true;
    log.warn({ err: error }, 'Cannot reach Redis; reconnecting');
  });
  return redis;
}

/**
 * Server replies that mean "not now" rather than "wrong": retrying later can succeed. FENCED is
 * the presence store's own: a script refused to run past its caller's deadline (lua/lib.lua).
 */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|FENCED) /;
/** What ioredis rejects a command with when it cannot send it or gets no reply in time. */
const CLIENT_UNAVAILABLE_MESSAGES = new Set([
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Command timed out',
  'Connection is closed.',
]);

/**
 * Whether an error means Redis could not be reached or did not answer in time. A reply error
 * (a failing Lua script, a wrong type) is a bug and is deliberately not one of them.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof ReplyError) return UNAVAILABLE_REPLY.test(error.message);
  // MaxRetriesPerRequestError and the AbortError of a command cut off by a closed connection.
  // Socket errors (ECONNREFUSED and the like) never reach a command: ioredis emits them as events
  // and rejects the commands with one of these.
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'AbortError') return true;
  return CLIENT_UNAVAILABLE_MESSAGES.has(error.message);
}

/** The error to throw for a failed Redis call: `DependencyUnavailableError` when unreachable. */
export function toPresenceError(error: unknown): unknown {
  return isRedisUnavailable(error)
    ? new DependencyUnavailableError('presence', { cause: error })
    : error;
}

/** Awaits a Redis call; an unreachable Redis becomes `DependencyUnavailableError('presence')`. */
export async function presenceCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw toPresenceError(error);
  }
}

/**
 * Returns a function to call before each command on `redis`: the first call in an event-loop turn
 * corks the connection's socket and the turn's end (`setImmediate`) uncorks it, so every command
 * sent during the turn leaves in one write. Each write to a loopback or LAN socket is a system
 * call that also runs the receiving side's network stack and wakes Redis; one per turn instead of
 * one per command is most of what a burst of events costs on the Redis connection. Nothing else
 * changes: the commands keep their order and each still gets its own reply.
 */
export function writeCoalescer(redis: Redis): () => void {
  let corked = false;
  return () => {
    const { stream } = redis;
    if (corked || stream === undefined || !stream.writable) return;
    corked = true;
    stream.cork();
    setImmediate(() => {
      corked = false;
      stream.uncork();
    });
  };
}
