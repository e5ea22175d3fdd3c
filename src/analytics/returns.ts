/** Sessions per year, for annualising daily statistics. */
export const SESSIONS_PER_YEAR = 252;

export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Sample standard deviation (n − 1); NaN with fewer than two values. */
export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) ** 2;
  return Math.sqrt(ss / (values.length - 1));
}

/** Annualised Sharpe ratio of daily returns (risk-free rate 0): mean / std · √252; NaN when undefined. */
export function annualisedSharpe(dailyReturns: readonly number[]): number {
  const std = sampleStd(dailyReturns);
  if (!(std > 0)) return Number.NaN;
  return (mean(dailyReturns) / std) * Math.sqrt(SESSIONS_PER_YEAR);
}
