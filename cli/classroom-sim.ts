import { Command, CommanderError, type OutputConfiguration } from 'commander';
import { addSimBenchCommand } from './commands/sim-bench.js';
import { addSimLoadCommand } from './commands/sim-load.js';
import { addSimRunCommand } from './commands/sim-run.js';

/**
 * The `classroom-sim` program: one command per file in cli/commands (sim-run.ts, and the load
 * driver's commands as they come). Exported for tests; `main` is what the bin shim runs. Exit
 * codes: 0 success, 1 a violation or runtime failure, 2 bad usage; each command sets its own
 * through `process.exitCode`.
 */
export function buildSimProgram(output?: OutputConfiguration): Command {
  const program = new Command('classroom-sim')
    .description('Simulator and load driver of the classroom service')
    // Before any subcommand is added, so that they inherit these (STACK.md trap 7); bad usage is
    // one line, so no "Did you mean" suggestion under it.
    .exitOverride()
    .showSuggestionAfterError(false);
  if (output !== undefined) program.configureOutput(output);
  addSimRunCommand(program);
  addSimLoadCommand(program);
  addSimBenchCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildSimProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its one-line message; help and --version are not failures.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    } else {
      console.error(`classroom-sim: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }
}
