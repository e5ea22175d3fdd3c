import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DataError, UsageError } from '../src/core/errors.js';
import { registerDataCommands } from '../src/cli/commands/data.js';
import { KairosDatabase } from '../src/data/database.js';
import { makeTempDir, weekdaySessions, writeCsv } from './helpers/data-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
const previousLogLevel = process.env.KAIROS_LOG_LEVEL;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  process.env.KAIROS_LOG_LEVEL = 'silent';
});
afterAll(async () => {
  if (previousLogLevel === undefined) delete process.env.KAIROS_LOG_LEVEL;
  else process.env.KAIROS_LOG_LEVEL = previousLogLevel;
  await cleanup();
});
afterEach(() => vi.restoreAllMocks());

/** Runs `kairos data …` in-process and returns what it printed to stdout. */
async function run(...args: string[]): Promise<string> {
  const program = new Command('kairos').exitOverride();
  registerDataCommands(program);
  const printed: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  await program.parseAsync(['node', 'kairos', 'data', ...args]);
  return printed.join('');
}

describe('kairos data', () => {
  const sessions = weekdaySessions('2019-01-01', 300);
  const db = () => join(dir, 'cli.duckdb');

  it('imports sectors and prices and prints the summary as JSON', async () => {
    const sectors = await writeCsv(join(dir, 'sectors.csv'), ['ticker,name,sector', 'AAA,Triple A,Energy', 'BBB,Double B,Utilities']);
    const priceLines = ['ticker,date,open,high,low,close,volume'];
    sessions.forEach((date, t) => {
      priceLines.push(`AAA,${date},,,,${(50 + Math.sin(t / 5)).toFixed(4)},${1000 + t}`);
      priceLines.push(`BBB,${date},10,11,9,${(20 + Math.cos(t / 7)).toFixed(4)},${2000 + t}`);
    });
    const prices = await writeCsv(join(dir, 'prices.csv.gz'), priceLines);
    const summary = JSON.parse(await run('import', '--sectors', sectors, '--prices', prices, '--db', db()));
    expect(summary).toEqual({
      sectors: { inserted: 2, unchanged: 0, tickers: 2 },
      prices: { inserted: 600, unchanged: 0, tickers: 2, firstDate: sessions[0], lastDate: sessions.at(-1) },
    });
  });

  it('imports sectors and prices together or not at all', async () => {
    const target = join(dir, 'atomic.duckdb');
    const good = await writeCsv(join(dir, 'seed-prices.csv'), ['ticker,date,open,high,low,close,volume', `AAA,${sessions[0]},1,1,1,1,100`]);
    await run('import', '--prices', good, '--db', target);
    const sectors = await writeCsv(join(dir, 'more-sectors.csv'), ['ticker,name,sector', 'CCC,Triple C,Energy']);
    const badPrices = await writeCsv(join(dir, 'bad-prices.csv'), ['ticker,date,open,high,low,close,volume', `CCC,${sessions[1]},1,1,1,-5,100`]);
    await expect(run('import', '--sectors', sectors, '--prices', badPrices, '--db', target)).rejects.toThrow(DataError);
    const check = await KairosDatabase.open(target, { readOnly: true });
    try {
      // The good sectors file was not imported: the table it would have created does not exist.
      expect(await check.tableExists('tickers')).toBe(false);
      expect(await check.query('SELECT count(*) AS n FROM sep_base')).toEqual([{ n: 1 }]);
    } finally {
      check.close();
    }
  });

  it('builds features and prints rows written and the date range', async () => {
    const summary = JSON.parse(await run('features', '--db', db()));
    expect(summary).toMatchObject({ featureRows: 600, firstDate: sessions[0], lastDate: sessions.at(-1) });
    expect(summary.alphaRows).toBe(2 * (300 - 252));
    const check = await KairosDatabase.open(db(), { readOnly: true });
    try {
      expect((await check.queryOne('SELECT count(*) AS n FROM feat_matrix_v2'))?.n).toBe(600);
    } finally {
      check.close();
    }
  });

  it('needs --prices or --sectors', async () => {
    await expect(run('import', '--db', db())).rejects.toThrow(UsageError);
  });

  it('reports bad input as a DataError', async () => {
    const bad = await writeCsv(join(dir, 'bad.csv'), ['ticker,date,open,high,low,close,volume', 'AAA,2030-01-02,1,1,1,-1,5']);
    await expect(run('import', '--prices', bad, '--db', db())).rejects.toThrow(DataError);
    await expect(run('features', '--db', join(dir, 'absent.duckdb'))).rejects.toThrow(/database not found: .*absent\.duckdb/);
    const empty = await KairosDatabase.open(join(dir, 'empty.duckdb'));
    empty.close();
    await expect(run('features', '--db', join(dir, 'empty.duckdb'))).rejects.toThrow(/missing table sep_base/);
  });
});
