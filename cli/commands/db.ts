import type { Command, OutputConfiguration } from 'commander';
import { migrateDatabase } from '../../src/adapters/mikro-orm/migrations.js';
import { isDatabaseUnavailable, openOrm } from '../../src/adapters/mikro-orm/orm.js';

/** Where the command writes: commander's own output functions, or a test's. */
export type CommandOutput = Required<Pick<OutputConfiguration, 'writeOut' | 'writeErr'>>;

const EXAMPLE_URL = 'postgres://postgres@127.0.0.1:5432/classroom';

/**
 * `classroom db migrate`: applies the shipped migrations to DATABASE_URL, creating the database
 * when it does not exist, and says what it applied. Returns the exit code: 0 done (also when
 * nothing was pending), 1 the database could not be reached or a migration failed, 2 DATABASE_URL
 * missing or not a PostgreSQL URL. The URL itself is never printed, since it may hold a password.
 */
export async function runDbMigrate(env: NodeJS.ProcessEnv, output: CommandOutput): Promise<number> {
  const say = (line: string) => output.writeOut(`${line}\n`);
  const complain = (line: string) => output.writeErr(`${line}\n`);

  const databaseUrl = env.DATABASE_URL;
  if (databaseUrl === undefined || databaseUrl === '') {
    complain(`DATABASE_URL is not set; give the database to migrate, e.g. ${EXAMPLE_URL}`);
    return 2;
  }
  if (!isPostgresUrlWithDatabase(databaseUrl)) {
    complain(`DATABASE_URL is not a PostgreSQL URL with a database name, e.g. ${EXAMPLE_URL}`);
    return 2;
  }

  const orm = await openOrm({ databaseUrl });
  try {
    const applied = await migrateDatabase(orm);
    if (applied.length === 0) say('The schema is up to date; no migration to apply.');
    for (const name of applied) say(`Applied ${name}`);
    return 0;
  } catch (error) {
    const reason = firstLine(error instanceof Error ? error.message : String(error));
    complain(
      isDatabaseUnavailable(error)
        ? `Cannot reach the database named by DATABASE_URL: ${reason}`
        : `Migration failed, nothing was applied: ${reason}`,
    );
    return 1;
  } finally {
    await orm.close();
  }
}

/**
 * Stricter than the service's own check: a migration must name the database it creates tables in,
 * rather than fall back to one named after the user.
 */
function isPostgresUrlWithDatabase(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    (url.protocol === 'postgres:' || url.protocol === 'postgresql:') &&
    url.hostname !== '' &&
    url.pathname.length > 1
  );
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

export function addDbCommand(program: Command): void {
  const db = program.command('db').description('manage the PostgreSQL database');
  db.command('migrate')
    .description('apply the shipped migrations to DATABASE_URL (idempotent)')
    .action(async (_options: unknown, command: Command) => {
      // Commander always fills in both writers; reading them back honours a test's or the
      // program's configureOutput.
      const output = command.configureOutput() as CommandOutput;
      process.exitCode = await runDbMigrate(process.env, output);
    });
}
