import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { StateError } from '../src/core/errors.js';
import { buildPanel } from '../src/data/panel-builder.js';
import type { MarketPanel } from '../src/data/panel.js';
import { fillConfigSchema, fillPriceReference, type Fill, type FillConfig, type FillTiming, type Order } from '../src/replay/fills.js';
import { BookLedger, Delistings, lastListedIndex, type LedgerSnapshot } from '../src/replay/ledger.js';

const row = (panel: MarketPanel, field: 'open' | 'close' | 'adv20', session: number): Float64Array => {
  const n = panel.tickers.length;
  return panel.fields[field].subarray(session * n, (session + 1) * n);
};

describe('a two-name, ten-session replay by hand', () => {
  // A rises a dollar a day, B falls a dollar a day; each opens half a dollar off the prior close.
  const dates = new XnysCalendar().sessions('2024-03-04', '2024-03-15');
  const aClose = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const bClose = [20, 19, 18, 17, 16, 15, 14, 13, 12, 11];
  const panel = buildPanel({
    tickers: ['A', 'B'],
    dates,
    fields: {
      open: aClose.map((a, s) => [a - 0.5, bClose[s]! + 0.5]),
      close: aClose.map((a, s) => [a, bClose[s]!]),
      adv20: aClose.map(() => [1e6, 1e6]),
    },
  });
  const costs = fillConfigSchema.parse({ commission_per_share: 0.01, min_commission: 1, half_spread_bps: 10, initial_capital: 10_000 });

  // Decided after the close of `decision`, filled per `timing`.
  const decisions: { decision: number; timing: FillTiming; order: Order }[] = [
    { decision: 0, timing: 'next_open', order: { tickerIndex: 0, shares: 200 } }, // buy A at s1 open 10.5
    { decision: 2, timing: 'next_close', order: { tickerIndex: 1, shares: -50 } }, // short B at s3 close 17
    { decision: 4, timing: 'same_close', order: { tickerIndex: 0, shares: -80 } }, // sell A at s4 close 14
    { decision: 6, timing: 'next_open', order: { tickerIndex: 1, shares: 50 } }, // cover B at s7 open 13.5
    { decision: 8, timing: 'next_open', order: { tickerIndex: 0, shares: -120 } }, // exit A at s9 open 18.5
  ];

  /*
   * Costs: commission max($1, $0.01/share), spread 10 bps of notional.
   * s1 buy 200 A @ 10.5:  notional 2100, spread 2.10, commission 2.00 (per share) → cash 10000 − 2100 − 4.10 = 7895.90
   * s3 short 50 B @ 17:   notional  850, spread 0.85, commission 1.00 (minimum)  → cash 7895.90 + 850 − 1.85 = 8744.05
   * s4 sell 80 A @ 14:    notional 1120, spread 1.12, commission 1.00 (minimum)  → cash 8744.05 + 1120 − 2.12 = 9861.93
   * s7 cover 50 B @ 13.5: notional  675, spread 0.675, commission 1.00          → cash 9861.93 − 675 − 1.675 = 9185.255
   * s9 sell 120 A @ 18.5: notional 2220, spread 2.22, commission 1.20          → cash 9185.255 + 2220 − 3.42 = 11401.835
   * Check: trading P&L A −2100 + 1120 + 2220 = 1240, B 850 − 675 = 175; costs 13.165; 1415 − 13.165 = 1401.835.
   */
  const expected = [
    { cash: 10_000, a: 0, b: 0, equity: 10_000 },
    { cash: 7895.9, a: 200, b: 0, equity: 7895.9 + 200 * 11 }, // 10095.90
    { cash: 7895.9, a: 200, b: 0, equity: 7895.9 + 200 * 12 }, // 10295.90
    { cash: 8744.05, a: 200, b: -50, equity: 8744.05 + 200 * 13 - 50 * 17 }, // 10494.05
    { cash: 9861.93, a: 120, b: -50, equity: 9861.93 + 120 * 14 - 50 * 16 }, // 10741.93
    { cash: 9861.93, a: 120, b: -50, equity: 9861.93 + 120 * 15 - 50 * 15 }, // 10911.93
    { cash: 9861.93, a: 120, b: -50, equity: 9861.93 + 120 * 16 - 50 * 14 }, // 11081.93
    { cash: 9185.255, a: 120, b: 0, equity: 9185.255 + 120 * 17 }, // 11225.255
    { cash: 9185.255, a: 120, b: 0, equity: 9185.255 + 120 * 18 }, // 11345.255
    { cash: 11_401.835, a: 0, b: 0, equity: 11_401.835 },
  ];

  it('tracks cash, shares and equity exactly every session with next-open, next-close and same-close fills', () => {
    const ledger = new BookLedger('combined', panel.tickers, costs.initial_capital);
    const allFills: Fill[] = [];
    const marks = dates.map((date, s) => {
      // Fill everything whose reference session is today, then mark to today's close.
      for (const { decision, timing, order } of decisions) {
        const reference = fillPriceReference(timing, panel, decision)!;
        if (reference.sessionIndex !== s) continue;
        const result = ledger.fill([order], reference.prices, row(panel, 'adv20', decision), date, { ...costs, timing });
        expect(result.skipped).toEqual([]);
        allFills.push(...result.fills);
      }
      const mark = ledger.mark(row(panel, 'close', s), date);
      return { cash: ledger.cash, a: ledger.shares[0], b: ledger.shares[1], equity: mark.equity, mark };
    });

    marks.forEach((actual, s) => {
      const want = expected[s]!;
      expect(actual.cash, `cash on session ${s}`).toBeCloseTo(want.cash, 9);
      expect([actual.a, actual.b], `shares on session ${s}`).toEqual([want.a, want.b]);
      expect(actual.equity, `equity on session ${s}`).toBeCloseTo(want.equity, 9);
      expect(actual.mark.carried).toEqual([]);
    });
    // Gross and net on s3: |2600| + |−850| and 2600 − 850, over equity 10494.05.
    expect(marks[3]!.mark.gross).toBeCloseTo(3450 / 10_494.05, 12);
    expect(marks[3]!.mark.net).toBeCloseTo(1750 / 10_494.05, 12);
    expect(marks[9]!.mark).toMatchObject({ gross: 0, net: 0 });

    expect(allFills.map((f) => [f.date, f.ticker, f.side, f.shares, f.reference_price])).toEqual([
      ['2024-03-05', 'A', 'BUY', 200, 10.5],
      ['2024-03-07', 'B', 'SELL', 50, 17],
      ['2024-03-08', 'A', 'SELL', 80, 14],
      ['2024-03-13', 'B', 'BUY', 50, 13.5],
      ['2024-03-15', 'A', 'SELL', 120, 18.5],
    ]);
    expect(allFills.map((f) => f.commission)).toEqual([2, 1, 1, 1, 1.2]);
    const spreads = allFills.map((f) => f.spread_cost);
    [2.1, 0.85, 1.12, 0.675, 2.22].forEach((spread, k) => expect(spreads[k]).toBeCloseTo(spread, 12));
    expect(allFills[0]!.fill_price).toBeCloseTo(10.5105, 12);
    expect(allFills[1]!.fill_price).toBeCloseTo(16.983, 12);
    expect(allFills.every((f) => f.book === 'combined' && f.reason === 'rebalance' && f.impact_cost === 0)).toBe(true);
    expect(ledger.positions()).toEqual([]);
  });
});

describe('missing prices and delistings', () => {
  const tickers = ['A', 'B', 'C'];
  const noCosts: FillConfig = fillConfigSchema.parse({ commission_per_share: 0, half_spread_bps: 0 });
  const prices = (...values: number[]): Float64Array => Float64Array.from(values);
  const advs = prices(1e6, 1e6, 1e6);

  it('carries a held name with no close at its last close, lists it, and resumes when the close returns', () => {
    const ledger = new BookLedger('combined', tickers, 1000);
    ledger.mark(prices(10, 20, 30), '2024-03-04');
    ledger.fill(
      [
        { tickerIndex: 0, shares: 10 },
        { tickerIndex: 1, shares: -5 },
      ],
      prices(10, 20, 30),
      advs,
      '2024-03-05',
      noCosts,
    );
    expect(ledger.cash).toBe(1000 - 100 + 100);

    // A and the unheld C have no close: A is valued at 10 and flagged, C is not held so not listed.
    const gap = ledger.mark(prices(NaN, 22, NaN), '2024-03-05');
    expect(gap.carried).toEqual(['A']);
    expect(gap.equity).toBe(1000 + 10 * 10 - 5 * 22);
    expect([...ledger.lastPrice]).toEqual([10, 22, 30]);

    const back = ledger.mark(prices(12, 22, 31), '2024-03-06');
    expect(back.carried).toEqual([]);
    expect(back.equity).toBe(1000 + 10 * 12 - 5 * 22);
  });

  it('skips and reports an order with no reference price, and fills the rest', () => {
    const ledger = new BookLedger('momentum', tickers, 1000);
    const result = ledger.fill(
      [
        { tickerIndex: 2, shares: 3 },
        { tickerIndex: 1, shares: 4 },
      ],
      prices(10, NaN, 30),
      advs,
      '2024-03-05',
      noCosts,
    );
    expect(result.skipped).toEqual([{ ticker: 'B', reason: 'no reference price on 2024-03-05' }]);
    expect(result.fills.map((f) => [f.ticker, f.shares])).toEqual([['C', 3]]);
    expect([...ledger.shares]).toEqual([0, 0, 3]);
    expect(ledger.cash).toBe(1000 - 90);
  });

  it('gives a name bought before any close its fill price, so it can always be carried', () => {
    const ledger = new BookLedger('combined', tickers, 1000);
    ledger.fill([{ tickerIndex: 0, shares: 2 }], prices(9.5, NaN, NaN), advs, '2024-03-05', noCosts);
    expect(ledger.mark(prices(NaN, NaN, NaN), '2024-03-05')).toEqual({ equity: 1000, gross: 19 / 1000, net: 19 / 1000, carried: ['A'] });
  });

  it('flags fills whose impact could not be estimated', () => {
    const ledger = new BookLedger('combined', tickers, 1000);
    const result = ledger.fill([{ tickerIndex: 1, shares: 1 }], prices(10, 20, 30), prices(1e6, NaN, 1e6), '2024-03-05', { ...noCosts, impact_bps: 10 });
    expect(result.impactUnavailable).toEqual(['B']);
    expect(result.fills[0]!.impact_cost).toBe(0);
  });

  it('finds where each price series ends and closes delisted longs and shorts at the last price, without costs', () => {
    // Four sessions: A trades throughout, B's series ends after session 1, C never trades.
    const close = Float64Array.from([10, 20, NaN, 11, 21, NaN, 12, NaN, NaN, 13, NaN, NaN]);
    expect([...lastListedIndex(close, 3, 4)]).toEqual([3, 1, -1]);
    expect(() => lastListedIndex(close, 3, 5)).toThrow(RangeError);

    const ledger = new BookLedger('combined', tickers, 1000);
    ledger.fill(
      [
        { tickerIndex: 0, shares: -10 },
        { tickerIndex: 1, shares: 5 },
      ],
      prices(10, 20, NaN),
      advs,
      '2024-03-04',
      noCosts,
    );
    ledger.mark(close.subarray(0, 3), '2024-03-04');
    ledger.mark(close.subarray(3, 6), '2024-03-05');
    // Session 2: B has no close, so it is carried at 21 until the replay closes it.
    expect(ledger.mark(close.subarray(6, 9), '2024-03-06').carried).toEqual(['B']);

    const fills = ledger.closeDelisted([1, 0, 2], '2024-03-06');
    expect(fills).toEqual([
      { date: '2024-03-06', book: 'combined', ticker: 'A', side: 'BUY', shares: 10, reference_price: 12, fill_price: 12, notional: 120, commission: 0, spread_cost: 0, impact_cost: 0, total_cost: 0, reason: 'delisted' },
      { date: '2024-03-06', book: 'combined', ticker: 'B', side: 'SELL', shares: 5, reference_price: 21, fill_price: 21, notional: 105, commission: 0, spread_cost: 0, impact_cost: 0, total_cost: 0, reason: 'delisted' },
    ]);
    // 1000 + 100 (short A at 10) − 100 (B at 20) − 120 (cover A at 12) + 105 (B at 21).
    expect(ledger.cash).toBe(985);
    expect(ledger.positions()).toEqual([]);
    expect(ledger.mark(close.subarray(9, 12), '2024-03-07').equity).toBe(985);
  });

  it('refuses malformed orders rather than guessing', () => {
    const ledger = new BookLedger('combined', tickers, 1000);
    const fill = (orders: Order[]) => ledger.fill(orders, prices(10, 20, 30), advs, '2024-03-05', noCosts);
    expect(() => fill([{ tickerIndex: 3, shares: 1 }])).toThrow(RangeError);
    expect(() => fill([{ tickerIndex: 0, shares: 0.5 }])).toThrow(/whole number/);
    expect(() =>
      fill([
        { tickerIndex: 0, shares: 1 },
        { tickerIndex: 0, shares: 2 },
      ]),
    ).toThrow(/two orders/);
    expect(() => ledger.fill([], prices(10, 20), advs, '2024-03-05', noCosts)).toThrow(RangeError);
    expect(ledger.cash).toBe(1000);
  });
});

describe('snapshot and restore', () => {
  const tickers = ['A', 'B', 'C', 'D'];
  const config: FillConfig = fillConfigSchema.parse({ commission_per_share: 0.005, commission_bps: 1.5, min_commission: 0.35, half_spread_bps: 7, impact_bps: 13 });
  const price = fc.oneof({ weight: 1, arbitrary: fc.constant(Number.NaN) }, { weight: 6, arbitrary: fc.double({ min: 0.5, max: 900, noNaN: true }) });
  const prices = fc.array(price, { minLength: tickers.length, maxLength: tickers.length }).map((v) => Float64Array.from(v));
  const step = fc.record({
    orders: fc.uniqueArray(fc.record({ tickerIndex: fc.nat(tickers.length - 1), shares: fc.integer({ min: -500, max: 500 }).filter((s) => s !== 0) }), {
      selector: (order) => order.tickerIndex,
      maxLength: tickers.length,
    }),
    reference: prices,
    adv20: prices,
    closes: prices,
    delist: fc.uniqueArray(fc.nat(tickers.length - 1), { maxLength: 1 }),
  });
  type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

  const run = (ledger: BookLedger, steps: readonly Step[]) =>
    steps.map((s, k) => {
      const date = `2024-01-${String(k + 2).padStart(2, '0')}`;
      const filled = ledger.fill(s.orders, s.reference, s.adv20, date, config);
      const delisted = ledger.closeDelisted(s.delist, date);
      return { filled, delisted, mark: ledger.mark(s.closes, date), cash: ledger.cash, shares: [...ledger.shares] };
    });

  it('continues bit for bit after a JSON round trip at any point', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), fc.nat(), (steps, cut) => {
        const split = cut % (steps.length + 1);
        const straight = new BookLedger('combined', tickers, 1_000_000);
        run(straight, steps.slice(0, split));
        const json = JSON.stringify(straight.snapshot());
        const resumed = BookLedger.restore(JSON.parse(json) as LedgerSnapshot, tickers);
        expect(resumed.snapshot()).toEqual(straight.snapshot());

        const after = run(straight, steps.slice(split));
        const afterResume = run(resumed, steps.slice(split));
        // toEqual compares numbers with Object.is, so any float drift fails here.
        expect(afterResume).toEqual(after);
        expect(Object.is(resumed.cash, straight.cash)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('stores plain JSON: positions and known prices by ticker', () => {
    const ledger = new BookLedger('value', tickers, 5000);
    ledger.mark(Float64Array.of(10, NaN, 30, NaN), '2024-01-02');
    ledger.fill([{ tickerIndex: 2, shares: -7 }], Float64Array.of(10, NaN, 30.25, NaN), Float64Array.of(1, 1, 1, 1), '2024-01-03', {
      ...config,
      commission_per_share: 0,
      commission_bps: 0,
      min_commission: 0,
      half_spread_bps: 0,
      impact_bps: 0,
    });
    expect(ledger.snapshot()).toEqual({
      version: 1,
      book: 'value',
      cash: 5000 + 7 * 30.25,
      positions: [{ ticker: 'C', shares: -7 }],
      lastPrices: [
        { ticker: 'A', price: 10 },
        { ticker: 'C', price: 30 },
      ],
    });
  });

  it('refuses a snapshot that is malformed or names a ticker the replay lacks', () => {
    const good: LedgerSnapshot = { version: 1, book: 'value', cash: 1, positions: [{ ticker: 'E', shares: 3 }], lastPrices: [] };
    expect(() => BookLedger.restore(good, tickers)).toThrow(StateError);
    expect(() => BookLedger.restore({ ...good, positions: [{ ticker: 'A', shares: 1.5 }] }, tickers)).toThrow(StateError);
    expect(() =>
      BookLedger.restore(
        {
          ...good,
          positions: [
            { ticker: 'A', shares: 1 },
            { ticker: 'A', shares: 2 },
          ],
        },
        tickers,
      ),
    ).toThrow(/twice/);
  });
});

describe('delistings', () => {
  it('lists, for any session in any order, the names whose series ended before it, ascending', () => {
    const lastListed = fc.array(fc.integer({ min: -1, max: 12 }), { maxLength: 40 });
    const sessions = fc.array(fc.integer({ min: -2, max: 15 }), { maxLength: 30 });
    fc.assert(
      fc.property(lastListed, sessions, (last, asked) => {
        const delistings = new Delistings(Int32Array.from(last));
        for (const d of asked) {
          const expected = last.flatMap((l, i) => (l < d ? [i] : []));
          expect(delistings.before(d), `session ${d} of ${JSON.stringify(last)}`).toEqual(expected);
        }
      }),
      { numRuns: 500 },
    );
  });
});
