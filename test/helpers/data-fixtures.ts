import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DATE, DOUBLE, VARCHAR, dateValue } from '@duckdb/node-api';
import { addDays, toEpochDay, weekday, type IsoDate } from '../../src/core/dates.js';
import { ensureContractTables } from '../../src/data/contract.js';
import { KairosDatabase, quoteIdentifier } from '../../src/data/database.js';
import { buildFeatures } from '../../src/data/features.js';

export interface TinyTicker {
  readonly ticker: string;
  readonly name?: string | null;
  readonly sector?: string | null;
}

export interface TinyPrice {
  readonly ticker: string;
  readonly date: IsoDate;
  readonly close: number | null;
  /** Defaults to the close; pass null for a missing open. */
  readonly open?: number | null;
  readonly high?: number | null;
  readonly low?: number | null;
  /** Defaults to 1,000,000 shares. */
  readonly volume?: number | null;
}

export interface TinyFeature {
  readonly ticker: string;
  readonly date: IsoDate;
  readonly alpha?: number | null;
  readonly volBlend?: number | null;
  readonly adv20?: number | null;
  /** Extra feat_matrix_v2 columns (created as DOUBLE). */
  readonly extra?: Readonly<Record<string, number | null>>;
}

export interface TinyRegime {
  readonly date: IsoDate;
  readonly volRegime: string | null;
  readonly trendRegime: string | null;
}

export interface TinyDatabaseSpec {
  readonly tickers?: readonly TinyTicker[];
  readonly prices?: readonly TinyPrice[];
  /** Rows to store as is, or 'build' to run the default feature pipeline on the prices. */
  readonly features?: readonly TinyFeature[] | 'build';
  /** Rows for a regime table; omitted means no regime table (unless features are built). */
  readonly regime?: readonly TinyRegime[];
  /** File name inside `dir`; defaults to tiny.duckdb. */
  readonly fileName?: string;
}

/**
 * Writes a small DuckDB database with exactly the given rows and returns its path. Only the
 * tables the spec mentions exist (tickers, sep_base and feat_matrix_v2 always do, possibly empty),
 * so tests can also exercise a database without a regime table.
 */
export async function makeTinyDatabase(dir: string, spec: TinyDatabaseSpec): Promise<string> {
  const path = join(dir, spec.fileName ?? 'tiny.duckdb');
  const db = await KairosDatabase.open(path);
  try {
    await ensureContractTables(db, ['tickers', 'sep_base', 'feat_matrix_v2']);
    const tickers = await db.createChunkAppender('tickers', [VARCHAR, VARCHAR, VARCHAR]);
    for (const row of spec.tickers ?? []) {
      tickers.set(0, row.ticker);
      tickers.set(1, row.name ?? null);
      tickers.set(2, row.sector ?? null);
      tickers.endRow();
    }
    tickers.close();

    const prices = await db.createChunkAppender('sep_base', [VARCHAR, DATE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE]);
    for (const row of spec.prices ?? []) {
      prices.set(0, row.ticker);
      prices.set(1, dateValue(toEpochDay(row.date)));
      prices.set(2, row.open === undefined ? row.close : row.open);
      prices.set(3, row.high === undefined ? row.close : row.high);
      prices.set(4, row.low === undefined ? row.close : row.low);
      prices.set(5, row.close);
      prices.set(6, row.volume === undefined ? 1_000_000 : row.volume);
      prices.endRow();
    }
    prices.close();

    if (spec.features === 'build') {
      await buildFeatures(db);
    } else if (spec.features !== undefined) {
      await writeFeatures(db, spec.features);
    }
    if (spec.regime !== undefined) {
      await ensureContractTables(db, ['regime']);
      await db.run('DELETE FROM regime');
      for (const row of spec.regime) {
        await db.run('INSERT INTO regime (date, vol_regime, trend_regime) VALUES (CAST($1 AS DATE), $2, $3)', [row.date, row.volRegime, row.trendRegime]);
      }
    }
  } finally {
    db.close();
  }
  return path;
}

async function writeFeatures(db: KairosDatabase, rows: readonly TinyFeature[]): Promise<void> {
  const extraColumns = [...new Set(rows.flatMap((row) => Object.keys(row.extra ?? {})))];
  for (const column of extraColumns) await db.run(`ALTER TABLE feat_matrix_v2 ADD COLUMN ${quoteIdentifier(column)} DOUBLE`);
  const features = await db.createChunkAppender('feat_matrix_v2', [VARCHAR, DATE, DOUBLE, DOUBLE, DOUBLE, ...extraColumns.map(() => DOUBLE)]);
  for (const row of rows) {
    features.set(0, row.ticker);
    features.set(1, dateValue(toEpochDay(row.date)));
    features.set(2, row.alpha ?? null);
    features.set(3, row.volBlend ?? null);
    features.set(4, row.adv20 ?? null);
    extraColumns.forEach((column, i) => features.set(5 + i, row.extra?.[column] ?? null));
    features.endRow();
  }
  features.close();
}

/** `count` Monday–Friday dates from `first` on: a stand-in calendar for data tests (holidays do not matter here). */
export function weekdaySessions(first: IsoDate, count: number): IsoDate[] {
  const sessions: IsoDate[] = [];
  for (let date = first; sessions.length < count; date = addDays(date, 1)) {
    if (weekday(date) !== 0 && weekday(date) !== 6) sessions.push(date);
  }
  return sessions;
}

/** One price row per session, from a close series (null closes are skipped, i.e. no row). */
export function priceSeries(ticker: string, sessions: readonly IsoDate[], closes: readonly (number | null)[], volume = 1_000_000): TinyPrice[] {
  const rows: TinyPrice[] = [];
  sessions.forEach((date, i) => {
    const close = closes[i];
    if (close !== null && close !== undefined) rows.push({ ticker, date, close, volume });
  });
  return rows;
}

/** Writes CSV text (lines joined with \n, trailing newline), gzip-compressed when the name ends in .gz. */
export async function writeCsv(path: string, lines: readonly string[]): Promise<string> {
  const text = `${lines.join('\n')}\n`;
  await writeFile(path, path.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}

/** A fresh temp directory and a function that removes it. */
export async function makeTempDir(prefix = 'kairos-data-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The real S&P 500 sample: `../shared/data` beside the checkout (as CI has it), or `KAIROS_SHARED_DATA`. */
export const SHARED_DATA_DIR = process.env.KAIROS_SHARED_DATA ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
export const SHARED_PRICES_CSV = join(SHARED_DATA_DIR, 'sp500_prices.csv.gz');
export const SHARED_SECTORS_CSV = join(SHARED_DATA_DIR, 'sp500_sectors.csv');

/** For the tests on the real sample: fails saying where the files are looked for, not with a bare "file not found". */
export function requireSharedData(): void {
  const missing = [SHARED_PRICES_CSV, SHARED_SECTORS_CSV].filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(`the real S&P 500 sample is missing (${missing.join(', ')}): put the project's shared/ folder beside this checkout, or set KAIROS_SHARED_DATA to its data/ folder`);
  }
}
