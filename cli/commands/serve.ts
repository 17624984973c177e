import type { Command } from 'commander';
import { type Logger, pino } from 'pino';
import { CONSOLE_PATH } from '../../src/adapters/http/console-page.js';
import { ServiceMetrics } from '../../src/adapters/http/metrics.js';
import { DEMO } from '../../src/adapters/in-memory/demo-data.js';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Role } from '../../src/domain/clients.js';
import { productionOptions } from '../../src/production.js';
import { type RunningService, startService } from '../../src/runtime.js';
import type { CommandOutput } from './db.js';

/** Demo tokens outlive a working day of trying things out, and die with the process anyway. */
const DEMO_TOKEN_TTL_S = 12 * 3600;
/** A shutdown that takes longer than this is stuck: the process exits 1 instead of hanging. */
const SHUTDOWN_TIMEOUT_MS = 15_000;
/** After a clean shutdown, whatever a library left running must not keep the process alive. */
const EXIT_GRACE_MS = 1_000;
/** Below this an HS256 secret is guessable (RFC 7518 §3.2 asks for at least 256 bits). */
const MIN_SECRET_LENGTH = 32;

/**
 * The shell command that runs the README's client example (the fenced block after the
 * `example:join-lesson` marker) from the checkout, with no file to save.
 */
export const README_EXAMPLE_COMMAND =
  'node --input-type=module -e "$(awk \'/example:join-lesson/{m=1} m&&/^```js/{f=1;next} f&&/^```/{exit} f\' README.md)"';

/**
 * `classroom serve`: starts one node with the configuration from `env` and runs until SIGTERM or
 * SIGINT, then shuts down gracefully. Returns the exit code: 0 after a clean shutdown, 1 when the
 * service cannot start or stop, 2 for bad configuration (one line naming the variable).
 */
export async function runServe(env: NodeJS.ProcessEnv, output: CommandOutput): Promise<number> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    output.writeErr(`${loaded.error.message}\n`);
    return 2;
  }
  const config = loaded.value;
  const logger = pino({ level: config.logLevel });
  if (!config.jwtSecretGenerated && config.jwt.secret.length < MIN_SECRET_LENGTH) {
    logger.warn(`AUTH_JWT_SECRET is shorter than ${MIN_SECRET_LENGTH} characters`);
  }
  let service: RunningService;
  try {
    const options = await productionOptions(config, logger, new ServiceMetrics());
    service = await startService(config, { ...options, logger });
  } catch (error) {
    logger.error({ err: error }, 'start-up failed');
    output.writeErr(`Cannot start: ${firstLine(error)}\n`);
    return 1;
  }
  // Listening for signals before anything is printed: whoever reads the banner may stop us at once.
  const stopped = closeOnSignal(service, logger);
  output.writeOut(
    config.mode === 'embedded'
      ? await embeddedBanner(config, service.url)
      : `Classroom service listening on ${service.url} (production mode)\n`,
  );
  const code = await stopped;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  return code;
}

/** Resolves with the exit code once a SIGTERM or SIGINT has shut the service down. */
function closeOnSignal(service: RunningService, logger: Logger): Promise<number> {
  return new Promise((done) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        logger.warn({ signal }, 'second signal during shutdown: exiting now');
        process.exit(1);
      }
      closing = true;
      logger.info({ signal }, 'shutting down');
      const deadline = setTimeout(() => {
        logger.error(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms: exiting`);
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS).unref();
      service.close().then(
        () => {
          clearTimeout(deadline);
          done(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          done(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** What a newcomer needs to try the embedded service: where it is, who exists, and tokens. */
async function embeddedBanner(config: Config, url: string): Promise<string> {
  const sign = (sub: string, role: Role) =>
    signAccessToken({
      secret: config.jwt.secret,
      sub,
      orgId: DEMO.orgId,
      role,
      ttlS: DEMO_TOKEN_TTL_S,
      nowS: Math.floor(Date.now() / 1000),
      ...(config.jwt.issuer === undefined ? {} : { issuer: config.jwt.issuer }),
      ...(config.jwt.audience === undefined ? {} : { audience: config.jwt.audience }),
    });
  const [teacher] = DEMO.teachers;
  const [student] = DEMO.students;
  const { math, art } = DEMO.lessons;
  const teacherToken = await sign(teacher, 'teacher');
  return [
    '',
    'Classroom service, embedded mode: in-memory store and demo data, nothing is kept after exit.',
    '',
    `  Socket.IO   ${url}/classroom   (path /sockets)`,
    `  HTTP        ${url}/healthz   ${url}/readyz   ${url}/metrics`,
    ...(config.consoleEnabled
      ? [`  Console     ${url}${CONSOLE_PATH}   (paste the manager token below)`]
      : []),
    '',
    `  Demo org    ${DEMO.orgId}`,
    `  Lessons     ${math.id} (teacher ${math.teacherId}, ${math.status}), ${art.id} (teacher ${art.teacherId}, ${art.status})`,
    '',
    config.jwtSecretGenerated
      ? `  Demo tokens, valid for ${DEMO_TOKEN_TTL_S / 3600} h with this run's secret (a new one each start;\n` +
        '  set AUTH_JWT_SECRET to keep them, and `npx classroom token` then signs tokens this server takes):'
      : `  Demo tokens, valid for ${DEMO_TOKEN_TTL_S / 3600} h, signed with AUTH_JWT_SECRET:`,
    `    teacher ${teacher}  (role=teacher)`,
    `      ${teacherToken}`,
    `    student ${student}  (role=student)`,
    `      ${await sign(student, 'student')}`,
    `    manager ${DEMO.manager.userId}  (role=${DEMO.manager.role}, product_type=manager)`,
    `      ${await sign(DEMO.manager.userId, DEMO.manager.role)}`,
    '',
    '  Join lesson-math as the teacher with the README example (run it from this checkout):',
    `    CLASSROOM_URL=${url} CLASSROOM_TOKEN=${teacherToken} ${README_EXAMPLE_COMMAND}`,
    '',
    '',
  ].join('\n');
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0] ?? text;
}

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start one server node; configuration comes from the environment')
    .action(async (_options: unknown, command: Command) => {
      process.exitCode = await runServe(process.env, command.configureOutput() as CommandOutput);
    });
}
