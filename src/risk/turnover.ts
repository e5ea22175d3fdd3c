/** One-way turnover ½Σ|to − from| between two weight vectors aligned on the same tickers. */
export function oneWayTurnover(from: Float64Array, to: Float64Array): number {
  if (from.length !== to.length) throw new RangeError(`weight vectors differ in length: ${from.length} vs ${to.length}`);
  let total = 0;
  for (let i = 0; i < from.length; i++) total += Math.abs(to[i]! - from[i]!);
  return total / 2;
}

export interface SmoothedBook {
  readonly weights: Float64Array;
  /** ½Σ|weights − prior|, never above `maxTurnover`. */
  readonly turnover: number;
  /** ½Σ|blend − prior| before the turnover cap. */
  readonly blendTurnover: number;
  /** Fraction of the blended change kept (1 when the cap did not bind). */
  readonly changeScale: number;
}

/**
 * Seed §4.2 without its final renormalisation: blend = λ·prior + (1−λ)·target, and when the
 * blend trades more than `maxTurnover`, move from the prior only that far along the blend's
 * direction. The result is a convex combination of prior and target, so when both satisfy the
 * (convex) position and sector caps, so does the result; renormalising would break them.
 */
export function smoothTurnover(
  target: Float64Array,
  prior: Float64Array,
  lambda: number,
  maxTurnover: number,
): SmoothedBook {
  const blend = new Float64Array(target.length);
  for (let i = 0; i < target.length; i++) blend[i] = lambda * prior[i]! + (1 - lambda) * target[i]!;
  const blendTurnover = oneWayTurnover(prior, blend);
  if (blendTurnover <= maxTurnover) return { weights: blend, turnover: blendTurnover, blendTurnover, changeScale: 1 };
  const changeScale = maxTurnover / blendTurnover;
  // The blend is this function's own array: moved back toward the prior in place.
  const weights = blend;
  for (let i = 0; i < target.length; i++) weights[i] = prior[i]! + changeScale * (blend[i]! - prior[i]!);
  return { weights, turnover: oneWayTurnover(prior, weights), blendTurnover, changeScale };
}
