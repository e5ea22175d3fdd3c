/**
 * Performance metrics of one book's equity curve: the numbers in the replay's `metrics.json`, its
 * comparison table and `report.html`.
 *
 * Conventions, shared by every function here:
 * - A curve is one point per session, dates strictly increasing, equity finite and positive (a
 *   ruined book has no defined returns, so it is refused rather than reported as a number).
 * - The first point is the starting equity; the daily simple return of session i ≥ 1 is
 *   rᵢ = Eᵢ / Eᵢ₋₁ − 1, so a curve of n points has n − 1 returns.
 * - Risk-free rate 0; "annualised" scales daily figures by 252 sessions a year (√252 for
 *   dispersion); calendar spans use 365.25 days a year.
 * - A ratio that is undefined for the data (no returns, no dispersion, no downside, zero span) is
 *   `null`, never NaN or Infinity, so `JSON.stringify` writes what the code means.
 */
import { toEpochDay, type IsoDate } from '../core/dates.js';
import { SESSIONS_PER_YEAR, annualisedSharpe, mean, sampleStd } from './returns.js';

const DAYS_PER_YEAR = 365.25;

/** One session of a book, as the replay records it after marking to the close. */
export interface EquityPoint {
  readonly date: IsoDate;
  /** Book value (cash + positions at the close), in the book's currency. */
  readonly equity: number;
  /** One-way turnover this session: (buys + sells) / 2 in notional, over equity. */
  readonly turnover: number;
  /** Commissions, spread and impact paid this session, in the book's currency. */
  readonly costs: number;
  /** Gross exposure, Σ|position value| / equity (reported, not used by the metrics). */
  readonly gross: number;
  /** Net exposure, Σ position value / equity (reported, not used by the metrics). */
  readonly net: number;
}

export interface BookMetrics {
  book: string;
  /** First and last session of the curve. */
  start: IsoDate;
  end: IsoDate;
  /** Points in the curve (sessions marked), including the starting one. */
  sessions: number;
  start_equity: number;
  end_equity: number;
  /** end_equity / start_equity − 1. */
  total_return: number;
  /** (end / start)^(365.25 / calendar days from start to end) − 1; null when start = end. */
  cagr: number | null;
  /** Sample standard deviation (n − 1) of daily returns × √252; null with fewer than two returns. */
  annual_vol: number | null;
  /** mean(r) / sampleStd(r) × √252; null when the returns have no dispersion (or fewer than two). */
  sharpe: number | null;
  /**
   * mean(r) / DD × √252 with downside deviation DD = √(mean over all returns of min(r, 0)²) (target 0).
   * Null when DD = 0, i.e. no down day: the ratio is unbounded, and null keeps it JSON-safe.
   */
  sortino: number | null;
  /** Deepest peak-to-trough fall, min over sessions of Eᵢ / max(E₀…Eᵢ) − 1 (≤ 0, e.g. −0.2); 0 if never under water. */
  max_drawdown: number;
  /** Last session at the running high before the trough (the first session when max_drawdown is 0). */
  max_drawdown_peak: IsoDate;
  /** First session at the deepest drawdown (equal to the peak when max_drawdown is 0). */
  max_drawdown_trough: IsoDate;
  /** First session after the trough back at or above the peak's equity; null if it never recovers (the peak when max_drawdown is 0). */
  max_drawdown_recovery: IsoDate | null;
  /** Mean of the sessions' turnover over all points. */
  avg_daily_turnover: number;
  /** avg_daily_turnover × 252. */
  annual_turnover: number;
  /** Σ costs over all points, in the book's currency. */
  total_costs: number;
  /** total_costs / start_equity / years, years = calendar days / 365.25; null when start = end. */
  cost_drag: number | null;
  /** Share of returns that are > 0 (flat sessions count as misses); null with no returns. */
  hit_rate: number | null;
  /** Largest and smallest daily return; null with no returns. */
  best_day: number | null;
  worst_day: number | null;
}

/** Metrics of one book; see each BookMetrics field for its formula. Throws on an invalid curve. */
export function bookMetrics(book: string, curve: readonly EquityPoint[]): BookMetrics {
  assertValidCurve(curve, book);
  const first = curve[0]!;
  const last = curve[curve.length - 1]!;
  const returns = dailyReturns(curve);
  const years = (toEpochDay(last.date) - toEpochDay(first.date)) / DAYS_PER_YEAR;
  const growth = last.equity / first.equity;
  const drawdown = deepestDrawdown(curve);

  let turnoverSum = 0;
  let costSum = 0;
  for (const point of curve) {
    turnoverSum += point.turnover;
    costSum += point.costs;
  }
  const avgDailyTurnover = turnoverSum / curve.length;

  return {
    book,
    start: first.date,
    end: last.date,
    sessions: curve.length,
    start_equity: first.equity,
    end_equity: last.equity,
    total_return: growth - 1,
    cagr: years > 0 ? growth ** (1 / years) - 1 : null,
    annual_vol: finiteOrNull(sampleStd(returns) * Math.sqrt(SESSIONS_PER_YEAR)),
    sharpe: finiteOrNull(annualisedSharpe(returns)),
    sortino: sortinoRatio(returns),
    max_drawdown: drawdown.depth,
    max_drawdown_peak: drawdown.peak,
    max_drawdown_trough: drawdown.trough,
    max_drawdown_recovery: drawdown.recovery,
    avg_daily_turnover: avgDailyTurnover,
    annual_turnover: avgDailyTurnover * SESSIONS_PER_YEAR,
    total_costs: costSum,
    cost_drag: years > 0 ? costSum / first.equity / years : null,
    hit_rate: returns.length > 0 ? returns.filter((r) => r > 0).length / returns.length : null,
    best_day: returns.length > 0 ? returns.reduce((a, b) => Math.max(a, b)) : null,
    worst_day: returns.length > 0 ? returns.reduce((a, b) => Math.min(a, b)) : null,
  };
}

/**
 * Compounded return of each calendar month that has at least one daily return, in date order:
 * equity at the month's last session over equity at the session before the month's first return,
 * minus 1. The starting point only anchors the first month, so a curve that starts on the last
 * session of December yields no December entry.
 */
export function monthlyReturns(curve: readonly EquityPoint[]): { year: number; month: number; return: number }[] {
  assertValidCurve(curve);
  const months: { year: number; month: number; return: number }[] = [];
  let baseEquity = curve[0]!.equity;
  for (let i = 1; i < curve.length; i++) {
    const point = curve[i]!;
    const next = curve[i + 1];
    if (next !== undefined && next.date.slice(0, 7) === point.date.slice(0, 7)) continue;
    months.push({ year: Number(point.date.slice(0, 4)), month: Number(point.date.slice(5, 7)), return: point.equity / baseEquity - 1 });
    baseEquity = point.equity;
  }
  return months;
}

/** Drawdown of every session, Eᵢ / max(E₀…Eᵢ) − 1: 0 at a running high, negative below it. */
export function drawdownSeries(curve: readonly EquityPoint[]): Float64Array {
  assertValidCurve(curve);
  const series = new Float64Array(curve.length);
  let high = -Infinity;
  for (let i = 0; i < curve.length; i++) {
    const equity = curve[i]!.equity;
    if (equity > high) high = equity;
    series[i] = equity / high - 1;
  }
  return series;
}

function dailyReturns(curve: readonly EquityPoint[]): number[] {
  const returns: number[] = [];
  for (let i = 1; i < curve.length; i++) returns.push(curve[i]!.equity / curve[i - 1]!.equity - 1);
  return returns;
}

function sortinoRatio(returns: readonly number[]): number | null {
  if (returns.length === 0) return null;
  let downsideSquares = 0;
  for (const r of returns) if (r < 0) downsideSquares += r * r;
  const downsideDeviation = Math.sqrt(downsideSquares / returns.length);
  if (!(downsideDeviation > 0)) return null;
  return (mean(returns) / downsideDeviation) * Math.sqrt(SESSIONS_PER_YEAR);
}

interface Drawdown {
  depth: number;
  peak: IsoDate;
  trough: IsoDate;
  recovery: IsoDate | null;
}

function deepestDrawdown(curve: readonly EquityPoint[]): Drawdown {
  const first = curve[0]!;
  let highIndex = 0;
  let deepest = { depth: 0, peakIndex: 0, troughIndex: 0 };
  for (let i = 1; i < curve.length; i++) {
    const equity = curve[i]!.equity;
    // ≥ so that a session back at the high starts a new drawdown: the peak is the last high before the fall.
    if (equity >= curve[highIndex]!.equity) {
      highIndex = i;
      continue;
    }
    const depth = equity / curve[highIndex]!.equity - 1;
    if (depth < deepest.depth) deepest = { depth, peakIndex: highIndex, troughIndex: i };
  }
  if (deepest.depth === 0) return { depth: 0, peak: first.date, trough: first.date, recovery: first.date };

  const peakEquity = curve[deepest.peakIndex]!.equity;
  let recovery: IsoDate | null = null;
  for (let i = deepest.troughIndex + 1; i < curve.length; i++) {
    if (curve[i]!.equity >= peakEquity) {
      recovery = curve[i]!.date;
      break;
    }
  }
  return { depth: deepest.depth, peak: curve[deepest.peakIndex]!.date, trough: curve[deepest.troughIndex]!.date, recovery };
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function assertValidCurve(curve: readonly EquityPoint[], book?: string): void {
  const where = book === undefined ? 'equity curve' : `equity curve of book "${book}"`;
  if (curve.length === 0) throw new RangeError(`${where} is empty: metrics need at least the starting session`);
  let previousDay = -Infinity;
  for (const point of curve) {
    const day = toEpochDay(point.date);
    if (day <= previousDay) throw new RangeError(`${where}: dates must strictly increase, but ${point.date} follows a later or equal date`);
    previousDay = day;
    if (!Number.isFinite(point.equity) || point.equity <= 0) {
      throw new RangeError(`${where}: equity on ${point.date} is ${point.equity}; returns are defined only for finite, positive equity`);
    }
  }
}
