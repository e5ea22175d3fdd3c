import { readFile } from 'node:fs/promises';
import { DataError } from '../core/errors.js';
import type { Position } from '../state/store.js';
import { CASH_TICKER, headerColumns, optionalPrice, parseDecimal, readRecords } from '../trading/holdings.js';
import type { Book } from './reconcile.js';

export interface PositionsFile {
  /** Non-zero positions in file order, and the CASH row's balance (0 without one). */
  readonly book: Book;
  /** The price column's values, rows with 0 shares included (they may price a name the other side holds). */
  readonly prices: ReadonlyMap<string, number>;
}

// Only `sharesColumn` matters to headerColumns; reconciliation applies its own row rules below.
const LAYOUT = { sharesColumn: 'shares', allowShorts: true, allowCashRow: true } as const;

/**
 * A positions file for reconciliation: the holdings format (`ticker,shares[,price]`, optional
 * `CASH` row for the cash balance) read without market data. Unlike `--holdings` for a run,
 * unknown tickers and short (negative) positions are accepted: the netted book may be short, and
 * a name the market does not know is exactly what reconciliation should report, not refuse.
 */
export function parsePositionsCsv(text: string, source: string): PositionsFile {
  const [header, ...records] = readRecords(text, source);
  if (!header) throw new DataError(`${source}:1:1: empty file, expected a header with "ticker,shares"`);
  const columns = headerColumns(header, LAYOUT, source);
  const firstLineOf = new Map<string, number>();
  const positions: Position[] = [];
  const prices = new Map<string, number>();
  let cash = 0;

  for (const { record, info } of records) {
    const at = (column: number): string => `${source}:${info.lines}:${column + 1}`;
    if (record.length !== header.record.length) {
      throw new DataError(`${at(Math.min(record.length, header.record.length))}: expected ${header.record.length} fields, found ${record.length}`);
    }
    const ticker = record[columns.ticker]!;
    if (ticker === '') throw new DataError(`${at(columns.ticker)}: empty ticker`);
    const firstLine = firstLineOf.get(ticker);
    if (firstLine !== undefined) throw new DataError(`${at(columns.ticker)}: duplicate ticker ${ticker} (first on line ${firstLine})`);
    firstLineOf.set(ticker, info.lines);

    const sharesText = record[columns.shares]!;
    const shares = parseDecimal(sharesText);
    if (shares === null) throw new DataError(`${at(columns.shares)}: shares "${sharesText}" is not a number`);
    if (ticker === CASH_TICKER) {
      cash = shares;
      continue;
    }
    if (!Number.isInteger(shares)) throw new DataError(`${at(columns.shares)}: shares ${sharesText} of ${ticker} is not a whole number of shares`);
    const price = columns.price === null ? null : optionalPrice(record[columns.price]!, at(columns.price));
    if (price !== null) prices.set(ticker, price);
    if (shares !== 0) positions.push({ ticker, shares });
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
