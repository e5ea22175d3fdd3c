import type { PointInTimeMarket } from '../data/panel.js';
import { applyCaps, BINDING_SLACK, clipToCaps } from './caps.js';
import type { RiskConfig } from './config.js';
import { exposureOf, exposureScale } from './exposure.js';
import { percent as pct } from './format.js';
import { oneWayTurnover, smoothTurnover } from './turnover.js';
import { liquidUniverse, sectorIndex, universeSectorCaps } from './universe.js';
import { estimateBookVol } from './volatility.js';

export interface BookSectors {
  /** Sector id per ticker, −1 = none. */
  readonly sectorIds: Int32Array;
  /** Sector name per id, for notes. */
  readonly sectorNames: readonly string[];
  /** Cap on Σ|w| per sector id. */
  readonly sectorCaps: Float64Array;
}

/** Sector ids and caps at D from the config's universe (see `liquidUniverse`). */
export function deriveBookSectors(market: PointInTimeMarket, config: RiskConfig): BookSectors {
  // Replay's books share the session's market and risk config: derived once for all of them.
  if (latestSectors?.market === market && latestSectors.config === config) return latestSectors.sectors;
  const { ids, names } = sectorIndex(market.sectors);
  const universe = liquidUniverse(market, config.sector_universe_min_adv);
  const caps = universeSectorCaps(ids, names.length, universe, config.max_sector_mult, config.max_position);
  const sectors = { sectorIds: ids, sectorNames: names, sectorCaps: caps };
  latestSectors = { market, config, sectors };
  return sectors;
}

let latestSectors: { market: PointInTimeMarket; config: RiskConfig; sectors: BookSectors } | null = null;

export interface RiskStageInput {
  /** Net target weights aligned with `market.tickers`. */
  readonly target: Float64Array;
  /** Current book as weights at D, or null before the first rebalance. */
  readonly prior: Float64Array | null;
  readonly market: PointInTimeMarket;
  readonly config: RiskConfig;
  /** Sector ids and caps; derived from `market` and `config` (`deriveBookSectors`) when omitted. */
  readonly sectors?: BookSectors;
}

export type RiskStepName = 'caps' | 'prior_caps' | 'turnover' | 'vol_target' | 'exposure' | 'hold';

export interface RiskStep {
  readonly step: RiskStepName;
  readonly detail: string;
}

export interface RiskStageResult {
  readonly weights: Float64Array;
  /** 1 − Σw: the uninvested fraction of a long-only book; short proceeds count as cash. */
  readonly cash: number;
  readonly steps: readonly RiskStep[];
  /** ½Σ|weights − prior| of the final book (0 without a prior), including scaling and forced clips. */
  readonly turnover: number;
  /** ½Σ|clipped prior − prior|: what a prior that drifted over its caps forces, outside the turnover budget. */
  readonly forcedTurnover: number;
  /** Annualised volatility of the final book. */
  readonly estimatedVol: number;
  readonly volScale: number;
  readonly exposureScale: number;
  readonly notes: readonly string[];
}

/**
 * Book-level risk, in the seed's order: (a) caps on the target, (b) turnover smoothing against
 * the prior, (c) volatility targeting, (d) gross/net bounds. Steps (c) and (d) scale the whole
 * book by factors ≤ 1 (unless leverage is allowed), so the caps from (a)–(b) still hold after them.
 */
export function applyRiskStage(input: RiskStageInput): RiskStageResult {
  const { target, prior, market, config } = input;
  checkAligned(market, target, 'target');
  if (prior) checkAligned(market, prior, 'prior');
  const sectors = input.sectors ?? deriveBookSectors(market, config);
  const steps: RiskStep[] = [];
  const notes: string[] = [];

  const capped = capTarget(target, sectors, config, steps, notes);
  let weights = capped;
  let forcedTurnover = 0;
  if (prior) {
    const smoothed = smoothAgainstPrior(prior, capped, sectors, config, steps, notes);
    weights = smoothed.weights;
    forcedTurnover = smoothed.forcedTurnover;
  }

  const { vol, volScale } = targetVolatility(market, weights, config, steps, notes);
  // `weights` is this stage's own array (made by the caps or the smoothing), so it is scaled in place.
  scaleInPlace(weights, volScale);
  const boundScale = exposureBoundScale(weights, config, steps, notes);
  scaleInPlace(weights, boundScale);

  return {
    weights,
    cash: 1 - exposureOf(weights).net,
    steps,
    turnover: prior ? oneWayTurnover(prior, weights) : 0,
    forcedTurnover,
    estimatedVol: vol * volScale * boundScale,
    volScale,
    exposureScale: boundScale,
    notes,
  };
}

function capTarget(
  target: Float64Array,
  { sectorIds, sectorCaps, sectorNames }: BookSectors,
  config: RiskConfig,
  steps: RiskStep[],
  notes: string[],
): Float64Array {
  let longBudget = 0;
  for (let i = 0; i < target.length; i++) if (target[i]! > 0) longBudget += target[i]!;
  const caps = applyCaps({ weights: target, sectorIds, positionCap: config.max_position, sectorCaps, budget: longBudget });
  const moved = oneWayTurnover(target, caps.weights);
  const binding = `${caps.bindingPositions.length} names at the ${pct(config.max_position)} position cap` +
    (caps.bindingSectors.length > 0 ? `; sectors at cap: ${[...caps.bindingSectors].map((s) => sectorNames[s]).join(', ')}` : '');
  steps.push({ step: 'caps', detail: moved > BINDING_SLACK ? `caps moved ${pct(moved)} of weight (${binding})` : `target already within caps (${binding})` });
  if (caps.cash > 0) notes.push(`caps leave ${pct(caps.cash)} of the long book in cash: no fully invested book satisfies them (${binding})`);
  return caps.weights;
}

function smoothAgainstPrior(
  prior: Float64Array,
  cappedTarget: Float64Array,
  { sectorIds, sectorCaps }: BookSectors,
  config: RiskConfig,
  steps: RiskStep[],
  notes: string[],
): { weights: Float64Array; forcedTurnover: number } {
  // A prior that drifted over a cap has to be cut whatever the budget; counting that cut inside
  // the smoothing budget would let drift starve the strategy's own changes.
  const priorCapped = clipToCaps(prior, sectorIds, config.max_position, sectorCaps);
  const forcedTurnover = oneWayTurnover(prior, priorCapped);
  if (forcedTurnover > BINDING_SLACK) {
    steps.push({ step: 'prior_caps', detail: `prior breaks caps: clipping it trades ${pct(forcedTurnover)}` });
    notes.push(`prior holdings drifted over their caps: ${pct(forcedTurnover)} turnover forced on top of the ${pct(config.max_turnover)} budget`);
  }
  const smoothed = smoothTurnover(cappedTarget, priorCapped, config.lambda_tc, config.max_turnover);
  steps.push({
    step: 'turnover',
    detail:
      smoothed.changeScale < 1
        ? `blend (λ=${config.lambda_tc}) trades ${pct(smoothed.blendTurnover)} > ${pct(config.max_turnover)}: change scaled by ${smoothed.changeScale.toFixed(4)}`
        : `blend (λ=${config.lambda_tc}) trades ${pct(smoothed.turnover)}`,
  });
  return { weights: smoothed.weights, forcedTurnover };
}

function targetVolatility(
  market: PointInTimeMarket,
  weights: Float64Array,
  config: RiskConfig,
  steps: RiskStep[],
  notes: string[],
): { vol: number; volScale: number } {
  const { vol, profile } = estimateBookVol(market, weights, config.vol_window, config.shrinkage);
  if (profile.thinHistoryNames > 0) {
    notes.push(`${profile.thinHistoryNames} held names have returns on under half of the ${config.vol_window}-session window: their risk is understated`);
  }
  if (vol === 0) {
    steps.push({ step: 'vol_target', detail: 'estimated volatility is 0 (no held name has returns): not scaled' });
    return { vol, volScale: 1 };
  }
  const maxScale = config.allow_leverage ? config.max_leverage : 1;
  const volScale = Math.min(maxScale, config.target_vol / vol);
  steps.push({
    step: 'vol_target',
    detail: `estimated vol ${pct(vol)} vs target ${pct(config.target_vol)}: scale ${volScale.toFixed(4)}`,
  });
  if (volScale < 1) notes.push(`volatility targeting scaled the book to ${pct(volScale)} (estimated vol ${pct(vol)})`);
  return { vol, volScale };
}

function exposureBoundScale(weights: Float64Array, config: RiskConfig, steps: RiskStep[], notes: string[]): number {
  const exposure = exposureOf(weights);
  const scale = exposureScale(exposure, { maxGross: config.max_gross, maxNet: config.max_net, minNet: config.min_net });
  const measured = `gross ${pct(exposure.gross)} / net ${pct(exposure.net)}`;
  steps.push({ step: 'exposure', detail: scale < 1 ? `${measured} outside bounds: book scaled by ${scale.toFixed(4)}` : `${measured} within bounds` });
  if (scale < 1) notes.push(`exposure bounds scaled the book by ${scale.toFixed(4)} (${measured})`);
  return scale;
}

function scaleInPlace(weights: Float64Array, factor: number): void {
  if (factor === 1) return;
  for (let i = 0; i < weights.length; i++) weights[i] = weights[i]! * factor;
}

function checkAligned(market: PointInTimeMarket, weights: Float64Array, name: string): void {
  if (weights.length !== market.tickers.length) {
    throw new RangeError(`${name} has ${weights.length} weights for ${market.tickers.length} tickers`);
  }
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i]!)) throw new RangeError(`${name} weight of ${market.tickers[i]} is not finite`);
  }
}
