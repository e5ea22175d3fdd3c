import { DataError } from '../core/errors.js';
import { nameMajor } from '../data/name-major.js';
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
  const { sumSquares, observed, centred } = windowStats(returns, sessions, n);
  let thinHistoryNames = 0;
  let ownVarianceTerm = 0;
  for (let k = 0; k < held.length; k++) {
    const i = held[k]!;
    if (observed[i]! < THIN_HISTORY_SHARE * sessions) thinHistoryNames++;
    ownVarianceTerm += (weights[i]! * weights[i]! * sumSquares[i]!) / (sessions - 1);
  }
  // Name by name over contiguous columns; each p_t still adds its terms in held-name order, so
  // the sums are exactly those of a row-by-row pass. A missing return is stored as 0, and adding
  // w·0 leaves p_t unchanged (p_t starts at +0 and a sum never turns into −0).
  const demeanedReturns = new Float64Array(sessions);
  for (let k = 0; k < held.length; k++) {
    const i = held[k]!;
    const w = weights[i]!;
    const column = i * sessions;
    for (let t = 0; t < sessions; t++) demeanedReturns[t] = demeanedReturns[t]! + w * centred[column + t]!;
  }
  return { demeanedReturns, ownVarianceTerm, thinHistoryNames };
}

/** Per name over the window: Σ(r − mean)² of the observed returns, how many were observed, and the centred returns. */
interface WindowStats {
  readonly sumSquares: Float64Array;
  readonly observed: Int32Array;
  /** r − mean, name-major (name i's window at i·sessions, oldest first); 0 where the return is missing. */
  readonly centred: Float64Array;
}

/**
 * The per-name statistics do not depend on the book, and replay sizes several books against the
 * same session's window: compute them once per window (keyed by its place in the panel's returns).
 * The next window of the same shape reuses the arrays instead of allocating megabytes per session.
 */
const windowStatsCache = new WeakMap<ArrayBufferLike, { key: string; stats: WindowStats }>();

function windowStats(returns: Float64Array, sessions: number, n: number): WindowStats {
  const key = `${returns.byteOffset}:${returns.length}:${sessions}`;
  const cached = windowStatsCache.get(returns.buffer);
  if (cached?.key === key) return cached.stats;
  const reusable = cached !== undefined && cached.stats.observed.length === n;
  const sumSquares = reusable ? cached.stats.sumSquares : new Float64Array(n);
  const observed = reusable ? cached.stats.observed : new Int32Array(n);
  // Centred in place below.
  const centred = nameMajor(returns, sessions, n, reusable ? cached.stats.centred : undefined);
  for (let i = 0; i < n; i++) {
    const column = i * sessions;
    let sum = 0;
    let count = 0;
    for (let t = 0; t < sessions; t++) {
      const r = centred[column + t]!;
      if (Number.isNaN(r)) continue;
      sum += r;
      count++;
    }
    const mean = count > 0 ? sum / count : 0;
    let squares = 0;
    for (let t = 0; t < sessions; t++) {
      const r = centred[column + t]!;
      const x = Number.isNaN(r) ? 0 : r - mean;
      squares += x * x;
      centred[column + t] = x;
    }
    sumSquares[i] = squares;
    observed[i] = count;
  }
  const stats = { sumSquares, observed, centred };
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
