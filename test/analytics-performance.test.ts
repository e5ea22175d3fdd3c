import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bookMetrics, drawdownSeries, monthlyReturns, type EquityPoint } from '../src/analytics/performance.js';
import { addDays } from '../src/core/dates.js';

/** One point per given date; turnover and costs default to 0 unless a test is about them. */
function curve(entries: readonly (readonly [string, number])[], extra: Partial<Omit<EquityPoint, 'date' | 'equity'>> = {}): EquityPoint[] {
  return entries.map(([date, equity]) => ({ date, equity, turnover: 0, costs: 0, gross: 1, net: 1, ...extra }));
}

const SQRT_252 = Math.sqrt(252);

describe('bookMetrics on 100 → 110 → 99 → 121', () => {
  const points = curve([
    ['2024-01-02', 100],
    ['2024-01-03', 110],
    ['2024-01-04', 99],
    ['2024-01-05', 121],
  ]);
  const m = bookMetrics('hand', points);
  const returns = [0.1, -0.1, 121 / 99 - 1];

  it('reads returns, best and worst day and hit rate off the curve', () => {
    expect(m).toMatchObject({ book: 'hand', start: '2024-01-02', end: '2024-01-05', sessions: 4, start_equity: 100, end_equity: 121 });
    expect(m.total_return).toBeCloseTo(0.21, 14);
    expect(m.best_day).toBeCloseTo(returns[2]!, 14);
    expect(m.worst_day).toBeCloseTo(-0.1, 14);
    expect(m.hit_rate).toBeCloseTo(2 / 3, 14);
  });

  it('finds the −10 % drawdown from the 110 peak, its trough and its recovery', () => {
    expect(m.max_drawdown).toBeCloseTo(-0.1, 14);
    expect(m.max_drawdown_peak).toBe('2024-01-03');
    expect(m.max_drawdown_trough).toBe('2024-01-04');
    expect(m.max_drawdown_recovery).toBe('2024-01-05');
    expect([...drawdownSeries(points)].map((d) => Number(d.toFixed(12)))).toEqual([0, 0, -0.1, 0]);
  });

  it('annualises vol, Sharpe and Sortino with √252 and the documented denominators', () => {
    const mean = (returns[0]! + returns[1]! + returns[2]!) / 3;
    const sampleVariance = returns.reduce((s, r) => s + (r - mean) ** 2, 0) / 2;
    expect(m.annual_vol).toBeCloseTo(Math.sqrt(sampleVariance) * SQRT_252, 12);
    expect(m.sharpe).toBeCloseTo((mean / Math.sqrt(sampleVariance)) * SQRT_252, 12);
    // Downside deviation averages min(r, 0)² over all three returns, not only the down day.
    expect(m.sortino).toBeCloseTo((mean / Math.sqrt(0.01 / 3)) * SQRT_252, 12);
  });

  it('writes only finite numbers or null to JSON', () => {
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
});

describe('bookMetrics edge cases', () => {
  it('takes the last high before the fall as the peak when equity returns to an earlier high', () => {
    const m = bookMetrics(
      'tie',
      curve([
        ['2024-03-01', 100],
        ['2024-03-04', 110],
        ['2024-03-05', 105],
        ['2024-03-06', 110],
        ['2024-03-07', 99],
        ['2024-03-08', 120],
      ]),
    );
    expect(m.max_drawdown).toBeCloseTo(-0.1, 14);
    expect([m.max_drawdown_peak, m.max_drawdown_trough, m.max_drawdown_recovery]).toEqual(['2024-03-06', '2024-03-07', '2024-03-08']);
  });

  it('reports a drawdown that has not recovered by the end with a null recovery date', () => {
    const m = bookMetrics('under water', curve([['2024-01-02', 100], ['2024-01-03', 90], ['2024-01-04', 95]]));
    expect(m.max_drawdown).toBeCloseTo(-0.1, 14);
    expect(m.max_drawdown_recovery).toBeNull();
  });

  it('compounds CAGR over calendar time: 365 days ≈ the total return, a 1,461-day leap cycle is exactly four years', () => {
    const oneYear = bookMetrics('1y', curve([['2023-01-03', 100], ['2023-07-03', 104], ['2024-01-03', 110]]));
    expect(oneYear.cagr).toBeCloseTo(1.1 ** (365.25 / 365) - 1, 14);
    expect(oneYear.cagr).toBeCloseTo(0.1, 3);
    const fourYears = bookMetrics('4y', curve([['2020-01-02', 100], ['2024-01-02', 100 * 1.1 ** 4]]));
    expect(fourYears.cagr).toBeCloseTo(0.1, 12);
  });

  it('gives Sortino as null (not Infinity) when no day loses money, while Sharpe stays defined', () => {
    const m = bookMetrics('up only', curve([['2024-01-02', 100], ['2024-01-03', 101], ['2024-01-04', 103], ['2024-01-05', 103]]));
    expect(m.sortino).toBeNull();
    expect(m.sharpe).toBeGreaterThan(0);
    expect(m.max_drawdown).toBe(0);
    expect([m.max_drawdown_peak, m.max_drawdown_trough, m.max_drawdown_recovery]).toEqual(['2024-01-02', '2024-01-02', '2024-01-02']);
    // A flat session is not a hit.
    expect(m.hit_rate).toBeCloseTo(2 / 3, 14);
  });

  it('sums costs and turnover and expresses costs as a yearly drag on starting equity', () => {
    const points = curve([['2023-01-03', 1_000_000], ['2023-07-05', 1_010_000], ['2024-01-03', 1_020_000]], { turnover: 0.2, costs: 500 });
    const m = bookMetrics('costs', points);
    expect(m.total_costs).toBe(1_500);
    expect(m.cost_drag).toBeCloseTo(1_500 / 1_000_000 / (365 / 365.25), 15);
    expect(m.avg_daily_turnover).toBeCloseTo(0.2, 15);
    expect(m.annual_turnover).toBeCloseTo(0.2 * 252, 12);
  });

  it('describes a single session without inventing ratios', () => {
    const m = bookMetrics('day one', curve([['2024-01-02', 100]]));
    expect(m).toMatchObject({ sessions: 1, total_return: 0, max_drawdown: 0, cagr: null, annual_vol: null, sharpe: null, sortino: null, hit_rate: null, best_day: null, worst_day: null, cost_drag: null });
    expect(bookMetrics('two', curve([['2024-01-02', 100], ['2024-01-03', 101]])).annual_vol).toBeNull();
  });

  it('refuses curves it cannot measure, naming the book', () => {
    expect(() => bookMetrics('empty', [])).toThrow(/book "empty".*empty/);
    expect(() => bookMetrics('order', curve([['2024-01-03', 100], ['2024-01-02', 101]]))).toThrow(/strictly increase/);
    expect(() => bookMetrics('dup', curve([['2024-01-02', 100], ['2024-01-02', 101]]))).toThrow(/strictly increase/);
    expect(() => bookMetrics('ruin', curve([['2024-01-02', 100], ['2024-01-03', 0]]))).toThrow(/equity on 2024-01-03 is 0/);
    expect(() => bookMetrics('nan', curve([['2024-01-02', Number.NaN]]))).toThrow(RangeError);
  });
});

describe('monthlyReturns', () => {
  it('compounds each calendar month from the previous month-end, across a year boundary', () => {
    const points = curve([
      ['2023-12-28', 100],
      ['2023-12-29', 102],
      ['2024-01-02', 99],
      ['2024-01-31', 105],
      ['2024-02-01', 100.8],
    ]);
    const months = monthlyReturns(points);
    expect(months.map(({ year, month }) => [year, month])).toEqual([
      [2023, 12],
      [2024, 1],
      [2024, 2],
    ]);
    expect(months[0]!.return).toBeCloseTo(0.02, 14);
    expect(months[1]!.return).toBeCloseTo(105 / 102 - 1, 14);
    expect(months[2]!.return).toBeCloseTo(-0.04, 14);
  });

  it('lets a starting point alone in its month anchor the next month without a row of its own', () => {
    const months = monthlyReturns(curve([['2023-12-29', 100], ['2024-01-02', 101], ['2024-01-03', 103]]));
    expect(months).toHaveLength(1);
    expect(months[0]).toMatchObject({ year: 2024, month: 1 });
    expect(months[0]!.return).toBeCloseTo(0.03, 14);
    expect(monthlyReturns(curve([['2024-01-02', 100]]))).toEqual([]);
  });
});

describe('properties on random curves', () => {
  const randomCurve = fc
    .record({ start: fc.integer({ min: 0, max: 2_000 }), steps: fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.double({ min: -0.3, max: 0.3, noNaN: true })), { minLength: 1, maxLength: 120 }) })
    .map(({ start, steps }) => {
      let date = addDays('2015-01-01', start);
      let equity = 1_000;
      const points = curve([[date, equity]]);
      for (const [gap, r] of steps) {
        date = addDays(date, gap);
        equity *= 1 + r;
        points.push(...curve([[date, equity]]));
      }
      return points;
    });

  it('monthly returns compound to the total return and the drawdown series bottoms at max_drawdown', () => {
    fc.assert(
      fc.property(randomCurve, (points) => {
        const m = bookMetrics('random', points);
        const compoundedGrowth = monthlyReturns(points).reduce((g, month) => g * (1 + month.return), 1);
        expect(compoundedGrowth / (1 + m.total_return)).toBeCloseTo(1, 9);
        const drawdowns = drawdownSeries(points);
        expect(Math.min(...drawdowns)).toBe(m.max_drawdown);
        expect(drawdowns.every((d) => d <= 0)).toBe(true);
      }),
    );
  });
});
