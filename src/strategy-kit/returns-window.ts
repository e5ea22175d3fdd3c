import { DataError } from '../core/errors.js';
import { columnMoments as kernelColumnMoments } from '../kernels/kernels.js';
import type { PointInTimeMarket } from '../data/panel.js';

/** Trailing daily returns ending at D: `sessions × names`, row-major, row 0 oldest, NaN where missing. */
export interface ReturnsWindow {
  readonly returns: Float64Array;
  readonly sessions: number;
  readonly names: number;
}

/**
 * The last `sessions` daily returns at D. A history shorter than the window is a loading problem
 * (too little warm-up), so it fails loudly instead of quietly estimating on fewer sessions.
 */
export function trailingReturnsWindow(market: PointInTimeMarket, sessions: number, strategy: string): ReturnsWindow {
  if (market.history < sessions + 1) {
    throw new DataError(
      `${strategy} at ${market.date}: needs ${sessions} daily returns (${sessions + 1} sessions of closes) but the history holds ` +
        `${market.history} session(s); load at least ${sessions + 1} sessions up to the first date`,
    );
  }
  return { returns: market.returns(sessions), sessions, names: market.tickers.length };
}

/** Per-name moments over the finite returns of a window, each array aligned with the tickers. */
export interface ColumnMoments {
  /** Finite returns per name. */
  readonly observations: Int32Array;
  /** Mean of the finite returns; NaN with no observation. */
  readonly means: Float64Array;
  /** Σ (r − mean)². */
  readonly sumSquares: Float64Array;
  /** Σ (r − mean)⁴. */
  readonly sumFourthPowers: Float64Array;
}

/**
 * Two passes per name (mean first, then centred powers): summing raw powers in one pass loses
 * the fourth moment of returns ~1e-2 to cancellation. Computed by the SIMD column kernel, which
 * sums each name in session order exactly as a loop over its series would.
 */
export function columnMoments(window: ReturnsWindow): ColumnMoments {
  const { sessions, names } = window;
  const { observations, means, sumSquares, sumFourthPowers } = kernelColumnMoments(window.returns, sessions, names, { counted: 'finite', emptyMean: Number.NaN, fourthPowers: true });
  for (let i = 0; i < names; i++) {
    if (!isRoundingNoise(sumSquares[i]!, observations[i]!, means[i]!)) continue;
    sumSquares[i] = 0;
    sumFourthPowers[i] = 0;
  }
  return { observations, means, sumSquares, sumFourthPowers };
}

/**
 * A constant series must read as flat: the rounded mean of n equal returns c is off by up to
 * ~n·ε·|c|, which leaves ~1e-33 of "variance" and would give it an arbitrary DW or kurtosis.
 */
function isRoundingNoise(sumSquares: number, observations: number, mean: number): boolean {
  const meanError = observations * Number.EPSILON * Math.abs(mean);
  return sumSquares <= observations * meanError * meanError;
}
