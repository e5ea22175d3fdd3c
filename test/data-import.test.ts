import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { KairosDatabase } from '../src/data/database.js';
import { importPrices, importSectors } from '../src/data/import.js';
import { makeTempDir, requireSharedData, SHARED_PRICES_CSV, SHARED_SECTORS_CSV, writeCsv } from './helpers/data-fixtures.js';

const PRICE_HEADER = 'ticker,date,open,high,low,close,volume';

let dir: string;
let cleanup: () => Promise<void>;
let db: KairosDatabase;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  db = await KairosDatabase.open(join(dir, 'import.duckdb'));
});
afterEach(async () => {
  db.close();
  await cleanup();
});

async function count(sql: string): Promise<number> {
  return Number((await db.queryOne(sql))?.n);
}

async function importFailure(lines: readonly string[], name = 'prices.csv'): Promise<string> {
  const path = await writeCsv(join(dir, name), lines);
  const error = await importPrices(db, path).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(DataError);
  return (error as Error).message;
}

describe('importing the shared S&P 500 data', () => {
  let sharedDb: KairosDatabase;
  // Set once there is something to clean up: beforeAll stops before that when the sample is missing.
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    requireSharedData();
    const shared = await makeTempDir();
    sharedDb = await KairosDatabase.open(join(shared.dir, 'sp500.duckdb'));
    cleanup = async () => {
      sharedDb.close();
      await shared.cleanup();
    };
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('imports every row and ticker, with empty open/high/low stored as NULL', async () => {
    const sectors = await importSectors(sharedDb, SHARED_SECTORS_CSV);
    expect(sectors).toEqual({ inserted: 505, unchanged: 0, tickers: 505 });
    const prices = await importPrices(sharedDb, SHARED_PRICES_CSV);
    expect(prices).toEqual({ inserted: 619_040, unchanged: 0, tickers: 505, firstDate: '2013-02-08', lastDate: '2018-02-07' });

    const totals = await sharedDb.queryOne(
      `SELECT count(*) AS n, count(DISTINCT ticker) AS tickers, count(*) FILTER (WHERE open IS NULL) AS no_open,
              count(*) FILTER (WHERE high IS NULL) AS no_high, count(DISTINCT date) AS dates FROM sep_base`,
    );
    expect(totals).toEqual({ n: 619_040, tickers: 505, no_open: 11, no_high: 8, dates: 1259 });
    const bhf = await sharedDb.queryOne(`SELECT open, high, low, close, volume FROM sep_base WHERE ticker = 'BHF' AND date = '2017-07-26'`);
    expect(bhf).toEqual({ open: null, high: null, low: null, close: 69.0842, volume: 3 });
    const aapl = await sharedDb.queryOne(`SELECT close FROM sep_base WHERE ticker = 'AAPL' AND date = '2013-02-08'`);
    expect(aapl?.close).toBe(67.8542);
    expect(await sharedDb.queryOne(`SELECT count(DISTINCT sector) AS n FROM tickers`)).toEqual({ n: 11 });
  });

  it('re-importing the same files changes nothing', async () => {
    expect(await importPrices(sharedDb, SHARED_PRICES_CSV)).toMatchObject({ inserted: 0, unchanged: 619_040 });
    expect(await importSectors(sharedDb, SHARED_SECTORS_CSV)).toEqual({ inserted: 0, unchanged: 505, tickers: 505 });
    expect(await sharedDb.queryOne('SELECT count(*) AS n FROM sep_base')).toEqual({ n: 619_040 });
  });
});

describe('incremental price import', () => {
  const day1 = ['A,2020-01-02,1,2,0.5,1.5,100', 'B,2020-01-02,,,,2,300'];
  const day2 = ['A,2020-01-03,1.5,2,1,1.75,200', 'B,2020-01-03,2,2.5,2,2.25,400'];

  it('appends new days and leaves identical rows alone', async () => {
    const first = await importPrices(db, await writeCsv(join(dir, 'day1.csv'), [PRICE_HEADER, ...day1]));
    expect(first).toEqual({ inserted: 2, unchanged: 0, tickers: 2, firstDate: '2020-01-02', lastDate: '2020-01-02' });
    const both = await importPrices(db, await writeCsv(join(dir, 'both.csv.gz'), [PRICE_HEADER, ...day1, ...day2]));
    expect(both).toEqual({ inserted: 2, unchanged: 2, tickers: 2, firstDate: '2020-01-02', lastDate: '2020-01-03' });
    expect(await count('SELECT count(*) AS n FROM sep_base')).toBe(4);
    expect(await db.query(`SELECT ticker, date, open, close, volume FROM sep_base WHERE date = '2020-01-03' ORDER BY ticker`)).toEqual([
      { ticker: 'A', date: '2020-01-03', open: 1.5, close: 1.75, volume: 200 },
      { ticker: 'B', date: '2020-01-03', open: 2, close: 2.25, volume: 400 },
    ]);
  });

  it('rejects a conflicting re-import and imports nothing from it', async () => {
    await importPrices(db, await writeCsv(join(dir, 'day1.csv'), [PRICE_HEADER, ...day1]));
    const conflicting = [PRICE_HEADER, 'A,2020-01-02,1,2,0.5,1.6,100', 'B,2020-01-02,1,,,2,300', ...day2];
    const error = await importPrices(db, await writeCsv(join(dir, 'conflict.csv'), conflicting)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DataError);
    const message = (error as Error).message;
    expect(message).toContain('2 rows conflict with sep_base');
    expect(message).toContain('nothing was imported');
    expect(message).toContain('A 2020-01-02: close 1.6 in file vs 1.5 stored');
    expect(message).toContain('B 2020-01-02: open 1 in file vs empty stored');
    expect(message).not.toContain('\n');
    expect(await count('SELECT count(*) AS n FROM sep_base')).toBe(2);
  });

  it('treats tickers the same way: new ones added, a changed sector is a conflict', async () => {
    const header = 'ticker,name,sector';
    await importSectors(db, await writeCsv(join(dir, 's1.csv'), [header, 'A,Alpha Inc,Energy', 'B,Beta Co,']));
    expect(await importSectors(db, await writeCsv(join(dir, 's2.csv'), [header, 'A,Alpha Inc,Energy', 'C,"Gamma, Inc.",Utilities']))).toEqual({
      inserted: 1,
      unchanged: 1,
      tickers: 2,
    });
    expect(await db.query('SELECT ticker, name, sector FROM tickers ORDER BY ticker')).toEqual([
      { ticker: 'A', name: 'Alpha Inc', sector: 'Energy' },
      { ticker: 'B', name: 'Beta Co', sector: null },
      { ticker: 'C', name: 'Gamma, Inc.', sector: 'Utilities' },
    ]);
    const error = await importSectors(db, await writeCsv(join(dir, 's3.csv'), [header, 'B,Beta Co,Materials', 'D,Delta,Energy'])).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toContain('1 row conflict with tickers');
    expect((error as Error).message).toContain('B: sector Materials in file vs empty stored');
    expect(await count('SELECT count(*) AS n FROM tickers')).toBe(3);
  });
});

describe('malformed price CSV', () => {
  const good = 'A,2020-01-02,1,2,0.5,1.5,100';
  const cases: readonly [string, string, RegExp][] = [
    ['a month that does not exist', 'A,2020-13-01,1,2,0.5,1.5,100', /line 3, column date: expected a date as YYYY-MM-DD \(got "2020-13-01"\)/],
    ['an unpadded date', 'A,2020-1-3,1,2,0.5,1.5,100', /line 3, column date/],
    ['a non-numeric close', 'A,2020-01-03,1,2,0.5,abc,100', /line 3, column close: not a number \(got "abc"\)/],
    ['a missing close', 'A,2020-01-03,1,2,0.5,,100', /line 3, column close: value is missing/],
    ['a zero close', 'A,2020-01-03,1,2,0.5,0,100', /line 3, column close: must be greater than 0/],
    ['a negative close', 'A,2020-01-03,1,2,0.5,-1.5,100', /line 3, column close: must be greater than 0/],
    ['an infinite close', 'A,2020-01-03,1,2,0.5,inf,100', /line 3, column close: not a finite number/],
    ['a NaN close', 'A,2020-01-03,1,2,0.5,NaN,100', /line 3, column close: not a finite number/],
    ['a non-numeric open', 'A,2020-01-03,x,2,0.5,1.5,100', /line 3, column open: not a number/],
    ['a negative volume', 'A,2020-01-03,1,2,0.5,1.5,-5', /line 3, column volume: must not be negative \(got "-5"\)/],
    ['a missing volume', 'A,2020-01-03,1,2,0.5,1.5,', /line 3, column volume: value is missing/],
    ['an empty ticker', ',2020-01-03,1,2,0.5,1.5,100', /line 3, column ticker/],
    ['a duplicate (ticker, date)', 'A,2020-01-02,1,2,0.5,1.5,100', /line 3, column date: duplicate ticker A, date 2020-01-02 \(first on line 2\)/],
    ['too few fields', 'A,2020-01-03,1,2,0.5,1.5', /line 3: malformed CSV row: Expected Number of Columns: 7 Found: 6/],
  ];

  it.each(cases)('names the file, line and column for %s', async (_name, badLine, expected) => {
    const message = await importFailure([PRICE_HEADER, good, badLine, 'B,2020-01-03,1,2,0.5,1.5,100']);
    expect(message).toMatch(expected);
    expect(message).toContain(join(dir, 'prices.csv'));
    expect(message).not.toContain('\n');
    expect(await db.tableExists('sep_base')).toBe(false);
  });

  it('counts physical lines across blank lines and quoted newlines', async () => {
    const message = await importFailure([PRICE_HEADER, good, '', '"B', 'B",2020-01-02,1,2,0.5,1.5,100', '', 'C,2020-01-02,1,2,0.5,oops,100']);
    expect(message).toMatch(/line 7, column close: not a number/);
  });

  it('reports the first bad row of a gzip file', async () => {
    const message = await importFailure([PRICE_HEADER, good, 'A,2020-01-03,1,2,0.5,1.5,100', 'A,2020-01-06,1,2,0.5,1.5,1e'], 'prices.csv.gz');
    expect(message).toMatch(/prices\.csv\.gz line 4, column volume: not a number \(got "1e"\)/);
  });

  it('requires the exact header', async () => {
    const message = await importFailure(['ticker,date,close,open,high,low,volume', good]);
    expect(message).toMatch(/line 1: header must be exactly "ticker,date,open,high,low,close,volume"/);
  });

  it('names a missing file', async () => {
    const path = join(dir, 'absent.csv');
    await expect(importPrices(db, path)).rejects.toThrow(`${path}: file not found`);
  });

  it('rejects duplicate tickers in a sectors file', async () => {
    const path = await writeCsv(join(dir, 'sectors.csv'), ['ticker,name,sector', 'A,Alpha,Energy', 'B,Beta,Energy', 'A,Alpha 2,Energy']);
    await expect(importSectors(db, path)).rejects.toThrow(/sectors\.csv line 4, column ticker: duplicate ticker A \(first on line 2\)/);
  });
});
