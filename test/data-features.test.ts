import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsoDate } from '../src/core/dates.js';
import { DataError } from '../src/core/errors.js';
import { KairosDatabase, type SqlRow } from '../src/data/database.js';
import { buildFeatures } from '../src/data/features.js';
import { generateSyntheticDatabase } from '../src/data/synthetic.js';
import { makeTempDir, makeTinyDatabase, weekdaySessions, type TinyPrice } from './helpers/data-fixtures.js';

/**
 * An independent, loop-based restatement of the documented formulas, to check the SQL against.
 * Deliberately naive: per name, over its own rows.
 */
interface NameRows {
  readonly dates: IsoDate[];
  readonly closes: number[];
  readonly volumes: number[];
}

interface ExpectedFeature {
  vol20: number | null;
  vol60: number | null;
  volBlend: number | null;
  adv20: number | null;
  mom: number | null;
  rev: number | null;
  alpha: number | null;
}

const ANNUAL = Math.sqrt(252);

function sampleSd(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

function perNameFeatures(rows: NameRows): Omit<ExpectedFeature, 'alpha'>[] {
  const { closes, volumes } = rows;
  const logReturns = closes.map((close, k) => (k === 0 ? null : Math.log(close / closes[k - 1]!)));
  const rolledVol = (k: number, length: number, minimum: number): number | null => {
    const window = logReturns.slice(Math.max(0, k - length + 1), k + 1).filter((r): r is number => r !== null);
    return window.length >= minimum ? sampleSd(window) * ANNUAL : null;
  };
  return closes.map((close, k) => {
    const vol20 = rolledVol(k, 20, 15);
    const vol60 = rolledVol(k, 60, 40);
    const dollars = closes.slice(Math.max(0, k - 19), k + 1).map((c, j) => c * volumes[Math.max(0, k - 19) + j]!);
    return {
      vol20,
      vol60,
      volBlend: vol20 !== null && vol60 !== null ? 0.5 * vol20 + 0.5 * vol60 : null,
      adv20: dollars.length >= 15 ? dollars.reduce((a, b) => a + b, 0) / dollars.length : null,
      mom: k >= 252 ? closes[k - 21]! / closes[k - 252]! - 1 : null,
      rev: k >= 5 ? -(close / closes[k - 5]! - 1) : null,
    };
  });
}

function expectedFeatures(byName: ReadonlyMap<string, NameRows>): Map<string, ExpectedFeature> {
  const out = new Map<string, ExpectedFeature>();
  const byDate = new Map<IsoDate, string[]>();
  for (const [ticker, rows] of byName) {
    perNameFeatures(rows).forEach((feature, k) => {
      const date = rows.dates[k]!;
      out.set(`${ticker}|${date}`, { ...feature, alpha: null });
      if (feature.mom !== null && feature.rev !== null && feature.vol60 !== null) byDate.set(date, [...(byDate.get(date) ?? []), ticker]);
    });
  }
  for (const [date, tickers] of byDate) {
    if (tickers.length < 2) continue;
    const features = tickers.map((ticker) => out.get(`${ticker}|${date}`)!);
    const z = (values: number[]): number[] => {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = sampleSd(values);
      return values.map((v) => (v - mean) / sd);
    };
    const zMom = z(features.map((f) => f.mom!));
    const zRev = z(features.map((f) => f.rev!));
    const zLowVol = z(features.map((f) => -f.vol60!));
    features.forEach((feature, i) => (feature.alpha = (zMom[i]! + zRev[i]! + zLowVol[i]!) / 3));
  }
  return out;
}

function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

interface ExpectedRegime {
  vol: string;
  trend: string;
  level: number;
  movingAverage: number;
  vol20: number;
  lowerTercile: number;
  upperTercile: number;
}

function expectedRegime(byName: ReadonlyMap<string, NameRows>): Map<IsoDate, ExpectedRegime> {
  const returnsByDate = new Map<IsoDate, number[]>();
  const allDates = new Set<IsoDate>();
  for (const rows of byName.values()) {
    rows.dates.forEach((date, k) => {
      allDates.add(date);
      if (k > 0) returnsByDate.set(date, [...(returnsByDate.get(date) ?? []), rows.closes[k]! / rows.closes[k - 1]! - 1]);
    });
  }
  const dates = [...allDates].sort();
  const indexReturns = dates.map((date) => {
    const returns = returnsByDate.get(date);
    return returns ? returns.reduce((a, b) => a + b, 0) / returns.length : null;
  });
  let level = 1;
  const levels = indexReturns.map((r) => (level *= 1 + (r ?? 0)));
  const vol20 = dates.map((_, t) => {
    const window = indexReturns.slice(Math.max(0, t - 19), t + 1).filter((r): r is number => r !== null);
    return window.length >= 15 ? sampleSd(window) * ANNUAL : null;
  });
  const labels = new Map<IsoDate, ExpectedRegime>();
  dates.forEach((date, t) => {
    const past = vol20.slice(Math.max(0, t - 252), t).filter((v): v is number => v !== null);
    const current = vol20[t];
    if (current === null || current === undefined || past.length < 126 || t < 199) return;
    const sorted = [...past].sort((a, b) => a - b);
    const [lowerTercile, upperTercile] = [quantile(sorted, 1 / 3), quantile(sorted, 2 / 3)];
    const vol = current < lowerTercile ? 'low_vol' : current > upperTercile ? 'high_vol' : 'normal_vol';
    const movingAverage = levels.slice(t - 199, t + 1).reduce((a, b) => a + b, 0) / 200;
    const level = levels[t]!;
    labels.set(date, { vol, trend: level > movingAverage ? 'bull' : 'bear', level, movingAverage, vol20: current, lowerTercile, upperTercile });
  });
  return labels;
}

function expectClose(actual: unknown, expected: number | null, what: string): void {
  if (expected === null) {
    expect(actual, what).toBeNull();
    return;
  }
  expect(typeof actual, what).toBe('number');
  expect(Math.abs((actual as number) - expected), what).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

/** Deterministic, bumpy closes without any shared PRNG: a few incommensurate sines per name. */
function closeSeries(seed: number, count: number): number[] {
  return Array.from({ length: count }, (_, t) => 50 * Math.exp(0.08 * Math.sin(t / (7 + seed)) + 0.03 * Math.sin(t * (1.3 + seed / 10)) + 0.001 * seed * t));
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await makeTempDir()));
afterAll(async () => cleanup());

describe('buildFeatures formulas', () => {
  const sessions = weekdaySessions('2019-01-01', 300);
  const byName = new Map<string, NameRows>();
  let features: Map<string, SqlRow>;
  let regime: SqlRow[];
  let summary: Awaited<ReturnType<typeof buildFeatures>>;

  beforeAll(async () => {
    // A..C full history; D misses sessions 40-44 (its lags span the gap); E lists at session 100.
    const spans: Record<string, (t: number) => boolean> = {
      A: () => true,
      B: () => true,
      C: () => true,
      D: (t) => t < 40 || t > 44,
      E: (t) => t >= 100,
    };
    const prices: TinyPrice[] = [];
    Object.entries(spans).forEach(([ticker, listed], n) => {
      const closes = closeSeries(n + 1, sessions.length);
      const rows: NameRows = { dates: [], closes: [], volumes: [] };
      sessions.forEach((date, t) => {
        if (!listed(t)) return;
        const volume = 1000 * (n + 1) + ((t * 37) % 101);
        rows.dates.push(date);
        rows.closes.push(closes[t]!);
        rows.volumes.push(volume);
        prices.push({ ticker, date, close: closes[t]!, volume });
      });
      byName.set(ticker, rows);
    });
    const path = await makeTinyDatabase(dir, { fileName: 'formulas.duckdb', prices, features: 'build' });
    const db = await KairosDatabase.open(path);
    try {
      summary = await buildFeatures(db);
      features = new Map((await db.query('SELECT * FROM feat_matrix_v2')).map((row) => [`${row.ticker}|${row.date}`, row]));
      regime = await db.query('SELECT * FROM regime ORDER BY date');
    } finally {
      db.close();
    }
  });

  it('writes one row per price row and reports the range', () => {
    const rows = [...byName.values()].reduce((n, rows) => n + rows.dates.length, 0);
    expect(summary.featureRows).toBe(rows);
    expect(features.size).toBe(rows);
    expect(summary).toMatchObject({ firstDate: sessions[0], lastDate: sessions.at(-1), regimeRows: regime.length });
    expect(summary.alphaRows).toBeGreaterThan(0);
  });

  it('matches the documented per-name and cross-sectional formulas on every row', () => {
    const expected = expectedFeatures(byName);
    let alphas = 0;
    for (const [key, want] of expected) {
      const row = features.get(key)!;
      expectClose(row.vol_20, want.vol20, `${key} vol_20`);
      expectClose(row.vol_60, want.vol60, `${key} vol_60`);
      expectClose(row.vol_blend, want.volBlend, `${key} vol_blend`);
      expectClose(row.adv_20, want.adv20, `${key} adv_20`);
      expectClose(row.mom_12_1, want.mom, `${key} mom_12_1`);
      expectClose(row.rev_5, want.rev, `${key} rev_5`);
      expectClose(row.alpha_composite_v8, want.alpha, `${key} alpha_composite_v8`);
      if (want.alpha !== null) alphas += 1;
    }
    expect(alphas).toBe(summary.alphaRows);
  });

  it('respects the minimum-observation rules at the edges', () => {
    const a = byName.get('A')!.dates;
    expect(features.get(`A|${a[14]}`)?.vol_20).toBeNull(); // 14 returns
    expect(features.get(`A|${a[15]}`)?.vol_20).not.toBeNull(); // 15 returns
    expect(features.get(`A|${a[39]}`)?.vol_60).toBeNull();
    expect(features.get(`A|${a[40]}`)?.vol_60).not.toBeNull();
    expect(features.get(`A|${a[13]}`)?.adv_20).toBeNull(); // 14 rows
    expect(features.get(`A|${a[14]}`)?.adv_20).not.toBeNull();
    expect(features.get(`A|${a[251]}`)?.mom_12_1).toBeNull();
    expect(features.get(`A|${a[252]}`)?.alpha_composite_v8).not.toBeNull();
    // E never has a year of history, so it never gets an alpha.
    expect([...features.values()].filter((row) => row.ticker === 'E' && row.alpha_composite_v8 !== null)).toEqual([]);
  });

  it('labels regimes as documented', () => {
    const expected = expectedRegime(byName);
    expect(regime.map((row) => row.date)).toEqual([...expected.keys()]);
    for (const row of regime) {
      const want = expected.get(row.date as IsoDate)!;
      expect({ date: row.date, vol: row.vol_regime, trend: row.trend_regime }).toEqual({ date: row.date, vol: want.vol, trend: want.trend });
      expectClose(row.index_level, want.level, `${row.date} index_level`);
      expectClose(row.index_ma_200, want.movingAverage, `${row.date} index_ma_200`);
      expectClose(row.index_vol_20, want.vol20, `${row.date} index_vol_20`);
      expectClose(row.index_vol_lower_tercile, want.lowerTercile, `${row.date} lower tercile`);
      expectClose(row.index_vol_upper_tercile, want.upperTercile, `${row.date} upper tercile`);
    }
    // The fixture is meant to exercise every label, not just one.
    expect(new Set(regime.map((row) => `${row.vol_regime}`)).size).toBeGreaterThan(1);
    expect(regime[0]?.date).toBe(sessions[199]);
  });
});

describe('buildFeatures is point in time', () => {
  it('gives the same values at D from a database truncated at D', async () => {
    const sessions = weekdaySessions('2015-01-01', 420);
    const fullPath = join(dir, 'full.duckdb');
    await generateSyntheticDatabase(fullPath, { sessions, tickers: 60, seed: 7 });
    const cutoff = sessions[330]!;
    const truncatedPath = join(dir, 'truncated.duckdb');
    const full = await KairosDatabase.open(fullPath);
    try {
      await full.run(`ATTACH '${truncatedPath}' AS truncated`);
      await full.run(`CREATE TABLE truncated.sep_base AS SELECT * FROM sep_base WHERE date <= CAST($1 AS DATE)`, [cutoff]);
      await full.run('DETACH truncated');
    } finally {
      full.close();
    }
    const truncated = await KairosDatabase.open(truncatedPath);
    try {
      await buildFeatures(truncated);
    } finally {
      truncated.close();
    }

    const read = async (path: string): Promise<{ features: SqlRow[]; regime: SqlRow[] }> => {
      const db = await KairosDatabase.open(path, { readOnly: true });
      try {
        return {
          features: await db.query(`SELECT * FROM feat_matrix_v2 WHERE date <= CAST($1 AS DATE) ORDER BY date, ticker`, [cutoff]),
          regime: await db.query(`SELECT * FROM regime WHERE date <= CAST($1 AS DATE) ORDER BY date`, [cutoff]),
        };
      } finally {
        db.close();
      }
    };
    const [fromFull, fromTruncated] = [await read(fullPath), await read(truncatedPath)];
    expect(fromTruncated.features.length).toBe(fromFull.features.length);
    expect(fromTruncated.features.filter((row) => row.date === cutoff && row.alpha_composite_v8 !== null).length).toBeGreaterThan(40);
    fromFull.features.forEach((row, i) => {
      const other = fromTruncated.features[i]!;
      expect([other.ticker, other.date]).toEqual([row.ticker, row.date]);
      for (const column of ['alpha_composite_v8', 'vol_blend', 'adv_20', 'vol_20', 'vol_60', 'mom_12_1', 'rev_5']) {
        expectClose(other[column], row[column] as number | null, `${row.ticker} ${row.date} ${column}`);
      }
    });
    expect(fromTruncated.regime.map((row) => [row.date, row.vol_regime, row.trend_regime])).toEqual(
      fromFull.regime.map((row) => [row.date, row.vol_regime, row.trend_regime]),
    );
    fromFull.regime.forEach((row, i) => {
      for (const column of ['index_level', 'index_ma_200', 'index_vol_20', 'index_vol_lower_tercile', 'index_vol_upper_tercile']) {
        expectClose(fromTruncated.regime[i]![column], row[column] as number, `${row.date} ${column}`);
      }
    });
    expect(fromFull.regime.length).toBeGreaterThan(100);
  });
});

describe('buildFeatures input checks', () => {
  it('rejects a non-positive close, naming ticker and date', async () => {
    const path = await makeTinyDatabase(dir, {
      fileName: 'bad-close.duckdb',
      prices: [
        { ticker: 'A', date: '2020-01-02', close: 10 },
        { ticker: 'A', date: '2020-01-03', close: 0 },
      ],
    });
    const db = await KairosDatabase.open(path);
    try {
      await expect(buildFeatures(db)).rejects.toThrow(new DataError('sep_base: ticker A on 2020-01-03: close must be a positive number, got 0'));
      expect(await db.tableColumns('regime')).toBeNull();
    } finally {
      db.close();
    }
  });

  it('rejects duplicate (ticker, date) rows and keeps the previous tables', async () => {
    const path = await makeTinyDatabase(dir, {
      fileName: 'duplicate.duckdb',
      prices: [
        { ticker: 'A', date: '2020-01-02', close: 10 },
        { ticker: 'A', date: '2020-01-03', close: 11 },
        { ticker: 'A', date: '2020-01-03', close: 12 },
      ],
      features: [{ ticker: 'A', date: '2020-01-02', alpha: 1 }],
    });
    const db = await KairosDatabase.open(path);
    try {
      await expect(buildFeatures(db)).rejects.toThrow(/sep_base: ticker A on 2020-01-03 appears more than once/);
      expect(await db.query('SELECT ticker, alpha_composite_v8 FROM feat_matrix_v2')).toEqual([{ ticker: 'A', alpha_composite_v8: 1 }]);
    } finally {
      db.close();
    }
  });
});
