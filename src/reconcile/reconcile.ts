import { fixed, round } from '../artifacts/csv.js';
import { DataError } from '../core/errors.js';
import type { Holdings } from '../state/store.js';
import { CASH_TICKER } from '../trading/holdings.js';
import type { Alert } from '../validation/alerts.js';

/** The part of a holdings record that reconciliation compares: cash and share counts. */
export type Book = Pick<Holdings, 'cash' | 'positions'>;

/** `ok` means within the threshold; the others name why a row is over it. */
export type ReconcileStatus = 'ok' | 'mismatch' | 'missing_at_broker' | 'unexpected_at_broker';

export interface ReconcileRow {
  /** A ticker, or CASH_TICKER for the cash row (whose "shares" are currency units at price 1). */
  readonly ticker: string;
  readonly expectedShares: number;
  readonly actualShares: number;
  /** Actual minus expected, as in the seed: negative means the broker holds less than planned. */
  readonly diffShares: number;
  /** Null when the comparison is by share count (no prices). */
  readonly price: number | null;
  readonly diffValue: number | null;
  /** diffValue as a fraction of the expected book's value; null without prices. */
  readonly diffWeight: number | null;
  readonly status: ReconcileStatus;
}

export interface ReconcileTotals {
  /** Tickers in either book (the cash row not counted). */
  readonly positions: number;
  /** Rows (cash included) whose status is not `ok`. */
  readonly discrepancies: number;
  /** Σ expected shares × price + expected cash; null without prices. */
  readonly bookValue: number | null;
  /** Σ |diffValue| over the position rows; null without prices. */
  readonly grossDiffValue: number | null;
  readonly grossDiffWeight: number | null;
}

export interface Reconciliation {
  /** Positions sorted by ticker, then the cash row. */
  readonly rows: readonly ReconcileRow[];
  readonly alerts: readonly Alert[];
  readonly totals: ReconcileTotals;
}

/** A gross position difference above this many thresholds is CRITICAL rather than a set of WARNINGs. */
export const CRITICAL_THRESHOLD_MULTIPLE = 5;

/**
 * Compares the book Kairos expects with the one the broker reports, ticker by ticker over the
 * union of both, plus cash.
 *
 * With `prices` (one per ticker of the union), a row is a discrepancy when |diff value| exceeds
 * `threshold` × the expected book's value (Σ expected shares × price + expected cash). Without
 * prices there is no book to measure against, so any difference in share count (or cash) is one.
 *
 * Alerts: a WARNING per discrepancy row; with prices, also a CRITICAL when the gross position
 * difference Σ|diff value| exceeds CRITICAL_THRESHOLD_MULTIPLE × threshold of the book. Cash is
 * left out of that sum because a trade the broker missed shows up in both its position and cash,
 * and would be counted twice.
 */
export function reconcile(expected: Book, actual: Book, prices: ReadonlyMap<string, number> | null, threshold: number): Reconciliation {
  if (!(threshold > 0 && threshold < 1)) throw new RangeError(`threshold must be a fraction of the book in (0, 1), got ${threshold}`);
  const expectedShares = sharesByTicker(expected, 'expected');
  const actualShares = sharesByTicker(actual, 'actual');
  const tickers = [...new Set([...expectedShares.keys(), ...actualShares.keys()])].sort(byCodeUnit);
  const priceOf = (ticker: string): number => {
    const price = prices?.get(ticker);
    if (price === undefined || !(price > 0) || !Number.isFinite(price)) throw new RangeError(`no positive price for ${ticker}`);
    return price;
  };
  const bookValue = prices === null ? null : tickers.reduce((sum, ticker) => sum + (expectedShares.get(ticker) ?? 0) * priceOf(ticker), expected.cash);
  if (bookValue !== null && !(bookValue > 0)) {
    throw new DataError(`the expected book is worth ${fixed(bookValue, 2)}: differences cannot be measured as a fraction of it`);
  }

  const compare = (ticker: string, expectedAmount: number, actualAmount: number, price: number | null, diffShares: number): ReconcileRow => {
    const diffValue = price === null ? null : diffShares * price;
    const diffWeight = diffValue === null || bookValue === null ? null : diffValue / bookValue;
    const over = diffWeight === null ? diffShares !== 0 : Math.abs(diffWeight) > threshold;
    return { ticker, expectedShares: expectedAmount, actualShares: actualAmount, diffShares, price, diffValue, diffWeight, status: statusOf(expectedAmount, actualAmount, over) };
  };

  const positionRows = tickers.map((ticker) => {
    const expectedAmount = expectedShares.get(ticker) ?? 0;
    const actualAmount = actualShares.get(ticker) ?? 0;
    return compare(ticker, expectedAmount, actualAmount, prices === null ? null : priceOf(ticker), actualAmount - expectedAmount);
  });
  // Cash is money, so its "price" is 1 even when positions have none (only its weight needs a
  // book). It is compared to the cent: the engine's cash carries float tails no broker reports.
  const cashRow = compare(CASH_TICKER, expected.cash, actual.cash, 1, round(actual.cash - expected.cash, 2));
  const rows = [...positionRows, cashRow];

  const grossDiffValue = bookValue === null ? null : positionRows.reduce((sum, row) => sum + Math.abs(row.diffValue!), 0);
  const grossDiffWeight = grossDiffValue === null || bookValue === null ? null : grossDiffValue / bookValue;
  const discrepancies = rows.filter((row) => row.status !== 'ok');
  const alerts: Alert[] = discrepancies.map((row) => ({ severity: 'WARNING', check: `reconciliation.${row.ticker}`, message: describeRow(row) }));
  if (grossDiffWeight !== null && grossDiffWeight > CRITICAL_THRESHOLD_MULTIPLE * threshold) {
    alerts.unshift({
      severity: 'CRITICAL',
      check: 'reconciliation.total',
      message: `gross position difference ${percent(grossDiffWeight)} of the book exceeds ${CRITICAL_THRESHOLD_MULTIPLE} × the ${percent(threshold)} threshold`,
    });
  }

  return {
    rows,
    alerts,
    totals: { positions: tickers.length, discrepancies: discrepancies.length, bookValue, grossDiffValue, grossDiffWeight },
  };
}

/** Shares per ticker, leaving out zero positions so "listed with 0 shares" and "not listed" agree. */
function sharesByTicker(book: Book, side: 'expected' | 'actual'): Map<string, number> {
  const listed = new Set<string>();
  const shares = new Map<string, number>();
  for (const { ticker, shares: count } of book.positions) {
    if (!Number.isFinite(count)) throw new DataError(`${side} position ${ticker} has non-finite shares ${count}`);
    if (listed.has(ticker)) throw new DataError(`${side} positions list ${ticker} twice`);
    listed.add(ticker);
    if (count !== 0) shares.set(ticker, count);
  }
  return shares;
}

function statusOf(expectedShares: number, actualShares: number, overThreshold: boolean): ReconcileStatus {
  if (!overThreshold) return 'ok';
  if (actualShares === 0) return 'missing_at_broker';
  if (expectedShares === 0) return 'unexpected_at_broker';
  return 'mismatch';
}

function describeRow(row: ReconcileRow): string {
  const what = row.ticker === CASH_TICKER ? 'cash' : row.ticker;
  const kind = row.status === 'mismatch' ? 'differs' : row.status.replaceAll('_', ' ');
  const [expected, actual, diff] = [row.expectedShares, row.actualShares, row.diffShares].map((n) => formatQuantity(row.ticker, n));
  const sizes = `expected ${expected}, broker ${actual}, difference ${diff}`;
  const measured = row.diffWeight === null ? '' : ` (${fixed(row.diffValue!, 2)} = ${percent(row.diffWeight)} of the book)`;
  return `${what} ${kind}: ${sizes}${measured}`;
}

/** Share counts as they are; cash to the cent, the precision it is compared at. */
export function formatQuantity(ticker: string, quantity: number): string {
  return ticker === CASH_TICKER ? fixed(quantity, 2) : String(quantity);
}

function percent(fraction: number): string {
  return `${fixed(fraction * 100, 2)}%`;
}

/** Code-unit order, as the holdings files and artifacts sort tickers (locale-independent). */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
