import { z } from 'zod';
import { LINKAGES } from '../../src/clustering/agglomerative.js';

const DEFAULT_CLUSTER_COUNT = 20;

/**
 * Parameters of the cluster strategy; the README explains each with its default. Unknown keys are
 * rejected. Exactly one of `n_clusters` / `cut_distance` decides where the dendrogram is cut; with
 * neither, it is cut into 20 clusters.
 */
export const clusterParamsSchema = z
  .strictObject({
    /** Trailing sessions of daily close-to-close returns behind scores and correlations. */
    window: z.number().int().min(20).default(120),
    /** Fewest finite returns in the window a name needs; default ⌈5/6 × window⌉ (100 at 120). */
    min_observations: z.number().int().min(10).optional(),
    /** adv_20 floor ($). */
    min_adv: z.number().min(0).default(2_000_000),
    /** The most liquid eligible names (adv_20 descending, ties by ticker) that are clustered, bounding the O(n²) work. */
    candidates: z.number().int().min(2).default(300),
    linkage: z.enum(LINKAGES).default('average'),
    /** Cut the dendrogram into this many clusters (default 20 when `cut_distance` is not given). */
    n_clusters: z.number().int().min(1).optional(),
    /** Or cut it at this correlation distance √(2(1 − ρ)) ∈ (0, 2]: merges at or below it are kept. */
    cut_distance: z.number().gt(0).max(2).optional(),
    /** Names held per cluster. */
    names_per_cluster: z.number().int().min(1).default(2),
    /** A cluster's weight is traded back to target only when |current − target| exceeds this (absolute weight). */
    tolerance: z.number().min(0).max(1).default(0.05),
    /** Sessions a name is held before it may be sold, unless it left the universe. */
    min_holding_sessions: z.number().int().min(0).default(5),
    /** Relative score improvement (new − held) / |held| a challenger needs to replace a holding of its cluster. */
    swap_threshold: z.number().min(0).default(0.15),
    /** Two holdings never correlate above this; the lower-scored one goes or is never added. */
    max_pair_correlation: z.number().gt(-1).max(1).default(0.85),
    /** One-way turnover ½Σ|Δw| allowed per rebalance. */
    turnover_budget: z.number().gt(0).max(1).default(0.2),
    /** Largest weight of one name; cluster targets are capped so that it holds, the rest stays cash. */
    max_position: z.number().gt(0).max(1).default(0.1),
  })
  .superRefine((parsed, ctx) => {
    if (parsed.n_clusters !== undefined && parsed.cut_distance !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cut_distance'], message: 'give either n_clusters or cut_distance, not both' });
    }
    if (parsed.min_observations !== undefined && parsed.min_observations > parsed.window) {
      ctx.addIssue({ code: 'custom', path: ['min_observations'], message: `min_observations (${parsed.min_observations}) cannot exceed window (${parsed.window})` });
    }
  })
  .transform(({ n_clusters, cut_distance, min_observations, ...rest }) => ({
    ...rest,
    min_observations: min_observations ?? Math.ceil((rest.window * 5) / 6),
    cut: cut_distance !== undefined ? ({ by: 'distance', distance: cut_distance } as const) : ({ by: 'count', count: n_clusters ?? DEFAULT_CLUSTER_COUNT } as const),
  }));

export type ClusterParams = z.output<typeof clusterParamsSchema>;
export type DendrogramCut = ClusterParams['cut'];

/** Closes needed up to D: `window` returns span `window + 1` sessions. */
export function clusterWarmupSessions(params: Pick<ClusterParams, 'window'>): number {
  return params.window + 1;
}
