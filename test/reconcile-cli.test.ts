import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/core/errors.js';
import { connectRedisClient, RedisStateStore } from '../src/state/redis-store.js';
import type { RunSnapshot } from '../src/state/store.js';
import { runCli, useTempDir, writeConfig } from './helpers/cli.js';
import { makeTinyDatabase } from './helpers/data-fixtures.js';
import { deleteKeysUnder, redisUrlForTests, uniquePrefix, unreachableRedisUrl } from './helpers/redis.js';

const HEADER = 'ticker,expected_shares,actual_shares,diff_shares,price,diff_value,diff_weight,status';
const tempDir = useTempDir('kairos-reconcile-');

async function file(name: string, text: string): Promise<string> {
  const path = join(tempDir(), name);
  await writeFile(path, text);
  return path;
}

/** A portfolio id of its own per test run: the store's key prefix is always `kairos`. */
function uniquePortfolio(name: string): string {
  return uniquePrefix(name).replaceAll(':', '-');
}

describe('kairos reconcile --expected', () => {
  // Book = 100 × 200 + 50 × 400 + 10,000 = 50,000. MSFT −10 × 400 = −4,000 (−8%), cash +4,000 (+8%);
  // gross position difference 8% > 5 × 1%.
  const expectedCsv = 'ticker,shares\nAAPL,100\nMSFT,50\nCASH,10000\n';
  const brokerCsv = 'ticker,shares,price\nAAPL,100,200\nMSFT,40,400\nCASH,14000,\n';

  it('writes the report to stdout, alerts on stderr and exits 5 when a difference exceeds the threshold', async () => {
    const expected = await file('expected.csv', expectedCsv);
    const broker = await file('broker.csv', brokerCsv);
    const result = await runCli(['reconcile', '--positions', broker, '--expected', expected]);
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stdout).toBe(
      [
        HEADER,
        'AAPL,100,100,0,200,0.00,0.000000,ok',
        'MSFT,50,40,-10,400,-4000.00,-0.080000,mismatch',
        'CASH,10000.00,14000.00,4000.00,1,4000.00,0.080000,mismatch',
        '',
      ].join('\n'),
    );
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.slice(1, 4)).toEqual([
      expect.stringMatching(/^CRITICAL\s+reconciliation\.total\s+block rebalance\s+gross position difference 8\.00% of the book exceeds 5 × the 1\.00% threshold$/),
      expect.stringMatching(/^WARNING\s+reconciliation\.CASH\s+.*cash differs: expected 10000\.00, broker 14000\.00, difference 4000\.00 \(4000\.00 = 8\.00% of the book\)$/),
      expect.stringMatching(/^WARNING\s+reconciliation\.MSFT\s+.*MSFT differs: expected 50, broker 40, difference -10 \(-4000\.00 = -8\.00% of the book\)$/),
    ]);
    expect(lines.at(-1)).toBe(
      `kairos: reconcile ${expected} vs ${broker}: 2 positions and cash, 2 discrepancies over 1.00% of the 50000.00 book (gross position difference 8.00%)`,
    );
  });

  it('exits 0 within the threshold and writes --output instead of stdout', async () => {
    const expected = await file('expected.csv', expectedCsv);
    const broker = await file('broker.csv', brokerCsv);
    const output = join(tempDir(), 'reports', 'reconcile.csv');
    const result = await runCli(['reconcile', '--positions', broker, '--expected', expected, '--threshold', '0.1', '--output', output]);
    expect(result).toMatchObject({ code: ExitCode.ok, stdout: '' });
    expect(result.stderr).toBe(
      `reconcile ${expected} vs ${broker}: 2 positions and cash, 0 discrepancies over 10.00% of the 50000.00 book (gross position difference 8.00%)\n`,
    );
    expect((await readFile(output, 'utf8')).split('\n')[2]).toBe('MSFT,50,40,-10,400,-4000.00,-0.080000,ok');
  });

  it('compares share counts when a held name has no price, and says so', async () => {
    const expected = await file('expected.csv', 'ticker,shares\nAAPL,100\nNVDA,5\n');
    const broker = await file('broker.csv', 'ticker,shares,price\nAAPL,100,200\n');
    const result = await runCli(['reconcile', '--positions', broker, '--expected', expected]);
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stdout).toBe([HEADER, 'AAPL,100,100,0,,,,ok', 'NVDA,5,0,-5,,,,missing_at_broker', 'CASH,0.00,0.00,0.00,1,0.00,,ok', ''].join('\n'));
    expect(result.stderr).toContain('reconcile: no price for NVDA; comparing share counts instead of values\n');
    expect(result.stderr).toContain('1 discrepancy without prices, so any difference in shares or cash counts');
  });

  it.each([
    [['--threshold', '1'], /--threshold: expected a fraction of the book between 0 and 1 \(0\.01 = 1%\), got "1"/],
    [['--threshold', 'abc'], /--threshold: expected a fraction/],
    [['--state', 'redis://127.0.0.1:1'], /--expected replaces the state store/],
    [['--date', '2025-12-30'], /with --expected, give --db and --date together/],
    [['--db', 'prices.duckdb'], /with --expected, give --db and --date together/],
  ])('refuses %j with exit 2', async (extra, message) => {
    const expected = await file('expected.csv', expectedCsv);
    const broker = await file('broker.csv', brokerCsv);
    const result = await runCli(['reconcile', '--positions', broker, '--expected', expected, ...extra]);
    expect(result.code).toBe(ExitCode.usage);
    expect(result.stderr).toMatch(message);
  });

  it('names the file, line and column of a malformed broker file (exit 4)', async () => {
    const expected = await file('expected.csv', expectedCsv);
    const broker = await file('broker.csv', 'ticker,shares\nAAPL,100\nMSFT,4O\n');
    const result = await runCli(['reconcile', '--positions', broker, '--expected', expected]);
    expect(result).toMatchObject({ code: ExitCode.data, stdout: '' });
    expect(result.stderr).toBe(`kairos: ${broker}:3:2: shares "4O" is not a number\n`);
  });

  it('without --expected needs a persistent state store (exit 2)', async () => {
    const broker = await file('broker.csv', brokerCsv);
    const result = await runCli(['reconcile', '--positions', broker]);
    expect(result.code).toBe(ExitCode.usage);
    expect(result.stderr).toMatch(/give --expected holdings\.csv, or --state redis:\/\/….*in-memory store keeps no snapshots/);
  });
});

describe('kairos reconcile against the Redis state store', () => {
  const url = redisUrlForTests();
  const portfolio = uniquePortfolio('reconcile');
  let client: Redis;

  function snapshot(date: string, cash: number, shares: Record<string, number>): RunSnapshot {
    const positions = Object.entries(shares).map(([ticker, count]) => ({ ticker, shares: count }));
    return { runId: `run-${date}`, date, strategies: {}, holdings: { asOf: date, cash, positions } };
  }

  beforeAll(async () => {
    client = await connectRedisClient(url);
    const store = await RedisStateStore.connect(url);
    try {
      await store.commit(portfolio, snapshot('2025-12-29', 5000, { AAPL: 100 }));
      await store.commit(portfolio, snapshot('2025-12-30', 1000, { AAPL: 100, MSFT: 50 }));
    } finally {
      await store.close();
    }
  });

  afterAll(async () => {
    await deleteKeysUnder(client, `kairos:${portfolio}`);
    await client.quit();
  });

  const brokerCsv = 'ticker,shares,price\nAAPL,100,200\nMSFT,50,400\nCASH,1000,\n';

  it("compares with the latest snapshot of the config's portfolio in the config's store", async () => {
    const config = await writeConfig(join(tempDir(), 'kairos.yaml'), { portfolio, state: url });
    const broker = await file('broker.csv', brokerCsv);
    const result = await runCli(['reconcile', '--positions', broker, '--config', config]);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.split('\n').slice(1, 4)).toEqual(['AAPL,100,100,0,200,0.00,0.000000,ok', 'MSFT,50,50,0,400,0.00,0.000000,ok', 'CASH,1000.00,1000.00,0.00,1,0.00,0.000000,ok']);
    expect(result.stderr).toBe(
      `reconcile portfolio ${portfolio} (snapshot 2025-12-30) vs ${broker}: 2 positions and cash, 0 discrepancies over 1.00% of the 41000.00 book (gross position difference 0.00%)\n`,
    );
  });

  it('takes the snapshot of --date, with --state overriding the config', async () => {
    const config = await writeConfig(join(tempDir(), 'kairos.yaml'), { portfolio });
    const broker = await file('broker.csv', brokerCsv);
    const result = await runCli(['reconcile', '--positions', broker, '--config', config, '--state', url, '--date', '2025-12-29']);
    // Book of 2025-12-29 = 100 × 200 + 5,000 = 25,000: MSFT +20,000 (80%), cash −4,000 (−16%).
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stdout.split('\n').slice(1, 4)).toEqual([
      'AAPL,100,100,0,200,0.00,0.000000,ok',
      'MSFT,0,50,50,400,20000.00,0.800000,unexpected_at_broker',
      'CASH,5000.00,1000.00,-4000.00,1,-4000.00,-0.160000,mismatch',
    ]);
    expect(result.stderr).toContain(`kairos: reconcile portfolio ${portfolio} (snapshot 2025-12-29) vs ${broker}: 2 positions and cash, 2 discrepancies`);
  });

  it("values positions at the database's close of the snapshot's session, before the broker's prices", async () => {
    const db = await makeTinyDatabase(tempDir(), {
      tickers: [{ ticker: 'AAPL', sector: 'Technology' }, { ticker: 'MSFT', sector: 'Technology' }],
      prices: [
        { ticker: 'AAPL', date: '2025-12-30', close: 210 },
        { ticker: 'MSFT', date: '2025-12-30', close: 390 },
      ],
    });
    const config = await writeConfig(join(tempDir(), 'kairos.yaml'), { portfolio, state: url });
    const broker = await file('broker.csv', 'ticker,shares,price\nAAPL,100,200\nMSFT,49,400\nCASH,1000,\n');
    const result = await runCli(['reconcile', '--positions', broker, '--config', config, '--db', db]);
    // Book = 100 × 210 + 50 × 390 + 1,000 = 41,500; MSFT −1 × 390 = −0.9398%: within 1%.
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.split('\n')[2]).toBe('MSFT,50,49,-1,390,-390.00,-0.009398,ok');
    expect(result.stderr).toContain('of the 41500.00 book');
  });

  it('reports a portfolio or a date without a snapshot as a state error (exit 6)', async () => {
    const broker = await file('broker.csv', brokerCsv);
    const unknown = uniquePortfolio('reconcile-unknown');
    const unknownConfig = await writeConfig(join(tempDir(), 'unknown.yaml'), { portfolio: unknown, state: url });
    const none = await runCli(['reconcile', '--positions', broker, '--config', unknownConfig]);
    expect(none).toMatchObject({ code: ExitCode.state, stdout: '' });
    expect(none.stderr).toBe(`kairos: portfolio "${unknown}" has no snapshot in the state store: no run has committed one (check the config's portfolio id and --state)\n`);

    const config = await writeConfig(join(tempDir(), 'kairos.yaml'), { portfolio, state: url });
    const missingDate = await runCli(['reconcile', '--positions', broker, '--config', config, '--date', '2025-12-31']);
    expect(missingDate.code).toBe(ExitCode.state);
    expect(missingDate.stderr).toBe(
      `kairos: portfolio "${portfolio}" has no snapshot for 2025-12-31 in the state store (the latest before it is 2025-12-30); check --date and the config's portfolio id\n`,
    );
    const beforeAny = await runCli(['reconcile', '--positions', broker, '--config', config, '--date', '2025-12-26']);
    expect(beforeAny.stderr).toContain('has no snapshot for 2025-12-26 in the state store (none before it)');
  });

  it('fails with a state error when Redis is unreachable, writing nothing', async () => {
    const broker = await file('broker.csv', brokerCsv);
    const output = join(tempDir(), 'reconcile.csv');
    const result = await runCli(['reconcile', '--positions', broker, '--state', await unreachableRedisUrl(), '--output', output]);
    expect(result).toMatchObject({ code: ExitCode.state, stdout: '' });
    expect(result.stderr).toMatch(/^kairos: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: /);
    expect(existsSync(output)).toBe(false);
  });
});
