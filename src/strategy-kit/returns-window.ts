import { DataError } from '../core/errors.js';
import { gapFree, gapFreeMeansOfFour, sharedNameMajor, type NameMajorWindow } from '../data/name-major.js';
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
 * the fourth moment of returns ~1e-2 to cancellation. The passes read the window's shared
 * name-major copy (`sharedNameMajor`), so each name's series is contiguous memory.
 */
export function columnMoments(window: ReturnsWindow): ColumnMoments {
  const { sessions, names } = window;
  const byName = sharedNameMajor(window.returns, sessions, names);
  const observations = new Int32Array(names);
  const means = new Float64Array(names);
  const sumSquares = new Float64Array(names);
  const sumFourthPowers = new Float64Array(names);
  const moments = { observations, means, sumSquares, sumFourthPowers };
  let i = 0;
  for (; i + 3 < names; i += 4) {
    if (gapFree(byName, i) && gapFree(byName, i + 1) && gapFree(byName, i + 2) && gapFree(byName, i + 3)) fourGapFreeMoments(byName, i, moments);
    else for (let k = i; k < i + 4; k++) nameMoments(byName, k, moments);
  }
  for (; i < names; i++) nameMoments(byName, i, moments);
  return moments;
}

function nameMoments(byName: NameMajorWindow, i: number, moments: ColumnMoments): void {
  const { values: series, stride, start, sessions } = byName;
  const first = i * stride + start;
  const end = first + sessions;
  // A gap-free window (most are) adds the same terms without testing each return.
  const complete = gapFree(byName, i);
  let count = 0;
  let sum = 0;
  if (complete) {
    for (let cell = first; cell < end; cell++) sum += series[cell]!;
    count = sessions;
  } else {
    for (let cell = first; cell < end; cell++) {
      const r = series[cell]!;
      if (!Number.isFinite(r)) continue;
      sum += r;
      count++;
    }
  }
  const mean = count > 0 ? sum / count : Number.NaN;
  let squares = 0;
  let fourthPowers = 0;
  for (let cell = first; cell < end; cell++) {
    const r = series[cell]!;
    if (!complete && !Number.isFinite(r)) continue;
    const squared = (r - mean) * (r - mean);
    squares += squared;
    fourthPowers += squared * squared;
  }
  storeMoments(moments, i, count, mean, squares, fourthPowers);
}

function storeMoments({ observations, means, sumSquares, sumFourthPowers }: ColumnMoments, i: number, count: number, mean: number, squares: number, fourthPowers: number): void {
  const flat = isRoundingNoise(squares, count, mean);
  observations[i] = count;
  means[i] = mean;
  sumSquares[i] = flat ? 0 : squares;
  sumFourthPowers[i] = flat ? 0 : fourthPowers;
}

/**
 * `nameMoments` for four gap-free names at once, each summed in its own order exactly as alone:
 * one name's sums are chains of dependent additions, and four side by side keep the processor
 * busy while each addition waits for the one before.
 */
function fourGapFreeMoments(window: NameMajorWindow, i: number, moments: ColumnMoments): void {
  const { values, stride, start, sessions } = window;
  const a = i * stride + start;
  const b = a + stride;
  const c = b + stride;
  const d = c + stride;
  gapFreeMeansOfFour(window, i, moments.means);
  const ma = moments.means[i]!;
  const mb = moments.means[i + 1]!;
  const mc = moments.means[i + 2]!;
  const md = moments.means[i + 3]!;
  let qa = 0;
  let qb = 0;
  let qc = 0;
  let qd = 0;
  let fa = 0;
  let fb = 0;
  let fc = 0;
  let fd = 0;
  for (let t = 0; t < sessions; t++) {
    const xa = (values[a + t]! - ma) * (values[a + t]! - ma);
    const xb = (values[b + t]! - mb) * (values[b + t]! - mb);
    const xc = (values[c + t]! - mc) * (values[c + t]! - mc);
    const xd = (values[d + t]! - md) * (values[d + t]! - md);
    qa += xa;
    qb += xb;
    qc += xc;
    qd += xd;
    fa += xa * xa;
    fb += xb * xb;
    fc += xc * xc;
    fd += xd * xd;
  }
  storeMoments(moments, i, sessions, ma, qa, fa);
  storeMoments(moments, i + 1, sessions, mb, qb, fb);
  storeMoments(moments, i + 2, sessions, mc, qc, fc);
  storeMoments(moments, i + 3, sessions, md, qd, fd);
}

/**
 * A constant series must read as flat: the rounded mean of n equal returns c is off by up to
 * ~n·ε·|c|, which leaves ~1e-33 of "variance" and would give it an arbitrary DW or kurtosis.
 */
function isRoundingNoise(sumSquares: number, observations: number, mean: number): boolean {
  const meanError = observations * Number.EPSILON * Math.abs(mean);
  return sumSquares <= observations * meanError * meanError;
}
