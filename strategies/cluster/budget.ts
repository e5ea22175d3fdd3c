import { percent } from '../../src/risk/format.js';
import { WEIGHT_EPSILON } from './sizing.js';

/** A holding that left the universe (or the market data altogether) and is sold. */
export interface ForcedExit {
  readonly ticker: string;
  /** Gone from the market data: it cannot stay in the sleeve at any weight, so it is sold whatever the budget. */
  readonly mandatory: boolean;
}

/** One step of the rebalance below the cluster level: a swap, a replacement, a drop, a fill, a re-split. */
export interface ChangeUnit {
  readonly label: string;
  /**
   * Applied whole or skipped (a swap: half of one would hold both names), or else scaled down to
   * the budget left (an equal re-split of a cluster's weight).
   */
  readonly atomic: boolean;
  /**
   * New weights of the names it touches, given the book as it stands when its turn comes (earlier
   * units may have been skipped); or why it no longer applies.
   */
  plan(weights: ReadonlyMap<string, number>): ReadonlyMap<string, number> | string;
}

export interface BudgetInput {
  readonly prior: ReadonlyMap<string, number>;
  readonly exits: readonly ForcedExit[];
  /** Changes that shed risk (too-similar names), in priority order, applied before cluster weights move. */
  readonly riskUnits: readonly ChangeUnit[];
  /** The other changes (fills, swaps, trims, re-splits), in priority order, applied after. */
  readonly units: readonly ChangeUnit[];
  /** Planned weight per cluster (ClusterPlan.planned). */
  readonly clusterWeights: Float64Array;
  /** Cluster index of every universe ticker. */
  readonly clusterOfTicker: ReadonlyMap<string, number>;
  /** Desired names per cluster: an empty cluster's new weight is split equally among those still admissible. */
  readonly desiredTickers: readonly (readonly string[])[];
  readonly clusterIds: readonly string[];
  /** Whether a name may join the book as it stands (the correlation filter). */
  admissible(ticker: string, weights: ReadonlyMap<string, number>): boolean;
  /** One-way turnover allowed; Infinity for the initial build. */
  readonly budget: number;
  readonly maxPosition: number;
}

export interface BudgetOutcome {
  readonly weights: Map<string, number>;
  /** ½Σ|Δw| actually traded. */
  readonly turnover: number;
  /** What was done, in the order it was done. */
  readonly applied: readonly string[];
  /** What the budget cut short or postponed; empty when everything planned fitted. */
  readonly deferred: readonly string[];
  /** Units that no longer applied by their turn (e.g. an addition next to a too-similar name a skipped unit left in place). */
  readonly skipped: readonly string[];
}

/**
 * Applies the rebalance within the turnover budget in four tiers, highest priority first:
 * 1. exits of names that left the universe (scaled down when the budget runs short; names gone
 *    from the data entirely always go);
 * 2. risk units (drops and replacements of too-similar names);
 * 3. cluster weight moves toward the planned weights, largest gap first, with buys funded by sells
 *    and cash: with a remaining budget R and cash C, it sells S = R − C/2 and buys S + C, so the
 *    book never goes above fully invested and ½(S + buys) ≤ R. Cash from exits is reinvested here,
 *    before any swap competes for the budget;
 * 4. the other units: fills, swaps, trims, re-splits.
 * In tiers 2 and 4 an atomic unit is applied whole or skipped (a skipped unit leaves the budget to
 * smaller ones behind it) and a divisible one is scaled to what is left. Every tier costs ½Σ|Δw|
 * of what it applies, so the total never exceeds the budget.
 */
export function applyWithinBudget(input: BudgetInput): BudgetOutcome {
  const weights = new Map(input.prior);
  const applied: string[] = [];
  const deferred: string[] = [];
  const skipped: string[] = [];
  let remaining = input.budget;
  const setWeight = (ticker: string, weight: number): void => {
    if (weight > WEIGHT_EPSILON) weights.set(ticker, weight);
    else weights.delete(ticker);
  };

  for (const exit of input.exits) {
    const held = weights.get(exit.ticker) ?? 0;
    const affordable = exit.mandatory ? held : Math.min(held, 2 * Math.max(0, remaining));
    const why = exit.mandatory ? 'gone from the market data' : 'left the universe';
    if (affordable > WEIGHT_EPSILON) applied.push(`sell ${exit.ticker} (${why})`);
    if (affordable < held - WEIGHT_EPSILON) deferred.push(`exit of ${exit.ticker} (${why}) sold ${percent(affordable)} of its ${percent(held)}`);
    setWeight(exit.ticker, held - affordable);
    remaining -= affordable / 2;
  }

  const applyUnits = (units: readonly ChangeUnit[]): void => {
    for (const unit of units) {
      const plan = unit.plan(weights);
      if (typeof plan === 'string') {
        skipped.push(`${unit.label}: ${plan}`);
        continue;
      }
      let cost = 0;
      for (const [ticker, weight] of plan) cost += Math.abs(weight - (weights.get(ticker) ?? 0)) / 2;
      if (cost <= WEIGHT_EPSILON) continue;
      const affordable = Math.max(0, remaining);
      if (cost > affordable + WEIGHT_EPSILON && unit.atomic) {
        deferred.push(`${unit.label} waits (needs ${percent(cost)} turnover, ${percent(affordable)} left)`);
        continue;
      }
      const scale = Math.min(1, affordable / cost);
      applied.push(unit.label);
      if (scale < 1) deferred.push(`${unit.label} done ${percent(scale)} of the way`);
      for (const [ticker, weight] of plan) {
        const before = weights.get(ticker) ?? 0;
        setWeight(ticker, before + scale * (weight - before));
      }
      remaining -= scale * cost;
    }
  };

  applyUnits(input.riskUnits);
  const moved = moveClusterWeights(weights, input, Math.max(0, remaining), deferred);
  if (moved.sold + moved.bought > WEIGHT_EPSILON) applied.push(`move cluster weights (sell ${percent(moved.sold)}, buy ${percent(moved.bought)})`);
  remaining -= (moved.sold + moved.bought) / 2;
  applyUnits(input.units);
  return { weights, turnover: oneWayTurnover(input.prior, weights), applied, deferred, skipped };
}

/** ½Σ|after − before| over every name in either book. */
export function oneWayTurnover(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const [ticker, weight] of before) total += Math.abs((after.get(ticker) ?? 0) - weight);
  for (const [ticker, weight] of after) if (!before.has(ticker)) total += Math.abs(weight);
  return total / 2;
}

/** Tier 3; returns the weight it sold and bought. */
function moveClusterWeights(weights: Map<string, number>, input: BudgetInput, budget: number, deferred: string[]): { sold: number; bought: number } {
  const clusterCount = input.clusterWeights.length;
  const current = new Float64Array(clusterCount);
  let invested = 0;
  for (const [ticker, weight] of weights) {
    invested += weight;
    const cluster = input.clusterOfTicker.get(ticker);
    if (cluster !== undefined) current[cluster] = current[cluster]! + weight;
  }
  const cash = 1 - invested;
  const gaps = Array.from(input.clusterWeights, (planned, c) => planned - current[c]!);
  const sells = gaps.map((gap, c) => ({ c, amount: -gap })).filter((s) => s.amount > WEIGHT_EPSILON);
  const buys = gaps.map((gap, c) => ({ c, amount: gap })).filter((b) => b.amount > WEIGHT_EPSILON);
  // Clusters that must empty (no name left to hold) sell first; then the largest gap, ties by id.
  sells.sort((x, y) => Number(input.clusterWeights[x.c]! > 0) - Number(input.clusterWeights[y.c]! > 0) || y.amount - x.amount || compare(input.clusterIds[x.c]!, input.clusterIds[y.c]!));
  buys.sort((x, y) => y.amount - x.amount || compare(input.clusterIds[x.c]!, input.clusterIds[y.c]!));
  const wantedSells = sells.reduce((sum, s) => sum + s.amount, 0);
  const wantedBuys = buys.reduce((sum, b) => sum + b.amount, 0);

  let sellBudget = wantedSells;
  let buyBudget = wantedBuys;
  if ((wantedSells + wantedBuys) / 2 > budget + WEIGHT_EPSILON) {
    sellBudget = Math.min(wantedSells, Math.max(0, budget - cash / 2));
    buyBudget = Math.max(0, Math.min(wantedBuys, sellBudget + cash, 2 * budget - sellBudget));
    sellBudget = Math.min(wantedSells, 2 * budget - buyBudget);
    deferred.push(
      `cluster weight moves: sell ${percent(sellBudget)} of ${percent(wantedSells)} and buy ${percent(buyBudget)} of ${percent(wantedBuys)} wanted`,
    );
  }

  let sold = 0;
  let bought = 0;
  for (const sell of sells) {
    const amount = Math.min(sell.amount, sellBudget);
    if (amount <= WEIGHT_EPSILON) break;
    sellBudget -= amount;
    sold += reduceCluster(weights, tickersOf(weights, input.clusterOfTicker, sell.c), amount);
  }
  for (const buy of buys) {
    const amount = Math.min(buy.amount, buyBudget);
    if (amount <= WEIGHT_EPSILON) break;
    buyBudget -= amount;
    const holders = tickersOf(weights, input.clusterOfTicker, buy.c);
    const recipients = holders.length > 0 ? holders : admissibleAmong(input.desiredTickers[buy.c]!, weights, input.admissible);
    bought += raiseCluster(weights, recipients, amount, input.maxPosition);
  }
  return { sold, bought };
}

/** Takes `amount` from the names in proportion to their weights; returns the weight sold. */
function reduceCluster(weights: Map<string, number>, tickers: readonly string[], amount: number): number {
  const total = tickers.reduce((sum, t) => sum + (weights.get(t) ?? 0), 0);
  const keep = Math.max(0, 1 - amount / total);
  for (const ticker of tickers) {
    const after = (weights.get(ticker) ?? 0) * keep;
    if (after > WEIGHT_EPSILON) weights.set(ticker, after);
    else weights.delete(ticker);
  }
  return total * (1 - keep);
}

/**
 * Adds `amount` to the names in proportion to their weights (equally when none is held), never
 * taking a name above `cap`: what cannot be placed stays cash. Returns the weight bought.
 */
function raiseCluster(weights: Map<string, number>, tickers: readonly string[], amount: number, cap: number): number {
  let left = amount;
  let open = tickers.filter((t) => (weights.get(t) ?? 0) < cap - WEIGHT_EPSILON);
  while (left > WEIGHT_EPSILON && open.length > 0) {
    const before = open.map((t) => weights.get(t) ?? 0);
    const base = before.reduce((sum, w) => sum + w, 0);
    let placed = 0;
    open.forEach((ticker, i) => {
      const share = base > 0 ? before[i]! / base : 1 / open.length;
      const after = Math.min(cap, before[i]! + left * share);
      placed += after - before[i]!;
      weights.set(ticker, after);
    });
    left -= placed;
    open = open.filter((t) => weights.get(t)! < cap - WEIGHT_EPSILON);
  }
  return amount - left;
}

/** Desired names of an empty cluster that may join, each checked against the book including those admitted before it. */
function admissibleAmong(tickers: readonly string[], weights: ReadonlyMap<string, number>, admissible: BudgetInput['admissible']): string[] {
  const book = new Map(weights);
  const admitted: string[] = [];
  for (const ticker of tickers) {
    if (!admissible(ticker, book)) continue;
    admitted.push(ticker);
    book.set(ticker, 0);
  }
  return admitted;
}

function tickersOf(weights: ReadonlyMap<string, number>, clusterOfTicker: ReadonlyMap<string, number>, cluster: number): string[] {
  return [...weights.keys()].filter((t) => clusterOfTicker.get(t) === cluster).sort(compare);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
