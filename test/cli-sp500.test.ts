import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, REPO_ROOT, runCli } from './helpers/cli.js';
import { requireSharedData, SHARED_PRICES_CSV, SHARED_SECTORS_CSV } from './helpers/data-fixtures.js';

/** The README's walk-through on the real S&P 500 files in ../shared/data, end to end. */
describe('kairos on the real S&P 500 sample', () => {
  let dir: string;
  let db: string;
  const config = join(REPO_ROOT, 'config', 'sp500.yaml');
  const DATE = '2018-02-07';

  beforeAll(async () => {
    requireSharedData();
    dir = await mkdtemp(join(tmpdir(), 'kairos-sp500-'));
    db = join(dir, 'sp500.duckdb');
    const imported = await runCli(['data', 'import', '--db', db, '--prices', SHARED_PRICES_CSV, '--sectors', SHARED_SECTORS_CSV]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ prices: { inserted: 619_040, tickers: 505 }, sectors: { inserted: 505 } });
    const features = await runCli(['data', 'features', '--db', db]);
    expect(features.code, features.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    // Unset when the sample is missing: beforeAll stops before making it.
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes the pre-rebalance checks on the last session', async () => {
    const validated = await runCli(['validate', '--db', db, '--date', DATE, '--config', config]);
    expect(validated.code, validated.stderr).toBe(0);
    const statuses = validated.stdout.trimEnd().split('\n').slice(1).map((row) => row.split(/\s{2,}/)[0]);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 'OK' || status === 'WARNING' || status === 'INFO')).toBe(true);
  });

  it('rebalances Risk4 on 2018-02-07 into a capped, fully invested book of real tickers', async () => {
    const out = join(dir, 'rebalance');
    const result = await runCli(['rebalance', '--db', db, '--date', DATE, '--config', config, '--output-dir', out]);
    expect(result.code, result.stderr).toBe(0);
    const picks = parseCsv(await readFile(join(out, 'picks.csv'), 'utf8'));
    const sectors = new Map(parseCsv(await readFile(SHARED_SECTORS_CSV, 'utf8')).rows.map((r) => [r.ticker!, r.sector!]));
    expect(picks.rows).toHaveLength(75);
    const weights = picks.rows.map((r) => Number(r.weight));
    expect(Math.max(...weights)).toBeLessThanOrEqual(0.03 + 1e-6);
    expect(weights.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.99);
    for (const row of picks.rows) expect(row.sector).toBe(sectors.get(row.ticker!));
    const summary = JSON.parse(await readFile(join(out, 'portfolio_summary.json'), 'utf8'));
    expect(summary).toMatchObject({ date: DATE, data_freshness: { sep_base_latest: DATE, feat_matrix_latest: DATE } });
    expect(Object.values(summary.portfolio.sector_concentration as Record<string, number>).every((w) => w > 0)).toBe(true);
    const trades = parseCsv(await readFile(join(out, 'trades.csv'), 'utf8'));
    expect(trades.rows.every((t) => t.action === 'BUY' && t.reason === 'new_position')).toBe(true);
  });

  it('replays the last quarter through the same pipeline', async () => {
    const out = join(dir, 'replay');
    const result = await runCli(['replay', '--db', db, '--config', config, '--from', '2017-11-01', '--to', DATE, '--output-dir', out]);
    expect(result.code, result.stderr).toBe(0);
    const equity = parseCsv(await readFile(join(out, 'equity.csv'), 'utf8')).rows;
    expect(equity[0]!.date).toBe('2017-11-01');
    expect(equity.at(-1)!.date).toBe(DATE);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.books.map((b: { book: string }) => b.book)).toEqual(['combined']);
    expect(metrics.books[0].total_costs).toBeGreaterThan(0);
  }, 60_000);
});
