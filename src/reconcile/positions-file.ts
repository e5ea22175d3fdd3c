import { readFile } from 'node:fs/promises';
import { DataError } from '../core/errors.js';
import type { Position } from '../state/store.js';
import { positionRows, type FileLayout } from '../trading/holdings.js';
import type { Book } from './reconcile.js';

export interface PositionsFile {
  /** Non-zero positions in file order, and the CASH row's balance (0 without one). */
  readonly book: Book;
  /** The price column's values, rows with 0 shares included (they may price a name the other side holds). */
  readonly prices: ReadonlyMap<string, number>;
}

const LAYOUT: FileLayout = { sharesColumn: 'shares', allowShorts: true, allowCashRow: true };

/**
 * A positions file for reconciliation: the holdings format (`ticker,shares[,price]`, optional
 * `CASH` row for the cash balance) read without market data. Unlike `--holdings` for a run,
 * unknown tickers and short (negative) positions are accepted: the netted book may be short, and
 * a name the market does not know is exactly what reconciliation should report, not refuse.
 */
export function parsePositionsCsv(text: string, source: string): PositionsFile {
  const positions: Position[] = [];
  const prices = new Map<string, number>();
  let cash = 0;
  for (const row of positionRows(text, source, LAYOUT)) {
    if (row.isCash) {
      cash = row.amount;
      continue;
    }
    if (row.filePrice !== null) prices.set(row.ticker, row.filePrice);
    if (row.amount !== 0) positions.push({ ticker: row.ticker, shares: row.amount });
  }
  return { book: { cash, positions }, prices };
}

export async function readPositionsFile(path: string): Promise<PositionsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DataError(`${path}: cannot read positions file (${error instanceof Error ? error.message : String(error)})`);
  }
  return parsePositionsCsv(text, path);
}
