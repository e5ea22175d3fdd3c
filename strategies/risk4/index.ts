import { compareNumbers } from '../../src/core/compare.js';
import { z } from 'zod';
import { DataError } from '../../src/core/errors.js';
import type { PointInTimeMarket } from '../../src/data/panel.js';
import { defineStrategy, type SleeveTarget, type StrategyOutput } from '../../src/engine/strategy.js';
import { applyCaps } from '../../src/risk/caps.js';
import { percent } from '../../src/risk/format.js';
import { liquidUniverse, sectorIndex, universeSectorCaps } from '../../src/risk/universe.js';

/** alpha_z is clipped to ±this many standard deviations so one outlier cannot dominate. */
export const Z_CLIP = 3;

export const risk4ParamsSchema = z
  .object({
    /** Names held: the top N by alpha_z. */
    top_n: z.number().int().min(1).default(75),
    /** adv_20 floor ($) of the universe. */
    min_adv: z.number().min(0).default(2_000_000),
    /** Largest weight of one name. */
    max_position: z.number().positive().max(1).default(0.03),
    /** Sector cap = this × the sector's count share of the universe. */
    max_sector_mult: z.number().positive().default(2.0),
  })
  .strict();

export type Risk4Params = z.infer<typeof risk4ParamsSchema>;

/**
 * Cross-sectional z-scores of `values` over the universe with the sample std (n − 1), clipped to
 * ±Z_CLIP; NaN outside the universe.
 */
export function clippedZScores(values: Float64Array, universe: Uint8Array, date: string): Float64Array {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    if (universe[i] === 1) {
      sum += values[i]!;
      count++;
    }
  }
  if (count < 2) throw new DataError(`risk4 at ${date}: the universe has ${count} name(s); a z-score needs at least 2`);
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < values.length; i++) if (universe[i] === 1) squares += (values[i]! - mean) ** 2;
  const std = Math.sqrt(squares / (count - 1));
  if (!(std > 0)) throw new DataError(`risk4 at ${date}: alpha is identical for all ${count} universe names (std 0); cannot rank`);
  const scores = new Float64Array(values.length).fill(Number.NaN);
  for (let i = 0; i < values.length; i++) {
    if (universe[i] === 1) scores[i] = Math.min(Z_CLIP, Math.max(-Z_CLIP, (values[i]! - mean) / std));
  }
  return scores;
}

/** Indices of the top `n` universe names by score descending, ties by ticker ascending. */
export function topByScore(scores: Float64Array, universe: Uint8Array, tickers: readonly string[], n: number): number[] {
  const members: number[] = [];
  for (let i = 0; i < universe.length; i++) if (universe[i] === 1) members.push(i);
  const byTicker = (a: number, b: number): number => (tickers[a]! < tickers[b]! ? -1 : tickers[a]! > tickers[b]! ? 1 : 0);
  members.sort((a, b) => compareNumbers(scores[b]!, scores[a]!) || byTicker(a, b));
  return members.slice(0, n);
}

export function risk4Rebalance(market: PointInTimeMarket, params: Risk4Params): StrategyOutput {
  const universe = liquidUniverse(market, params.min_adv);
  const universeSize = universe.reduce((count, member) => count + member, 0);
  if (universeSize === 0) {
    throw new DataError(
      `risk4 at ${market.date}: no ticker passes the universe filter (alpha present, vol_blend > 0, adv_20 ≥ ${params.min_adv}, sector present)`,
    );
  }
  const alphaZ = clippedZScores(market.field('alpha'), universe, market.date);
  const selected = topByScore(alphaZ, universe, market.tickers, params.top_n);
  const volBlend = market.field('volBlend');

  // Higher conviction and lower volatility earn more weight; negative conviction earns none.
  const base = new Float64Array(market.tickers.length);
  for (const i of selected) base[i] = Math.max(alphaZ[i]!, 0) / volBlend[i]!;

  const sectors = sectorIndex(market.sectors);
  const sectorCaps = universeSectorCaps(sectors.ids, sectors.names.length, universe, params.max_sector_mult, params.max_position);
  const capped = applyCaps({ weights: base, sectorIds: sectors.ids, positionCap: params.max_position, sectorCaps, budget: 1 });

  const adv20 = market.field('adv20');
  const targets: SleeveTarget[] = [];
  selected.forEach((i, rank) => {
    const weight = capped.weights[i]!;
    if (weight <= 0) return;
    targets.push({
      ticker: market.tickers[i]!,
      weight,
      score: alphaZ[i]!,
      meta: { alpha_z: alphaZ[i]!, vol_blend: volBlend[i]!, adv_20: adv20[i]!, rank: rank + 1, sector: market.sectors[i] ?? null },
    });
  });

  const notes: string[] = [];
  if (selected.length < params.top_n) notes.push(`universe has ${universeSize} names, fewer than top_n ${params.top_n}`);
  const unweighted = selected.length - targets.length;
  if (unweighted > 0) notes.push(`${unweighted} of the top ${selected.length} have alpha_z ≤ 0 and get no weight`);
  if (capped.cash > 0) {
    const sectorsAtCap = [...capped.bindingSectors].map((s) => sectors.names[s]).join(', ');
    notes.push(
      `caps make a fully invested book impossible: ${percent(capped.cash)} held as cash ` +
        `(${targets.length} weighted names, ${capped.bindingPositions.length} at the ${percent(params.max_position)} position cap` +
        `${sectorsAtCap ? `; sectors at cap: ${sectorsAtCap}` : ''})`,
    );
  }
  return { targets, notes };
}

export default defineStrategy<Risk4Params>({
  name: 'risk4',
  description: 'Top-N alpha z-score, inverse-vol weighted, with position and sector caps that hold after normalisation',
  paramsSchema: risk4ParamsSchema,
  // alpha, vol_blend and adv_20 are precomputed features: only the cross-section at D is read.
  warmupSessions: () => 1,
  rebalance: ({ market, params }) => risk4Rebalance(market, params),
});
