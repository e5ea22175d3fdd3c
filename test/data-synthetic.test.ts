import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KairosDatabase, type SqlRow } from '../src/data/database.js';
import { GICS_SECTORS, generateSyntheticDatabase } from '../src/data/synthetic.js';
import { makeTempDir, weekdaySessions } from './helpers/data-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await makeTempDir()));
afterAll(async () => cleanup());

async function readAll(path: string): Promise<Record<string, SqlRow[]>> {
  const db = await KairosDatabase.open(path, { readOnly: true });
  try {
    return {
      tickers: await db.query('SELECT * FROM tickers ORDER BY ticker'),
      sep_base: await db.query('SELECT * FROM sep_base ORDER BY ticker, date'),
      feat_matrix_v2: await db.query('SELECT * FROM feat_matrix_v2 ORDER BY ticker, date'),
      regime: await db.query('SELECT * FROM regime ORDER BY date'),
    };
  } finally {
    db.close();
  }
}

describe('generateSyntheticDatabase', () => {
  const sessions = weekdaySessions('2016-01-04', 300);
  const options = { sessions, tickers: 200, seed: 11 };
  let first: string;

  beforeAll(async () => {
    first = join(dir, 'first.duckdb');
    await generateSyntheticDatabase(first, options);
  });

  it('is deterministic: the same options give identical tables', async () => {
    const second = join(dir, 'second.duckdb');
    await generateSyntheticDatabase(second, options);
    const [a, b] = [await readAll(first), await readAll(second)];
    expect(a.sep_base!.length).toBeGreaterThan(50_000);
    expect(b).toEqual(a);
  });

  it('gives different data for a different seed', async () => {
    const other = join(dir, 'other-seed.duckdb');
    await generateSyntheticDatabase(other, { ...options, seed: 12 });
    const [a, b] = [await readAll(first), await readAll(other)];
    expect(b.sep_base!.slice(0, 10)).not.toEqual(a.sep_base!.slice(0, 10));
  });

  it('has the documented shape', async () => {
    const db = await KairosDatabase.open(first, { readOnly: true });
    try {
      const tickers = await db.query('SELECT ticker, sector FROM tickers ORDER BY ticker');
      expect(tickers).toHaveLength(200);
      expect(tickers[0]?.ticker).toBe('T0001');
      expect(tickers.at(-1)?.ticker).toBe('T0200');
      expect(new Set(tickers.map((row) => row.sector))).toEqual(new Set(GICS_SECTORS));

      const spans = await db.query(`SELECT ticker, min(date) AS first, max(date) AS last, count(*) AS n FROM sep_base GROUP BY ticker`);
      const lateListings = spans.filter((row) => row.first !== sessions[0]);
      const delistings = spans.filter((row) => row.last !== sessions.at(-1));
      expect(lateListings.length).toBeGreaterThan(0);
      expect(delistings.length).toBeGreaterThan(0);
      expect(lateListings.length + delistings.length).toBeLessThan(40);
      // A listed name trades every session of its life.
      for (const row of spans) expect(row.n).toBe(sessions.indexOf(row.last as string) - sessions.indexOf(row.first as string) + 1);

      const sanity = await db.queryOne(
        `SELECT count(*) FILTER (WHERE NOT (low <= least(open, close) AND high >= greatest(open, close) AND low > 0)) AS bad_ohlc,
                count(*) FILTER (WHERE volume < 1 OR volume <> round(volume)) AS bad_volume,
                count(DISTINCT date) AS dates
         FROM sep_base`,
      );
      expect(sanity).toEqual({ bad_ohlc: 0, bad_volume: 0, dates: 300 });

      // Dollar ADV spans small caps to mega caps, so a $2M ADV filter removes some names but not most.
      const adv = await db.queryOne(
        `SELECT count(*) FILTER (WHERE adv_20 < 2e6) AS below_2m, count(*) FILTER (WHERE adv_20 > 2e8) AS above_200m, count(*) AS n
         FROM feat_matrix_v2 WHERE date = CAST($1 AS DATE)`,
        [sessions.at(-1)!],
      );
      expect(Number(adv?.below_2m)).toBeGreaterThan(0);
      expect(Number(adv?.above_200m)).toBeGreaterThan(0);
      expect(Number(adv?.below_2m)).toBeLessThan(Number(adv?.n) / 5);

      const vol = await db.queryOne(`SELECT median(vol_blend) AS median FROM feat_matrix_v2 WHERE date = CAST($1 AS DATE)`, [sessions.at(-1)!]);
      expect(Number(vol?.median)).toBeGreaterThan(0.12);
      expect(Number(vol?.median)).toBeLessThan(0.45);
      expect(Number((await db.queryOne('SELECT count(*) AS n FROM regime'))?.n)).toBeGreaterThan(50);
    } finally {
      db.close();
    }
  });

  it('builds 1,500 names × 756 sessions', async () => {
    const path = join(dir, 'demo.duckdb');
    await generateSyntheticDatabase(path, { sessions: weekdaySessions('2020-01-01', 756), tickers: 1500, seed: 1 });
    const db = await KairosDatabase.open(path, { readOnly: true });
    try {
      const totals = await db.queryOne(`SELECT count(DISTINCT ticker) AS tickers, count(DISTINCT date) AS dates FROM sep_base`);
      expect(totals).toEqual({ tickers: 1500, dates: 756 });
      expect(Number((await db.queryOne('SELECT count(alpha_composite_v8) AS n FROM feat_matrix_v2'))?.n)).toBeGreaterThan(1500 * 400);
    } finally {
      db.close();
    }
  });

  it('refuses bad options before writing anything', async () => {
    const path = join(dir, 'refused.duckdb');
    await expect(generateSyntheticDatabase(path, { sessions: ['2020-01-03', '2020-01-02'], tickers: 5, seed: 1 })).rejects.toThrow(/ascending/);
    await expect(generateSyntheticDatabase(path, { sessions, tickers: 0, seed: 1 })).rejects.toThrow(/tickers/);
    expect(existsSync(path)).toBe(false);
    expect((await readdir(dir)).filter((name) => name.includes('building'))).toEqual([]);
  });
});
