import { fixed, toCsv } from '../artifacts/csv.js';
import { formatQuantity, type ReconcileRow, type Reconciliation } from './reconcile.js';

export const RECONCILIATION_COLUMNS = ['ticker', 'expected_shares', 'actual_shares', 'diff_shares', 'price', 'diff_value', 'diff_weight', 'status'] as const;

/** The report CSV: one row per ticker (sorted), then CASH; price and value columns empty without prices. */
export function reconciliationCsv(rows: readonly ReconcileRow[]): string {
  return toCsv(
    RECONCILIATION_COLUMNS,
    rows.map((row) => [
      row.ticker,
      formatQuantity(row.ticker, row.expectedShares),
      formatQuantity(row.ticker, row.actualShares),
      formatQuantity(row.ticker, row.diffShares),
      row.price === null ? null : String(row.price),
      row.diffValue === null ? null : fixed(row.diffValue, 2),
      row.diffWeight === null ? null : fixed(row.diffWeight, 6),
      row.status,
    ]),
  );
}

/** One line for stderr: what was compared, how many rows are over the threshold, and the book they were measured against. */
export function reconciliationSummary(result: Reconciliation, threshold: number, compared: string): string {
  const { positions, discrepancies, bookValue, grossDiffWeight } = result.totals;
  const counts = `${positions} position${positions === 1 ? '' : 's'} and cash, ${discrepancies} discrepanc${discrepancies === 1 ? 'y' : 'ies'}`;
  const rule =
    bookValue === null || grossDiffWeight === null
      ? 'without prices, so any difference in shares or cash counts'
      : `over ${fixed(threshold * 100, 2)}% of the ${fixed(bookValue, 2)} book (gross position difference ${fixed(grossDiffWeight * 100, 2)}%)`;
  return `reconcile ${compared}: ${counts} ${rule}`;
}
