import { compareNumbers } from '../../src/core/compare.js';
import type { Clustering } from './clustering.js';
import type { ClusterParams } from './params.js';

/** A holding that is still in the universe. */
export interface EligibleHolding {
  /** Universe index. */
  readonly index: number;
  /** Held fewer than min_holding_sessions: it may not be sold this run. */
  readonly locked: boolean;
}

export type ExitReason = 'correlation' | 'trim' | 'swap';

export interface Swap {
  readonly cluster: number;
  readonly out: number;
  readonly in: number;
  /** (new − held) / |held| of the two scores. */
  readonly improvement: number;
}

/** Which names each cluster should hold, and why it differs from what it holds. Indices are universe indices. */
export interface Selection {
  /** Desired names per cluster, by score descending. */
  readonly members: readonly (readonly number[])[];
  /** Names added this run (slot fills and swap-ins). */
  readonly entering: ReadonlySet<number>;
  readonly exits: ReadonlyMap<number, ExitReason>;
  readonly swaps: readonly Swap[];
  /** Pairs of locked holdings above max_pair_correlation: neither may be sold yet, so both stay. */
  readonly lockedConflicts: readonly (readonly [number, number])[];
}

export interface SelectionInput {
  readonly scores: Float64Array;
  readonly correlation: Float64Array;
  readonly clustering: Clustering;
  readonly held: readonly EligibleHolding[];
  readonly params: Pick<ClusterParams, 'names_per_cluster' | 'swap_threshold' | 'max_pair_correlation'>;
}

/**
 * The desired names of every cluster, built from the holdings in five steps, each a rule of the
 * strategy (README "Selection"):
 * 1. locked holdings stay, whatever their correlation;
 * 2. other holdings stay by score descending unless they correlate above max_pair_correlation with
 *    a name already kept — so of a too-similar pair the lower-scored goes, or, when that one is
 *    locked, the other;
 * 3. a cluster with more holdings than names_per_cluster sheds its lowest-scored unlocked ones;
 * 4. open slots are filled by score descending over all clusters, skipping a name too correlated
 *    with one already in the book (on the first run this is the whole selection);
 * 5. swaps: the best challenger of a cluster replaces its weakest unlocked holding when the score
 *    improves by swap_threshold or more; the largest improvement anywhere goes first, and names
 *    added this run are not swapped out again.
 * Ties are broken by index, i.e. by ticker.
 */
export function selectMembers(input: SelectionInput): Selection {
  const { scores, correlation, clustering, params } = input;
  const n = scores.length;
  const clusterCount = clustering.clusters.length;
  const byScore = (a: number, b: number): number => compareNumbers(scores[b]!, scores[a]!) || a - b;
  const tooSimilar = (a: number, b: number): boolean => correlation[a * n + b]! > params.max_pair_correlation;
  const conflictsWithBook = (candidate: number, book: ReadonlySet<number>, ignoring = -1): boolean => {
    for (const kept of book) if (kept !== ignoring && tooSimilar(candidate, kept)) return true;
    return false;
  };

  const book = new Set<number>();
  const exits = new Map<number, ExitReason>();
  const lockedConflicts: [number, number][] = [];
  const locked = new Set(input.held.filter((h) => h.locked).map((h) => h.index));
  for (const index of [...locked].sort(byScore)) {
    for (const kept of book) if (tooSimilar(index, kept)) lockedConflicts.push(kept < index ? [kept, index] : [index, kept]);
    book.add(index);
  }
  const unlocked = input.held.filter((h) => !h.locked).map((h) => h.index);
  for (const index of unlocked.sort(byScore)) {
    if (conflictsWithBook(index, book)) exits.set(index, 'correlation');
    else book.add(index);
  }

  const inCluster = (cluster: number): number[] => [...book].filter((k) => clustering.clusterOf[k] === cluster);
  for (let cluster = 0; cluster < clusterCount; cluster++) {
    const members = inCluster(cluster);
    const sheddable = members.filter((k) => !locked.has(k)).sort((a, b) => byScore(b, a));
    for (let excess = members.length - params.names_per_cluster; excess > 0 && sheddable.length > 0; excess--) {
      const shed = sheddable.shift()!;
      book.delete(shed);
      exits.set(shed, 'trim');
    }
  }

  const entering = new Set<number>();
  const filled = new Int32Array(clusterCount);
  for (const k of book) filled[clustering.clusterOf[k]!]!++;
  const outside = Array.from({ length: n }, (_, k) => k)
    .filter((k) => !book.has(k) && !exits.has(k))
    .sort(byScore);
  for (const k of outside) {
    const cluster = clustering.clusterOf[k]!;
    if (filled[cluster]! >= params.names_per_cluster || conflictsWithBook(k, book)) continue;
    book.add(k);
    entering.add(k);
    filled[cluster]!++;
  }

  const swaps: Swap[] = [];
  for (;;) {
    let best: Swap | null = null;
    for (let cluster = 0; cluster < clusterCount; cluster++) {
      const swappable = inCluster(cluster).filter((k) => !locked.has(k) && !entering.has(k));
      if (swappable.length === 0) continue;
      const weakest = swappable.sort(byScore)[swappable.length - 1]!;
      const challenger = clustering.clusters[cluster]!.members.filter((k) => !book.has(k) && !exits.has(k))
        .sort(byScore)
        .find((k) => !conflictsWithBook(k, book, weakest));
      if (challenger === undefined) continue;
      const improvement = relativeImprovement(scores[challenger]!, scores[weakest]!);
      if (improvement >= params.swap_threshold && (best === null || improvement > best.improvement)) {
        best = { cluster, out: weakest, in: challenger, improvement };
      }
    }
    if (best === null) break;
    book.delete(best.out);
    exits.set(best.out, 'swap');
    book.add(best.in);
    entering.add(best.in);
    swaps.push(best);
  }

  const members = Array.from({ length: clusterCount }, (_, cluster) => inCluster(cluster).sort(byScore));
  return { members, entering, exits, swaps, lockedConflicts };
}

/**
 * (challenger − held) / |held|. A held score of exactly 0 leaves no scale: any positive
 * challenger is an unbounded improvement, any other none.
 */
export function relativeImprovement(challenger: number, held: number): number {
  if (held !== 0) return (challenger - held) / Math.abs(held);
  return challenger > 0 ? Number.POSITIVE_INFINITY : challenger < 0 ? Number.NEGATIVE_INFINITY : 0;
}
