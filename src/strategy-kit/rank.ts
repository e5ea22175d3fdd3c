import { compareNumbers } from '../core/compare.js';
import { orderStatistics } from '../core/order-statistics.js';
import type { SleeveTarget } from '../engine/strategy.js';
import { targetsFromColumns, type TargetColumns } from '../engine/sleeve-vectors.js';
import type { FactorParams } from './params.js';

/** Which end of the factor's range the long leg takes. */
export type LongEnd = 'low' | 'high';

export interface LegParams extends Pick<FactorParams, 'quantile' | 'long_only' | 'gross' | 'weighting'> {
  readonly longEnd: LongEnd;
  /** Key under which each target's factor value appears in its meta. */
  readonly factor: string;
}

export interface LongShortBook {
  /** Sorted by ticker; empty when the universe is too small for the legs. Built from `columns` when first read. */
  readonly targets: readonly SleeveTarget[];
  /** The targets as columns (`targetsFromColumns` gives them back): meta holds the factor, rank and leg. */
  readonly columns: TargetColumns;
  /** The targets as a vector aligned with the tickers (0 outside the legs): every weight finite, each name once. */
  readonly weights: Float64Array;
  readonly eligible: number;
  readonly namesPerLeg: number;
}

const NO_COLUMNS: TargetColumns = { tickers: new Int32Array(0), weights: new Float64Array(0), scores: null, metaKeys: null, metaColumns: [] };

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
  const finite = finiteScores(scores);
  const eligible = finite.length;
  const namesPerLeg = Math.floor(params.quantile * eligible + QUANTILE_SLACK);
  const legs = params.long_only ? 1 : 2;
  if (namesPerLeg < 1 || eligible < legs * namesPerLeg) return bookOf(NO_COLUMNS, tickers, new Float64Array(scores.length), eligible, namesPerLeg);
  if (params.factor === 'rank' || params.factor === 'leg') throw new RangeError(`a factor cannot be called "${params.factor}": targets' meta has its own ${params.factor}`);

  const legBudget = params.gross / legs;
  // What ranking needs of the sorted scores: each leg's boundary and the two middle values.
  const positions = [namesPerLeg - 1, (eligible - 1) >> 1, eligible >> 1, eligible - namesPerLeg].sort((a, b) => a - b);
  const statistics = orderStatistics(finite, positions);
  const at = (position: number): number => statistics[positions.indexOf(position)]!;
  const lowBoundary = at(namesPerLeg - 1);
  const highBoundary = at(eligible - namesPerLeg);
  // The median of the eligible scores, whichever end ranks first (its two middle values swap).
  const median = (at((eligible - 1) >> 1) + at(eligible >> 1)) / 2;
  const rankOrder = byRank(scores, tickers, params.longEnd);
  // Rank and weight per name (rank 0: not in a leg); the targets then come out in ticker order.
  const rankOf = new Int32Array(scores.length);
  const weightOf = new Float64Array(scores.length);
  const addLeg = (firstRank: number, budget: number, side: 'first' | 'last'): void => {
    const members = legMembers(scores, tickers, lowBoundary, highBoundary, params.longEnd, side, namesPerLeg).sort(rankOrder);
    const weights = legWeights(members, budget, scores, median, params.weighting);
    members.forEach((index, k) => {
      rankOf[index] = firstRank + k + 1;
      weightOf[index] = weights[k]!;
    });
  };
  addLeg(0, legBudget, 'first');
  if (!params.long_only) addLeg(eligible - namesPerLeg, -legBudget, 'last');
  const members = legs * namesPerLeg;
  const columnTickers = new Int32Array(members);
  const columnWeights = new Float64Array(members);
  const factorValues = new Float64Array(members);
  const ranks = new Float64Array(members);
  const sides: ('long' | 'short')[] = [];
  let k = 0;
  for (const index of inTickerOrder(tickers)) {
    const rank = rankOf[index]!;
    if (rank === 0) continue;
    columnTickers[k] = index;
    columnWeights[k] = weightOf[index]!;
    factorValues[k] = scores[index]!;
    ranks[k] = rank;
    sides.push(rank <= namesPerLeg ? 'long' : 'short');
    k++;
  }
  // Each target: { ticker, weight, score, meta: { <factor>: score, rank, leg } }.
  const columns: TargetColumns = { tickers: columnTickers, weights: columnWeights, scores: factorValues, metaKeys: [params.factor, 'rank', 'leg'], metaColumns: [factorValues, ranks, sides] };
  return bookOf(columns, tickers, weightOf, eligible, namesPerLeg);
}

/** The book with its targets built on first read: replay's worker sends the columns and never needs them. */
function bookOf(columns: TargetColumns, tickers: readonly string[], weights: Float64Array, eligible: number, namesPerLeg: number): LongShortBook {
  let targets: readonly SleeveTarget[] | null = null;
  return {
    get targets() {
      targets ??= targetsFromColumns(columns, tickers);
      return targets;
    },
    columns,
    weights,
    eligible,
    namesPerLeg,
  };
}

/** Indices of `tickers` in ticker order: the identity for a market's (sorted) tickers, checked once per array. */
function inTickerOrder(tickers: readonly string[]): ArrayLike<number> & Iterable<number> {
  let order = tickerOrders.get(tickers);
  if (!order) {
    order = Int32Array.from(tickers.keys()).sort((a, b) => compareStrings(tickers[a]!, tickers[b]!) || a - b);
    tickerOrders.set(tickers, order);
  }
  return order;
}

const tickerOrders = new WeakMap<readonly string[], Int32Array>();

/** The finite scores, in no particular order (`orderStatistics` reorders them). */
function finiteScores(scores: Float64Array): Float64Array {
  let count = 0;
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!)) count++;
  const values = new Float64Array(count);
  for (let i = 0, k = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!)) values[k++] = scores[i]!;
  return values;
}


/** Rank order: most wanted long first, ties broken by ticker ascending. */
function byRank(scores: Float64Array, tickers: readonly string[], longEnd: LongEnd): (a: number, b: number) => number {
  const direction = longEnd === 'low' ? 1 : -1;
  return (a, b) => direction * compareNumbers(scores[a]!, scores[b]!) || compareStrings(tickers[a]!, tickers[b]!);
}

/**
 * The `count` names at the first or last ranks, without ranking the whole universe: every name
 * strictly beyond the boundary score, then as many of the names tied at it as the ranks leave,
 * taken in the rank order's tie-break (ticker ascending from the front, so the highest tickers
 * from the back). Unordered; the caller sorts the few it gets.
 */
function legMembers(scores: Float64Array, tickers: readonly string[], lowBoundary: number, highBoundary: number, longEnd: LongEnd, side: 'first' | 'last', count: number): number[] {
  // Rank order runs up the scores for a low long end and down them for a high one.
  const fromLow = (longEnd === 'low') === (side === 'first');
  const boundary = fromLow ? lowBoundary : highBoundary;
  const members: number[] = [];
  const tied: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (!Number.isFinite(score)) continue;
    if (score === boundary) tied.push(i);
    else if (fromLow ? score < boundary : score > boundary) members.push(i);
  }
  tied.sort((a, b) => compareStrings(tickers[a]!, tickers[b]!));
  const wanted = count - members.length;
  members.push(...(side === 'first' ? tied.slice(0, wanted) : tied.slice(tied.length - wanted)));
  return members;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function legWeights(members: readonly number[], budget: number, scores: Float64Array, median: number, weighting: FactorParams['weighting']): Float64Array {
  const weights = new Float64Array(members.length).fill(budget / members.length);
  if (weighting === 'equal') return weights;
  let totalDistance = 0;
  for (const index of members) totalDistance += Math.abs(scores[index]! - median);
  if (totalDistance > 0) members.forEach((index, k) => (weights[k] = (budget * Math.abs(scores[index]! - median)) / totalDistance));
  return weights;
}
