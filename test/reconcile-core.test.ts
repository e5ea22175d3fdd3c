import { describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { reconcile, type Book } from '../src/reconcile/reconcile.js';
import { reconciliationCsv, reconciliationSummary } from '../src/reconcile/report.js';

function book(cash: number, shares: Record<string, number>): Book {
  return { cash, positions: Object.entries(shares).map(([ticker, count]) => ({ ticker, shares: count })) };
}

// Book = 100×200 + 50×400 + 200×100 + 10,000 cash = 70,000, so 1% of it is 700.
const expected = book(10_000, { AAPL: 100, MSFT: 50, NVDA: 200 });
const prices = new Map([
  ['AAPL', 200],
  ['AMD', 100],
  ['MSFT', 400],
  ['NVDA', 100],
  ['TSLA', 250],
]);

describe('reconcile with prices', () => {
  // MSFT −2 × 400 = −800 (−1.1429%), NVDA −200 × 100 = −20,000 (−28.5714%), TSLA +4 × 250 = +1,000
  // (+1.4286%), AMD +1 × 100 = +100 (0.1429%, under 1%), cash +20,600.50 (+29.4293%).
  const actual = book(30_600.5, { AAPL: 100, AMD: 1, MSFT: 48, TSLA: 4 });
  const result = reconcile(expected, actual, prices, 0.01);

  it('compares the union of tickers, sorted, then cash, with actual − expected differences', () => {
    expect(result.rows.map((r) => [r.ticker, r.expectedShares, r.actualShares, r.diffShares, r.price, r.diffValue, r.status])).toEqual([
      ['AAPL', 100, 100, 0, 200, 0, 'ok'],
      ['AMD', 0, 1, 1, 100, 100, 'ok'],
      ['MSFT', 50, 48, -2, 400, -800, 'mismatch'],
      ['NVDA', 200, 0, -200, 100, -20_000, 'missing_at_broker'],
      ['TSLA', 0, 4, 4, 250, 1000, 'unexpected_at_broker'],
      ['CASH', 10_000, 30_600.5, 20_600.5, 1, 20_600.5, 'mismatch'],
    ]);
    expect(result.rows.map((r) => r.diffWeight)).toEqual([0, 100 / 70_000, -800 / 70_000, -20_000 / 70_000, 1000 / 70_000, 20_600.5 / 70_000]);
  });

  it('totals the book and the gross position difference (cash left out)', () => {
    expect(result.totals).toEqual({ positions: 5, discrepancies: 4, bookValue: 70_000, grossDiffValue: 21_900, grossDiffWeight: 21_900 / 70_000 });
  });

  it('raises a WARNING per row over the threshold and a CRITICAL when the gross difference exceeds 5× it', () => {
    expect(result.alerts).toEqual([
      { severity: 'CRITICAL', check: 'reconciliation.total', message: 'gross position difference 31.29% of the book exceeds 5 × the 1.00% threshold' },
      { severity: 'WARNING', check: 'reconciliation.MSFT', message: 'MSFT differs: expected 50, broker 48, difference -2 (-800.00 = -1.14% of the book)' },
      { severity: 'WARNING', check: 'reconciliation.NVDA', message: 'NVDA missing at broker: expected 200, broker 0, difference -200 (-20000.00 = -28.57% of the book)' },
      { severity: 'WARNING', check: 'reconciliation.TSLA', message: 'TSLA unexpected at broker: expected 0, broker 4, difference 4 (1000.00 = 1.43% of the book)' },
      { severity: 'WARNING', check: 'reconciliation.CASH', message: 'cash differs: expected 10000.00, broker 30600.50, difference 20600.50 (20600.50 = 29.43% of the book)' },
    ]);
  });

  it('formats the report CSV and the summary line', () => {
    expect(reconciliationCsv(result.rows)).toBe(
      [
        'ticker,expected_shares,actual_shares,diff_shares,price,diff_value,diff_weight,status',
        'AAPL,100,100,0,200,0.00,0.000000,ok',
        'AMD,0,1,1,100,100.00,0.001429,ok',
        'MSFT,50,48,-2,400,-800.00,-0.011429,mismatch',
        'NVDA,200,0,-200,100,-20000.00,-0.285714,missing_at_broker',
        'TSLA,0,4,4,250,1000.00,0.014286,unexpected_at_broker',
        'CASH,10000.00,30600.50,20600.50,1,20600.50,0.294293,mismatch',
        '',
      ].join('\n'),
    );
    expect(reconciliationSummary(result, 0.01, 'a vs b')).toBe(
      'reconcile a vs b: 5 positions and cash, 4 discrepancies over 1.00% of the 70000.00 book (gross position difference 31.29%)',
    );
  });
});

describe('reconcile threshold rule', () => {
  // Book = 100 × 100 + 90,000 cash = 100,000: 1% is exactly 1,000.
  const small = book(90_000, { X: 100 });
  const priced = new Map([['X', 100]]);

  it('counts a difference only when it exceeds the threshold (exactly 1% is ok)', () => {
    expect(reconcile(small, book(90_000, { X: 90 }), priced, 0.01).rows[0]).toMatchObject({ diffValue: -1000, diffWeight: -0.01, status: 'ok' });
    const over = reconcile(small, book(90_000, { X: 89 }), priced, 0.01);
    expect(over.rows[0]).toMatchObject({ diffValue: -1100, status: 'mismatch' });
    expect(over.alerts.map((a) => a.severity)).toEqual(['WARNING']);
  });

  it('is CRITICAL when many small differences add up to more than 5× the threshold, even with no row over it', () => {
    // Six names of 100 × 100, cash 100,000: book 160,000. Each is 14 shares (1,400 = 0.875%) short;
    // gross 8,400 = 5.25% > 5%.
    const names = ['A', 'B', 'C', 'D', 'E', 'F'];
    const planned = book(100_000, Object.fromEntries(names.map((n) => [n, 100])));
    const held = book(100_000, Object.fromEntries(names.map((n) => [n, 86])));
    const result = reconcile(planned, held, new Map(names.map((n) => [n, 100])), 0.01);
    expect(result.rows.every((r) => r.status === 'ok')).toBe(true);
    expect(result.totals).toMatchObject({ discrepancies: 0, grossDiffValue: 8400, grossDiffWeight: 0.0525 });
    expect(result.alerts).toEqual([expect.objectContaining({ severity: 'CRITICAL', check: 'reconciliation.total' })]);
  });

  it('treats a short the broker does not hold like any missing position', () => {
    const result = reconcile(book(10_000, { X: -50 }), book(10_000, {}), new Map([['X', 20]]), 0.01);
    // Book = −50 × 20 + 10,000 = 9,000; +50 × 20 = +1,000 = 11.11%.
    expect(result.rows[0]).toMatchObject({ diffShares: 50, diffValue: 1000, diffWeight: 1000 / 9000, status: 'missing_at_broker' });
  });

  it('ignores zero positions on either side', () => {
    const result = reconcile(book(1000, { X: 0, Y: 5 }), book(1000, { Y: 5, Z: 0 }), new Map([['Y', 10]]), 0.01);
    expect(result.rows.map((r) => r.ticker)).toEqual(['Y', 'CASH']);
  });
});

describe('reconcile without prices', () => {
  it('flags any share or cash difference, has no book, weights or CRITICAL', () => {
    const result = reconcile(book(10_000, { AAPL: 100, MSFT: 50, NVDA: 1 }), book(10_000.004, { AAPL: 100, MSFT: 49 }), null, 0.01);
    expect(result.rows.map((r) => [r.ticker, r.diffShares, r.price, r.diffValue, r.diffWeight, r.status])).toEqual([
      ['AAPL', 0, null, null, null, 'ok'],
      ['MSFT', -1, null, null, null, 'mismatch'],
      ['NVDA', -1, null, null, null, 'missing_at_broker'],
      // Compared to the cent: 0.004 is no difference.
      ['CASH', 0, 1, 0, null, 'ok'],
    ]);
    expect(result.totals).toEqual({ positions: 3, discrepancies: 2, bookValue: null, grossDiffValue: null, grossDiffWeight: null });
    expect(result.alerts.map((a) => a.severity)).toEqual(['WARNING', 'WARNING']);
    expect(reconciliationCsv(result.rows).split('\n')[2]).toBe('MSFT,50,49,-1,,,,mismatch');
    expect(reconciliationSummary(result, 0.01, 'a vs b')).toBe(
      'reconcile a vs b: 3 positions and cash, 2 discrepancies without prices, so any difference in shares or cash counts',
    );
  });

  it('compares cash to the cent, so the engine’s float tails are no difference', () => {
    const result = reconcile(book(12_345.670000000002, {}), book(12_345.67, {}), null, 0.01);
    expect(result.rows).toEqual([expect.objectContaining({ ticker: 'CASH', diffShares: 0, status: 'ok' })]);
    expect(reconciliationCsv(result.rows)).toContain('CASH,12345.67,12345.67,0.00,1,0.00,,ok');
  });
});

describe('reconcile refuses inputs it cannot measure', () => {
  it('a book worth nothing', () => {
    expect(() => reconcile(book(0, {}), book(5, {}), new Map(), 0.01)).toThrow(DataError);
    expect(() => reconcile(book(0, {}), book(5, {}), new Map(), 0.01)).toThrow('the expected book is worth 0.00');
  });

  it('a ticker listed twice', () => {
    const twice: Book = { cash: 0, positions: [{ ticker: 'X', shares: 0 }, { ticker: 'X', shares: 2 }] };
    expect(() => reconcile(twice, book(0, {}), null, 0.01)).toThrow('expected positions list X twice');
  });

  it('a price missing for a ticker of the union, or a threshold outside (0, 1)', () => {
    expect(() => reconcile(book(100, { X: 1 }), book(100, { Y: 1 }), new Map([['X', 1]]), 0.01)).toThrow(RangeError);
    expect(() => reconcile(book(100, {}), book(100, {}), null, 1)).toThrow(RangeError);
    expect(() => reconcile(book(100, {}), book(100, {}), null, 0)).toThrow(RangeError);
  });
});
