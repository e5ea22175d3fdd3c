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
  const { means, sumSquares, observed } = windowStats(returns, sessions, n);
  let thinHistoryNames = 0;
  let ownVarianceTerm = 0;
  for (let k = 0; k < held.length; k++) {
    const i = held[k]!;
    if (observed[i]! < THIN_HISTORY_SHARE * sessions) thinHistoryNames++;
    ownVarianceTerm += (weights[i]! * weights[i]! * sumSquares[i]!) / (sessions - 1);
  }
  const demeanedReturns = new Float64Array(sessions);
  for (let t = 0; t < sessions; t++) {
    const row = t * n;
    let p = 0;
    for (let k = 0; k < held.length; k++) {
      const i = held[k]!;
      const r = returns[row + i]!;
      if (!Number.isNaN(r)) p += weights[i]! * (r - means[i]!);
    }
    demeanedReturns[t] = p;
  }
  return { demeanedReturns, ownVarianceTerm, thinHistoryNames };
}

/** Per name over the window: mean of the observed returns, Σ(r − mean)², and how many were observed. */
interface WindowStats {
  readonly means: Float64Array;
  readonly sumSquares: Float64Array;
  readonly observed: Int32Array;
}

/**
 * The per-name statistics do not depend on the book, and replay sizes several books against the
 * same session's window: compute them once per window (keyed by its place in the panel's returns).
 */
const windowStatsCache = new WeakMap<ArrayBufferLike, { key: string; stats: WindowStats }>();

function windowStats(returns: Float64Array, sessions: number, n: number): WindowStats {
  const key = `${returns.byteOffset}:${returns.length}:${sessions}`;
  const cached = windowStatsCache.get(returns.buffer);
  if (cached?.key === key) return cached.stats;
  const means = new Float64Array(n);
  const observed = new Int32Array(n);
  for (let t = 0; t < sessions; t++) {
    const row = t * n;
    for (let i = 0; i < n; i++) {
      const r = returns[row + i]!;
      if (Number.isNaN(r)) continue;
      means[i] = means[i]! + r;
      observed[i] = observed[i]! + 1;
    }
  }
  for (let i = 0; i < n; i++) if (observed[i]! > 0) means[i] = means[i]! / observed[i]!;
  const sumSquares = new Float64Array(n);
  for (let t = 0; t < sessions; t++) {
    const row = t * n;
    for (let i = 0; i < n; i++) {
      const r = returns[row + i]!;
      if (Number.isNaN(r)) continue;
      const x = r - means[i]!;
      sumSquares[i] = sumSquares[i]! + x * x;
    }
  }
  const stats = { means, sumSquares, observed };
  windowStatsCache.set(returns.buffer, { key, stats });
  return stats;
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
