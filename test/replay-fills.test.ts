import { describe, expect, it } from 'vitest';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { DataError } from '../src/core/errors.js';
import { buildPanel } from '../src/data/panel-builder.js';
import { orderCosts } from '../src/replay/costs.js';
import { fillConfigSchema, fillPriceReference, ordersFromTrades, type FillConfig } from '../src/replay/fills.js';
import { BookLedger } from '../src/replay/ledger.js';
import type { TradeRow } from '../src/trading/trades.js';

const calendar = new XnysCalendar();
const config = (overrides: Partial<FillConfig> = {}): FillConfig => fillConfigSchema.parse(overrides);
/** Costs all off, so each test turns on only the term it checks. */
const free = (overrides: Partial<FillConfig> = {}): FillConfig =>
  config({ commission_per_share: 0, half_spread_bps: 0, ...overrides });

describe('fillConfigSchema', () => {
  it('defaults to next-open fills, half a cent a share, 5 bps half spread and no impact', () => {
    expect(config()).toEqual({
      timing: 'next_open',
      commission_per_share: 0.005,
      commission_bps: 0,
      min_commission: 0,
      half_spread_bps: 5,
      impact_bps: 0,
      initial_capital: 1_000_000,
    });
  });

  it('rejects unknown keys and negative costs', () => {
    expect(fillConfigSchema.safeParse({ half_spread: 5 }).success).toBe(false);
    expect(fillConfigSchema.safeParse({ commission_bps: -1 }).success).toBe(false);
    expect(fillConfigSchema.safeParse({ timing: 'next_vwap' }).success).toBe(false);
  });
});

describe('orderCosts', () => {
  it('charges commission per share when that is above the minimum', () => {
    // 300 × $0.01 = $3 > $1.
    expect(orderCosts(300, 20, 1e9, free({ commission_per_share: 0.01, min_commission: 1 })).commission).toBe(3);
  });

  it('charges commission in bps of notional, added to the per-share part', () => {
    // 1,000 × $50 = $50,000; 2 bps of it = $10.
    expect(orderCosts(1000, 50, 1e9, free({ commission_bps: 2 })).commission).toBe(10);
    // $0.005 × 1,000 = $5, plus 1 bp of $50,000 = $5.
    expect(orderCosts(-1000, 50, 1e9, free({ commission_per_share: 0.005, commission_bps: 1 })).commission).toBe(10);
  });

  it('charges the minimum commission when the order is small', () => {
    // 10 × $0.005 = $0.05 < $1.
    expect(orderCosts(10, 50, 1e9, free({ commission_per_share: 0.005, min_commission: 1 })).commission).toBe(1);
  });

  it('charges half the spread on notional and reports the fill price a half spread away', () => {
    const buy = orderCosts(1000, 50, 1e9, free({ half_spread_bps: 5 }));
    // 5 bps of $50,000 = $25; the buyer pays 50 · 1.0005, the seller gets 50 · 0.9995.
    expect(buy.spread_cost).toBe(25);
    expect(buy.fill_price).toBeCloseTo(50.025, 12);
    const sell = orderCosts(-1000, 50, 1e9, free({ half_spread_bps: 5 }));
    expect(sell.spread_cost).toBe(25);
    expect(sell.fill_price).toBeCloseTo(49.975, 12);
    // Paying the fill price is the same as paying the reference plus the spread cost.
    expect(1000 * buy.fill_price).toBeCloseTo(50_000 + 25, 9);
    expect(1000 * sell.fill_price).toBeCloseTo(50_000 - 25, 9);
  });

  it('charges impact growing with the square root of participation in adv20', () => {
    // $50,000 of $200,000 a day = 25 % participation; sqrt = 0.5; 20 bps · 0.5 = 10 bps = $50.
    const quarter = orderCosts(1000, 50, 200_000, free({ impact_bps: 20 }));
    expect(quarter.impact_cost).toBe(50);
    expect(quarter.impactEstimated).toBe(true);
    // Four times the order: participation 100 %, sqrt = 1, 20 bps of $200,000 = $400 (8× the cost).
    expect(orderCosts(4000, 50, 200_000, free({ impact_bps: 20 })).impact_cost).toBe(400);
  });

  it('charges no impact and flags it when adv20 is missing or zero; not flagged when impact is off', () => {
    for (const adv of [Number.NaN, 0]) {
      const costs = orderCosts(1000, 50, adv, free({ impact_bps: 20 }));
      expect(costs.impact_cost).toBe(0);
      expect(costs.impactEstimated).toBe(false);
    }
    expect(orderCosts(1000, 50, Number.NaN, free()).impactEstimated).toBe(true);
  });

  it('adds every term into the cash drop exactly', () => {
    const allIn = free({ commission_per_share: 0.005, commission_bps: 1, half_spread_bps: 5, impact_bps: 20 });
    const ledger = new BookLedger('combined', ['A'], 1_000_000);
    const { fills } = ledger.fill([{ tickerIndex: 0, shares: 1000 }], Float64Array.of(50), Float64Array.of(200_000), '2024-03-04', allIn);
    const [fill] = fills;
    expect(fill).toMatchObject({ notional: 50_000, commission: 10, spread_cost: 25, impact_cost: 50, total_cost: 85 });
    // $1,000,000 − $50,000 − $85.
    expect(ledger.cash).toBe(949_915);
    expect(1_000_000 - ledger.cash).toBe(fill!.notional + fill!.commission + fill!.spread_cost + fill!.impact_cost);

    // Selling it back: the notional comes in, the same $85 of costs go out again.
    ledger.fill([{ tickerIndex: 0, shares: -1000 }], Float64Array.of(50), Float64Array.of(200_000), '2024-03-05', allIn);
    expect(ledger.cash).toBe(1_000_000 - 2 * 85);
  });
});

describe('ordersFromTrades', () => {
  const row = (ticker: string, action: 'BUY' | 'SELL', shares: number): TradeRow => ({
    ticker,
    action,
    shares,
    estimated_value: 0,
    price: 10,
    reason: 'new_position',
    current_shares: 0,
    target_shares: 0,
    target_weight: 0,
  });

  it('signs shares by action and puts orders in ticker order', () => {
    const orders = ordersFromTrades([row('C', 'SELL', 7), row('A', 'BUY', 30)], ['A', 'B', 'C']);
    expect(orders).toEqual([
      { tickerIndex: 0, shares: 30 },
      { tickerIndex: 2, shares: -7 },
    ]);
  });

  it('refuses a trade for a ticker outside the replay or with broken shares', () => {
    expect(() => ordersFromTrades([row('Z', 'BUY', 1)], ['A'])).toThrow(DataError);
    expect(() => ordersFromTrades([row('A', 'BUY', 1.5)], ['A'])).toThrow(/whole number/);
  });
});

describe('fillPriceReference', () => {
  // X trades normally; Y has no open on the 5th (close only); Z has nothing on the 5th.
  const dates = calendar.sessions('2024-07-01', '2024-07-09');
  const panel = buildPanel({
    tickers: ['Y', 'X', 'Z'],
    dates,
    fields: {
      //      Y          X          Z
      open: [
        [50, 10, 100],
        [51, 11, 101],
        [52, 12, 102], // 07-03, early close
        [null, 13, null], // 07-05
        [54, 14, 104],
        [55, 15, 105],
      ],
      close: [
        [50.5, 10.5, 100.5],
        [51.5, 11.5, 101.5],
        [52.5, 12.5, 102.5],
        [53.5, 13.5, null],
        [54.5, 14.5, 104.5],
        [55.5, 15.5, 105.5],
      ],
    },
  });
  const decision = panel.dateIndex('2024-07-03');

  it('fills a decision on the 2024-07-03 early close at the 2024-07-05 open (the 4th is a holiday)', () => {
    expect(dates).toEqual(['2024-07-01', '2024-07-02', '2024-07-03', '2024-07-05', '2024-07-08', '2024-07-09']);
    expect(calendar.earlyClose('2024-07-03')).not.toBeNull();
    const reference = fillPriceReference('next_open', panel, decision)!;
    expect(panel.dates[reference.sessionIndex]).toBe('2024-07-05');
    // Tickers are sorted X, Y, Z: X at its open; Y has no open so falls back to its close, flagged;
    // Z has neither, so it cannot trade.
    expect([...reference.prices]).toEqual([13, 53.5, NaN]);
    expect(reference.openFallback).toEqual(['Y']);
  });

  it('fills next_close at the next session close and same_close at the decision close', () => {
    const nextClose = fillPriceReference('next_close', panel, decision)!;
    expect(panel.dates[nextClose.sessionIndex]).toBe('2024-07-05');
    expect([...nextClose.prices]).toEqual([13.5, 53.5, NaN]);
    expect(nextClose.openFallback).toEqual([]);
    const sameClose = fillPriceReference('same_close', panel, decision)!;
    expect(panel.dates[sameClose.sessionIndex]).toBe('2024-07-03');
    expect([...sameClose.prices]).toEqual([12.5, 52.5, 102.5]);
  });

  it('leaves the panel untouched when it substitutes a close for a missing open', () => {
    fillPriceReference('next_open', panel, decision);
    expect(panel.fields.open[panel.dateIndex('2024-07-05') * 3 + panel.tickerIndex('Y')]).toBeNaN();
  });

  it('returns null when the last session has no next session, and refuses indices outside the panel', () => {
    const last = dates.length - 1;
    expect(fillPriceReference('next_open', panel, last)).toBeNull();
    expect(fillPriceReference('next_close', panel, last)).toBeNull();
    expect(fillPriceReference('same_close', panel, last)?.sessionIndex).toBe(last);
    expect(() => fillPriceReference('next_open', panel, dates.length)).toThrow(RangeError);
    expect(() => fillPriceReference('next_open', panel, -1)).toThrow(RangeError);
  });

  it('fills a decision on 2024-12-24 (early close) at the 2024-12-26 open, after Christmas', () => {
    const december = calendar.sessions('2024-12-23', '2024-12-27');
    expect(december).toEqual(['2024-12-23', '2024-12-24', '2024-12-26', '2024-12-27']);
    expect(calendar.earlyClose('2024-12-24')).not.toBeNull();
    const christmas = buildPanel({
      tickers: ['A'],
      dates: december,
      fields: { open: [[100], [101], [102], [103]], close: [[100.5], [101.5], [102.5], [103.5]] },
    });
    const reference = fillPriceReference('next_open', christmas, christmas.dateIndex('2024-12-24'))!;
    expect(christmas.dates[reference.sessionIndex]).toBe('2024-12-26');
    expect([...reference.prices]).toEqual([102]);

    // Through the ledger: 10 shares bought at the 26th's open, costs off.
    const ledger = new BookLedger('combined', christmas.tickers, 10_000);
    const { fills } = ledger.fill([{ tickerIndex: 0, shares: 10 }], reference.prices, Float64Array.of(1e6), christmas.dates[reference.sessionIndex]!, free());
    expect(fills).toMatchObject([{ date: '2024-12-26', side: 'BUY', shares: 10, reference_price: 102, total_cost: 0 }]);
    expect(ledger.cash).toBe(10_000 - 1020);
  });
});
