import { DataError } from '../core/errors.js';
import { gapFree, gapFreeMeansOfFour, sharedNameMajor, type NameMajorWindow } from '../data/name-major.js';
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
  const stats = windowStats(sharedNameMajor(returns, sessions, n), held);
  let thinHistoryNames = 0;
  let ownVarianceTerm = 0;
  for (let k = 0; k < held.length; k++) {
    const i = held[k]!;
    if (stats.observed[i]! < THIN_HISTORY_SHARE * sessions) thinHistoryNames++;
    ownVarianceTerm += (weights[i]! * weights[i]! * stats.sumSquares[i]!) / (sessions - 1);
  }
  return { demeanedReturns: bookSeries(stats.window, stats.means, weights, held), ownVarianceTerm, thinHistoryNames };
}

/**
 * p_t = Σ_k w_k·(x_tk − mean_k) over the held names, a missing return counting as its name's
 * mean; each p_t adds its terms in held-name order (exactly a row-by-row pass), read name by name
 * over contiguous series, four names per sweep so p is loaded and stored a quarter as often.
 * A missing return adds w·0, which leaves p_t unchanged (p_t starts at +0 and a sum never turns
 * into −0), so a sweep over four gap-free windows can skip the test and add the same terms.
 */
function bookSeries(window: NameMajorWindow, means: Float64Array, weights: Float64Array, held: Int32Array): Float64Array {
  const { values, stride, start, sessions } = window;
  const p = new Float64Array(sessions);
  let k = 0;
  for (; k + 3 < held.length; k += 4) {
    const ia = held[k]!;
    const ib = held[k + 1]!;
    const ic = held[k + 2]!;
    const id = held[k + 3]!;
    const a = ia * stride + start;
    const b = ib * stride + start;
    const c = ic * stride + start;
    const d = id * stride + start;
    const wa = weights[ia]!;
    const wb = weights[ib]!;
    const wc = weights[ic]!;
    const wd = weights[id]!;
    const ma = means[ia]!;
    const mb = means[ib]!;
    const mc = means[ic]!;
    const md = means[id]!;
    if (gapFree(window, ia) && gapFree(window, ib) && gapFree(window, ic) && gapFree(window, id)) {
      for (let t = 0; t < sessions; t++) {
        let sum = p[t]!;
        sum += wa * (values[a + t]! - ma);
        sum += wb * (values[b + t]! - mb);
        sum += wc * (values[c + t]! - mc);
        sum += wd * (values[d + t]! - md);
        p[t] = sum;
      }
      continue;
    }
    for (let t = 0; t < sessions; t++) {
      const ra = values[a + t]!;
      const rb = values[b + t]!;
      const rc = values[c + t]!;
      const rd = values[d + t]!;
      let sum = p[t]!;
      sum += wa * (Number.isNaN(ra) ? 0 : ra - ma);
      sum += wb * (Number.isNaN(rb) ? 0 : rb - mb);
      sum += wc * (Number.isNaN(rc) ? 0 : rc - mc);
      sum += wd * (Number.isNaN(rd) ? 0 : rd - md);
      p[t] = sum;
    }
  }
  for (; k < held.length; k++) {
    const first = held[k]! * stride + start;
    const w = weights[held[k]!]!;
    const mean = means[held[k]!]!;
    for (let t = 0; t < sessions; t++) {
      const r = values[first + t]!;
      p[t] = p[t]! + w * (Number.isNaN(r) ? 0 : r - mean);
    }
  }
  return p;
}

/** Per name over a window: the mean of its observed returns, Σ(r − mean)² over them, and how many were observed. */
export interface WindowStatArrays {
  readonly means: Float64Array;
  readonly sumSquares: Float64Array;
  readonly observed: Int32Array;
}

interface WindowStats extends WindowStatArrays {
  readonly window: NameMajorWindow;
  /** 1 where the name's entries are filled in. */
  readonly ready: Uint8Array;
}

/**
 * The per-name statistics do not depend on the book, and replay sizes several books against the
 * same session's window: they are kept for the latest window and filled in for each name the
 * first time a book holds it, so names no book holds cost nothing — or adopted whole from
 * replay's strategy worker, which computes them ahead (`adoptWindowStats`).
 */
let latestStats: WindowStats | null = null;

function windowStats(window: NameMajorWindow, held: Int32Array): WindowStats {
  const { names } = window;
  let stats = latestStats;
  if (stats?.window !== window) {
    stats = { window, means: new Float64Array(names), sumSquares: new Float64Array(names), observed: new Int32Array(names), ready: new Uint8Array(names) };
    latestStats = stats;
  }
  for (let k = 0; k < held.length; k++) {
    const i = held[k]!;
    if (stats.ready[i] === 1) continue;
    fillNameStats(window, i, stats);
    stats.ready[i] = 1;
  }
  return stats;
}

/** Every name's statistics over the window of `returns` (as `bookReturnProfile` reads it), into `into`. */
export function computeWindowStats(returns: Float64Array, sessions: number, names: number, into: WindowStatArrays): void {
  const window = sharedNameMajor(returns, sessions, names);
  let i = 0;
  for (; i + 3 < names; i += 4) {
    if (gapFree(window, i) && gapFree(window, i + 1) && gapFree(window, i + 2) && gapFree(window, i + 3)) fillFourGapFree(window, i, into);
    else for (let k = i; k < i + 4; k++) fillNameStats(window, k, into);
  }
  for (; i < names; i++) fillNameStats(window, i, into);
}

/**
 * `fillNameStats` for four gap-free names at once, each summed in its own order exactly as alone:
 * one name's sums are a chain of dependent additions, and four chains side by side keep the
 * processor busy while each addition waits for the one before.
 */
function fillFourGapFree(window: NameMajorWindow, i: number, { means, sumSquares, observed }: WindowStatArrays): void {
  const { values, stride, start, sessions } = window;
  const a = i * stride + start;
  const b = a + stride;
  const c = b + stride;
  const d = c + stride;
  gapFreeMeansOfFour(window, i, means);
  const ma = means[i]!;
  const mb = means[i + 1]!;
  const mc = means[i + 2]!;
  const md = means[i + 3]!;
  let qa = 0;
  let qb = 0;
  let qc = 0;
  let qd = 0;
  for (let t = 0; t < sessions; t++) {
    qa += (values[a + t]! - ma) * (values[a + t]! - ma);
    qb += (values[b + t]! - mb) * (values[b + t]! - mb);
    qc += (values[c + t]! - mc) * (values[c + t]! - mc);
    qd += (values[d + t]! - md) * (values[d + t]! - md);
  }
  means[i] = ma;
  means[i + 1] = mb;
  means[i + 2] = mc;
  means[i + 3] = md;
  sumSquares[i] = qa;
  sumSquares[i + 1] = qb;
  sumSquares[i + 2] = qc;
  sumSquares[i + 3] = qd;
  observed[i] = sessions;
  observed[i + 1] = sessions;
  observed[i + 2] = sessions;
  observed[i + 3] = sessions;
}

/** Statistics another thread computed with `computeWindowStats` for the same window: used instead of computing them here. */
export function adoptWindowStats(returns: Float64Array, sessions: number, names: number, computed: WindowStatArrays): void {
  latestStats = { window: sharedNameMajor(returns, sessions, names), ...computed, ready: new Uint8Array(names).fill(1) };
}

function fillNameStats(window: NameMajorWindow, i: number, { means, sumSquares, observed }: WindowStatArrays): void {
  const { values, stride, start, sessions } = window;
  const first = i * stride + start;
  const end = first + sessions;
  let sum = 0;
  let squares = 0;
  let count = sessions;
  if (gapFree(window, i)) {
    for (let cell = first; cell < end; cell++) sum += values[cell]!;
    const mean = sum / sessions;
    for (let cell = first; cell < end; cell++) squares += (values[cell]! - mean) * (values[cell]! - mean);
    means[i] = mean;
  } else {
    count = 0;
    for (let cell = first; cell < end; cell++) {
      const r = values[cell]!;
      if (Number.isNaN(r)) continue;
      sum += r;
      count++;
    }
    const mean = count > 0 ? sum / count : 0;
    for (let cell = first; cell < end; cell++) {
      const r = values[cell]!;
      if (Number.isNaN(r)) continue;
      squares += (r - mean) * (r - mean);
    }
    means[i] = mean;
  }
  sumSquares[i] = squares;
  observed[i] = count;
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
