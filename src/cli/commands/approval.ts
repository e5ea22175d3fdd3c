import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { APPROVAL_FILE, approveTrades, SUBMITTED_FILE } from '../../approval/approval.js';
import { PaperBroker, submitApproved, type BrokerAdapter } from '../../approval/broker.js';
import { grossValue } from '../../approval/run-directory.js';
import { printLines } from '../arguments.js';

const BROKERS: Readonly<Record<string, () => BrokerAdapter>> = { paper: () => new PaperBroker() };

/** `approve` signs off a run's trades.csv; `submit` hands approved trades to a broker adapter, once. */
export function registerApprovalCommands(program: Command): void {
  program
    .command('approve')
    .description('Sign off the trades of a rebalance/run output directory: writes DIR/approval.json with the sha256 of trades.csv.')
    .requiredOption('--output-dir <dir>', 'the output directory of a rebalance or run')
    .requiredOption('--by <name>', 'who approves')
    .option('--note <text>', 'a note kept with the approval')
    .action(async (flags: { outputDir: string; by: string; note?: string }) => {
      const approval = await approveTrades(flags.outputDir, { by: flags.by, ...(flags.note !== undefined ? { note: flags.note } : {}) });
      printLines([
        `Approved ${approval.n_trades} trades (gross ${approval.gross_value.toFixed(2)}) of portfolio ${approval.portfolio_id} on ${approval.date} by ${approval.approved_by}: ${join(flags.outputDir, APPROVAL_FILE)} (trades sha256 ${approval.trades_sha256.slice(0, 12)}…)`,
      ]);
    });

  program
    .command('submit')
    .description('Send the approved trades of an output directory to a broker adapter; refuses (exit 5) without a matching approval or when already submitted.')
    .requiredOption('--output-dir <dir>', 'the output directory of a rebalance or run, approved with `kairos approve`')
    .addOption(new Option('--broker <name>', 'broker adapter').choices(Object.keys(BROKERS)).default('paper'))
    .action(async (flags: { outputDir: string; broker: string }) => {
      const adapter = BROKERS[flags.broker]!();
      const { receipt, approval, orders } = await submitApproved(flags.outputDir, adapter);
      printLines([
        `Submitted ${receipt.nOrders} orders (gross ${grossValue(orders).toFixed(2)}) of portfolio ${approval.portfolio_id} on ${approval.date} to ${receipt.broker}: submission ${receipt.submissionId} at ${receipt.submittedAt}, approved by ${approval.approved_by}; recorded in ${join(flags.outputDir, SUBMITTED_FILE)}`,
      ]);
    });
}
