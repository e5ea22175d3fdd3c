import type { IsoDate } from '../../src/core/dates.js';
import { percent } from '../../src/risk/format.js';
import { oneWayTurnover } from './budget.js';
import { WEIGHT_EPSILON } from './sizing.js';

export const CHECK_NAMES = ['cluster_band', 'position_cap', 'turnover', 'correlation', 'long_only'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  readonly passed: boolean;
  readonly detail: string;
}

/** Kept in state as `lastValidation` so a failed check is still visible on the next run. */
export interface ValidationReport {
  readonly date: IsoDate;
  readonly passed: boolean;
  readonly checks: Readonly<Record<CheckName, CheckResult>>;
}

export interface ValidationInput {
  readonly date: IsoDate;
  readonly prior: ReadonlyMap<string, number>;
  readonly book: ReadonlyMap<string, number>;
  readonly clusterIds: readonly string[];
  readonly clusterTargets: Float64Array;
  readonly clusterOfTicker: ReadonlyMap<string, number>;
  /** ρ of two universe tickers (NaN when undefined or either is outside the universe). */
  readonly correlationOf: (a: string, b: string) => number;
  /** The budget cut the rebalance short, so clusters may legitimately stay outside their band. */
  readonly budgetBound: boolean;
  /** The initial build is not a rebalance: the turnover budget does not apply to it. */
  readonly initialBuild: boolean;
  readonly tolerance: number;
  readonly maxPosition: number;
  readonly turnoverBudget: number;
  readonly maxPairCorrelation: number;
}

/**
 * The seed's post-rebalance checks on the book about to be emitted, recomputed from the weights
 * themselves rather than from the plan that produced them: cluster weights within tolerance of
 * target (unless the budget deferred the move), no name above the position cap, turnover within
 * budget, no pair above the correlation limit, long-only and at most fully invested.
 */
export function validateBook(input: ValidationInput): ValidationReport {
  const slack = WEIGHT_EPSILON * 1e3;
  const clusterWeights = new Float64Array(input.clusterIds.length);
  for (const [ticker, weight] of input.book) {
    const cluster = input.clusterOfTicker.get(ticker);
    if (cluster !== undefined) clusterWeights[cluster] = clusterWeights[cluster]! + weight;
  }
  const outOfBand: string[] = [];
  input.clusterIds.forEach((id, c) => {
    const deviation = clusterWeights[c]! - input.clusterTargets[c]!;
    if (Math.abs(deviation) > input.tolerance + slack) outOfBand.push(`${id} ${percent(clusterWeights[c]!)} vs ${percent(input.clusterTargets[c]!)}`);
  });
  const bandDetail = outOfBand.length === 0 ? `every cluster within ±${percent(input.tolerance)} of target` : `outside ±${percent(input.tolerance)}: ${outOfBand.join(', ')}`;
  const clusterBand: CheckResult =
    outOfBand.length === 0 || !input.budgetBound
      ? { passed: outOfBand.length === 0, detail: bandDetail }
      : { passed: true, detail: `${bandDetail} (deferred by the turnover budget)` };

  const overCap = [...input.book].filter(([, w]) => w > input.maxPosition + slack).map(([t, w]) => `${t} ${percent(w)}`);
  const positionCap: CheckResult = {
    passed: overCap.length === 0,
    detail: overCap.length === 0 ? `no name above ${percent(input.maxPosition)}` : `above ${percent(input.maxPosition)}: ${overCap.join(', ')}`,
  };

  const turnover = oneWayTurnover(input.prior, input.book);
  const turnoverCheck: CheckResult = input.initialBuild
    ? { passed: true, detail: `initial build, ${percent(turnover)} (the budget applies from the next rebalance)` }
    : { passed: turnover <= input.turnoverBudget + slack, detail: `${percent(turnover)} of a ${percent(input.turnoverBudget)} budget` };

  const held = [...input.book.keys()].sort();
  const similarPairs: string[] = [];
  for (let i = 0; i < held.length; i++) {
    for (let j = i + 1; j < held.length; j++) {
      const rho = input.correlationOf(held[i]!, held[j]!);
      if (rho > input.maxPairCorrelation) similarPairs.push(`${held[i]}/${held[j]} ρ=${rho.toFixed(3)}`);
    }
  }
  const correlation: CheckResult = {
    passed: similarPairs.length === 0,
    detail: similarPairs.length === 0 ? `no pair above ρ ${input.maxPairCorrelation}` : `pairs above ρ ${input.maxPairCorrelation}: ${similarPairs.join(', ')}`,
  };

  const negative = [...input.book].filter(([, w]) => !(w >= 0)).map(([t]) => t);
  const invested = [...input.book.values()].reduce((sum, w) => sum + w, 0);
  const longOnly: CheckResult = {
    passed: negative.length === 0 && invested <= 1 + slack,
    detail: negative.length > 0 ? `negative or non-finite weights: ${negative.join(', ')}` : `invested ${percent(invested)}, cash ${percent(1 - invested)}`,
  };

  const checks = { cluster_band: clusterBand, position_cap: positionCap, turnover: turnoverCheck, correlation, long_only: longOnly };
  return { date: input.date, passed: Object.values(checks).every((c) => c.passed), checks };
}
