import { Command, CommanderError } from 'commander';
import { addDbCommand } from './commands/db.js';
import { addServeCommand } from './commands/serve.js';
import { addTokenCommand } from './commands/token.js';

/**
 * `classroom`: the service's command line (PROTOCOL §11). Exit codes: 0 success, 1 runtime
 * failure, 2 bad usage or configuration; each command sets its own through `process.exitCode`.
 */
const program = new Command('classroom')
  .description('Realtime classroom service: serve, mint development tokens, migrate the database')
  // Before any subcommand is added, so that they inherit it (STACK.md trap 7).
  .exitOverride();
addServeCommand(program);
addTokenCommand(program);
addDbCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has already printed its one-line message; help and --version are not failures.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    console.error(`classroom: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
