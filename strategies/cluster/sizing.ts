/** Weights below this are rounding noise, not positions or deviations. */
export const WEIGHT_EPSILON = 1e-12;

/**
 * Equal weight per cluster that has names, 1/K each, except that a cluster cannot take more than
 * `names × maxPosition` (its names would break the position cap): the excess is shared by the
 * other clusters, and what no cluster can take stays cash.
 */
export function clusterTargets(namesPerCluster: readonly number[], maxPosition: number): Float64Array {
  const targets = new Float64Array(namesPerCluster.length);
  let open = namesPerCluster.map((names, cluster) => (names > 0 ? cluster : -1)).filter((cluster) => cluster >= 0);
  let remaining = 1;
  while (open.length > 0) {
    const share = remaining / open.length;
    const full = open.filter((cluster) => namesPerCluster[cluster]! * maxPosition <= share);
    if (full.length === 0) {
      for (const cluster of open) targets[cluster] = share;
      break;
    }
    for (const cluster of full) {
      targets[cluster] = namesPerCluster[cluster]! * maxPosition;
      remaining -= targets[cluster]!;
    }
    open = open.filter((cluster) => !full.includes(cluster));
  }
  return targets;
}

export type ResetReason = 'membership' | 'band' | 'position_cap';

export interface ClusterPlan {
  readonly target: number;
  /** Σ prior weight of its holdings. */
  readonly current: number;
  /** Where the rebalance takes it: the target if reset, else its current weight, after balancing. */
  readonly planned: number;
  /** Why it is traded back to target; null when it keeps its weight (within tolerance). */
  readonly reset: ResetReason | null;
}

/**
 * The tolerance band: a cluster is traded back to its target only when its membership changes,
 * one of its names is above the position cap, or |current − target| > tolerance; the others keep
 * their weight. Whatever that leaves uninvested (or overinvested) is spread over the clusters
 * below (above) target in proportion to their distance from it, so the book is fully invested
 * without pushing any cluster past its target.
 */
export function planClusterWeights(
  targets: Float64Array,
  current: Float64Array,
  membershipChanged: readonly boolean[],
  aboveCap: readonly boolean[],
  tolerance: number,
): ClusterPlan[] {
  const count = targets.length;
  const reset: (ResetReason | null)[] = [];
  const planned = new Float64Array(count);
  for (let c = 0; c < count; c++) {
    const reason: ResetReason | null = membershipChanged[c]
      ? 'membership'
      : aboveCap[c]
        ? 'position_cap'
        : Math.abs(current[c]! - targets[c]!) > tolerance
          ? 'band'
          : null;
    reset.push(reason);
    planned[c] = reason === null ? current[c]! : targets[c]!;
  }
  const residual = 1 - planned.reduce((sum, w) => sum + w, 0);
  const direction = Math.sign(residual);
  const gaps = Array.from(planned, (w, c) => Math.max(0, direction * (targets[c]! - w)));
  const totalGap = gaps.reduce((sum, gap) => sum + gap, 0);
  if (Math.abs(residual) > WEIGHT_EPSILON && totalGap > 0) {
    const fraction = Math.min(1, Math.abs(residual) / totalGap);
    for (let c = 0; c < count; c++) planned[c] = planned[c]! + direction * fraction * gaps[c]!;
  }
  return Array.from({ length: count }, (_, c) => ({ target: targets[c]!, current: current[c]!, planned: planned[c]!, reset: reset[c]! }));
}
