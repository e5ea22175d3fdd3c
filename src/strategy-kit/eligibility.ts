import type { PointInTimeMarket } from '../data/panel.js';
import type { FactorParams } from './params.js';

/** Names left out of the ranking, each counted under the first rule it fails. */
export interface Exclusions {
  readonly noClose: number;
  readonly belowMinAdv: number;
  readonly fewObservations: number;
  /** Enough returns but the statistic is undefined (e.g. a flat series has no kurtosis). */
  readonly undefinedFactor: number;
}

export interface EligibleScores {
  /** The factor where the name is eligible, NaN elsewhere — the input `rankLongShort` expects. */
  readonly scores: Float64Array;
  readonly eligible: number;
  readonly excluded: Exclusions;
}

/**
 * The eligible universe at D: a finite close at D (a name that stopped trading cannot be
 * traded into), adv_20 ≥ min_adv (NaN adv fails), at least `min_observations` finite returns
 * in the window, and a finite factor value.
 */
export function eligibleScores(
  market: PointInTimeMarket,
  factor: Float64Array,
  observations: Int32Array,
  params: Pick<FactorParams, 'min_adv' | 'min_observations'>,
): EligibleScores {
  const close = market.field('close');
  const adv20 = market.field('adv20');
  const scores = new Float64Array(factor.length).fill(Number.NaN);
  let eligible = 0;
  let noClose = 0;
  let belowMinAdv = 0;
  let fewObservations = 0;
  let undefinedFactor = 0;
  for (let i = 0; i < factor.length; i++) {
    if (!Number.isFinite(close[i]!)) noClose++;
    else if (!(adv20[i]! >= params.min_adv)) belowMinAdv++;
    else if (observations[i]! < params.min_observations) fewObservations++;
    else if (!Number.isFinite(factor[i]!)) undefinedFactor++;
    else {
      scores[i] = factor[i]!;
      eligible++;
    }
  }
  return { scores, eligible, excluded: { noClose, belowMinAdv, fewObservations, undefinedFactor } };
}
