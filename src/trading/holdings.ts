import { readFile } from 'node:fs/promises';
import { CsvError, parse } from 'csv-parse/sync';
import type { IsoDate } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import type { PointInTimeMarket } from '../data/panel.js';
import type { Holdings } from '../state/store.js';
import { tickerPositions } from '../data/ticker-index.js';

/** Ticker of the row that carries the cash balance in a holdings file. */
export const CASH_TICKER = 'CASH';
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface HoldingPosition {
  readonly ticker: string;
  /** Whole shares, never 0. */
  readonly shares: number;
  /** Close at D, or the file's price where the market has none. */
  readonly price: number;
}

export interface ParsedHoldings {
  /** Sorted by ticker. */
  readonly positions: readonly HoldingPosition[];
  readonly cash: number;
}

export interface HoldingsContext {
  /** File name used in error messages. */
  readonly source: string;
  readonly date: IsoDate;
  /** The market's sorted tickers and their closes at D, aligned. */
  readonly tickers: readonly string[];
  readonly closes: Float64Array;
}

export interface FileLayout {
  /** Column holding the share count. */
  readonly sharesColumn: string;
  readonly allowShorts: boolean;
  readonly allowCashRow: boolean;
}

/**
 * A broker holdings file: `ticker,shares[,price]`, plus an optional `CASH` row whose shares
 * column is the cash balance (may be negative: a margin debit). It describes a long-only account,
 * so negative shares are an error. The price column is a fallback for names without a close at D.
 */
export function parseHoldingsCsv(text: string, context: HoldingsContext): ParsedHoldings {
  return parsePositions(text, context, { sharesColumn: 'shares', allowShorts: false, allowCashRow: true });
}

/**
 * A previous run's picks.csv used as `--prior-holdings`: shares from `target_shares`. Kairos
 * writes it for the netted book, which may hold shorts, so negative share counts are accepted.
 */
export function parsePriorPicksCsv(text: string, context: HoldingsContext): ParsedHoldings {
  return parsePositions(text, context, { sharesColumn: 'target_shares', allowShorts: true, allowCashRow: false });
}

/** `holdings`: a broker holdings file (`--holdings`); `picks`: a previous picks.csv (`--prior-holdings`). */
export type HoldingsFileKind = 'holdings' | 'picks';

/** Reads and validates a holdings or picks file against the market at D. */
export async function readHoldingsFile(path: string, kind: HoldingsFileKind, market: PointInTimeMarket): Promise<Holdings> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DataError(`${path}: cannot read ${kind} file (${error instanceof Error ? error.message : String(error)})`);
  }
  const context: HoldingsContext = { source: path, date: market.date, tickers: market.tickers, closes: market.field('close') };
  const parsed = kind === 'holdings' ? parseHoldingsCsv(text, context) : parsePriorPicksCsv(text, context);
  return { asOf: market.date, cash: parsed.cash, positions: parsed.positions };
}

/** Shares per ticker as a dense vector aligned with `tickers` (0 where not held). */
export function sharesVector(positions: readonly Pick<HoldingPosition, 'ticker' | 'shares'>[], tickers: readonly string[]): Float64Array {
  const indexOf = tickerPositions(tickers);
  const shares = new Float64Array(tickers.length);
  for (const position of positions) {
    const i = indexOf.get(position.ticker);
    if (i === undefined) throw new RangeError(`${position.ticker} is not among the market's tickers`);
    shares[i] = position.shares;
  }
  return shares;
}

/** The inverse of `sharesVector`: the non-zero shares as positions, in ticker order. */
export function positionsFromShares(shares: Float64Array, tickers: readonly string[]): { ticker: string; shares: number }[] {
  const positions: { ticker: string; shares: number }[] = [];
  for (let i = 0; i < shares.length; i++) if (shares[i] !== 0) positions.push({ ticker: tickers[i]!, shares: shares[i]! });
  return positions;
}

/** Cash plus every position at its price. */
export function holdingsValue(holdings: ParsedHoldings): number {
  let value = holdings.cash;
  for (const position of holdings.positions) value += position.shares * position.price;
  return value;
}

interface RawRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/** One data row of a positions file, checked for what every positions format shares. */
export interface PositionRow {
  readonly ticker: string;
  /** Shares, or the balance on the CASH row. */
  readonly amount: number;
  readonly isCash: boolean;
  /** The row's price column, when the file has one and the cell is filled. */
  readonly filePrice: number | null;
  /** `file:line:column` of a cell, for error messages. */
  readonly at: (cell: 'ticker' | 'shares' | 'price') => string;
}

/**
 * The rows of a `ticker,<shares column>[,price]` file: field counts, empty and duplicate tickers,
 * numbers, whole shares and (unless shorts are allowed) negative shares are checked here, with
 * the file, line and column of the fault; what a row means is the caller's business.
 */
export function positionRows(text: string, source: string, layout: FileLayout): PositionRow[] {
  const [header, ...records] = readRecords(text, source);
  if (!header) throw new DataError(`${source}:1:1: empty file, expected a header with "ticker,${layout.sharesColumn}"`);
  const columns = headerColumns(header, layout, source);
  const firstLineOf = new Map<string, number>();
  return records.map(({ record, info }) => {
    const cellAt = (column: number): string => `${source}:${info.lines}:${column + 1}`;
    const at = (cell: 'ticker' | 'shares' | 'price'): string => cellAt(cell === 'price' ? (columns.price ?? columns.ticker) : columns[cell]);
    if (record.length !== header.record.length) {
      throw new DataError(`${cellAt(Math.min(record.length, header.record.length))}: expected ${header.record.length} fields, found ${record.length}`);
    }
    const ticker = record[columns.ticker]!;
    if (ticker === '') throw new DataError(`${at('ticker')}: empty ticker`);
    const firstLine = firstLineOf.get(ticker);
    if (firstLine !== undefined) throw new DataError(`${at('ticker')}: duplicate ticker ${ticker} (first on line ${firstLine})`);
    firstLineOf.set(ticker, info.lines);

    const amountText = record[columns.shares]!;
    const amount = parseDecimal(amountText);
    if (amount === null) throw new DataError(`${at('shares')}: ${layout.sharesColumn} "${amountText}" is not a number`);
    const isCash = layout.allowCashRow && ticker === CASH_TICKER;
    if (!isCash) {
      if (!Number.isInteger(amount)) throw new DataError(`${at('shares')}: ${layout.sharesColumn} ${amountText} of ${ticker} is not a whole number of shares`);
      if (amount < 0 && !layout.allowShorts) throw new DataError(`${at('shares')}: negative shares ${amountText} of ${ticker} in a long-only holdings file`);
    }
    const filePrice = columns.price === null ? null : optionalPrice(record[columns.price]!, at('price'));
    return { ticker, amount, isCash, filePrice, at };
  });
}

function parsePositions(text: string, context: HoldingsContext, layout: FileLayout): ParsedHoldings {
  const tickerIndex = tickerPositions(context.tickers);
  const positions: HoldingPosition[] = [];
  let cash = 0;
  for (const row of positionRows(text, context.source, layout)) {
    if (row.isCash) {
      cash = row.amount;
      continue;
    }
    const index = tickerIndex.get(row.ticker);
    if (index === undefined) throw new DataError(`${row.at('ticker')}: unknown ticker ${row.ticker} (not in the market data)`);
    if (row.amount === 0) continue;
    const close = context.closes[index]!;
    // The market's close wins: it is the price every other stage uses for D.
    const price = close > 0 && Number.isFinite(close) ? close : row.filePrice;
    if (price === null) throw new DataError(`${row.at('price')}: ${row.ticker} has no price at ${context.date} in the market data${row.at('price') === row.at('ticker') ? '' : ' or in the file'}`);
    positions.push({ ticker: row.ticker, shares: row.amount, price });
  }
  positions.sort((a, b) => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0));
  return { positions, cash };
}

function readRecords(text: string, source: string): RawRecord[] {
  try {
    const records: unknown = parse(text, { bom: true, info: true, trim: true, skip_empty_lines: true, relax_column_count: true });
    // csv-parse's typings do not model `info: true`, which wraps each record with its line number.
    return records as RawRecord[];
  } catch (error) {
    if (error instanceof CsvError) {
      const line = typeof error.lines === 'number' ? error.lines : 0;
      const column = typeof error.column === 'number' ? error.column + 1 : 1;
      throw new DataError(`${source}:${line}:${column}: malformed CSV (${error.message})`);
    }
    throw error;
  }
}

function headerColumns(
  header: RawRecord,
  layout: FileLayout,
  source: string,
): { ticker: number; shares: number; price: number | null } {
  const names = header.record.map((name) => name.toLowerCase());
  const seen = new Set<string>();
  names.forEach((name, column) => {
    if (seen.has(name)) throw new DataError(`${source}:${header.info.lines}:${column + 1}: duplicate column "${name}"`);
    seen.add(name);
  });
  const required = (name: string): number => {
    const column = names.indexOf(name);
    if (column < 0) {
      throw new DataError(`${source}:${header.info.lines}:1: missing column "${name}" (header: ${header.record.join(',')})`);
    }
    return column;
  };
  const price = names.indexOf('price');
  return { ticker: required('ticker'), shares: required(layout.sharesColumn), price: price < 0 ? null : price };
}

function parseDecimal(text: string): number | null {
  if (!DECIMAL.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** An empty price cell means "not given"; anything else must be a positive number. */
function optionalPrice(text: string, at: string): number | null {
  if (text === '') return null;
  const price = parseDecimal(text);
  if (price === null || price <= 0) throw new DataError(`${at}: price "${text}" is not a positive number`);
  return price;
}
