import type { SleeveTarget } from '../engine/strategy.js';
import type { FactorParams } from './params.js';

/** Which end of the factor's range the long leg takes. */
export type LongEnd = 'low' | 'high';

export interface LegParams extends Pick<FactorParams, 'quantile' | 'long_only' | 'gross' | 'weighting'> {
  readonly longEnd: LongEnd;
  /** Key under which each target's factor value appears in its meta. */
  readonly factor: string;
}

export interface LongShortBook {
  /** Sorted by ticker; empty when the universe is too small for the legs. */
  readonly targets: SleeveTarget[];
  readonly eligible: number;
  readonly namesPerLeg: number;
}

// q × N computed in binary floating point can land just under an integer (0.29 × 100 = 28.999…).
const QUANTILE_SLACK = 1e-9;

/**
 * Ranks the finite `scores` (NaN = not eligible) from the long end: rank 1 is the most wanted
 * long, ties broken by ticker ascending. The long leg is the first ⌊quantile × N⌋ ranks, the short
 * leg the last as many. With no name per leg, or fewer than (legs × names per leg) eligible names
 * (only possible for quantile > 0.5, which the params schema refuses), the book is empty.
 *
 * Weights: `equal` splits each leg's budget evenly; `score` in proportion to |score − median|
 * of the eligible universe (how far a name sits from the typical one), evenly if a whole leg
 * sits on the median. Long leg sums to gross/2 and short leg to −gross/2; long-only puts gross long.
 */
export function rankLongShort(scores: Float64Array, tickers: readonly string[], params: LegParams): LongShortBook {
  const ranked = rankedIndices(scores, tickers, params.longEnd);
  const eligible = ranked.length;
  const namesPerLeg = Math.floor(params.quantile * eligible + QUANTILE_SLACK);
  const legs = params.long_only ? 1 : 2;
  if (namesPerLeg < 1 || eligible < legs * namesPerLeg) return { targets: [], eligible, namesPerLeg };

  const legBudget = params.gross / legs;
  const median = medianOfRanked(scores, ranked);
  const targets: SleeveTarget[] = [];
  const addLeg = (firstRank: number, budget: number, leg: 'long' | 'short'): void => {
    const members = ranked.slice(firstRank, firstRank + namesPerLeg);
    const weights = legWeights(members, budget, scores, median, params.weighting);
    members.forEach((index, k) => {
      const score = scores[index]!;
      targets.push({ ticker: tickers[index]!, weight: weights[k]!, score, meta: { [params.factor]: score, rank: firstRank + k + 1, leg } });
    });
  };
  addLeg(0, legBudget, 'long');
  if (!params.long_only) addLeg(eligible - namesPerLeg, -legBudget, 'short');
  targets.sort((a, b) => compareStrings(a.ticker, b.ticker));
  return { targets, eligible, namesPerLeg };
}

function rankedIndices(scores: Float64Array, tickers: readonly string[], longEnd: LongEnd): number[] {
  const ranked: number[] = [];
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!)) ranked.push(i);
  const direction = longEnd === 'low' ? 1 : -1;
  return ranked.sort((a, b) => direction * (scores[a]! - scores[b]!) || compareStrings(tickers[a]!, tickers[b]!));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `ranked` is in score order (either direction), so the median sits in its middle. */
function medianOfRanked(scores: Float64Array, ranked: readonly number[]): number {
  const lower = scores[ranked[(ranked.length - 1) >> 1]!]!;
  const upper = scores[ranked[ranked.length >> 1]!]!;
  return (lower + upper) / 2;
}

function legWeights(members: readonly number[], budget: number, scores: Float64Array, median: number, weighting: FactorParams['weighting']): Float64Array {
  const weights = new Float64Array(members.length).fill(budget / members.length);
  if (weighting === 'equal') return weights;
  let totalDistance = 0;
  for (const index of members) totalDistance += Math.abs(scores[index]! - median);
  if (totalDistance > 0) members.forEach((index, k) => (weights[k] = (budget * Math.abs(scores[index]! - median)) / totalDistance));
  return weights;
}
