import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsoDate } from '../src/core/dates.js';
import { DataError } from '../src/core/errors.js';
import { KairosDatabase } from '../src/data/database.js';
import { historyStartDate, loadPanel } from '../src/data/panel-loader.js';
import type { MarketPanel } from '../src/data/panel.js';
import { generateSyntheticDatabase } from '../src/data/synthetic.js';
import { makeTempDir, makeTinyDatabase, weekdaySessions, type TinyDatabaseSpec, type TinyFeature, type TinyPrice } from './helpers/data-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await makeTempDir()));
afterAll(async () => cleanup());

async function withDatabase<T>(path: string, work: (db: KairosDatabase) => Promise<T>): Promise<T> {
  const db = await KairosDatabase.open(path, { readOnly: true });
  try {
    return await work(db);
  } finally {
    db.close();
  }
}

const [D1, D2, D3] = ['2020-01-02', '2020-01-03', '2020-01-06'] as const;

/** B has no row on D2; A's D3 features are NULL; C only has a price on D3; Z only exists in tickers. */
const tinySpec: TinyDatabaseSpec = {
  tickers: [
    { ticker: 'B', name: 'Bee', sector: 'Energy' },
    { ticker: 'A', name: 'Ay', sector: 'Utilities' },
    { ticker: 'C', name: 'See', sector: null },
    { ticker: 'Z', name: 'Zed', sector: 'Energy' },
  ],
  prices: [
    { ticker: 'A', date: D1, open: 9.5, close: 10, volume: 100 },
    { ticker: 'A', date: D2, open: null, close: 11, volume: 200 },
    { ticker: 'A', date: D3, open: 11, close: 12.1, volume: 300 },
    { ticker: 'B', date: D1, open: 20, close: 20, volume: 1000 },
    { ticker: 'B', date: D3, open: 21, close: 22, volume: 3000 },
    { ticker: 'C', date: D3, open: 5, close: 5, volume: 50 },
  ],
  features: [
    { ticker: 'A', date: D1, alpha: 0.5, volBlend: 0.2, adv20: 1e6, extra: { quality: 1 } },
    { ticker: 'A', date: D2, alpha: -0.5, volBlend: 0.25, adv20: 2e6, extra: { quality: 2 } },
    { ticker: 'A', date: D3, alpha: null, volBlend: null, adv20: null, extra: { quality: null } },
    { ticker: 'B', date: D1, alpha: 1.5, volBlend: 0.3, adv20: 3e6, extra: { quality: 3 } },
    { ticker: 'B', date: D3, alpha: 2.5, volBlend: 0.35, adv20: 4e6, extra: { quality: 4 } },
    // No sep_base row for this one, so it is outside the panel.
    { ticker: 'Y', date: D1, alpha: 9, volBlend: 0.1, adv20: 1e6 },
  ],
  regime: [
    { date: D1, volRegime: 'low_vol', trendRegime: 'bull' },
    { date: D3, volRegime: 'high_vol', trendRegime: null },
  ],
};

describe('loadPanel on a hand-made database', () => {
  let panel: MarketPanel;
  beforeAll(async () => {
    const path = await makeTinyDatabase(dir, { ...tinySpec, fileName: 'tiny-panel.duckdb' });
    panel = await withDatabase(path, (db) => loadPanel(db, { from: '2019-12-01', to: '2020-01-31', featureColumns: ['quality'] }));
  });

  it('lays out tickers, sectors and sessions', () => {
    expect(panel.tickers).toEqual(['A', 'B', 'C']);
    expect(panel.sectors).toEqual(['Utilities', 'Energy', null]);
    expect(panel.dates).toEqual([D1, D2, D3]);
    expect(panel.tickerIndex('C')).toBe(2);
    expect(panel.tickerIndex('Z')).toBe(-1);
    expect(panel.dateIndex(D3)).toBe(2);
    expect(panel.dateIndex('2020-01-04')).toBe(-1);
  });

  it('fills fields row-major by session with NaN for missing', () => {
    const { open, close, volume, alpha, volBlend, adv20 } = panel.fields;
    expect([...close]).toEqual([10, 20, NaN, 11, NaN, NaN, 12.1, 22, 5]);
    expect([...open]).toEqual([9.5, 20, NaN, NaN, NaN, NaN, 11, 21, 5]);
    expect([...volume]).toEqual([100, 1000, NaN, 200, NaN, NaN, 300, 3000, 50]);
    expect([...alpha]).toEqual([0.5, 1.5, NaN, -0.5, NaN, NaN, NaN, 2.5, NaN]);
    expect([...volBlend]).toEqual([0.2, 0.3, NaN, 0.25, NaN, NaN, NaN, 0.35, NaN]);
    expect([...adv20]).toEqual([1e6, 3e6, NaN, 2e6, NaN, NaN, NaN, 4e6, NaN]);
    expect([...panel.extraFeatures.get('quality')!]).toEqual([1, 3, NaN, 2, NaN, NaN, NaN, 4, NaN]);
  });

  it('labels regimes per date, null where there is no complete row', () => {
    expect(panel.regime).toEqual([{ volRegime: 'low_vol', trendRegime: 'bull' }, null, null]);
  });

  it('reads the same panel one session per query as in one query', async () => {
    const bySession = await withDatabase(join(dir, 'tiny-panel.duckdb'), (db) =>
      loadPanel(db, { from: '2019-12-01', to: '2020-01-31', featureColumns: ['quality'], cellsPerQuery: 1 }),
    );
    expect(bySession.dates).toEqual(panel.dates);
    expect(bySession.tickers).toEqual(panel.tickers);
    for (const [field, values] of Object.entries(panel.fields)) expect([...bySession.fields[field as keyof MarketPanel['fields']]], field).toEqual([...values]);
    expect([...bySession.extraFeatures.get('quality')!]).toEqual([...panel.extraFeatures.get('quality')!]);
  });

  it('loads only the requested range', async () => {
    const path = join(dir, 'tiny-panel.duckdb');
    const narrow = await withDatabase(path, (db) => loadPanel(db, { from: D2, to: D2 }));
    expect(narrow.dates).toEqual([D2]);
    expect(narrow.tickers).toEqual(['A']);
    expect([...narrow.fields.close]).toEqual([11]);
    expect(narrow.extraFeatures.size).toBe(0);
  });
});

describe('loadPanel without a regime table', () => {
  it('gives null labels', async () => {
    const { regime: _omitted, ...spec } = tinySpec;
    const path = await makeTinyDatabase(dir, { ...spec, fileName: 'no-regime.duckdb' });
    const panel = await withDatabase(path, (db) => loadPanel(db, { from: D1, to: D3 }));
    expect(panel.regime).toEqual([null, null, null]);
  });
});

describe('loadPanel refuses bad stored values', () => {
  const base = { ticker: 'A', date: D1 } as const;
  async function failure(prices: TinyPrice[], features: TinyFeature[], featureColumns?: string[], cellsPerQuery?: number): Promise<string> {
    const path = await makeTinyDatabase(dir, { fileName: `bad-${Math.random().toString(36).slice(2)}.duckdb`, prices, features });
    const error = await withDatabase(path, (db) => loadPanel(db, { from: D1, to: D3, featureColumns, cellsPerQuery })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DataError);
    return (error as Error).message;
  }
  const price: TinyPrice = { ...base, close: 10 };

  it('duplicate sep_base rows', async () => {
    expect(await failure([price, { ...price, close: 11 }], [])).toBe('sep_base: ticker A on 2020-01-02 appears more than once; (ticker, date) must be unique');
  });

  it('duplicate feat_matrix_v2 rows', async () => {
    expect(await failure([price], [{ ...base, alpha: 1 }, { ...base, alpha: 2 }])).toBe(
      'feat_matrix_v2: ticker A on 2020-01-02 appears more than once; (ticker, date) must be unique',
    );
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    [0, '0'],
    [-0.2, '-0.2'],
  ])('a stored vol_blend of %s', async (value, shown) => {
    expect(await failure([price], [{ ...base, volBlend: value }])).toBe(
      `feat_matrix_v2: ticker A on 2020-01-02: vol_blend must be a positive finite number, got ${shown}`,
    );
  });

  it.each([
    [0, '0'],
    [-1, '-1'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('a stored close of %s', async (value, shown) => {
    expect(await failure([{ ...price, date: D2 }, { ...price, close: value }], [])).toBe(
      `sep_base: ticker A on 2020-01-02: close must be a positive finite number, got ${shown}`,
    );
  });

  it('reports the earliest bad cell', async () => {
    const prices: TinyPrice[] = [
      { ticker: 'A', date: D2, close: -1 },
      { ticker: 'B', date: D1, close: 10 },
      { ticker: 'B', date: D2, close: 0 },
      { ticker: 'A', date: D1, close: 10 },
    ];
    expect(await failure(prices, [])).toMatch(/ticker A on 2020-01-03/);
  });

  it('reports the earliest bad cell and duplicate when each session is its own query', async () => {
    const prices: TinyPrice[] = [
      { ticker: 'B', date: D3, close: -1 },
      { ticker: 'A', date: D2, close: 0 },
      { ticker: 'A', date: D1, close: 10 },
    ];
    expect(await failure(prices, [], undefined, 1)).toMatch(/^sep_base: ticker A on 2020-01-03: close must be a positive finite number, got 0$/);
    const twice: TinyPrice[] = [price, { ...price, date: D3 }, { ...price, date: D3, close: 12 }, { ...price, date: D2 }, { ...price, date: D2, close: 11 }];
    expect(await failure(twice, [], undefined, 1)).toBe('sep_base: ticker A on 2020-01-03 appears more than once; (ticker, date) must be unique');
  });

  it('a feature column the database does not have', async () => {
    expect(await failure([price], [], ['no_such_column'])).toContain('feat_matrix_v2.no_such_column');
  });

  it('a range without sessions', async () => {
    const path = await makeTinyDatabase(dir, { fileName: 'empty-range.duckdb', prices: [price] });
    await expect(withDatabase(path, (db) => loadPanel(db, { from: D2, to: D3 }))).rejects.toThrow(
      'sep_base has no sessions between 2020-01-03 and 2020-01-06',
    );
  });
});

describe('loadPanel on a synthetic database', () => {
  const sessions = weekdaySessions('2017-01-02', 320);
  let path: string;
  beforeAll(async () => {
    path = join(dir, 'synthetic.duckdb');
    await generateSyntheticDatabase(path, { sessions, tickers: 150, seed: 3 });
  });

  it('matches SQL cell by cell', async () => {
    await withDatabase(path, async (db) => {
      const from = sessions[250]!;
      const to = sessions[319]!;
      const panel = await loadPanel(db, { from, to, featureColumns: ['vol_60', 'mom_12_1'] });
      expect(panel.dates).toEqual(sessions.slice(250, 320));
      expect(panel.tickers).toEqual([...panel.tickers].sort());
      const rows = await db.query(
        `SELECT p.ticker, p.date, p.open, p.close, p.volume, f.alpha_composite_v8, f.vol_blend, f.adv_20, f.vol_60, f.mom_12_1
         FROM sep_base p LEFT JOIN feat_matrix_v2 f USING (ticker, date)
         WHERE p.date BETWEEN CAST($1 AS DATE) AND CAST($2 AS DATE)`,
        [from, to],
      );
      const width = panel.tickers.length;
      const asNumber = (value: unknown): number => (value === null ? Number.NaN : (value as number));
      const filled = new Set<number>();
      for (const row of rows) {
        const cell = panel.dateIndex(row.date as IsoDate) * width + panel.tickerIndex(row.ticker as string);
        filled.add(cell);
        expect(panel.fields.open[cell]).toBe(asNumber(row.open));
        expect(panel.fields.close[cell]).toBe(asNumber(row.close));
        expect(panel.fields.volume[cell]).toBe(asNumber(row.volume));
        expect(panel.fields.alpha[cell]).toBe(asNumber(row.alpha_composite_v8));
        expect(panel.fields.volBlend[cell]).toBe(asNumber(row.vol_blend));
        expect(panel.fields.adv20[cell]).toBe(asNumber(row.adv_20));
        expect(panel.extraFeatures.get('vol_60')![cell]).toBe(asNumber(row.vol_60));
        expect(panel.extraFeatures.get('mom_12_1')![cell]).toBe(asNumber(row.mom_12_1));
      }
      // Cells without a row (late listings, delistings) are NaN throughout.
      const empty = [...panel.fields.close.keys()].filter((cell) => !filled.has(cell));
      expect(empty.length).toBeGreaterThan(0);
      for (const cell of empty) expect(panel.fields.close[cell]).toBeNaN();
      expect(panel.regime.filter((label) => label !== null).length).toBe(70);
    });
  });

  it('finds the start of n sessions of history', async () => {
    await withDatabase(path, async (db) => {
      expect(await historyStartDate(db, sessions[100]!, 60)).toBe(sessions[41]);
      expect(await historyStartDate(db, sessions[10]!, 60)).toBe(sessions[0]);
      expect(await historyStartDate(db, '2016-01-01', 5)).toBeNull();
      // A non-session `to` counts back from the last session before it.
      expect(await historyStartDate(db, '2017-01-08', 2)).toBe('2017-01-05');
    });
  });
});
