import { describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { createMarketPanel } from '../src/data/market-panel.js';
import { PANEL_FIELDS, type MarketPanel, type PanelField } from '../src/data/panel.js';
import { pointInTime } from '../src/data/point-in-time.js';

const dates = ['2020-01-02', '2020-01-03', '2020-01-06', '2020-01-07'];
const tickers = ['A', 'B', 'C'];

/** Field f at session s, ticker t holds 100·(field number) + 10·s + t, so every cell is identifiable. */
function panel(): MarketPanel {
  const fields = Object.fromEntries(
    PANEL_FIELDS.map((field, f) => [field, Float64Array.from({ length: dates.length * tickers.length }, (_, cell) => 100 * (f + 1) + 10 * Math.floor(cell / 3) + (cell % 3))]),
  ) as Record<PanelField, Float64Array>;
  // C is missing on the second session.
  fields.close[1 * 3 + 2] = Number.NaN;
  return createMarketPanel({
    tickers,
    sectors: ['Energy', null, 'Utilities'],
    dates,
    fields,
    extraFeatures: new Map([['quality', Float64Array.from({ length: 12 }, (_, cell) => -cell)]]),
    regime: [null, { volRegime: 'low_vol', trendRegime: 'bull' }, null, { volRegime: 'high_vol', trendRegime: 'bear' }],
  });
}

describe('pointInTime', () => {
  const market = panel();
  const atThird = pointInTime(market, '2020-01-06');

  it('sees the cross-section at D and lagged ones, as views into the panel', () => {
    expect(atThird.date).toBe('2020-01-06');
    expect(atThird.history).toBe(3);
    expect(atThird.tickers).toBe(market.tickers);
    expect(atThird.sectors).toEqual(['Energy', null, 'Utilities']);
    expect([...atThird.field('close')]).toEqual([220, 221, 222]);
    expect([...atThird.field('close', 2)]).toEqual([200, 201, 202]);
    expect([...atThird.field('alpha', 1)]).toEqual([410, 411, 412]);
    expect([...atThird.feature('quality', 1)]).toEqual([-3, -4, -5]);
    expect(atThird.field('open').buffer).toBe(market.fields.open.buffer);
  });

  it('returns windows ending at D, oldest row first', () => {
    expect([...atThird.window('volume', 2)]).toEqual([310, 311, 312, 320, 321, 322]);
    expect(atThird.window('volume', 3)).toHaveLength(9);
    expect(atThird.window('adv20', 1).byteOffset).toBe(6 * Float64Array.BYTES_PER_ELEMENT);
  });

  it('computes simple returns once and shares them', () => {
    const returns = atThird.returns(2);
    expect(returns[0]).toBeCloseTo(210 / 200 - 1, 15);
    expect(returns[2]).toBeNaN(); // C's close is missing on the second session
    expect(returns[3]).toBeCloseTo(220 / 210 - 1, 15);
    expect(returns[5]).toBeNaN();
    expect(pointInTime(market, '2020-01-07').returns(3).buffer).toBe(returns.buffer);
  });

  it('gives the regime at D', () => {
    expect(atThird.regime()).toBeNull();
    expect(pointInTime(market, '2020-01-07').regime()).toEqual({ volRegime: 'high_vol', trendRegime: 'bear' });
  });

  it('never reaches past D', () => {
    expect(() => atThird.field('close', -1)).toThrow(RangeError);
    expect(() => atThird.field('close', 0.5)).toThrow(RangeError);
    expect(() => atThird.field('close', 3)).toThrow(DataError);
    expect(() => atThird.window('close', 4)).toThrow(/needs 4 sessions of history; 3 loaded/);
    expect(() => atThird.window('close', 0)).toThrow(RangeError);
    expect(() => atThird.returns(3)).toThrow(DataError);
    expect(() => atThird.feature('quality', 3)).toThrow(DataError);
    expect(() => atThird.feature('missing')).toThrow(/not loaded/);
    expect(() => atThird.field('nonsense' as PanelField)).toThrow(RangeError);
  });

  it('refuses a date the panel does not cover', () => {
    expect(() => pointInTime(market, '2020-01-04')).toThrow(new DataError('no market data for 2020-01-04 (the loaded panel covers 2020-01-02..2020-01-07)'));
  });
});

describe('createMarketPanel', () => {
  it('checks the layout', () => {
    const fields = Object.fromEntries(PANEL_FIELDS.map((field) => [field, new Float64Array(2)])) as Record<PanelField, Float64Array>;
    expect(() => createMarketPanel({ tickers: ['B', 'A'], sectors: [null, null], dates: ['2020-01-02'], fields })).toThrow(/sorted/);
    expect(() => createMarketPanel({ tickers: ['A', 'B'], sectors: [null], dates: ['2020-01-02'], fields })).toThrow(/sectors/);
    expect(() => createMarketPanel({ tickers: ['A'], sectors: [null], dates: ['2020-01-02'], fields })).toThrow(/cells/);
    expect(createMarketPanel({ tickers: ['A', 'B'], sectors: [null, null], dates: ['2020-01-02'], fields }).regime).toEqual([null]);
  });
});
