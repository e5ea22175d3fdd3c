import type { PointInTimeMarket } from '../data/panel.js';
import type { StrategyOutput } from '../engine/strategy.js';
import { attachDenseTargets, attachTargetColumns } from '../engine/sleeve-vectors.js';
import { eligibleScores, type Exclusions } from './eligibility.js';
import type { FactorParams } from './params.js';
import { rankLongShort, type LongEnd } from './rank.js';
import { columnMoments, trailingReturnsWindow, type ColumnMoments, type ReturnsWindow } from './returns-window.js';

/** What distinguishes one cross-sectional factor strategy from another. */
export interface FactorSpec {
  /** Strategy name, for messages. */
  readonly strategy: string;
  /** Meta key of the factor value on each target. */
  readonly factor: string;
  readonly longEnd: LongEnd;
  /** The factor per name (NaN where undefined), from one returns window and its moments. */
  compute(window: ReturnsWindow, moments: ColumnMoments): Float64Array;
}

/**
 * One rebalance of a factor strategy at D: trailing returns → factor → eligible universe →
 * ranked long/short legs. Too small a universe yields an empty sleeve and a note, not an error,
 * because it is a state of the market; too short a history throws, because it is a loading fault.
 */
export function rebalanceFactor(market: PointInTimeMarket, params: FactorParams, spec: FactorSpec): StrategyOutput {
  const window = trailingReturnsWindow(market, params.window, spec.strategy);
  const moments = columnMoments(window);
  const universe = eligibleScores(market, spec.compute(window, moments), moments.observations, params);
  const book = rankLongShort(universe.scores, market.tickers, { ...params, longEnd: spec.longEnd, factor: spec.factor });
  if (book.columns.tickers.length > 0) {
    // Targets built only when read (artifacts do; a replay's books and worker use the vector and
    // the columns), and both attached so the pipeline need not look every target up by name.
    const output = {} as StrategyOutput;
    Object.defineProperty(output, 'targets', { enumerable: true, configurable: true, get: () => book.targets });
    attachDenseTargets(output, market.tickers, book.weights);
    attachTargetColumns(output, market.tickers, book.columns);
    return output;
  }
  const legs = params.long_only ? 'a long leg' : 'a long and a short leg';
  return {
    targets: [],
    notes: [
      `${spec.strategy} at ${market.date}: ${universe.eligible} of ${market.tickers.length} names eligible` +
        `${describeExclusions(universe.excluded, params)}; quantile ${params.quantile} leaves ${book.namesPerLeg} name(s) per leg, ` +
        `too few for ${legs} — the sleeve stays in cash`,
    ],
  };
}

function describeExclusions(excluded: Exclusions, params: FactorParams): string {
  const reasons = [
    [excluded.noClose, 'without a close at D'],
    [excluded.belowMinAdv, `with adv_20 missing or below ${params.min_adv}`],
    [excluded.fewObservations, `with fewer than ${params.min_observations} returns in ${params.window} sessions`],
    [excluded.undefinedFactor, 'where the factor is undefined'],
  ] as const;
  const present = reasons.filter(([count]) => count > 0).map(([count, reason]) => `${count} ${reason}`);
  return present.length > 0 ? ` (${present.join(', ')})` : '';
}
