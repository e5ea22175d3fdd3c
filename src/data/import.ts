import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { IsoDate } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import { assertContract, CONTRACT_COLUMNS, ensureContractTables } from './contract.js';
import type { KairosDatabase, SqlRow } from './database.js';

export interface PriceImportSummary {
  /** Rows whose (ticker, date) was new to sep_base. */
  readonly inserted: number;
  /** Rows already in sep_base with identical values. */
  readonly unchanged: number;
  /** Distinct tickers in the file. */
  readonly tickers: number;
  readonly firstDate: IsoDate | null;
  readonly lastDate: IsoDate | null;
}

export interface SectorImportSummary {
  readonly inserted: number;
  readonly unchanged: number;
  readonly tickers: number;
}

const PRICE_COLUMNS = ['ticker', 'date', 'open', 'high', 'low', 'close', 'volume'] as const;
const SECTOR_COLUMNS = ['ticker', 'name', 'sector'] as const;
const PRICE_VALUE_COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;
/** How many conflicting rows a conflict error spells out. */
const CONFLICTS_SHOWN = 5;

/** A check on one staged (all-VARCHAR) column; `failsWhen` is SQL that is true for a bad row. */
interface FieldRule {
  readonly column: string;
  readonly failsWhen: string;
  readonly problem: string;
}

const TICKER_RULE: FieldRule = {
  column: 'ticker',
  failsWhen: `ticker IS NULL OR ticker <> trim(ticker)`,
  problem: 'ticker must be non-empty without surrounding spaces',
};

const PRICE_RULES: readonly FieldRule[] = [
  TICKER_RULE,
  {
    column: 'date',
    failsWhen: `date IS NULL OR NOT regexp_full_match(date, '\\d{4}-\\d{2}-\\d{2}') OR try_cast(date AS DATE) IS NULL`,
    problem: 'expected a date as YYYY-MM-DD',
  },
  ...numberRules('open', { required: false, lowerBound: 'positive' }),
  ...numberRules('high', { required: false, lowerBound: 'positive' }),
  ...numberRules('low', { required: false, lowerBound: 'positive' }),
  ...numberRules('close', { required: true, lowerBound: 'positive' }),
  ...numberRules('volume', { required: true, lowerBound: 'non-negative' }),
];

function numberRules(column: string, options: { required: boolean; lowerBound: 'positive' | 'non-negative' }): FieldRule[] {
  const value = `try_cast(${column} AS DOUBLE)`;
  const rules: FieldRule[] = [];
  if (options.required) rules.push({ column, failsWhen: `${column} IS NULL`, problem: 'value is missing' });
  rules.push(
    { column, failsWhen: `${column} IS NOT NULL AND ${value} IS NULL`, problem: 'not a number' },
    { column, failsWhen: `NOT isfinite(${value})`, problem: 'not a finite number' },
    options.lowerBound === 'positive'
      ? { column, failsWhen: `${value} <= 0`, problem: 'must be greater than 0' }
      : { column, failsWhen: `${value} < 0`, problem: 'must not be negative' },
  );
  return rules;
}

/**
 * Imports a `ticker,date,open,high,low,close,volume` CSV (optionally .gz) into sep_base.
 * Empty open/high/low are stored as NULL. Rows for a new (ticker, date) are appended; rows that
 * match what is stored change nothing; a row that disagrees with a stored one is a conflict, and
 * any conflict (or any malformed row) means nothing at all is imported.
 */
export async function importPrices(db: KairosDatabase, csvPath: string): Promise<PriceImportSummary> {
  return commitStaged(await stagePrices(db, csvPath));
}

/**
 * A file loaded and validated into temp tables, not yet merged: stage every file first (so line
 * numbers come from committed rowids), then commit them together in one transaction.
 */
export interface StagedImport<T> {
  commit(): Promise<T>;
  discard(): Promise<void>;
}

export async function commitStaged<T>(staged: StagedImport<T>): Promise<T> {
  try {
    return await staged.commit();
  } finally {
    await staged.discard();
  }
}

export async function stagePrices(db: KairosDatabase, csvPath: string): Promise<StagedImport<PriceImportSummary>> {
  const staged = 'price_csv';
  const discard = async () => {
    await db.run(`DROP TABLE IF EXISTS ${staged}`);
    await db.run(`DROP TABLE IF EXISTS price_rows`);
  };
  await stageCsv(db, csvPath, staged, PRICE_COLUMNS);
  try {
    await assertRowsValid(db, csvPath, staged, PRICE_RULES);
    await assertNoDuplicateKeys(db, csvPath, staged, ['ticker', 'date']);
    await db.run(`CREATE OR REPLACE TEMP TABLE price_rows AS
      SELECT ticker, CAST(date AS DATE) AS date, CAST(open AS DOUBLE) AS open, CAST(high AS DOUBLE) AS high,
             CAST(low AS DOUBLE) AS low, CAST(close AS DOUBLE) AS close, CAST(volume AS DOUBLE) AS volume
      FROM ${staged}`);
  } catch (err) {
    await discard();
    throw err;
  }
  const commit = () =>
    db.transaction(async () => {
      await ensureContractTables(db, ['sep_base']);
      await assertContract(db, { sep_base: CONTRACT_COLUMNS.sep_base });
      const differs = PRICE_VALUE_COLUMNS.map((column) => `f.${column} IS DISTINCT FROM s.${column}`).join(' OR ');
      await assertNoConflicts(db, csvPath, 'sep_base', ['ticker', 'date'], PRICE_VALUE_COLUMNS, `
        SELECT f.ticker, f.date, ${PRICE_VALUE_COLUMNS.map((c) => `f.${c} AS file_${c}, s.${c} AS stored_${c}`).join(', ')}
        FROM price_rows f JOIN sep_base s ON s.ticker = f.ticker AND s.date = f.date
        WHERE ${differs}`);
      const inserted = await db.run(`INSERT INTO sep_base (ticker, date, open, high, low, close, volume)
        SELECT f.ticker, f.date, f.open, f.high, f.low, f.close, f.volume FROM price_rows f
        WHERE NOT EXISTS (SELECT 1 FROM sep_base s WHERE s.ticker = f.ticker AND s.date = f.date)`);
      const totals = await db.queryOne(
        `SELECT count(*) AS rows, count(DISTINCT ticker) AS tickers, min(date) AS first_date, max(date) AS last_date FROM price_rows`,
      );
      return {
        inserted,
        unchanged: Number(totals?.rows ?? 0) - inserted,
        tickers: Number(totals?.tickers ?? 0),
        firstDate: (totals?.first_date as IsoDate | null) ?? null,
        lastDate: (totals?.last_date as IsoDate | null) ?? null,
      };
    });
  return { commit, discard };
}

/**
 * Imports a `ticker,name,sector` CSV into tickers. Empty name or sector is stored as NULL. Same
 * rule as prices: new tickers are added, identical rows change nothing, and a ticker whose name
 * or sector differs from the stored one is a conflict that stops the whole import.
 */
export async function importSectors(db: KairosDatabase, csvPath: string): Promise<SectorImportSummary> {
  return commitStaged(await stageSectors(db, csvPath));
}

export async function stageSectors(db: KairosDatabase, csvPath: string): Promise<StagedImport<SectorImportSummary>> {
  const staged = 'sector_csv';
  const discard = async () => {
    await db.run(`DROP TABLE IF EXISTS ${staged}`);
  };
  await stageCsv(db, csvPath, staged, SECTOR_COLUMNS);
  try {
    await assertRowsValid(db, csvPath, staged, [TICKER_RULE]);
    await assertNoDuplicateKeys(db, csvPath, staged, ['ticker']);
  } catch (err) {
    await discard();
    throw err;
  }
  const commit = () =>
    db.transaction(async () => {
      await ensureContractTables(db, ['tickers']);
      await assertContract(db, { tickers: CONTRACT_COLUMNS.tickers });
      await assertNoConflicts(db, csvPath, 'tickers', ['ticker'], ['name', 'sector'], `
        SELECT f.ticker, f.name AS file_name, s.name AS stored_name, f.sector AS file_sector, s.sector AS stored_sector
        FROM ${staged} f JOIN tickers s ON s.ticker = f.ticker
        WHERE f.name IS DISTINCT FROM s.name OR f.sector IS DISTINCT FROM s.sector`);
      const inserted = await db.run(`INSERT INTO tickers (ticker, name, sector)
        SELECT f.ticker, f.name, f.sector FROM ${staged} f
        WHERE NOT EXISTS (SELECT 1 FROM tickers s WHERE s.ticker = f.ticker)`);
      const totals = await db.queryOne(`SELECT count(*) AS rows FROM ${staged}`);
      const rows = Number(totals?.rows ?? 0);
      return { inserted, unchanged: rows - inserted, tickers: rows };
    });
  return { commit, discard };
}

/**
 * Loads the CSV into an all-VARCHAR temp table with DuckDB's parallel reader, so values are
 * validated in SQL and a bad row can be reported with the text the user wrote.
 */
async function stageCsv(db: KairosDatabase, csvPath: string, table: string, columns: readonly string[]): Promise<void> {
  if (!existsSync(csvPath)) throw new DataError(`${csvPath}: file not found`);
  const expected = columns.join(',');
  const header = await readFirstLine(csvPath);
  if (header !== expected) throw new DataError(`${csvPath} line 1: header must be exactly "${expected}", got "${header}"`);
  const columnTypes = columns.map((column) => `'${column}': 'VARCHAR'`).join(', ');
  try {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE ${table} AS
       SELECT * FROM read_csv($1, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${columnTypes}})`,
      [csvPath],
    );
  } catch (err) {
    throw new DataError(`${csvPath}${describeReaderError(err)}`);
  }
}

/** Turns DuckDB's multi-line CSV error ("CSV Error on Line: 7 … Expected Number of Columns …") into one line. */
function describeReaderError(err: unknown): string {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n').map((line) => line.trim());
  const lineNumber = /CSV Error on Line: (\d+)/.exec(lines[0] ?? '')?.[1];
  if (lineNumber === undefined) return `: cannot read CSV: ${lines[0] ?? ''}`;
  const originalAt = lines.findIndex((line) => line.startsWith('Original Line:'));
  const detail = lines.slice(originalAt + 1).find((line) => line.length > 0) ?? lines[0];
  return ` line ${lineNumber}: malformed CSV row: ${detail}`;
}

async function assertRowsValid(db: KairosDatabase, csvPath: string, table: string, rules: readonly FieldRule[]): Promise<void> {
  const ruleCase = rules.map((rule, i) => `WHEN ${rule.failsWhen} THEN ${i}`).join(' ');
  const failure = await db.queryOne(
    `SELECT record, rule FROM (SELECT rowid AS record, CASE ${ruleCase} END AS rule FROM ${table})
     WHERE rule IS NOT NULL ORDER BY record LIMIT 1`,
  );
  if (!failure) return;
  const rule = rules[Number(failure.rule)]!;
  const record = Number(failure.record);
  const value = (await db.queryOne(`SELECT ${rule.column} AS value FROM ${table} WHERE rowid = $1`, [record]))?.value ?? null;
  const [line] = await physicalLines(csvPath, [record]);
  const got = value === null ? ' (empty)' : ` (got "${String(value)}")`;
  throw new DataError(`${csvPath} line ${line}, column ${rule.column}: ${rule.problem}${got}`);
}

async function assertNoDuplicateKeys(db: KairosDatabase, csvPath: string, table: string, key: readonly string[]): Promise<void> {
  const keyList = key.join(', ');
  const duplicate = await db.queryOne(
    `SELECT record, first_record, ${keyList} FROM (
       SELECT rowid AS record, min(rowid) OVER (PARTITION BY ${keyList}) AS first_record, ${keyList} FROM ${table})
     WHERE record <> first_record ORDER BY record LIMIT 1`,
  );
  if (!duplicate) return;
  const [line, firstLine] = await physicalLines(csvPath, [Number(duplicate.record), Number(duplicate.first_record)]);
  const what = key.map((column) => `${column} ${String(duplicate[column])}`).join(', ');
  throw new DataError(`${csvPath} line ${line}, column ${key.at(-1)}: duplicate ${what} (first on line ${firstLine})`);
}

/** `sql` returns the conflicting rows with file_<column> and stored_<column> for each value column. */
async function assertNoConflicts(
  db: KairosDatabase,
  csvPath: string,
  table: string,
  key: readonly string[],
  valueColumns: readonly string[],
  sql: string,
): Promise<void> {
  const count = Number((await db.queryOne(`SELECT count(*) AS n FROM (${sql})`))?.n ?? 0);
  if (count === 0) return;
  const examples = await db.query(`${sql} ORDER BY ${key.map((column) => `f.${column}`).join(', ')} LIMIT ${CONFLICTS_SHOWN}`);
  const described = examples.map((row) => describeConflict(row, key, valueColumns)).join('; ');
  throw new DataError(
    `${csvPath}: ${count} row${count === 1 ? '' : 's'} conflict with ${table} (same ${key.join(', ')}, different values); nothing was imported. ${count > CONFLICTS_SHOWN ? 'First: ' : ''}${described}`,
  );
}

function describeConflict(row: SqlRow, key: readonly string[], valueColumns: readonly string[]): string {
  const differences = valueColumns
    .filter((column) => row[`file_${column}`] !== row[`stored_${column}`])
    .map((column) => `${column} ${formatValue(row[`file_${column}`])} in file vs ${formatValue(row[`stored_${column}`])} stored`);
  return `${key.map((column) => String(row[column])).join(' ')}: ${differences.join(', ')}`;
}

function formatValue(value: unknown): string {
  return value === null || value === undefined ? 'empty' : String(value);
}

function openText(path: string): Readable {
  const raw = createReadStream(path);
  return path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
}

async function readFirstLine(path: string): Promise<string> {
  const stream = openText(path);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) return line.replace(/^\uFEFF/, '');
    return '';
  } finally {
    lines.close();
    stream.destroy();
  }
}

/**
 * Maps record numbers (0-based data rows, as DuckDB numbered them) to 1-based file line numbers.
 * Only called once something is wrong, so the happy path never re-reads the file. Mirrors the
 * reader: the header is line 1, blank lines are skipped, and a quoted field may span lines.
 */
async function physicalLines(path: string, records: readonly number[]): Promise<number[]> {
  const wanted = new Set(records);
  const found = new Map<number, number>();
  const stream = openText(path);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  let record = -1;
  let insideQuotes = false;
  try {
    for await (const line of lines) {
      lineNumber += 1;
      if (lineNumber === 1) continue;
      if (!insideQuotes) {
        if (line.length === 0) continue;
        record += 1;
        if (wanted.has(record)) found.set(record, lineNumber);
      }
      if ((line.split('"').length - 1) % 2 === 1) insideQuotes = !insideQuotes;
      if (found.size === wanted.size) break;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return records.map((r) => {
    const line = found.get(r);
    if (line === undefined) throw new Error(`${path}: record ${r} not found while locating its line`);
    return line;
  });
}
