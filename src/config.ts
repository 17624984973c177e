import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type LevelWithSilent, levels } from 'pino';
import type { JwtSettings } from './adapters/jwt/jose-token-verifier.js';
import type { EdgeSettings } from './adapters/socket-io/edge.js';
import { DEFAULT_TIMINGS, type Timings } from './application/settings.js';
import { fail, ok, type Result } from './domain/result.js';

/**
 * The service's configuration, read once from the environment (PROTOCOL §10).
 *
 * `embedded`: neither REDIS_URL nor DATABASE_URL is set; presence and lessons live in memory with
 * demo data, and a random HS256 secret is made when AUTH_JWT_SECRET is not given.
 * `production`: either URL is set, and AUTH_JWT_SECRET is then required.
 */
export interface Config {
  readonly mode: 'embedded' | 'production';
  readonly host: string;
  readonly port: number;
  readonly redisUrl: string | null;
  readonly databaseUrl: string | null;
  /** Prepended to every Redis key the service writes (PROTOCOL §7). */
  readonly redisKeyPrefix: string;
  readonly jwt: JwtSettings & { readonly secret: string };
  /** True when the secret was made at start-up (embedded mode): tokens die with the process. */
  readonly jwtSecretGenerated: boolean;
  readonly timings: Timings;
  readonly sweepIntervalS: number;
  readonly rateLimit: { readonly perS: number; readonly burst: number };
  /** Null when MIXPANEL_TOKEN is unset: analytics off. */
  readonly mixpanel: {
    readonly token: string;
    /** Mixpanel's API host (or a proxy) as host[:port]; null for the package's default. */
    readonly host: string | null;
    readonly protocol: 'http' | 'https';
  } | null;
  readonly logLevel: LevelWithSilent;
  readonly edge: EdgeSettings;
  /** How many days `presence_event` rows are kept (PRESENCE_LOG_DAYS). */
  readonly presenceLogDays: number;
  /** Whether `/console` serves the manager console (CONSOLE_ENABLED). */
  readonly consoleEnabled: boolean;
}

/** Which variable is wrong, and a one-line sentence that names it. */
export interface ConfigError {
  readonly variable: string;
  readonly message: string;
}

/**
 * Upper bound of every whole-number setting: 2,000,000 seconds (about 23 days) still fits a
 * Node timer once turned into milliseconds, and no rate limit needs more.
 */
const MAX_WHOLE_NUMBER = 2_000_000;

const LOG_LEVELS: readonly string[] = [...Object.keys(levels.values), 'silent'];

class BadVariable extends Error {
  constructor(
    readonly variable: string,
    sentence: string,
  ) {
    super(`${variable} ${sentence}`);
  }
}

/**
 * Reads and checks the configuration. An empty variable counts as unset. Values that may hold
 * credentials (URLs, secrets, tokens) are never repeated in an error message.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Result<Config, ConfigError> {
  try {
    return ok(readConfig(env));
  } catch (error) {
    if (error instanceof BadVariable) {
      return fail({ variable: error.variable, message: error.message });
    }
    throw error;
  }
}

function readConfig(env: NodeJS.ProcessEnv): Config {
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const wholeNumber = (name: string, fallback: number): number =>
    parseWholeNumber(name, read(name), fallback, 1, MAX_WHOLE_NUMBER);

  const redisUrl = url('REDIS_URL', read('REDIS_URL'), ['redis:', 'rediss:']);
  const databaseUrl = url('DATABASE_URL', read('DATABASE_URL'), ['postgres:', 'postgresql:']);
  const mode = redisUrl === null && databaseUrl === null ? 'embedded' : 'production';
  const givenSecret = read('AUTH_JWT_SECRET');
  if (mode === 'production' && givenSecret === undefined) {
    throw new BadVariable(
      'AUTH_JWT_SECRET',
      'is required when REDIS_URL or DATABASE_URL is set (production mode).',
    );
  }
  const jwksFile = read('AUTH_JWKS_FILE');
  if (jwksFile !== undefined) checkJwksFile(jwksFile);
  const issuer = read('AUTH_ISSUER');
  const audience = read('AUTH_AUDIENCE');
  const mixpanelToken = read('MIXPANEL_TOKEN');

  return {
    mode,
    host: read('HOST') ?? '0.0.0.0',
    port: parseWholeNumber('PORT', read('PORT'), 3000, 0, 65_535),
    redisUrl,
    databaseUrl,
    redisKeyPrefix: keyPrefix(read('REDIS_KEY_PREFIX') ?? ''),
    jwt: {
      secret: givenSecret ?? randomBytes(32).toString('base64url'),
      ...(jwksFile === undefined ? {} : { jwksFile }),
      ...(issuer === undefined ? {} : { issuer }),
      ...(audience === undefined ? {} : { audience }),
    },
    jwtSecretGenerated: givenSecret === undefined,
    timings: {
      presenceTtlS: wholeNumber('PRESENCE_TTL_S', DEFAULT_TIMINGS.presenceTtlS),
      disconnectGraceS: wholeNumber('DISCONNECT_GRACE_S', DEFAULT_TIMINGS.disconnectGraceS),
      cooldownS: wholeNumber('COOLDOWN_S', DEFAULT_TIMINGS.cooldownS),
      lessonTtlS: wholeNumber('LESSON_TTL_S', DEFAULT_TIMINGS.lessonTtlS),
      sessionEndLeaseMs: DEFAULT_TIMINGS.sessionEndLeaseMs,
    },
    sweepIntervalS: wholeNumber('SWEEP_INTERVAL_S', 5),
    rateLimit: {
      perS: wholeNumber('RATE_LIMIT_PER_S', 20),
      burst: wholeNumber('RATE_LIMIT_BURST', 40),
    },
    mixpanel:
      mixpanelToken === undefined
        ? null
        : { token: mixpanelToken, ...mixpanelHost(read('MIXPANEL_HOST')) },
    logLevel: logLevel(read('LOG_LEVEL') ?? 'info'),
    edge: {
      allowEio3: flag('ALLOW_EIO3', read('ALLOW_EIO3'), false),
      corsOrigins: corsOrigins(read('CORS_ORIGINS')),
      trustProxy: flag('TRUST_PROXY', read('TRUST_PROXY'), false),
      maxConnectionsPerIp: wholeNumber('MAX_CONNECTIONS_PER_IP', 5000),
      handshakeFailuresPerIpPerMin: wholeNumber('HANDSHAKE_FAILURES_PER_IP_PER_MIN', 120),
    },
    presenceLogDays: wholeNumber('PRESENCE_LOG_DAYS', 30),
    consoleEnabled: flag('CONSOLE_ENABLED', read('CONSOLE_ENABLED'), true),
  };
}

/** Exactly `true` or `false`: a typo such as `ture` must not silently mean the default. */
function flag(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new BadVariable(name, `must be true or false, got ${JSON.stringify(value)}.`);
}

/** `scheme://host[:port]` with nothing after it: the form of a browser's `Origin` header. */
const ORIGIN =
  /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([0-9]{1,5}))?$/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * Comma-separated exact origins. Browsers send the scheme and host in lower case and leave out a
 * default port, so an entry written otherwise could never match: it is refused with the form
 * that would, rather than accepted and silently useless.
 */
function corsOrigins(value: string | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return value.split(',').map((raw) => {
    const entry = raw.trim();
    const match = ORIGIN.exec(entry.toLowerCase());
    const [, scheme = '', host = '', port] = match ?? [];
    if (match === null || (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535))) {
      throw new BadVariable(
        'CORS_ORIGINS',
        `must list origins as scheme://host[:port] separated by commas, got ${JSON.stringify(entry)}.`,
      );
    }
    const explicitPort = port === undefined || DEFAULT_PORTS[scheme] === port ? '' : `:${port}`;
    const origin = `${scheme}://${host}${explicitPort}`;
    if (origin !== entry) {
      throw new BadVariable(
        'CORS_ORIGINS',
        `lists ${JSON.stringify(entry)}, which no browser sends as its Origin: write ${JSON.stringify(origin)}.`,
      );
    }
    return origin;
  });
}

function parseWholeNumber(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const parsed = /^[0-9]{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed >= min && parsed <= max)) {
    throw new BadVariable(
      name,
      `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}.`,
    );
  }
  return parsed;
}

function url(name: string, value: string | undefined, schemes: readonly string[]): string | null {
  if (value === undefined) return null;
  const expected = schemes.map((scheme) => `${scheme}//`).join(' or ');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new BadVariable(name, `is not a valid URL (expected ${expected}…).`);
  }
  if (!schemes.includes(parsed.protocol) || parsed.hostname === '') {
    throw new BadVariable(name, `must be a ${expected}host… URL.`);
  }
  return value;
}

function checkJwksFile(path: string): void {
  let keys: unknown;
  try {
    keys = (JSON.parse(readFileSync(path, 'utf8')) as { keys?: unknown }).keys;
  } catch (error) {
    const reason = error instanceof SyntaxError ? 'is not JSON' : 'cannot be read';
    throw new BadVariable('AUTH_JWKS_FILE', `names a file that ${reason}: ${path}.`);
  }
  if (!Array.isArray(keys)) {
    throw new BadVariable('AUTH_JWKS_FILE', `names a file without a "keys" array: ${path}.`);
  }
}

/** Printable ASCII without spaces, so the prefix can never split or hide a key name. */
function keyPrefix(value: string): string {
  if (!/^[!-~]{0,64}$/.test(value)) {
    throw new BadVariable(
      'REDIS_KEY_PREFIX',
      'must be at most 64 printable ASCII characters without spaces.',
    );
  }
  return value;
}

/** `[http://|https://]host[:port]`: a plain-HTTP scheme is for a proxy on a private network. */
function mixpanelHost(value: string | undefined): {
  host: string | null;
  protocol: 'http' | 'https';
} {
  if (value === undefined) return { host: null, protocol: 'https' };
  const match = /^(?:(https?):\/\/)?([A-Za-z0-9.-]+(?::([0-9]{1,5}))?)$/.exec(value);
  const port = match?.[3] === undefined ? null : Number(match[3]);
  if (match?.[2] === undefined || (port !== null && (port < 1 || port > 65_535))) {
    throw new BadVariable(
      'MIXPANEL_HOST',
      `must be [http://|https://]host[:port] (no path), got ${JSON.stringify(value)}.`,
    );
  }
  return { host: match[2], protocol: match[1] === 'http' ? 'http' : 'https' };
}

function logLevel(value: string): LevelWithSilent {
  if (!LOG_LEVELS.includes(value)) {
    throw new BadVariable(
      'LOG_LEVEL',
      `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}.`,
    );
  }
  return value as LevelWithSilent;
}
