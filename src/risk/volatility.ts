import { DataError } from '../core/errors.js';
import type { PointInTimeMarket } from '../data/panel.js';

export const TRADING_DAYS_PER_YEAR = 252;
/** A held name observed on fewer than this share of the window has its risk understated. */
const THIN_HISTORY_SHARE = 0.5;

/** What w'Σw needs from the window, without the n×n covariance. */
export interface BookReturnProfile {
  /** p_t = Σ_i w_i·x_ti, oldest first; mean zero by construction. */
  readonly demeanedReturns: Float64Array;
  /** Σ_i w_i² s_ii. */
  readonly ownVarianceTerm: number;
  readonly thinHistoryNames: number;
}

/**
 * The book's daily return series over the window, reduced so the n×n covariance is never formed:
 * with X the demeaned T×n returns and S = X'X/(T−1), w'Sw = Σ_t p_t²/(T−1) where p = Xw, and
 * w'diag(S)w = Σ_i w_i² s_ii. Cost O(T × held names). `returns` is T×n row-major (row 0 oldest),
 * as `market.returns(T)` gives it.
 *
 * Missing returns are set to the name's window mean (0 after demeaning). Pairwise-complete
 * estimates would not give a positive semi-definite matrix; mean imputation does (it is still
 * X'X), at the price of understating the risk of names with little history — counted in
 * `thinHistoryNames` so the caller can say so.
 */
export function bookReturnProfile(returns: Float64Array, sessions: number, weights: Float64Array): BookReturnProfile {
  const n = weights.length;
  if (returns.length !== sessions * n) throw new RangeError(`returns hold ${returns.length} values, expected ${sessions}×${n}`);
  if (sessions < 2) throw new RangeError(`need at least 2 sessions of returns, got ${sessions}`);
  const held = heldIndices(weights);
  const means = new Float64Array(held.length);
  const observed = new Int32Array(held.length);
  for (let t = 0; t < sessions; t++) {
    const row = t * n;
    for (let k = 0; k < held.length; k++) {
      const r = returns[row + held[k]!]!;
      if (Number.isNaN(r)) continue;
      means[k] = means[k]! + r;
      observed[k] = observed[k]! + 1;
    }
  }
  let thinHistoryNames = 0;
  for (let k = 0; k < held.length; k++) {
    if (observed[k]! > 0) means[k] = means[k]! / observed[k]!;
    if (observed[k]! < THIN_HISTORY_SHARE * sessions) thinHistoryNames++;
  }

  const demeanedReturns = new Float64Array(sessions);
  const sumSquares = new Float64Array(held.length);
  for (let t = 0; t < sessions; t++) {
    const row = t * n;
    let p = 0;
    for (let k = 0; k < held.length; k++) {
      const i = held[k]!;
      const r = returns[row + i]!;
      if (Number.isNaN(r)) continue;
      const x = r - means[k]!;
      p += weights[i]! * x;
      sumSquares[k] = sumSquares[k]! + x * x;
    }
    demeanedReturns[t] = p;
  }
  let ownVarianceTerm = 0;
  for (let k = 0; k < held.length; k++) {
    const w = weights[held[k]!]!;
    ownVarianceTerm += (w * w * sumSquares[k]!) / (sessions - 1);
  }
  return { demeanedReturns, ownVarianceTerm, thinHistoryNames };
}

/** w'Σw for Σ = (1−δ)S + δ·diag(S), daily units. */
export function shrunkDailyVariance(profile: BookReturnProfile, shrinkage: number): number {
  const series = profile.demeanedReturns;
  let sumSquares = 0;
  for (let t = 0; t < series.length; t++) sumSquares += series[t]! * series[t]!;
  return (1 - shrinkage) * (sumSquares / (series.length - 1)) + shrinkage * profile.ownVarianceTerm;
}

export function annualisedVol(dailyVariance: number): number {
  return Math.sqrt(Math.max(0, dailyVariance) * TRADING_DAYS_PER_YEAR);
}

/**
 * The trailing window of daily returns ending at D. A short history is a data problem (the panel
 * was loaded without enough warm-up), not something to paper over with a shorter window.
 */
export function trailingReturns(market: PointInTimeMarket, sessions: number): Float64Array {
  if (market.history < sessions + 1) {
    throw new DataError(
      `volatility estimate at ${market.date} needs ${sessions} daily returns (${sessions + 1} sessions of closes); ` +
        `the panel has ${market.history} — load more history before the first date`,
    );
  }
  return market.returns(sessions);
}

export interface BookVolEstimate {
  /** Annualised volatility. */
  readonly vol: number;
  readonly profile: BookReturnProfile;
}

export function estimateBookVol(
  market: PointInTimeMarket,
  weights: Float64Array,
  window: number,
  shrinkage: number,
): BookVolEstimate {
  const profile = bookReturnProfile(trailingReturns(market, window), window, weights);
  return { vol: annualisedVol(shrunkDailyVariance(profile, shrinkage)), profile };
}

function heldIndices(weights: Float64Array): Int32Array {
  let count = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i] !== 0) count++;
  const held = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i] !== 0) held[k++] = i;
  return held;
}
