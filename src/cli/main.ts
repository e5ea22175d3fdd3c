import { Command, CommanderError } from 'commander';
import { ExitCode, KairosError } from '../core/errors.js';
import { registerCalendarCommands } from './commands/calendar.js';
import { registerDataCommands } from './commands/data.js';
import { registerRebalanceCommands } from './commands/rebalance.js';
import { registerReplayCommands } from './commands/replay.js';
import { registerStrategyCommands } from './commands/strategies.js';
import { registerReconcileCommands } from './commands/reconcile.js';
import { registerApprovalCommands } from './commands/approval.js';

/**
 * Each concept contributes its subcommands through one `register…Commands(program)` function.
 * Handlers throw KairosError for anything the user can fix; main turns it into one line on
 * stderr and the error's exit code.
 */
export function buildProgram(): Command {
  const program = new Command('kairos')
    .description('Multi-strategy portfolio rebalancing engine: schedules, strategies, netting, risk, trades, replay.')
    .showHelpAfterError()
    .exitOverride();
  registerCalendarCommands(program);
  registerDataCommands(program);
  registerRebalanceCommands(program);
  registerReplayCommands(program);
  registerStrategyCommands(program);
  registerReconcileCommands(program);
  registerApprovalCommands(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return ExitCode.ok;
  } catch (err) {
    return exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
    return ExitCode.usage;
  }
  if (err instanceof KairosError) {
    process.stderr.write(`kairos: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`kairos: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.internal;
}
