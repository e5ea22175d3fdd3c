import type { Command } from 'commander';
import { writeFileAtomic } from '../../core/atomic.js';
import { addDays, type IsoDate } from '../../core/dates.js';
import { BlockedError, StateError, UsageError } from '../../core/errors.js';
import { loadConfig } from '../../config/load.js';
import { KairosDatabase } from '../../data/database.js';
import { loadPanel } from '../../data/panel-loader.js';
import { pointInTime } from '../../data/point-in-time.js';
import { readPositionsFile } from '../../reconcile/positions-file.js';
import { reconcile, type Book } from '../../reconcile/reconcile.js';
import { reconciliationCsv, reconciliationSummary } from '../../reconcile/report.js';
import { openStateStore } from '../../state/open-store.js';
import type { RunSnapshot, StateStore } from '../../state/store.js';
import { formatAlertTable } from '../../validation/alerts.js';
import { isoDateArgument } from '../arguments.js';

/** The seed's reconciliation threshold: 1% of the book. */
const DEFAULT_THRESHOLD = 0.01;

interface ReconcileFlags {
  positions: string;
  expected?: string;
  state?: string;
  config?: string;
  date?: IsoDate;
  db?: string;
  threshold: number;
  output?: string;
}

/** The book Kairos expects, where it came from, and any prices its file carried. */
interface ExpectedSide {
  readonly book: Book;
  readonly prices: ReadonlyMap<string, number>;
  /** The snapshot's session when the book came from the state store. */
  readonly snapshotDate: IsoDate | null;
  readonly description: string;
}

export function registerReconcileCommands(program: Command): void {
  program
    .command('reconcile')
    .description(
      "Compare the broker's positions with the expected holdings (a holdings file, or the state store's snapshot of the config's portfolio). Writes a CSV report; exits 5 when any difference exceeds the threshold.",
    )
    .requiredOption('--positions <broker.csv>', "the broker's positions as ticker,shares[,price] (a CASH row gives cash)")
    .option('--expected <holdings.csv>', 'expected positions as ticker,shares[,price] instead of the state store')
    .option('--state <url>', "state store with the runs' snapshots, redis://host:port (default: the config's state)")
    .option('--config <file>', 'Kairos YAML config: the portfolio id and state store')
    .option('--date <date>', 'take the snapshot of this session (default: the latest) and value positions at its close with --db', isoDateArgument('--date'))
    .option('--db <file>', 'DuckDB database whose closes at --date price the positions (else the files\' price column)')
    .option('--threshold <fraction>', 'a difference counts when it exceeds this fraction of the book', fractionArgument('--threshold'), DEFAULT_THRESHOLD)
    .option('--output <file>', 'write the report here (atomically) instead of stdout')
    .action(reconcileCommand);
}

async function reconcileCommand(flags: ReconcileFlags): Promise<void> {
  if (flags.expected !== undefined && (flags.state !== undefined || flags.config !== undefined)) {
    throw new UsageError('--expected replaces the state store: drop --state and --config, or drop --expected');
  }
  // From the store, --date picks the snapshot and --db defaults to its session; a file has neither.
  if (flags.expected !== undefined && (flags.date === undefined) !== (flags.db === undefined)) {
    throw new UsageError('with --expected, give --db and --date together: the closes of --db at --date price the positions');
  }
  const actual = await readPositionsFile(flags.positions);
  const expected = flags.expected !== undefined ? await expectedFromFile(flags.expected) : await expectedFromStore(flags);

  const priceDate = flags.date ?? expected.snapshotDate;
  const closes = flags.db !== undefined && priceDate !== null ? await closesAt(flags.db, priceDate) : null;
  const { prices, unpriced } = resolvePrices([expected.book, actual.book], [closes, actual.prices, expected.prices]);
  if (unpriced.length > 0) {
    process.stderr.write(`reconcile: no price for ${unpriced.join(', ')}; comparing share counts instead of values\n`);
  }

  const result = reconcile(expected.book, actual.book, prices, flags.threshold);
  const report = reconciliationCsv(result.rows);
  if (flags.output !== undefined) await writeFileAtomic(flags.output, report);
  else process.stdout.write(report);

  if (result.alerts.length > 0) process.stderr.write(`${formatAlertTable(result.alerts)}\n`);
  const summary = reconciliationSummary(result, flags.threshold, `${expected.description} vs ${flags.positions}`);
  // A non-zero exit is how a scheduled reconciliation tells its caller to alert someone.
  if (result.alerts.length > 0) throw new BlockedError(summary);
  process.stderr.write(`${summary}\n`);
}

async function expectedFromFile(path: string): Promise<ExpectedSide> {
  return { ...(await readPositionsFile(path)), snapshotDate: null, description: path };
}

async function expectedFromStore(flags: ReconcileFlags): Promise<ExpectedSide> {
  const config = await loadConfig(flags.config);
  const url = flags.state ?? config.state;
  if (url === undefined || url === 'memory') {
    throw new UsageError(
      'reconcile needs the expected positions: give --expected holdings.csv, or --state redis://… (or a config whose state is one); the in-memory store keeps no snapshots between commands',
    );
  }
  const store = await openStateStore(url);
  let snapshot: RunSnapshot;
  try {
    snapshot = flags.date === undefined ? await latestSnapshot(store, config.portfolio) : await snapshotOn(store, config.portfolio, flags.date);
  } finally {
    await store.close();
  }
  return {
    book: snapshot.holdings,
    prices: new Map(),
    snapshotDate: snapshot.date,
    description: `portfolio ${config.portfolio} (snapshot ${snapshot.date})`,
  };
}

async function latestSnapshot(store: StateStore, portfolio: string): Promise<RunSnapshot> {
  const snapshot = await store.loadLatest(portfolio);
  if (snapshot === null) {
    throw new StateError(`portfolio "${portfolio}" has no snapshot in the state store: no run has committed one (check the config's portfolio id and --state)`);
  }
  return snapshot;
}

/** The snapshot committed for exactly `date`: reconciling against an older book would report its trades as breaks. */
async function snapshotOn(store: StateStore, portfolio: string, date: IsoDate): Promise<RunSnapshot> {
  const snapshot = await store.loadBefore(portfolio, addDays(date, 1));
  if (snapshot === null || snapshot.date !== date) {
    const latestBefore = snapshot === null ? 'none before it' : `the latest before it is ${snapshot.date}`;
    throw new StateError(`portfolio "${portfolio}" has no snapshot for ${date} in the state store (${latestBefore}); check --date and the config's portfolio id`);
  }
  return snapshot;
}

/** Closes at `date` by ticker; names without a positive close that day are left out. */
async function closesAt(path: string, date: IsoDate): Promise<Map<string, number>> {
  const db = await KairosDatabase.open(path, { readOnly: true });
  try {
    const market = pointInTime(await loadPanel(db, { from: date, to: date }), date);
    const close = market.field('close');
    const closes = new Map<string, number>();
    market.tickers.forEach((ticker, i) => {
      const price = close[i]!;
      if (price > 0 && Number.isFinite(price)) closes.set(ticker, price);
    });
    return closes;
  } finally {
    db.close();
  }
}

/**
 * One price per ticker held on either side, from the first source that has it (the database's
 * close, then the broker's price, then the expected file's). All or nothing: the book's value
 * needs every expected position priced, so with a gap the comparison falls back to share counts,
 * which flags more, never less. No prices at all is that same fallback, without a note.
 */
function resolvePrices(
  books: readonly Book[],
  sources: readonly (ReadonlyMap<string, number> | null)[],
): { prices: Map<string, number> | null; unpriced: string[] } {
  const given = sources.filter((source): source is ReadonlyMap<string, number> => source !== null && source.size > 0);
  if (given.length === 0) return { prices: null, unpriced: [] };
  const tickers = [...new Set(books.flatMap((book) => book.positions.filter((p) => p.shares !== 0).map((p) => p.ticker)))].sort();
  const prices = new Map<string, number>();
  const unpriced: string[] = [];
  for (const ticker of tickers) {
    const price = given.map((source) => source.get(ticker)).find((value) => value !== undefined);
    if (price === undefined) unpriced.push(ticker);
    else prices.set(ticker, price);
  }
  return { prices: unpriced.length === 0 ? prices : null, unpriced };
}

function fractionArgument(flag: string): (value: string) => number {
  return (value) => {
    const fraction = Number(value);
    if (!(fraction > 0 && fraction < 1)) throw new UsageError(`${flag}: expected a fraction of the book between 0 and 1 (0.01 = 1%), got "${value}"`);
    return fraction;
  };
}
