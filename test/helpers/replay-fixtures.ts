import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XnysCalendar } from '../../src/calendar/xnys.js';
import type { IsoDate } from '../../src/core/dates.js';
import { makeTinyDatabase, type TinyFeature, type TinyPrice } from './data-fixtures.js';
import { parseCsv, REPO_ROOT, writeConfig } from './cli.js';

/**
 * Fixtures for the replay's integration tests (test/replay-run-*.test.ts): a plugin with fixed
 * weights, tiny hand-priced databases, a loose config and readers for the replay's outputs.
 */

const calendar = new XnysCalendar();

/** XNYS sessions in [from, to]. */
export function xnysSessions(from: IsoDate, to: IsoDate): IsoDate[] {
  return calendar.sessions(from, to);
}

/**
 * A test plugin: holds `weights` (ticker → sleeve weight), switching to a change's weights from
 * its `from` date on. With `require_price` (default) a name without a close at D is left out, as
 * a real strategy would; without it, the plugin targets it anyway.
 *
 * For the resume test it can stall: when env KAIROS_TEST_STALL_AT equals D it writes D to the
 * file named by KAIROS_TEST_STALL_MARKER and waits a minute, so a test can kill -9 the process at
 * a known point; with KAIROS_TEST_REBALANCE_LOG it appends "D id" for every call to that file. Untyped ESM, so it loads as .js both under vitest and in the built binary.
 */
export const FIXED_WEIGHTS_PLUGIN = `import { appendFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

const weights = z.record(z.string(), z.number());

export default {
  name: 'fixed-weights',
  description: 'fixed weights per name, switching on given dates (replay test plugin)',
  paramsSchema: z.strictObject({
    weights,
    changes: z.array(z.strictObject({ from: z.string(), weights })).default([]),
    require_price: z.boolean().default(true),
    warmup: z.number().int().min(1).default(1),
  }),
  warmupSessions: (params) => params.warmup,
  async rebalance({ strategyId, date, market, params }) {
    if (process.env.KAIROS_TEST_REBALANCE_LOG) appendFileSync(process.env.KAIROS_TEST_REBALANCE_LOG, \`\${date} \${strategyId}\\n\`);
    if (process.env.KAIROS_TEST_STALL_AT === date) {
      writeFileSync(process.env.KAIROS_TEST_STALL_MARKER, date);
      await new Promise((resolve) => setTimeout(resolve, 60000));
    }
    let active = params.weights;
    for (const change of params.changes) if (change.from <= date) active = change.weights;
    const close = market.field('close');
    const targets = [];
    for (const [ticker, weight] of Object.entries(active)) {
      const i = market.tickers.indexOf(ticker);
      if (i < 0 || weight === 0) continue;
      if (params.require_price && !Number.isFinite(close[i])) continue;
      targets.push({ ticker, weight });
    }
    return { targets };
  },
};
`;

/**
 * Lays out a project in `dir`: plugins/fixed-weights.js, and node_modules linked to Kairos's so
 * the plugin's `import 'zod'` resolves. Configs written into `dir` name the plugin as
 * `./plugins/fixed-weights.js`.
 */
export async function writeReplayProject(dir: string): Promise<void> {
  if (!existsSync(join(dir, 'node_modules'))) await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await mkdir(join(dir, 'plugins'), { recursive: true });
  await writeFile(join(dir, 'plugins', 'fixed-weights.js'), FIXED_WEIGHTS_PLUGIN);
}

export const FIXED_WEIGHTS_MODULE = './plugins/fixed-weights.js';

export interface MarketTicker {
  readonly ticker: string;
  readonly sector: string;
}

/** One session of one name; null (or undefined) = no sep_base row (and no feature row unless `keepFeatures`). */
export type Bar = { readonly open: number; readonly close: number } | null | undefined;

export interface MarketSpec {
  readonly tickers: readonly MarketTicker[];
  readonly sessions: readonly IsoDate[];
  /** The bar of `ticker` on session `index` (= sessions[index]). */
  readonly bar: (ticker: string, date: IsoDate, index: number) => Bar;
  /** Overrides the default alpha of a name on a session (null = no alpha, e.g. to block the day). */
  readonly alpha?: (ticker: string, date: IsoDate, index: number) => number | null | undefined;
  readonly fileName?: string;
}

/**
 * A database whose prices are exactly the given bars. Features are written (not built) so that
 * every listed session passes the pre-rebalance checks under `looseValidation`: alpha differs
 * by name (1, 2, 3, … in ticker order), vol_blend 0.2, adv_20 $1bn.
 */
export async function makeMarketDatabase(dir: string, spec: MarketSpec): Promise<string> {
  const prices: TinyPrice[] = [];
  const features: TinyFeature[] = [];
  spec.sessions.forEach((date, index) => {
    spec.tickers.forEach(({ ticker }, k) => {
      const bar = spec.bar(ticker, date, index);
      if (!bar) return;
      prices.push({ ticker, date, open: bar.open, close: bar.close, high: Math.max(bar.open, bar.close), low: Math.min(bar.open, bar.close), volume: 1_000_000 });
      const alpha = spec.alpha?.(ticker, date, index);
      features.push({ ticker, date, alpha: alpha === undefined ? k + 1 : alpha, volBlend: 0.2, adv20: 1e9 });
    });
  });
  return makeTinyDatabase(dir, { tickers: spec.tickers, prices, features, fileName: spec.fileName ?? 'market.duckdb' });
}

/** Validation thresholds a two- or three-name universe passes without a CRITICAL (or any) alert. */
export const looseValidation = {
  min_universe: 1,
  healthy_universe: 1,
  expected_sectors: 1,
  max_sector_share: 1,
  min_alpha_std: 0,
  min_alpha_spread: 0,
  min_adv: 0,
  warn_turnover: 1,
  warn_position: 1,
} as const;

/** Risk limits that leave a strategy's weights untouched: the book is exactly the target. */
export const looseRisk = {
  max_position: 1,
  max_sector_mult: 100,
  sector_universe_min_adv: 0,
  lambda_tc: 0,
  max_turnover: 1,
  target_vol: 1000,
  vol_window: 2,
} as const;

/** A config for the fixed-weights plugin with loose risk and validation; `overrides` replace top-level keys. */
export function fixedWeightsConfig(
  portfolio: string,
  params: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    portfolio,
    strategies: [{ id: 'fixed', module: FIXED_WEIGHTS_MODULE, schedule: { type: 'daily' }, allocation: 1, params }],
    risk: looseRisk,
    validation: looseValidation,
    ...overrides,
  };
}

/** Writes `config` as `<dir>/<name>` and returns its path. */
export function writeReplayConfig(dir: string, name: string, config: unknown): Promise<string> {
  return writeConfig(join(dir, name), config);
}

export type CsvRows = Record<string, string>[];

export interface ReplayOutputs {
  readonly equity: CsvRows;
  readonly trades: CsvRows;
  readonly positions: CsvRows;
  readonly flags: CsvRows;
  readonly metrics: ReplayMetricsJson;
  /** Every output file's bytes as text, by name. */
  readonly files: Record<string, string>;
}

export interface ReplayMetricsJson {
  readonly from: IsoDate;
  readonly to: IsoDate;
  readonly sessions: number;
  readonly books: { book: string; start_equity: number; end_equity: number }[];
  readonly notes: string[];
}

export const REPLAY_FILES = ['equity.csv', 'trades.csv', 'positions.csv', 'flags.csv', 'metrics.json', 'report.html'] as const;

/** Reads a finished replay's output directory. */
export async function readReplayOutputs(dir: string): Promise<ReplayOutputs> {
  const files: Record<string, string> = {};
  for (const name of REPLAY_FILES) files[name] = await readFile(join(dir, name), 'utf8');
  return {
    equity: parseCsv(files['equity.csv']!).rows,
    trades: parseCsv(files['trades.csv']!).rows,
    positions: parseCsv(files['positions.csv']!).rows,
    flags: parseCsv(files['flags.csv']!).rows,
    metrics: JSON.parse(files['metrics.json']!) as ReplayMetricsJson,
    files,
  };
}

/** `kairos run --holdings` text from positions.csv rows of one book on one date (CASH row as `CASH,<cash>`). */
export function holdingsCsvFromPositions(positions: CsvRows, book: string, date: IsoDate): string {
  const rows = positions.filter((r) => r.book === book && r.date === date);
  if (rows.length === 0) throw new Error(`positions.csv has no rows for ${book} on ${date}`);
  return `ticker,shares\n${rows.map((r) => `${r.ticker},${r.shares}`).join('\n')}\n`;
}

/** Picks columns of CSV rows, for comparing row sets. */
export function pick(rows: CsvRows, columns: readonly string[]): string[] {
  return rows.map((r) => columns.map((c) => r[c]).join(','));
}

/** A deterministic, gently moving bar for name number `k` on session `index` (prices in cents). */
export function wavyBar(k: number, index: number): { open: number; close: number } {
  const base = 50 + 25 * k;
  const close = Math.round(100 * base * (1 + 0.04 * Math.sin(index / 4 + k) + 0.0005 * index)) / 100;
  const open = Math.round(100 * close * (1 + 0.004 * Math.cos(index + k))) / 100;
  return { open, close };
}
