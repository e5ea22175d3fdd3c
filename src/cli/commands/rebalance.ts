import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import type { IsoDate } from '../../core/dates.js';
import { BlockedError, UsageError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/log.js';
import { XnysCalendar } from '../../calendar/xnys.js';
import { isRebalanceDay, nextRebalanceAfter } from '../../calendar/schedule.js';
import { KairosDatabase } from '../../data/database.js';
import { latestDates } from '../../data/freshness.js';
import { loadPanel } from '../../data/panel-loader.js';
import { pointInTime } from '../../data/point-in-time.js';
import { generateSyntheticDatabase } from '../../data/synthetic.js';
import { runProduction } from '../../engine/production-run.js';
import { formatCheckTable, hasCritical } from '../../validation/alerts.js';
import { PRE_REBALANCE_CHECKS, preRebalanceChecks } from '../../validation/checks.js';
import { isoDateArgument, positiveNumberArgument, printLines } from '../arguments.js';
import { loadConfigWithStrategies, withEngine } from '../with-engine.js';

interface RunFlags {
  db: string;
  date: IsoDate;
  config?: string;
  state?: string;
  outputDir: string;
  priorHoldings?: string;
  holdings?: string;
  portfolioValue?: number;
}

export function registerRebalanceCommands(program: Command): void {
  program
    .command('check')
    .description('Is DATE a rebalance day? Prints JSON {date, is_rebalance_day, next_rebalance} for the first strategy in the config (Risk4 by default).')
    .requiredOption('--date <date>', 'session date (YYYY-MM-DD)', isoDateArgument('--date'))
    .option('--config <file>', 'Kairos YAML config (default: Risk4, every 5 sessions from 2015-01-02)')
    .action(async (flags: { date: IsoDate; config?: string }) => {
      const { config } = await loadConfigWithStrategies(flags.config);
      const calendar = new XnysCalendar();
      const schedule = config.strategies[0]!.schedule;
      printLines([JSON.stringify({ date: flags.date, is_rebalance_day: isRebalanceDay(schedule, calendar, flags.date), next_rebalance: nextRebalanceAfter(schedule, calendar, flags.date) })]);
    });

  withRunOptions(
    program
      .command('rebalance')
      .description('Manual rebalance for DATE: every configured strategy rebalances; writes picks.csv, trades.csv, portfolio_summary.json, schedule.json.'),
  ).action(async (flags: RunFlags) => {
    await productionCommand(flags, 'rebalance');
  });

  withRunOptions(
    program
      .command('run')
      .description('Daily multi-strategy run for DATE: due strategies rebalance, others hold; writes the rebalance artifacts plus sleeves.csv.'),
  ).action(async (flags: RunFlags) => {
    await productionCommand(flags, 'run');
  });

  program
    .command('validate')
    .description('Run the pre-rebalance checks (data freshness, signal quality, universe health) for DATE and print the alert table. Exits 5 if any is CRITICAL.')
    .requiredOption('--db <file>', 'DuckDB database')
    .requiredOption('--date <date>', 'session date (YYYY-MM-DD)', isoDateArgument('--date'))
    .option('--config <file>', 'Kairos YAML config (validation thresholds)')
    .action(async (flags: { db: string; date: IsoDate; config?: string }) => {
      const { config } = await loadConfigWithStrategies(flags.config);
      const db = await KairosDatabase.open(flags.db, { readOnly: true });
      try {
        const freshness = await latestDates(db);
        const hasData = freshness.sep_base_latest !== null && freshness.sep_base_latest >= flags.date;
        const panel = hasData ? await loadPanel(db, { from: flags.date, to: flags.date }) : null;
        const market = panel && panel.dateIndex(flags.date) >= 0 ? pointInTime(panel, flags.date) : null;
        const alerts = preRebalanceChecks(flags.date, freshness, market, config.validation);
        printLines([formatCheckTable(PRE_REBALANCE_CHECKS, alerts)]);
        if (hasCritical(alerts)) throw new BlockedError(`${alerts.filter((a) => a.severity === 'CRITICAL').length} CRITICAL check(s) failed for ${flags.date}`);
      } finally {
        db.close();
      }
    });

  program
    .command('demo')
    .description('Generate the synthetic demo database (first run only) and rebalance on its last session into outputs/rebalance/<date>/.')
    .option('--db <file>', 'demo database path', 'data/demo.duckdb')
    .option('--output-root <dir>', 'artifacts go to <dir>/<date>/', 'outputs/rebalance')
    .action(async (flags: { db: string; outputRoot: string }) => {
      const log = createLogger();
      const calendar = new XnysCalendar();
      if (!existsSync(flags.db)) {
        log.info({ db: flags.db, tickers: DEMO.tickers }, 'generating the synthetic demo database (first run only)');
        await mkdir(dirname(resolve(flags.db)), { recursive: true });
        await generateSyntheticDatabase(flags.db, { sessions: calendar.sessions(DEMO.from, DEMO.to), tickers: DEMO.tickers, seed: DEMO.seed });
      }
      const db = await KairosDatabase.open(flags.db, { readOnly: true });
      let date: IsoDate;
      try {
        const latest = (await latestDates(db)).sep_base_latest;
        if (latest === null) throw new UsageError(`${flags.db} has no prices; delete it and run kairos demo again`);
        date = latest;
      } finally {
        db.close();
      }
      const outputDir = join(flags.outputRoot, date);
      await productionCommand({ db: flags.db, date, outputDir }, 'rebalance', log);
      printLines([`Demo rebalance for ${date} written to ${outputDir}/ (picks.csv, trades.csv, portfolio_summary.json, schedule.json)`]);
    });
}

/** The demo universe: ≈1,500 names, 11 sectors, four years of XNYS sessions. */
const DEMO = { tickers: 1500, from: '2022-01-03', to: '2025-12-31', seed: 20_151_231 } as const;

function withRunOptions(command: Command): Command {
  return command
    .requiredOption('--db <file>', 'DuckDB database with the Kairos data contract')
    .requiredOption('--date <date>', 'session date (YYYY-MM-DD)', isoDateArgument('--date'))
    .requiredOption('--output-dir <dir>', 'directory for the artifacts (replaced atomically)')
    .option('--config <file>', 'Kairos YAML config (default: Risk4 alone, seed parameters)')
    .option('--state <url>', 'state store: "memory" (default) or redis://host:port')
    .option('--prior-holdings <picks.csv>', "previous run's picks.csv: its target_shares are today's holdings")
    .option('--holdings <holdings.csv>', 'current holdings as ticker,shares[,price] (a CASH row sets cash)')
    .option('--portfolio-value <value>', 'capital to size the book (default: holdings value, else config portfolio_value)', positiveNumberArgument('--portfolio-value'));
}

async function productionCommand(flags: RunFlags, mode: 'rebalance' | 'run', log: Logger = createLogger()): Promise<void> {
  if (flags.priorHoldings && flags.holdings) throw new UsageError('give either --prior-holdings or --holdings, not both');
  const holdingsFile = flags.holdings
    ? { path: flags.holdings, kind: 'holdings' as const }
    : flags.priorHoldings
      ? { path: flags.priorHoldings, kind: 'picks' as const }
      : undefined;
  const outcome = await withEngine(flags, log, (engine) =>
    runProduction({
      ...engine,
      date: flags.date,
      outputDir: flags.outputDir,
      mode,
      ...(holdingsFile ? { holdingsFile } : {}),
      ...(flags.portfolioValue !== undefined ? { portfolioValue: flags.portfolioValue } : {}),
    }),
  );
  for (const alert of outcome.alerts) log.warn({ check: alert.check, severity: alert.severity }, alert.message);
}

