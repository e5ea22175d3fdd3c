/**
 * Agglomerative hierarchical clustering on a dense distance matrix: the nearest-neighbour chain
 * algorithm with Lance–Williams updates (Müllner 2011, "Modern hierarchical, agglomerative
 * clustering algorithms", §3.3). It is O(n²) time and O(n²) memory, against O(n³) for the
 * textbook "find the closest pair, merge, repeat", and exact for every linkage offered here
 * because all three are reducible.
 */

export const LINKAGES = ['average', 'complete', 'single'] as const;
export type Linkage = (typeof LINKAGES)[number];

/** One merge of two clusters, each named by its smallest leaf. */
export interface Merge {
  readonly left: number;
  readonly right: number;
  readonly height: number;
  /** Leaves in the merged cluster. */
  readonly size: number;
}

export interface Dendrogram {
  readonly leaves: number;
  /** The n − 1 merges by height ascending; a merge never comes before the merges that built its two sides. */
  readonly merges: readonly Merge[];
}

/**
 * Clusters `leaves` points given their symmetric `leaves × leaves` distance matrix (row-major,
 * finite, zero diagonal). Deterministic: among equally near neighbours the lowest index wins,
 * except that the chain's previous element is kept, which the algorithm needs to terminate.
 */
export function agglomerate(distances: Float64Array, leaves: number, linkage: Linkage): Dendrogram {
  if (distances.length !== leaves * leaves) throw new RangeError(`distance matrix has ${distances.length} entries for ${leaves} leaves`);
  for (let i = 0; i < distances.length; i++) {
    if (!Number.isFinite(distances[i]!)) throw new RangeError(`distance matrix entry ${i} is not finite: ${distances[i]}`);
  }
  const n = leaves;
  const distance = Float64Array.from(distances);
  // Active slots, ascending: every scan below visits only these (half the slots, on average).
  const active = Int32Array.from({ length: n }, (_, i) => i);
  let activeCount = n;
  const size = new Int32Array(n).fill(1);
  // Floating-point Lance–Williams updates can put a parent a hair below its child; carrying the
  // children's heights up keeps the dendrogram monotone so sorting by height never reorders them.
  const clusterHeight = new Float64Array(n);
  const chain = new Int32Array(n);
  let chainLength = 0;
  const merges: Merge[] = [];

  for (let remaining = n; remaining > 1; remaining--) {
    if (chainLength === 0) chain[chainLength++] = active[0]!;
    let a: number;
    let b: number;
    for (;;) {
      a = chain[chainLength - 1]!;
      const previous = chainLength >= 2 ? chain[chainLength - 2]! : -1;
      let nearest = previous;
      let nearestDistance = previous >= 0 ? distance[a * n + previous]! : Number.POSITIVE_INFINITY;
      const row = a * n;
      for (let j = 0; j < activeCount; j++) {
        const x = active[j]!;
        if (x === a) continue;
        const candidate = distance[row + x]!;
        if (candidate < nearestDistance) {
          nearestDistance = candidate;
          nearest = x;
        }
      }
      if (nearest === previous) {
        b = previous;
        break;
      }
      chain[chainLength++] = nearest;
    }
    chainLength -= 2;

    // The merged cluster lives in the lower slot, so a slot's index is always its smallest leaf.
    const keep = Math.min(a, b);
    const drop = Math.max(a, b);
    const sizeKeep = size[keep]!;
    const sizeDrop = size[drop]!;
    const height = Math.max(distance[a * n + b]!, clusterHeight[a]!, clusterHeight[b]!);
    let dropAt = -1;
    for (let j = 0; j < activeCount; j++) {
      const x = active[j]!;
      if (x === drop) dropAt = j;
      if (x === keep || x === drop) continue;
      const updated = lanceWilliams(linkage, distance[keep * n + x]!, distance[drop * n + x]!, sizeKeep, sizeDrop);
      distance[keep * n + x] = updated;
      distance[x * n + keep] = updated;
    }
    active.copyWithin(dropAt, dropAt + 1, activeCount);
    activeCount--;
    size[keep] = sizeKeep + sizeDrop;
    clusterHeight[keep] = height;
    merges.push({ left: keep, right: drop, height, size: sizeKeep + sizeDrop });
  }
  // The chain finds merges out of height order; a stable sort keeps a child before its parent at equal height.
  merges.sort((x, y) => x.height - y.height);
  return { leaves: n, merges };
}

function lanceWilliams(linkage: Linkage, toFirst: number, toSecond: number, firstSize: number, secondSize: number): number {
  switch (linkage) {
    case 'single':
      return Math.min(toFirst, toSecond);
    case 'complete':
      return Math.max(toFirst, toSecond);
    case 'average':
      return (firstSize * toFirst + secondSize * toSecond) / (firstSize + secondSize);
  }
}

/**
 * Cluster label per leaf when the dendrogram is cut into `count` clusters (the first n − count
 * merges). Labels run 0…count−1 in order of each cluster's smallest leaf. When several merges
 * share the height at the cut, the earlier-found ones are applied: deterministic, but a cut
 * through tied heights is inherently arbitrary.
 */
export function cutIntoClusters(dendrogram: Dendrogram, count: number): Int32Array {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`cluster count must be a positive integer, got ${count}`);
  const applied = Math.max(0, dendrogram.leaves - count);
  return labelsAfter(dendrogram, applied);
}

/** Cluster label per leaf after every merge at height ≤ `height`; labels as in cutIntoClusters. */
export function cutAtHeight(dendrogram: Dendrogram, height: number): Int32Array {
  let applied = 0;
  while (applied < dendrogram.merges.length && dendrogram.merges[applied]!.height <= height) applied++;
  return labelsAfter(dendrogram, applied);
}

function labelsAfter(dendrogram: Dendrogram, appliedMerges: number): Int32Array {
  const parent = new Int32Array(dendrogram.leaves);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const root = (leaf: number): number => {
    let r = leaf;
    while (parent[r] !== r) r = parent[r]!;
    let node = leaf;
    while (parent[node] !== r) {
      const next = parent[node]!;
      parent[node] = r;
      node = next;
    }
    return r;
  };
  for (let m = 0; m < appliedMerges; m++) {
    const merge = dendrogram.merges[m]!;
    const left = root(merge.left);
    const right = root(merge.right);
    if (left < right) parent[right] = left;
    else parent[left] = right;
  }
  const labelOfRoot = new Map<number, number>();
  const labels = new Int32Array(dendrogram.leaves);
  for (let leaf = 0; leaf < labels.length; leaf++) {
    const r = root(leaf);
    let label = labelOfRoot.get(r);
    if (label === undefined) {
      label = labelOfRoot.size;
      labelOfRoot.set(r, label);
    }
    labels[leaf] = label;
  }
  return labels;
}
