import { agglomerate, cutAtHeight, cutIntoClusters, type Linkage } from '../../src/clustering/agglomerative.js';
import { correlationDistance } from '../../src/clustering/correlation.js';
import type { DendrogramCut } from './params.js';

export interface Cluster {
  /** Its lexicographically smallest ticker: the same members give the same id on every run. */
  readonly id: string;
  /** Universe indices, ascending (ticker order). */
  readonly members: readonly number[];
}

export interface Clustering {
  /** By id ascending. */
  readonly clusters: readonly Cluster[];
  /** Index into `clusters` per universe name. */
  readonly clusterOf: Int32Array;
}

/**
 * Average/complete/single-linkage clusters of the universe on the correlation distance
 * √(2(1 − ρ)), cut into a number of clusters or at a distance. A pair without a defined
 * correlation is treated as uncorrelated (distance √2).
 */
export function clusterByCorrelation(tickers: readonly string[], correlation: Float64Array, linkage: Linkage, cut: DendrogramCut): Clustering {
  const n = tickers.length;
  const distances = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    for (let l = 0; l < n; l++) {
      const rho = correlation[k * n + l]!;
      distances[k * n + l] = k === l ? 0 : correlationDistance(Number.isNaN(rho) ? 0 : rho);
    }
  }
  const dendrogram = agglomerate(distances, n, linkage);
  const labels = cut.by === 'count' ? cutIntoClusters(dendrogram, cut.count) : cutAtHeight(dendrogram, cut.distance);
  const members: number[][] = [];
  for (let k = 0; k < n; k++) (members[labels[k]!] ??= []).push(k);
  // Labels follow the smallest member index and indices follow ticker order, so this is already by id.
  const clusters = members.map((list) => ({ id: tickers[list[0]!]!, members: list }));
  return { clusters, clusterOf: labels };
}
