import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { currentWeights, generateTrades, type TradeInput } from '../src/trading/trades.js';

const vector = (values: number[]): Float64Array => Float64Array.from(values);

describe('generateTrades', () => {
  // The seed's §5.2 example on a $1M book: NVDA new, AAPL up, META down, TSLA out.
  const seedBook: TradeInput = {
    tickers: ['AAPL', 'META', 'MSFT', 'NVDA', 'TSLA'],
    targetWeights: vector([0.0341, 0.0225, 0.0178, 0.00625, 0]),
    currentShares: vector([150, 75, 40, 0, 100]),
    prices: vector([195, 500, 445, 125, 248]),
    portfolioValue: 1_000_000,
    minTradeValue: 0,
  };

  it('reproduces the seed trade list with whole shares, ticker order and reasons', () => {
    const trades = generateTrades(seedBook);
    expect(trades.map((t) => [t.ticker, t.action, t.shares, t.estimated_value, t.price, t.reason])).toEqual([
      ['AAPL', 'BUY', 24, 4680, 195, 'increase_weight'],
      ['META', 'SELL', 30, 15000, 500, 'decrease_weight'],
      ['NVDA', 'BUY', 50, 6250, 125, 'new_position'],
      ['TSLA', 'SELL', 100, 24800, 248, 'exit_position'],
    ]);
    // MSFT: trunc(17,800 / 445) = 40 = current: no trade.
    expect(trades[0]).toMatchObject({ current_shares: 150, target_shares: 174, target_weight: 0.0341 });
  });

  it('truncates toward zero for shorts and treats a sign flip as a new position', () => {
    const trades = generateTrades({
      tickers: ['A', 'B', 'C'],
      targetWeights: vector([-0.0105, -0.02, 0.01]),
      currentShares: vector([0, -300, -10]),
      prices: vector([10, 10, 10]),
      portfolioValue: 10_000,
      minTradeValue: 0,
    });
    expect(trades.map((t) => [t.ticker, t.action, t.shares, t.target_shares, t.reason])).toEqual([
      ['A', 'SELL', 10, -10, 'new_position'],
      ['B', 'BUY', 280, -20, 'decrease_weight'],
      ['C', 'BUY', 20, 10, 'new_position'],
    ]);
  });

  it('drops trades below the minimum value but always exits', () => {
    const trades = generateTrades({
      tickers: ['A', 'B', 'C'],
      targetWeights: vector([0.0101, 0, 0.5]),
      currentShares: vector([100, 1, 0]),
      prices: vector([10, 20, 100]),
      portfolioValue: 100_000,
      minTradeValue: 50,
    });
    // A: +1 share ($10) dropped; B: exit of $20 kept; C: new $50,000 kept.
    expect(trades.map((t) => [t.ticker, t.shares, t.reason])).toEqual([
      ['B', 1, 'exit_position'],
      ['C', 500, 'new_position'],
    ]);
  });

  it('rounds estimated value to cents', () => {
    const [trade] = generateTrades({ tickers: ['A'], targetWeights: vector([0.5]), currentShares: vector([0]), prices: vector([33.3333]), portfolioValue: 1000, minTradeValue: 0 });
    expect(trade).toMatchObject({ shares: 15, estimated_value: 500 });
  });

  it('names the ticker that needs a trade but has no price, and ignores unpriced names that need none', () => {
    const base = { tickers: ['A', 'B'], currentShares: vector([0, 0]), portfolioValue: 1000, minTradeValue: 0 };
    expect(() => generateTrades({ ...base, targetWeights: vector([0.5, 0.5]), prices: vector([10, Number.NaN]) })).toThrow(DataError);
    expect(() => generateTrades({ ...base, targetWeights: vector([0.5, 0.5]), prices: vector([10, Number.NaN]) })).toThrow(/^B needs a trade but has no usable price/);
    expect(() => generateTrades({ ...base, currentShares: vector([0, 5]), targetWeights: vector([0.5, 0]), prices: vector([10, Number.NaN]) })).toThrow(/^B /);
    expect(generateTrades({ ...base, targetWeights: vector([0.5, 0]), prices: vector([10, Number.NaN]) })).toHaveLength(1);
  });

  it('rejects fractional holdings and a non-positive portfolio value', () => {
    const base = { tickers: ['A'], targetWeights: vector([0.5]), prices: vector([10]), minTradeValue: 0 };
    expect(() => generateTrades({ ...base, currentShares: vector([1.5]), portfolioValue: 1000 })).toThrow(/A: current shares 1.5/);
    expect(() => generateTrades({ ...base, currentShares: vector([0]), portfolioValue: 0 })).toThrow(DataError);
  });

  it('property: executing the trades reaches target_shares, never overshooting the target value', () => {
    const bookArb = fc.integer({ min: 1, max: 30 }).chain((n) =>
      fc.record({
        weights: fc.array(fc.double({ min: -0.2, max: 0.2, noNaN: true }), { minLength: n, maxLength: n }),
        shares: fc.array(fc.integer({ min: -500, max: 500 }), { minLength: n, maxLength: n }),
        prices: fc.array(fc.double({ min: 0.5, max: 2000, noNaN: true }), { minLength: n, maxLength: n }),
        value: fc.double({ min: 1000, max: 1e8, noNaN: true }),
      }),
    );
    fc.assert(
      fc.property(bookArb, ({ weights, shares, prices, value }) => {
        const tickers = weights.map((_, i) => `T${String(i).padStart(3, '0')}`);
        const input = { tickers, targetWeights: vector(weights), currentShares: vector(shares), prices: vector(prices), portfolioValue: value, minTradeValue: 0 };
        const trades = generateTrades(input);
        expect(trades.map((t) => t.ticker)).toEqual([...trades.map((t) => t.ticker)].sort());
        const after = [...shares];
        for (const t of trades) {
          const i = tickers.indexOf(t.ticker);
          expect(Number.isInteger(t.shares) && t.shares > 0).toBe(true);
          after[i] = after[i]! + (t.action === 'BUY' ? t.shares : -t.shares);
          expect(after[i]).toBe(t.target_shares);
        }
        after.forEach((s, i) => {
          expect(Math.abs(s * prices[i]!)).toBeLessThanOrEqual(Math.abs(weights[i]! * value) + 1e-6);
          expect(Math.sign(s) * Math.sign(weights[i]!)).toBeGreaterThanOrEqual(0);
        });
        expect(generateTrades(input)).toEqual(trades);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('currentWeights', () => {
  it('values holdings at D and needs a price only for names held', () => {
    const weights = currentWeights(vector([10, 0, -5]), vector([50, Number.NaN, 20]), 1000, ['A', 'B', 'C']);
    expect([...weights]).toEqual([0.5, 0, -0.1]);
    expect(() => currentWeights(vector([1]), vector([Number.NaN]), 1000, ['X'])).toThrow(/^X /);
  });
});
