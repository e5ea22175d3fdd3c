import { DataError } from '../core/errors.js';

export type TradeAction = 'BUY' | 'SELL';
export type TradeReason = 'new_position' | 'increase_weight' | 'decrease_weight' | 'exit_position';

/** One row of trades.csv (seed §5.2) plus the sizing behind it. */
export interface TradeRow {
  readonly ticker: string;
  readonly action: TradeAction;
  /** Whole shares, > 0. */
  readonly shares: number;
  /** shares × price, rounded to cents. */
  readonly estimated_value: number;
  readonly price: number;
  readonly reason: TradeReason;
  readonly current_shares: number;
  readonly target_shares: number;
  readonly target_weight: number;
}

export interface TradeInput {
  /** Sorted; every array below is aligned with it. */
  readonly tickers: readonly string[];
  readonly targetWeights: Float64Array;
  /** Whole shares held now (negative = short). */
  readonly currentShares: Float64Array;
  /** Price per share at D; NaN where unknown. */
  readonly prices: Float64Array;
  readonly portfolioValue: number;
  /** Trades worth less than this are dropped, except exits. */
  readonly minTradeValue: number;
}

/**
 * Orders that move current holdings to the target (seed §4.1), one row per ticker that trades,
 * in ticker order. target_shares = trunc(w·V/price): toward zero, so a long never overshoots its
 * weight and a short never oversells.
 *
 * Trades below `minTradeValue` are not worth their costs and are dropped, except exits: a
 * residual position the target no longer holds would otherwise linger in the book forever.
 */
export function generateTrades(input: TradeInput): TradeRow[] {
  const { tickers, targetWeights, currentShares, prices, portfolioValue, minTradeValue } = input;
  checkLengths(tickers, [targetWeights, currentShares, prices]);
  checkPortfolioValue(portfolioValue);
  if (!(minTradeValue >= 0)) throw new RangeError(`minimum trade value must be ≥ 0, got ${minTradeValue}`);
  const rows: TradeRow[] = [];
  for (let i = 0; i < tickers.length; i++) {
    const ticker = tickers[i]!;
    const weight = targetWeights[i]!;
    const current = currentShares[i]!;
    if (!Number.isInteger(current)) throw new DataError(`${ticker}: current shares ${current} is not a whole number`);
    if (weight === 0 && current === 0) continue;
    const price = priceFor(ticker, prices[i]!);
    const target = wholeShares((weight * portfolioValue) / price);
    const delta = target - current;
    if (delta === 0) continue;
    const reason = reasonFor(current, target);
    const value = Math.abs(delta) * price;
    if (value < minTradeValue && reason !== 'exit_position') continue;
    rows.push({
      ticker,
      action: delta > 0 ? 'BUY' : 'SELL',
      shares: Math.abs(delta),
      estimated_value: roundToCents(value),
      price,
      reason,
      current_shares: current,
      target_shares: target,
      target_weight: weight,
    });
  }
  return rows;
}

/** Weight of each holding at D: shares × price / portfolio value (0 for names not held). */
export function currentWeights(
  currentShares: Float64Array,
  prices: Float64Array,
  portfolioValue: number,
  tickers: readonly string[],
): Float64Array {
  checkLengths(tickers, [currentShares, prices]);
  checkPortfolioValue(portfolioValue);
  const weights = new Float64Array(currentShares.length);
  for (let i = 0; i < weights.length; i++) {
    const shares = currentShares[i]!;
    if (shares !== 0) weights[i] = (shares * priceFor(tickers[i]!, prices[i]!)) / portfolioValue;
  }
  return weights;
}

/**
 * Size-based: new/exit when one side is flat; a long turning short (or back) opens a new
 * position on the other side, so it reads as new_position.
 */
function reasonFor(current: number, target: number): TradeReason {
  if (current === 0) return 'new_position';
  if (target === 0) return 'exit_position';
  if (Math.sign(current) !== Math.sign(target)) return 'new_position';
  return Math.abs(target) > Math.abs(current) ? 'increase_weight' : 'decrease_weight';
}

function priceFor(ticker: string, price: number): number {
  if (!(price > 0) || !Number.isFinite(price)) throw new DataError(`${ticker} needs a trade but has no usable price (got ${price})`);
  return price;
}

function roundToCents(value: number): number {
  return Math.round(value * 100) / 100;
}

function checkPortfolioValue(portfolioValue: number): void {
  if (!(portfolioValue > 0) || !Number.isFinite(portfolioValue)) {
    throw new DataError(`portfolio value must be a positive amount, got ${portfolioValue}`);
  }
}

function checkLengths(tickers: readonly string[], arrays: readonly Float64Array[]): void {
  for (const array of arrays) {
    if (array.length !== tickers.length) throw new RangeError(`array of ${array.length} values for ${tickers.length} tickers`);
  }
}

/**
 * Truncate toward zero, but first absorb float noise: 0.3·0.3 + 0.35·0.2 − 0.35·0.1 of $100,000 at
 * $100 is 124.99999999999999 shares, which means 125. `+ 0` turns trunc's −0 into 0.
 */
const SHARE_EPSILON = 1e-6;
function wholeShares(exact: number): number {
  return Math.trunc(exact + Math.sign(exact) * SHARE_EPSILON) + 0;
}
