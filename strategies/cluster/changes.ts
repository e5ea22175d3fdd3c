import { percent } from '../../src/risk/format.js';
import type { ChangeUnit } from './budget.js';
import type { Clustering } from './clustering.js';
import type { Selection } from './selection.js';
import { WEIGHT_EPSILON, type ClusterPlan } from './sizing.js';
import type { ClusterUniverse } from './universe.js';

export interface ChangeInput {
  readonly universe: ClusterUniverse;
  readonly clustering: Clustering;
  readonly clusterOfTicker: ReadonlyMap<string, number>;
  readonly selection: Selection;
  readonly plans: readonly ClusterPlan[];
  readonly maxPosition: number;
  /** Whether a name may join the book as it stands (the correlation filter). */
  readonly admissible: (ticker: string, weights: ReadonlyMap<string, number>) => boolean;
}

/**
 * Budget priority of each kind of change, lowest first: shed risk; restore names_per_cluster (fill
 * open slots, trim over-full clusters — reclustering every week leaves some of each); improve
 * (swaps); tidy (re-splits).
 */
const RANK = { correlation: 0, fill: 1, trim: 2, swap: 3, resplit: 4 } as const;

export interface ChangePlan {
  /** Drops or replacements of too-similar names: applied before cluster weights move. */
  readonly risk: readonly ChangeUnit[];
  /** Fills of open slots (best score first), trims of over-full clusters, swaps (largest improvement first), then equal re-splits (largest deviation first). */
  readonly other: readonly ChangeUnit[];
}

/**
 * The selection turned into change units at constant cluster weight, in budget priority order.
 * Moving weight between clusters is the budget's own tier, between the two lists. One unit per
 * name keeps each small enough to fit a weekly budget.
 */
export function changeUnits(input: ChangeInput): ChangePlan {
  const { universe, clustering, selection } = input;
  const ticker = (k: number): string => universe.tickers[k]!;
  const byScore = (a: number, b: number): number => universe.scores[b]! - universe.scores[a]! || a - b;
  const ranked: { unit: ChangeUnit; rank: number; urgency: number }[] = [];

  clustering.clusters.forEach((cluster, c) => {
    const swaps = selection.swaps.filter((s) => s.cluster === c);
    for (const swap of swaps) {
      const label = `swap ${ticker(swap.out)} → ${ticker(swap.in)} in cluster ${cluster.id} (score +${percent(swap.improvement)})`;
      ranked.push({ unit: replacement(ticker(swap.out), ticker(swap.in), label, input), rank: RANK.swap, urgency: swap.improvement });
    }
    const swappedIn = new Set(swaps.map((s) => s.in));
    const leaving = [...selection.exits].filter(([k, reason]) => reason !== 'swap' && clustering.clusterOf[k] === c).sort(([a], [b]) => byScore(a, b));
    const joining = [...selection.entering].filter((k) => !swappedIn.has(k) && clustering.clusterOf[k] === c).sort(byScore);
    leaving.forEach(([out, reason], i) => {
      const incoming = joining[i];
      const why = reason === 'correlation' ? 'too similar to a better holding' : `cluster ${cluster.id} holds too many`;
      const unit =
        incoming === undefined
          ? drop(ticker(out), c, `drop ${ticker(out)} (${why})`, input)
          : replacement(ticker(out), ticker(incoming), `replace ${ticker(out)} (${why}) with ${ticker(incoming)}`, input);
      ranked.push({ unit, rank: reason === 'correlation' ? RANK.correlation : RANK.trim, urgency: 0 });
    });
    for (const incoming of joining.slice(leaving.length)) {
      ranked.push({ unit: fill(ticker(incoming), c, `add ${ticker(incoming)} to cluster ${cluster.id}`, input), rank: RANK.fill, urgency: universe.scores[incoming]! });
    }
    const plan = input.plans[c]!;
    if (plan.reset !== null) {
      ranked.push({ unit: resplit(c, `re-split cluster ${cluster.id} equally`, input), rank: RANK.resplit, urgency: Math.abs(plan.current - plan.target) });
    }
  });
  ranked.sort((a, b) => a.rank - b.rank || b.urgency - a.urgency || (a.unit.label < b.unit.label ? -1 : a.unit.label > b.unit.label ? 1 : 0));
  return {
    risk: ranked.filter((r) => r.rank === RANK.correlation).map((r) => r.unit),
    other: ranked.filter((r) => r.rank !== RANK.correlation).map((r) => r.unit),
  };
}

/** The incoming name takes the outgoing one's weight. */
function replacement(out: string, incoming: string, label: string, input: ChangeInput): ChangeUnit {
  return {
    label,
    atomic: true,
    plan(weights) {
      const held = weights.get(out) ?? 0;
      if (held <= WEIGHT_EPSILON) return `${out} is no longer held`;
      const without = new Map(weights);
      without.delete(out);
      if (!input.admissible(incoming, without)) return `${incoming} would sit next to a too-similar holding`;
      return new Map([
        [out, 0],
        [incoming, (weights.get(incoming) ?? 0) + held],
      ]);
    },
  };
}

/**
 * The name is sold and its weight spread over the cluster's other holdings, so the cluster keeps
 * its weight; with no other holding it goes to cash, which the cluster tier reinvests.
 */
function drop(out: string, cluster: number, label: string, input: ChangeInput): ChangeUnit {
  return {
    label,
    atomic: true,
    plan(weights) {
      const held = weights.get(out) ?? 0;
      const keepers = holdersOf(weights, cluster, input).filter((t) => t !== out);
      const plan = new Map([[out, 0]]);
      for (const keeper of keepers) plan.set(keeper, Math.min(input.maxPosition, weights.get(keeper)! + held / keepers.length));
      return plan;
    },
  };
}

/**
 * The name joins its cluster at an equal share of the cluster's current weight. Nothing to do when
 * the budget's cluster tier already bought it into its empty cluster.
 */
function fill(incoming: string, cluster: number, label: string, input: ChangeInput): ChangeUnit {
  return {
    label,
    atomic: true,
    plan(weights) {
      if (weights.has(incoming)) return new Map();
      if (!input.admissible(incoming, weights)) return `${incoming} would sit next to a too-similar holding`;
      const holders = holdersOf(weights, cluster, input);
      const total = holders.reduce((sum, t) => sum + weights.get(t)!, 0);
      if (total <= WEIGHT_EPSILON) return new Map();
      const share = Math.min(input.maxPosition, total / (holders.length + 1));
      const plan = new Map(holders.map((t) => [t, (weights.get(t)! * (total - share)) / total]));
      plan.set(incoming, share);
      return plan;
    },
  };
}

/** Every holding of the cluster at an equal share of its current weight, capped; the excess stays cash. */
function resplit(cluster: number, label: string, input: ChangeInput): ChangeUnit {
  return {
    label,
    atomic: false,
    plan(weights) {
      const holders = holdersOf(weights, cluster, input);
      const total = holders.reduce((sum, t) => sum + weights.get(t)!, 0);
      return new Map(holders.map((t) => [t, Math.min(input.maxPosition, total / holders.length)]));
    },
  };
}

function holdersOf(weights: ReadonlyMap<string, number>, cluster: number, input: ChangeInput): string[] {
  return [...weights.keys()].filter((t) => input.clusterOfTicker.get(t) === cluster).sort();
}
