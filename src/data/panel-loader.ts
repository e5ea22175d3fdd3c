import { isIsoDate, type IsoDate } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import { assertContract, CONTRACT_COLUMNS } from './contract.js';
import { isValid, quoteIdentifier, type KairosDatabase, type NumericColumn } from './database.js';
import { createMarketPanel } from './market-panel.js';
import type { MarketPanel, RegimeLabel } from './panel.js';

export interface PanelLoadOptions {
  readonly from: IsoDate;
  readonly to: IsoDate;
  /** Extra feat_matrix_v2 columns to load into `extraFeatures`. */
  readonly featureColumns?: readonly string[];
}

/** A value the loader refuses, reported at its (date, ticker) cell; the earliest cell wins so errors are reproducible. */
type CellCheck = (value: number) => string | null;

const CHECKS: Readonly<Record<string, CellCheck>> = {
  close: (value) => (Number.isFinite(value) && value > 0 ? null : 'close must be a positive finite number'),
  vol_blend: (value) => (Number.isFinite(value) && value > 0 ? null : 'vol_blend must be a positive finite number'),
};

/**
 * Loads sessions in [from, to] (the dates sep_base has rows for) into a columnar MarketPanel:
 * tickers with any sep_base row in the range (sorted), their sectors, prices from sep_base,
 * features from feat_matrix_v2 and labels from regime when that table exists. One query per
 * table, never one per ticker. Values are checked on the way in: duplicate (ticker, date) rows,
 * a non-positive or non-finite close and a stored vol_blend that is NaN, infinite, zero or
 * negative are DataErrors; NULL just means missing (NaN).
 */
export async function loadPanel(db: KairosDatabase, options: PanelLoadOptions): Promise<MarketPanel> {
  const { from, to } = options;
  if (!isIsoDate(from) || !isIsoDate(to) || from > to) throw new RangeError(`invalid panel range ${from}..${to}`);
  const featureColumns = [...new Set(options.featureColumns ?? [])];
  await assertContract(db, {
    sep_base: CONTRACT_COLUMNS.sep_base,
    feat_matrix_v2: [...CONTRACT_COLUMNS.feat_matrix_v2, ...featureColumns],
    tickers: CONTRACT_COLUMNS.tickers,
  });

  const range = [from, to];
  const dates = (await db.query(`SELECT DISTINCT date FROM sep_base WHERE date BETWEEN CAST($1 AS DATE) AND CAST($2 AS DATE) ORDER BY date`, range)).map(
    (row) => row.date as IsoDate,
  );
  if (dates.length === 0) throw new DataError(`sep_base has no sessions between ${from} and ${to}`);
  const tickers = (await db.query(`SELECT DISTINCT ticker FROM sep_base WHERE date BETWEEN CAST($1 AS DATE) AND CAST($2 AS DATE)`, range))
    .map((row) => String(row.ticker))
    .sort();
  const layout: CellLayout = { tickers, dates };

  const [open, close, volume] = await loadTable(db, 'sep_base', ['open', 'close', 'volume'], layout, range);
  const [alpha, volBlend, adv20, ...extras] = await loadTable(
    db,
    'feat_matrix_v2',
    ['alpha_composite_v8', 'vol_blend', 'adv_20', ...featureColumns],
    layout,
    range,
  );

  return createMarketPanel({
    tickers,
    sectors: await loadSectors(db, tickers),
    dates,
    fields: { open: open!, close: close!, volume: volume!, alpha: alpha!, volBlend: volBlend!, adv20: adv20! },
    extraFeatures: new Map(featureColumns.map((column, i) => [column, extras[i]!])),
    regime: await loadRegime(db, dates, range),
  });
}

/**
 * The `from` date that gives `sessions` sessions ending at `to` (both included), counting the
 * dates sep_base has rows for; the first available date when there are fewer; null when there
 * is no data up to `to`.
 */
export async function historyStartDate(db: KairosDatabase, to: IsoDate, sessions: number): Promise<IsoDate | null> {
  if (!Number.isInteger(sessions) || sessions < 1) throw new RangeError(`sessions must be a positive integer, got ${sessions}`);
  const row = await db.queryOne(
    `SELECT min(date) AS first FROM (SELECT DISTINCT date FROM sep_base WHERE date <= CAST($1 AS DATE) ORDER BY date DESC LIMIT ${sessions})`,
    [to],
  );
  return (row?.first as IsoDate | null | undefined) ?? null;
}

interface CellLayout {
  readonly tickers: readonly string[];
  readonly dates: readonly IsoDate[];
}

/**
 * Reads `columns` of `table` for the panel's cells into NaN-filled arrays. DuckDB computes each
 * row's cell index (session × tickers + ticker) by joining the two key lists, so JavaScript
 * only copies numbers.
 */
async function loadTable(
  db: KairosDatabase,
  table: string,
  columns: readonly string[],
  layout: CellLayout,
  range: readonly IsoDate[],
): Promise<Float64Array[]> {
  const { tickers, dates } = layout;
  const cells = tickers.length * dates.length;
  // Shared memory: replay's strategy worker reads the same panel without a copy.
  const arrays = columns.map(() => new Float64Array(new SharedArrayBuffer(cells * Float64Array.BYTES_PER_ELEMENT)).fill(Number.NaN));
  const checks = columns.map((column) => CHECKS[column]);
  const seen = new Uint8Array(cells);
  let duplicateCell = -1;
  // Assigned inside the scan callback, which control-flow narrowing cannot see.
  let problem = null as { cell: number; value: number; message: string } | null;

  await db.scanNumericChunks(
    `WITH sessions AS (SELECT CAST(unnest($1::VARCHAR[]) AS DATE) AS date, CAST(unnest(range(len($1::VARCHAR[]))) AS INTEGER) AS session),
          names AS (SELECT unnest($2::VARCHAR[]) AS ticker, CAST(unnest(range(len($2::VARCHAR[]))) AS INTEGER) AS name)
     SELECT CAST(sessions.session * ${tickers.length} + names.name AS INTEGER) AS cell, ${columns.map((column) => `CAST(t.${quoteIdentifier(column)} AS DOUBLE)`).join(', ')}
     FROM ${table} t JOIN sessions USING (date) JOIN names USING (ticker)
     WHERE t.date BETWEEN CAST($3 AS DATE) AND CAST($4 AS DATE)`,
    [dates, tickers, range[0]!, range[1]!],
    (columns: readonly NumericColumn[], rowCount: number) => {
      const cellColumn = columns[0]!.values;
      for (let row = 0; row < rowCount; row++) {
        const cell = cellColumn[row]!;
        if (seen[cell] === 1) {
          if (duplicateCell < 0 || cell < duplicateCell) duplicateCell = cell;
          continue;
        }
        seen[cell] = 1;
        for (let c = 0; c < arrays.length; c++) {
          const column = columns[c + 1]!;
          if (!isValid(column, row)) continue;
          const value = column.values[row]!;
          const check = checks[c];
          const message = check ? check(value) : null;
          if (message !== null && (problem === null || cell < problem.cell)) problem = { cell, value, message };
          arrays[c]![cell] = value;
        }
      }
    },
  );

  const describe = (cell: number): string => `ticker ${tickers[cell % tickers.length]} on ${dates[Math.floor(cell / tickers.length)]}`;
  if (duplicateCell >= 0) throw new DataError(`${table}: ${describe(duplicateCell)} appears more than once; (ticker, date) must be unique`);
  if (problem !== null) throw new DataError(`${table}: ${describe(problem.cell)}: ${problem.message}, got ${problem.value}`);
  return arrays;
}

/** The tickers table is small, so it is read whole and matched here rather than joined. */
async function loadSectors(db: KairosDatabase, tickers: readonly string[]): Promise<(string | null)[]> {
  const wanted = new Set(tickers);
  const sectors = new Map<string, string | null>();
  for (const row of await db.query(`SELECT ticker, sector FROM tickers`)) {
    const ticker = String(row.ticker);
    if (!wanted.has(ticker)) continue;
    if (sectors.has(ticker)) throw new DataError(`tickers: ticker ${ticker} appears more than once`);
    sectors.set(ticker, row.sector === null ? null : String(row.sector));
  }
  return tickers.map((ticker) => sectors.get(ticker) ?? null);
}

/** Regime is optional: no table (or no row for a date, or a NULL label) means no label. */
async function loadRegime(db: KairosDatabase, dates: readonly IsoDate[], range: readonly IsoDate[]): Promise<(RegimeLabel | null)[]> {
  if (!(await db.tableExists('regime'))) return dates.map(() => null);
  await assertContract(db, { regime: CONTRACT_COLUMNS.regime });
  const rows = await db.query(
    `SELECT date, vol_regime, trend_regime FROM regime WHERE date BETWEEN CAST($1 AS DATE) AND CAST($2 AS DATE)`,
    [...range],
  );
  const labels = new Map<IsoDate, RegimeLabel>();
  const seen = new Set<IsoDate>();
  for (const row of rows) {
    const date = row.date as IsoDate;
    if (seen.has(date)) throw new DataError(`regime: date ${date} appears more than once`);
    seen.add(date);
    if (row.vol_regime !== null && row.trend_regime !== null) {
      labels.set(date, { volRegime: String(row.vol_regime), trendRegime: String(row.trend_regime) });
    }
  }
  return dates.map((date) => labels.get(date) ?? null);
}
