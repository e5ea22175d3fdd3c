import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CsvError, parse } from 'csv-parse/sync';
import { z } from 'zod';
import { round } from '../artifacts/csv.js';
import { DataError, UsageError } from '../core/errors.js';
import type { TradeRow } from '../trading/trades.js';

/** One order as trades.csv states it: what an approver signs off and a broker adapter receives. */
export type ApprovedOrder = Pick<TradeRow, 'ticker' | 'action' | 'shares' | 'estimated_value' | 'price' | 'reason'>;

export const TRADES_FILE = 'trades.csv';
export const SUMMARY_FILE = 'portfolio_summary.json';
export const TRADES_HEADER = ['ticker', 'action', 'shares', 'estimated_value', 'price', 'reason'] as const;

const REASONS: ReadonlySet<string> = new Set<TradeRow['reason']>(['new_position', 'increase_weight', 'decrease_weight', 'exit_position']);
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A rebalance output directory as approval and submission read it. */
export interface RunDirectory {
  readonly dir: string;
  /** trades.csv exactly as on disk: the approval's hash covers these bytes, and the orders are parsed from them. */
  readonly tradesBytes: Buffer;
  readonly tradesSha256: string;
  readonly orders: readonly ApprovedOrder[];
  readonly date: string;
  readonly portfolioId: string;
}

const SummarySchema = z.looseObject({ date: z.string().min(1), portfolio_id: z.string().min(1) });

/**
 * Reads trades.csv and portfolio_summary.json of a `rebalance`/`run` output directory. A missing
 * file means the directory is not one (usage, exit 2); a malformed one is a data error (exit 4).
 */
export async function readRunDirectory(dir: string): Promise<RunDirectory> {
  const tradesPath = join(dir, TRADES_FILE);
  const summaryPath = join(dir, SUMMARY_FILE);
  const tradesBytes = await readRequired(tradesPath);
  const summaryText = (await readRequired(summaryPath)).toString('utf8');
  let summary: unknown;
  try {
    summary = JSON.parse(summaryText);
  } catch (error) {
    throw new DataError(`${summaryPath}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = SummarySchema.safeParse(summary);
  if (!parsed.success) throw new DataError(`${summaryPath}: expected string fields "date" and "portfolio_id"`);
  return {
    dir,
    tradesBytes,
    tradesSha256: sha256(tradesBytes),
    orders: parseTradesCsv(tradesBytes.toString('utf8'), tradesPath),
    date: parsed.data.date,
    portfolioId: parsed.data.portfolio_id,
  };
}

/** Σ estimated_value, to the cent. */
export function grossValue(orders: readonly ApprovedOrder[]): number {
  return round(orders.reduce((sum, o) => sum + o.estimated_value, 0), 2);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readRequired(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${path} not found: --output-dir must be the output directory of a rebalance or run`);
    throw new DataError(`${path}: cannot read (${code ?? (error as Error).message})`);
  }
}

interface RawRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/** trades.csv rows, strictly checked: every fault names `file:line:column`. */
export function parseTradesCsv(text: string, source: string): ApprovedOrder[] {
  let records: RawRecord[];
  try {
    // csv-parse's typings do not model `info: true`, which wraps each record with its line number.
    records = parse(text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: true }) as unknown as RawRecord[];
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const line = typeof error.lines === 'number' ? error.lines : 0;
    throw new DataError(`${source}:${line}: malformed CSV (${error.message})`);
  }
  const [header, ...rows] = records;
  if (header === undefined || header.record.join(',') !== TRADES_HEADER.join(',')) {
    throw new DataError(`${source}:1:1: expected the header "${TRADES_HEADER.join(',')}", found "${header?.record.join(',') ?? ''}"`);
  }
  const seen = new Map<string, number>();
  return rows.map(({ record, info }) => {
    const at = (column: number): string => `${source}:${info.lines}:${column + 1}`;
    if (record.length !== TRADES_HEADER.length) throw new DataError(`${at(0)}: expected ${TRADES_HEADER.length} fields, found ${record.length}`);
    const [ticker, action, sharesText, valueText, priceText, reason] = record as [string, string, string, string, string, string];
    if (ticker === '') throw new DataError(`${at(0)}: empty ticker`);
    const first = seen.get(ticker);
    if (first !== undefined) throw new DataError(`${at(0)}: duplicate ticker ${ticker} (first on line ${first})`);
    seen.set(ticker, info.lines);
    if (action !== 'BUY' && action !== 'SELL') throw new DataError(`${at(1)}: action "${action}" of ${ticker} is not BUY or SELL`);
    const shares = number(sharesText);
    if (shares === null || !Number.isInteger(shares) || shares <= 0) throw new DataError(`${at(2)}: shares "${sharesText}" of ${ticker} is not a positive whole number`);
    const estimatedValue = number(valueText);
    if (estimatedValue === null || estimatedValue < 0) throw new DataError(`${at(3)}: estimated_value "${valueText}" of ${ticker} is not a number ≥ 0`);
    const price = number(priceText);
    if (price === null || price <= 0) throw new DataError(`${at(4)}: price "${priceText}" of ${ticker} is not a positive number`);
    if (!REASONS.has(reason)) throw new DataError(`${at(5)}: reason "${reason}" of ${ticker} is not one of ${[...REASONS].join(', ')}`);
    return { ticker, action, shares, estimated_value: estimatedValue, price, reason: reason as TradeRow['reason'] };
  });
}

function number(text: string): number | null {
  if (!DECIMAL.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
