import type { Command } from 'commander';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import { isRole, ROLES } from '../../src/domain/clients.js';
import { parseId } from '../../src/domain/ids.js';
import type { CommandOutput } from './db.js';

export interface TokenOptions {
  readonly sub: string;
  readonly org: string;
  readonly role: string;
  readonly ttl: string;
}

/** A year: long enough for any test or demo, short enough that a leaked token still dies. */
const MAX_TTL_S = 31_536_000;
const DEFAULT_TTL_S = 3_600;
const idRule = 'must be 1–64 characters from A-Z, a-z, 0-9, _ and -';

/**
 * `classroom token`: prints an HS256 access token signed with AUTH_JWT_SECRET, with AUTH_ISSUER and
 * AUTH_AUDIENCE when they are set, so that it passes the service's checks. Returns the exit code:
 * 0 printed, 2 a bad option or AUTH_JWT_SECRET missing.
 */
export async function runToken(
  options: TokenOptions,
  env: NodeJS.ProcessEnv,
  output: CommandOutput,
): Promise<number> {
  const complain = (line: string) => {
    output.writeErr(`${line}\n`);
    return 2;
  };
  const read = (name: string) => (env[name] === '' ? undefined : env[name]);
  const secret = read('AUTH_JWT_SECRET');
  if (secret === undefined) {
    return complain('AUTH_JWT_SECRET is not set; the token must be signed with the server secret.');
  }
  const sub = parseId(options.sub);
  if (sub === null) return complain(`--sub ${idRule}, got ${JSON.stringify(options.sub)}.`);
  const orgId = parseId(options.org);
  if (orgId === null) return complain(`--org ${idRule}, got ${JSON.stringify(options.org)}.`);
  if (!isRole(options.role)) {
    return complain(
      `--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(options.role)}.`,
    );
  }
  const ttlS = /^[0-9]{1,8}$/.test(options.ttl) ? Number(options.ttl) : 0;
  if (ttlS < 1 || ttlS > MAX_TTL_S) {
    return complain(
      `--ttl must be a whole number of seconds from 1 to ${MAX_TTL_S}, got ${JSON.stringify(options.ttl)}.`,
    );
  }
  const issuer = read('AUTH_ISSUER');
  const audience = read('AUTH_AUDIENCE');
  const token = await signAccessToken({
    secret,
    sub,
    orgId,
    role: options.role,
    ttlS,
    nowS: Math.floor(Date.now() / 1000),
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
  });
  output.writeOut(`${token}\n`);
  return 0;
}

export function addTokenCommand(program: Command): void {
  program
    .command('token')
    .description('print an access token signed with AUTH_JWT_SECRET (for development and tests)')
    .requiredOption('--sub <user>', 'user id: the token subject')
    .requiredOption('--org <org>', 'organisation id')
    .requiredOption('--role <role>', ROLES.join(', '))
    .option('--ttl <seconds>', 'lifetime in seconds', String(DEFAULT_TTL_S))
    .action(async (options: TokenOptions, command: Command) => {
      process.exitCode = await runToken(
        options,
        process.env,
        command.configureOutput() as CommandOutput,
      );
    });
}
