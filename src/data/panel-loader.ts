import { isIsoDate, type IsoDate } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import { assertContract, CONTRACT_COLUMNS } from './contract.js';
import { quoteIdentifier, type KairosDatabase, type NumericColumn } from './database.js';
import { createMarketPanel } from './market-panel.js';
import type { MarketPanel, RegimeLabel } from './panel.js';

export interface PanelLoadOptions {
  readonly from: IsoDate;
  readonly to: IsoDate;
  /** Extra feat_matrix_v2 columns to load into `extraFeatures`. */
  readonly featureColumns?: readonly string[];
  /** Cells read per query (default 400,000): DuckDB computes the next span while JavaScript copies one. */
  readonly cellsPerQuery?: number;
}

/** Columns whose every stored value must be a positive finite number (NULL is missing, not wrong). */
const POSITIVE_FINITE_COLUMNS: ReadonlySet<string> = new Set(['close', 'vol_blend']);

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
  const layout: CellLayout = { tickers, dates, cellsPerQuery: options.cellsPerQuery ?? CELLS_PER_QUERY };

  const [[open, close, volume], [alpha, volBlend, adv20, ...extras]] = await withKeyTables(db, layout, async () => [
    await loadTable(db, 'sep_base', ['open', 'close', 'volume'], layout),
    await loadTable(db, 'feat_matrix_v2', ['alpha_composite_v8', 'vol_blend', 'adv_20', ...featureColumns], layout),
  ]);

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
  readonly cellsPerQuery: number;
}

/**
 * Reads `columns` of `table` for the panel's cells into NaN-filled arrays. DuckDB computes each
 * row's cell index (session × tickers + ticker) by joining the two key tables, so JavaScript
 * only copies numbers.
 */
async function loadTable(
  db: KairosDatabase,
  table: string,
  columns: readonly string[],
  layout: CellLayout,
): Promise<Float64Array[]> {
  const { tickers, dates } = layout;
  const cells = tickers.length * dates.length;
  // Shared memory: replay's strategy worker reads the same panel without a copy.
  const arrays = columns.map(() => new Float64Array(new SharedArrayBuffer(cells * Float64Array.BYTES_PER_ELEMENT)).fill(Number.NaN));
  const checked = columns.map((column) => POSITIVE_FINITE_COLUMNS.has(column));
  const seen = new Uint8Array(cells);
  let duplicateCell = -1;
  // The earliest offending cell is reported, whatever order DuckDB returns rows in.
  let problem = null as { cell: number; column: string; value: number } | null;

  await db.scanNumericChunks(
    `SELECT CAST(sessions.session * ${tickers.length} + names.name AS INTEGER) AS cell, ${columns.map((column) => `CAST(t.${quoteIdentifier(column)} AS DOUBLE)`).join(', ')}
     FROM ${table} t JOIN ${SESSION_KEYS} sessions USING (date) JOIN ${NAME_KEYS} names USING (ticker)
     WHERE t.date BETWEEN CAST($1 AS DATE) AND CAST($2 AS DATE)`,
    sessionSpans(layout),
    (chunkColumns: readonly NumericColumn[], rowCount: number) => {
      const cellOf = chunkColumns[0]!.values;
      for (let row = 0; row < rowCount; row++) {
        const cell = cellOf[row]!;
        if (seen[cell] === 1 && (duplicateCell < 0 || cell < duplicateCell)) duplicateCell = cell;
        seen[cell] = 1;
      }
      // Column by column: tens of millions of values, so no call or allocation per value. A
      // duplicate's later row overwrites the earlier one, but a duplicate fails the load anyway.
      for (let c = 0; c < columns.length; c++) {
        const { values, validity } = chunkColumns[c + 1]!;
        const into = arrays[c]!;
        for (let row = 0; row < rowCount; row++) {
          if (validity !== null && (validity[row >>> 3]! & (1 << (row & 7))) === 0) continue;
          const value = values[row]!;
          into[cellOf[row]!] = value;
          if (checked[c] && !(value > 0 && value <= Number.MAX_VALUE) && (problem === null || cellOf[row]! < problem.cell)) {
            problem = { cell: cellOf[row]!, column: columns[c]!, value };
          }
        }
      }
    },
  );

  const describe = (cell: number): string => `ticker ${tickers[cell % tickers.length]} on ${dates[Math.floor(cell / tickers.length)]}`;
  if (duplicateCell >= 0) throw new DataError(`${table}: ${describe(duplicateCell)} appears more than once; (ticker, date) must be unique`);
  if (problem !== null) throw new DataError(`${table}: ${describe(problem.cell)}: ${problem.column} must be a positive finite number, got ${problem.value}`);
  return arrays;
}

/** Temporary tables (outside the database file, so a read-only database can have them) of the panel's keys. */
const SESSION_KEYS = 'kairos_panel_sessions';
const NAME_KEYS = 'kairos_panel_names';

/** Runs `work` with the layout's sessions and names as key tables for the scans to join on: bound once, not as lists with every query. */
async function withKeyTables<T>(db: KairosDatabase, { dates, tickers }: CellLayout, work: () => Promise<T>): Promise<T> {
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${SESSION_KEYS} AS SELECT CAST(unnest($1::VARCHAR[]) AS DATE) AS date, CAST(unnest(range(len($1::VARCHAR[]))) AS INTEGER) AS session`,
    [dates],
  );
  await db.run(`CREATE OR REPLACE TEMP TABLE ${NAME_KEYS} AS SELECT unnest($1::VARCHAR[]) AS ticker, CAST(unnest(range(len($1::VARCHAR[]))) AS INTEGER) AS name`, [tickers]);
  try {
    return await work();
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${SESSION_KEYS}`);
    await db.run(`DROP TABLE IF EXISTS ${NAME_KEYS}`);
  }
}

/** Small enough that the two spans' results in memory at once are a few tens of MB (1M cells cost a replay ~0.15 GB of peak RSS), large enough that per-query costs vanish. */
const CELLS_PER_QUERY = 400_000;

/** The panel's sessions cut into consecutive [first, last] date spans of about `cellsPerQuery` cells. */
function sessionSpans({ dates, tickers, cellsPerQuery }: CellLayout): [IsoDate, IsoDate][] {
  const sessionsPerSpan = Math.max(1, Math.floor(cellsPerQuery / Math.max(1, tickers.length)));
  const spans: [IsoDate, IsoDate][] = [];
  for (let start = 0; start < dates.length; start += sessionsPerSpan) spans.push([dates[start]!, dates[Math.min(dates.length, start + sessionsPerSpan) - 1]!]);
  return spans;
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
