import type { IsoDate } from '../../src/core/dates.js';
import { defineStrategy, type SleeveTarget, type StrategyContext, type StrategyOutput } from '../../src/engine/strategy.js';
import { percent } from '../../src/risk/format.js';
import { applyWithinBudget, type BudgetOutcome, type ForcedExit } from './budget.js';
import { changeUnits } from './changes.js';
import { clusterByCorrelation, type Clustering } from './clustering.js';
import { clusterParamsSchema, clusterWarmupSessions, type ClusterParams } from './params.js';
import { selectMembers, type EligibleHolding, type Selection } from './selection.js';
import { clusterTargets, planClusterWeights, WEIGHT_EPSILON } from './sizing.js';
import { readClusterState, writeClusterState } from './state.js';
import { clusterUniverse, type ClusterUniverse } from './universe.js';
import { validateBook } from './validation.js';

export { clusterParamsSchema, type ClusterParams } from './params.js';

/**
 * One weekly rebalance: cluster the liquid universe on return correlations, pick the best
 * risk-adjusted names of each cluster, and move the prior sleeve toward equal cluster weights
 * through the tolerance band, holding period, swap threshold, correlation filter and turnover
 * budget (README.md explains each rule).
 */
export function clusterRebalance(context: StrategyContext<ClusterParams>): StrategyOutput {
  const { market, params, date, calendar } = context;
  const state = readClusterState(context.state, date, calendar);
  const prior = new Map([...context.priorSleeve].filter(([, w]) => w > WEIGHT_EPSILON).sort(([a], [b]) => compare(a, b)));
  const initialBuild = state === null && prior.size === 0;

  const universe = clusterUniverse(market, params, new Set(prior.keys()));
  const clustering = clusterByCorrelation(universe.tickers, universe.correlation, params.linkage, params.cut);
  const clusterIds = clustering.clusters.map((c) => c.id);
  const indexOf = new Map(universe.tickers.map((ticker, k) => [ticker, k]));
  const clusterOfTicker = new Map(universe.tickers.map((ticker, k) => [ticker, clustering.clusterOf[k]!]));

  const inMarket = new Set(market.tickers);
  const held: EligibleHolding[] = [];
  const exits: ForcedExit[] = [];
  const withoutEntryDate: string[] = [];
  for (const ticker of prior.keys()) {
    const index = indexOf.get(ticker);
    if (index === undefined) {
      exits.push({ ticker, mandatory: !inMarket.has(ticker) });
      continue;
    }
    const entry = state?.entryDates[ticker];
    if (entry === undefined) withoutEntryDate.push(ticker);
    held.push({ index, locked: entry !== undefined && calendar.sessionDistance(entry, date) < params.min_holding_sessions });
  }
  exits.sort((a, b) => Number(b.mandatory) - Number(a.mandatory) || compare(a.ticker, b.ticker));

  const selection = selectMembers({ scores: universe.scores, correlation: universe.correlation, clustering, held, params });
  const heldByCluster = clustering.clusters.map(() => [] as number[]);
  for (const h of held) heldByCluster[clustering.clusterOf[h.index]!]!.push(h.index);
  const weightOf = (k: number): number => prior.get(universe.tickers[k]!)!;
  const current = Float64Array.from(heldByCluster, (members) => members.reduce((sum, k) => sum + weightOf(k), 0));
  const membershipChanged = heldByCluster.map((members, c) => !sameMembers(members, selection.members[c]!));
  const aboveCap = heldByCluster.map((members) => members.some((k) => weightOf(k) > params.max_position + WEIGHT_EPSILON));
  const targets = clusterTargets(selection.members.map((m) => m.length), params.max_position);
  const plans = planClusterWeights(targets, current, membershipChanged, aboveCap, params.tolerance);

  const n = universe.tickers.length;
  const correlationOf = (a: string, b: string): number => {
    const k = indexOf.get(a);
    const l = indexOf.get(b);
    return k === undefined || l === undefined ? Number.NaN : universe.correlation[k * n + l]!;
  };
  const admissible = (ticker: string, weights: ReadonlyMap<string, number>): boolean => {
    for (const held of weights.keys()) if (held !== ticker && correlationOf(ticker, held) > params.max_pair_correlation) return false;
    return true;
  };
  const changes = changeUnits({ universe, clustering, clusterOfTicker, selection, plans, maxPosition: params.max_position, admissible });
  const outcome = applyWithinBudget({
    prior,
    exits,
    riskUnits: changes.risk,
    units: changes.other,
    clusterWeights: Float64Array.from(plans, (p) => p.planned),
    clusterOfTicker,
    desiredTickers: selection.members.map((members) => members.map((k) => universe.tickers[k]!)),
    clusterIds,
    admissible,
    budget: initialBuild ? Number.POSITIVE_INFINITY : params.turnover_budget,
    maxPosition: params.max_position,
  });
  const book = new Map([...outcome.weights].sort(([a], [b]) => compare(a, b)));

  const validation = validateBook({
    date,
    prior,
    book,
    clusterIds,
    clusterTargets: targets,
    clusterOfTicker,
    correlationOf,
    budgetBound: outcome.deferred.length > 0,
    initialBuild,
    tolerance: params.tolerance,
    maxPosition: params.max_position,
    turnoverBudget: params.turnover_budget,
    maxPairCorrelation: params.max_pair_correlation,
  });

  const entryDates: Record<string, IsoDate> = {};
  const clusters: Record<string, string> = {};
  const targetsOut: SleeveTarget[] = [];
  for (const [ticker, weight] of book) {
    const entry = prior.has(ticker) ? (state?.entryDates[ticker] ?? date) : date;
    entryDates[ticker] = entry;
    const cluster = clusterOfTicker.get(ticker);
    if (cluster !== undefined) clusters[ticker] = clusterIds[cluster]!;
    const k = indexOf.get(ticker);
    targetsOut.push({
      ticker,
      weight,
      ...(k !== undefined ? { score: universe.scores[k]! } : {}),
      meta: { cluster: cluster !== undefined ? clusterIds[cluster]! : null, entry_date: entry },
    });
  }

  const notes = describeRebalance({ params, universe, clustering, selection, book, initialBuild, outcome, targets });
  if (withoutEntryDate.length > 0) {
    notes.push(`no entry date in state for ${withoutEntryDate.join(', ')}: treated as past the holding period; kept ones are recorded as entered ${date}`);
  }
  const moved = Object.entries(clusters).filter(([ticker, id]) => state?.clusters[ticker] !== undefined && state.clusters[ticker] !== id);
  if (moved.length > 0) notes.push(`cluster label changed since the last rebalance: ${abbreviated(moved.map(([t, id]) => `${t} ${state!.clusters[t]}→${id}`))}`);
  if (!validation.passed) {
    const failed = Object.entries(validation.checks).filter(([, check]) => !check.passed);
    notes.push(`VALIDATION FAILED: ${failed.map(([name, check]) => `${name}: ${check.detail}`).join('; ')}`);
    context.log.warn({ date, failed: failed.map(([name]) => name) }, 'cluster rebalance failed its post-rebalance validation');
  }
  return { targets: targetsOut, state: writeClusterState({ entryDates, clusters, lastValidation: validation }), notes };
}

interface RebalanceSummary {
  readonly params: ClusterParams;
  readonly universe: ClusterUniverse;
  readonly clustering: Clustering;
  readonly selection: Selection;
  readonly book: ReadonlyMap<string, number>;
  readonly initialBuild: boolean;
  readonly outcome: BudgetOutcome;
  /** Target weight per cluster. */
  readonly targets: Float64Array;
}

function describeRebalance(summary: RebalanceSummary): string[] {
  const { params, universe, clustering, selection, book, outcome } = summary;
  const name = (k: number): string => universe.tickers[k]!;
  const cut = params.cut.by === 'count' ? `${params.cut.count} asked` : `cut at distance ${params.cut.distance}`;
  const excluded = universe.excluded;
  const invested = [...book.values()].reduce((sum, w) => sum + w, 0);
  const notes = [
    `${clustering.clusters.length} clusters (${params.linkage} linkage, ${cut}) over ${universe.tickers.length} names ` +
      `(${universe.eligible} eligible; excluded: ${excluded.noClose} without a close, ${excluded.belowMinAdv} below min_adv, ` +
      `${excluded.fewObservations} with < ${params.min_observations} returns, ${excluded.flatReturns} flat); ` +
      `${book.size} names held, invested ${percent(invested)}, turnover ${percent(outcome.turnover)}${summary.initialBuild ? ' (initial build, no budget)' : ''}`,
  ];
  if (outcome.applied.length > 0) notes.push(`done: ${abbreviated(outcome.applied)}`);
  if (outcome.deferred.length > 0) notes.push(`turnover budget ${percent(params.turnover_budget)} reached; waiting: ${abbreviated(outcome.deferred)}`);
  if (outcome.skipped.length > 0) notes.push(`no longer applicable: ${outcome.skipped.join('; ')}`);
  if (selection.lockedConflicts.length > 0) {
    notes.push(`too-similar pairs kept because both are inside the ${params.min_holding_sessions}-session holding period: ${selection.lockedConflicts.map(([a, b]) => `${name(a)}/${name(b)}`).join(', ')}`);
  }
  const investable = summary.targets.reduce((sum, t) => sum + t, 0);
  if (investable < 1 - WEIGHT_EPSILON) {
    notes.push(`cluster targets add up to ${percent(investable)}: their names at max_position ${percent(params.max_position)} cannot hold more, the rest is cash`);
  }
  const short = selection.members.filter((m) => m.length < params.names_per_cluster).length;
  if (short > 0) notes.push(`${short} cluster(s) hold fewer than ${params.names_per_cluster} names (too few members, or the others fail the correlation filter)`);
  return notes;
}

/** The first items of a long list, so one busy week does not bury the run summary. */
function abbreviated(items: readonly string[], shown = 8): string {
  const head = items.slice(0, shown).join('; ');
  return items.length > shown ? `${head}; … and ${items.length - shown} more` : head;
}

function sameMembers(held: readonly number[], desired: readonly number[]): boolean {
  return held.length === desired.length && held.every((k) => desired.includes(k));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export default defineStrategy<ClusterParams>({
  name: 'cluster',
  description: 'Hierarchical clusters on return correlations, best risk-adjusted names per cluster, equal cluster weights within a tolerance band and a turnover budget',
  paramsSchema: clusterParamsSchema,
  warmupSessions: clusterWarmupSessions,
  rebalance: clusterRebalance,
});
