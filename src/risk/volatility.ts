import { DataError } from '../core/errors.js';
import { nonZeroIndices } from '../core/vectors.js';
import { columnMoments, isImmutable, weightedRowSums } from '../kernels/kernels.js';
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
  const held = nonZeroIndices(weights);
  const stats = windowStats(returns, sessions, n);
  const heldWeights = new Float64Array(held.length);
  const heldMeans = new Float64Array(held.length);
  let thinHistoryNames = 0;
  let ownVarianceTerm = 0;
  for (let k = 0; k < held.length; k++) {
    const i = held[k]!;
    if (stats.observed[i]! < THIN_HISTORY_SHARE * sessions) thinHistoryNames++;
    ownVarianceTerm += (weights[i]! * weights[i]! * stats.sumSquares[i]!) / (sessions - 1);
    heldWeights[k] = weights[i]!;
    heldMeans[k] = stats.means[i]!;
  }
  // p_t = Σ_k w_k·(x_tk − mean_k) in held-name order, a missing return counting as its name's mean.
  return { demeanedReturns: weightedRowSums(returns, sessions, n, held, heldWeights, heldMeans), ownVarianceTerm, thinHistoryNames };
}

/** Per name over a window: the mean of its observed returns, Σ(r − mean)² over them, and how many were observed. */
export interface WindowStatArrays {
  readonly means: Float64Array;
  readonly sumSquares: Float64Array;
  readonly observed: Int32Array;
}

/**
 * The per-name statistics do not depend on the book, and replay sizes several books against the
 * same session's window: those of the latest window of the panel's (immutable) returns are kept —
 * or adopted from replay's strategy worker, which computes them ahead (`adoptWindowStats`).
 */
let latestStats: { readonly window: WindowKey; readonly stats: WindowStatArrays } | null = null;

interface WindowKey {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly length: number;
}

function sameWindow(key: WindowKey, returns: Float64Array): boolean {
  return key.buffer === returns.buffer && key.byteOffset === returns.byteOffset && key.length === returns.length;
}

function windowStats(returns: Float64Array, sessions: number, names: number): WindowStatArrays {
  if (latestStats && sameWindow(latestStats.window, returns)) return latestStats.stats;
  const stats: WindowStatArrays = { means: new Float64Array(names), sumSquares: new Float64Array(names), observed: new Int32Array(names) };
  computeWindowStats(returns, sessions, names, stats);
  if (isImmutable(returns)) latestStats = { window: returns, stats };
  return stats;
}

/** Every name's statistics over the window `returns` (as `bookReturnProfile` reads it), into `into`. */
export function computeWindowStats(returns: Float64Array, sessions: number, names: number, into: WindowStatArrays): void {
  const moments = columnMoments(returns, sessions, names, { counted: 'not-nan', emptyMean: 0, fourthPowers: false });
  into.means.set(moments.means);
  into.sumSquares.set(moments.sumSquares);
  into.observed.set(moments.observations);
}

/** Statistics another thread computed with `computeWindowStats` for the same window: used instead of computing them here. */
export function adoptWindowStats(returns: Float64Array, sessions: number, names: number, computed: WindowStatArrays): void {
  if (returns.length !== sessions * names || computed.means.length !== names) throw new RangeError(`statistics for ${computed.means.length} names do not fit a ${sessions} × ${names} window`);
  if (isImmutable(returns)) latestStats = { window: returns, stats: computed };
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
