import { dirname, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { TradingCalendar } from '../../calendar/calendar.js';
import { describeRule, nextRebalanceDates, type ScheduleRule } from '../../calendar/schedule.js';
import { XnysCalendar } from '../../calendar/xnys.js';
import { loadConfig } from '../../config/load.js';
import type { KairosConfig } from '../../config/schema.js';
import type { IsoDate } from '../../core/dates.js';
import { UsageError } from '../../core/errors.js';
import { equalAllocations, fixedAllocations } from '../../engine/aggregator.js';
import { scaffoldStrategy } from '../../engine/scaffold.js';
import { MIN_SHARPE_HISTORY } from '../../engine/session.js';
import { loadStrategies, type LoadedStrategy } from '../../engine/strategy-loader.js';
import { isoDateArgument, printLines } from '../arguments.js';

interface ListFlags {
  config?: string;
  date?: IsoDate;
  json?: boolean;
}

/** One configured strategy as `strategies list` shows it. */
interface StrategyListing {
  readonly id: string;
  readonly module: string;
  /** The plugin's own name (`definition.name`). */
  readonly plugin: string;
  readonly description: string;
  readonly schedule: ScheduleRule;
  readonly schedule_description: string;
  /** The capital share the first run gives it (see `allocation.scheme`). */
  readonly allocation: number;
  /** As written in config; null when left out. */
  readonly configured_allocation: number | null;
  readonly on_error: 'critical' | 'warning';
  readonly warmup_sessions: number;
  readonly next_rebalances: readonly IsoDate[];
  /** Validated, with defaults filled in. */
  readonly params: unknown;
}

const NEXT_REBALANCES = 3;

export function registerStrategyCommands(program: Command): void {
  const strategies = program.command('strategies').description('Strategy plugins: list the configured ones, scaffold a new one.');

  strategies
    .command('list')
    .description(
      `Load the config's strategies (plugins resolved, params validated) and print id, module, plugin, allocation, schedule, the next ${NEXT_REBALANCES} rebalance dates and params.`,
    )
    .option('--config <file>', 'Kairos YAML config (default: Risk4 alone, seed parameters)')
    .option('--date <date>', 'list rebalances on or after this date (default: the next XNYS session from today in New York)', isoDateArgument('--date'))
    .option('--json', 'print one JSON document instead of the table')
    .action(async (flags: ListFlags) => {
      await listCommand(flags);
    });

  strategies
    .command('new')
    .description('Scaffold <dir>/<name>/ with a working plugin (index.ts), README.md and a passing vitest test.')
    .argument('<name>', 'kebab-case strategy name, e.g. mean-reversion: the folder, the plugin name and the config module')
    .option('--dir <dir>', 'folder to create the plugin folder in', 'strategies')
    .action(async (name: string, flags: { dir: string }) => {
      const created = await scaffoldStrategy({ name, parentDir: flags.dir });
      printLines([
        ...created.files.map((file) => `created ${displayPath(file)}`),
        `next steps (${displayPath(created.folder)}/README.md has the details):`,
        `  npx vitest run ${displayPath(created.testFile)}`,
        `  add to a config's strategies: - { id: ${name}, module: ${created.moduleSpecifier}, schedule: { type: daily }, allocation: 0.2 }`,
        '  npm run build && npx kairos strategies list --config <file>',
      ]);
    });
}

/** Relative to the working directory when under it, else absolute. */
function displayPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') ? path : fromHere;
}

async function listCommand(flags: ListFlags): Promise<void> {
  const calendar = new XnysCalendar();
  const from = flags.date ?? calendar.nextSession(todayInNewYork());
  if (from < calendar.firstDate || from > calendar.lastDate) {
    throw new UsageError(`--date ${from} is outside the ${calendar.name} calendar, which covers ${calendar.firstDate}..${calendar.lastDate}`);
  }
  const config = await loadConfig(flags.config);
  // Plugin paths in a config are relative to the config file, as `kairos run` resolves them.
  const loaded = await loadStrategies(config.strategies, flags.config ? dirname(resolve(flags.config)) : process.cwd());
  const listings = strategyListings(config, loaded, calendar, from);
  if (flags.json) {
    printLines([JSON.stringify({ date: from, config: flags.config ?? null, allocation: config.allocation, strategies: listings }, null, 2)]);
    return;
  }
  printLines([listingHeadline(config, flags.config, listings.length, from), '', ...formatTable(listings)]);
}

function strategyListings(config: KairosConfig, loaded: readonly LoadedStrategy[], calendar: TradingCalendar, from: IsoDate): StrategyListing[] {
  const allocations = startingAllocations(config, loaded);
  return loaded.map((strategy) => ({
    id: strategy.id,
    module: strategy.module,
    plugin: strategy.definition.name,
    description: strategy.definition.description,
    schedule: strategy.schedule,
    schedule_description: describeRule(strategy.schedule),
    allocation: allocations.get(strategy.id)!,
    configured_allocation: strategy.allocation ?? null,
    on_error: strategy.onError,
    warmup_sessions: strategy.definition.warmupSessions(strategy.params),
    next_rebalances: upcomingRebalances(strategy, calendar, from),
    params: strategy.params,
  }));
}

/**
 * Allocations as the engine resolves them on a first run, with the same errors (fixed allocations
 * that do not add up are a config error here too). Sharpe weighting starts equal.
 */
function startingAllocations(config: KairosConfig, loaded: readonly LoadedStrategy[]): Map<string, number> {
  const list =
    config.allocation.scheme === 'fixed'
      ? fixedAllocations(loaded.map((s) => ({ id: s.id, allocation: s.allocation })), config.allocation.normalize)
      : equalAllocations(loaded.map((s) => s.id));
  return new Map(list.map((a) => [a.strategyId, a.allocation]));
}

function upcomingRebalances(strategy: LoadedStrategy, calendar: TradingCalendar, from: IsoDate): IsoDate[] {
  try {
    return nextRebalanceDates(strategy.schedule, calendar, from, NEXT_REBALANCES);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`strategy ${strategy.id}: ${err.message}`);
    throw err;
  }
}

function listingHeadline(config: KairosConfig, configPath: string | undefined, count: number, from: IsoDate): string {
  const source = configPath ?? 'the default config';
  const scheme = {
    fixed: config.allocation.normalize ? 'fixed, normalized to add up to 1' : 'fixed',
    equal: 'equal',
    sharpe: `sharpe: equal until every sleeve has ${MIN_SHARPE_HISTORY} returns, then ∝ trailing ${config.allocation.sharpe_window}-session Sharpe`,
  }[config.allocation.scheme];
  return `${count} ${count === 1 ? 'strategy' : 'strategies'} in ${source} (allocation ${scheme}); rebalances on or after ${from} (XNYS)`;
}

const COLUMNS: readonly { readonly title: string; readonly cell: (listing: StrategyListing) => string }[] = [
  { title: 'ID', cell: (l) => l.id },
  { title: 'MODULE', cell: (l) => l.module },
  { title: 'PLUGIN', cell: (l) => l.plugin },
  { title: 'ALLOCATION', cell: (l) => formatFraction(l.allocation) },
  { title: 'SCHEDULE', cell: (l) => l.schedule_description },
  { title: `NEXT ${NEXT_REBALANCES} REBALANCES`, cell: (l) => l.next_rebalances.join(' ') },
  { title: 'PARAMS', cell: (l) => JSON.stringify(l.params) },
];

/** Left-aligned columns two spaces apart; the last (params JSON) is never padded. */
function formatTable(listings: readonly StrategyListing[]): string[] {
  const rows = [COLUMNS.map((c) => c.title), ...listings.map((l) => COLUMNS.map((c) => c.cell(l)))];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '));
}

/** Up to four decimals without trailing zeros: 0.4, 0.15, 0.3333. */
function formatFraction(value: number): string {
  return String(Number(value.toFixed(4)));
}

/** The calendar date in New York, where XNYS sessions are dated. */
function todayInNewYork(): IsoDate {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}
