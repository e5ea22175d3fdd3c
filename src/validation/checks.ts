import type { IsoDate } from '../core/dates.js';
import type { PointInTimeMarket, RegimeLabel } from '../data/panel.js';
import type { ValidationConfig } from '../config/schema.js';
import { hasCritical, type Alert } from './alerts.js';
import { orderStatistics } from '../core/order-statistics.js';
import { sectorIndex } from '../risk/universe.js';

export interface DataFreshness {
  readonly feat_matrix_latest: IsoDate | null;
  readonly sep_base_latest: IsoDate | null;
  readonly regime_latest: IsoDate | null;
}

/** Every check `preRebalanceChecks` runs, with the condition it tests, for the full status table. */
export const PRE_REBALANCE_CHECKS: readonly { readonly check: string; readonly condition: string }[] = [
  { check: 'data_freshness.sep_base', condition: 'sep_base has the requested session (CRITICAL if stale)' },
  { check: 'data_freshness.feat_matrix_v2', condition: 'feat_matrix_v2 has the requested session (CRITICAL if stale)' },
  { check: 'data_freshness.regime', condition: 'regime is not behind the requested session' },
  { check: 'universe.size', condition: 'names passing the ADV filter ≥ min_universe (CRITICAL) and ≥ healthy_universe' },
  { check: 'universe.sectors', condition: 'sectors represented ≥ expected_sectors' },
  { check: 'universe.sector_share', condition: 'no sector above max_sector_share of the universe' },
  { check: 'signal.alpha_nulls', condition: 'share of liquid names without alpha ≤ max_alpha_null_share' },
  { check: 'signal.alpha_std', condition: 'alpha has dispersion (CRITICAL if none) and std ≥ min_alpha_std' },
  { check: 'signal.alpha_spread', condition: '(p90 − p10) / std of alpha ≥ min_alpha_spread' },
];

/**
 * Seed §7.1 checks that run before any strategy: data freshness, signal quality, universe health.
 * `market` is null when the requested date has no data at all (itself a CRITICAL finding).
 */
export function preRebalanceChecks(date: IsoDate, freshness: DataFreshness, market: PointInTimeMarket | null, config: ValidationConfig): Alert[] {
  const alerts: Alert[] = [...freshnessAlerts(date, freshness)];
  if (market === null) return alerts;
  const members = liquidUniverse(market, config.min_adv);
  alerts.push(...universeAlerts(market, members, config), ...signalAlerts(market, members, config));
  return alerts;
}

function freshnessAlerts(date: IsoDate, freshness: DataFreshness): Alert[] {
  const alerts: Alert[] = [];
  for (const [table, latest] of [
    ['sep_base', freshness.sep_base_latest],
    ['feat_matrix_v2', freshness.feat_matrix_latest],
  ] as const) {
    if (latest === null) alerts.push({ severity: 'CRITICAL', check: `data_freshness.${table}`, message: `${table} has no rows` });
    else if (latest < date) alerts.push({ severity: 'CRITICAL', check: `data_freshness.${table}`, message: `${table} ends ${latest}, before the requested date ${date} (stale data)` });
  }
  if (freshness.regime_latest !== null && freshness.regime_latest < date) {
    alerts.push({ severity: 'WARNING', check: 'data_freshness.regime', message: `regime ends ${freshness.regime_latest}, before ${date}` });
  }
  return alerts;
}

/** Names with a sector, a positive vol and ADV at or above the liquidity threshold. */
function liquidUniverse(market: PointInTimeMarket, minAdv: number): number[] {
  const vol = market.field('volBlend');
  const adv = market.field('adv20');
  const members: number[] = [];
  for (let i = 0; i < market.tickers.length; i++) {
    if (market.sectors[i] != null && vol[i]! > 0 && adv[i]! >= minAdv) members.push(i);
  }
  return members;
}

function universeAlerts(market: PointInTimeMarket, members: readonly number[], config: ValidationConfig): Alert[] {
  const alerts: Alert[] = [];
  const n = members.length;
  if (n < config.min_universe) {
    alerts.push({ severity: 'CRITICAL', check: 'universe.size', message: `${n} stocks pass the ADV filter (≥ ${config.min_adv}); at least ${config.min_universe} required` });
  } else if (n < config.healthy_universe) {
    alerts.push({ severity: 'WARNING', check: 'universe.size', message: `${n} stocks pass the ADV filter; ${config.healthy_universe} expected for a healthy universe` });
  }
  // Counted by the panel's (cached) sector ids: a map keyed by sector name per session was most of this check.
  const { ids, names } = sectorIndex(market.sectors);
  const counts = new Int32Array(names.length);
  for (let k = 0; k < members.length; k++) counts[ids[members[k]!]!]!++;
  const perSector = names.map((name, id): [string, number] => [name, counts[id]!]).filter(([, count]) => count > 0);
  if (n > 0 && perSector.length < config.expected_sectors) {
    alerts.push({ severity: 'WARNING', check: 'universe.sectors', message: `${perSector.length} sectors represented; ${config.expected_sectors} expected` });
  }
  for (const [sector, count] of perSector.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
    if (count / n > config.max_sector_share) {
      alerts.push({ severity: 'WARNING', check: 'universe.sector_share', message: `${sector} is ${(100 * count / n).toFixed(1)}% of the universe (max ${(100 * config.max_sector_share).toFixed(0)}%)` });
    }
  }
  return alerts;
}

function signalAlerts(market: PointInTimeMarket, members: readonly number[], config: ValidationConfig): Alert[] {
  if (members.length === 0) return [];
  const alpha = market.field('alpha');
  let finite = 0;
  for (const i of members) if (Number.isFinite(alpha[i]!)) finite++;
  const values = new Float64Array(finite);
  for (let k = 0, m = 0; m < members.length; m++) if (Number.isFinite(alpha[members[m]!]!)) values[k++] = alpha[members[m]!]!;
  const alerts: Alert[] = [];
  const nullShare = 1 - values.length / members.length;
  if (nullShare > config.max_alpha_null_share) {
    alerts.push({ severity: 'WARNING', check: 'signal.alpha_nulls', message: `${(100 * nullShare).toFixed(1)}% of liquid names have no alpha (max ${(100 * config.max_alpha_null_share).toFixed(0)}%)` });
  }
  if (values.length < 2) {
    alerts.push({ severity: 'CRITICAL', check: 'signal.alpha_std', message: `only ${values.length} liquid names have an alpha value` });
    return alerts;
  }
  const std = sampleStd(values);
  if (std === 0) {
    alerts.push({ severity: 'CRITICAL', check: 'signal.alpha_std', message: 'alpha has the same value for every name (cross-sectional std 0)' });
    return alerts;
  }
  if (std < config.min_alpha_std) {
    alerts.push({ severity: 'WARNING', check: 'signal.alpha_std', message: `cross-sectional alpha std ${std.toFixed(4)} < ${config.min_alpha_std}` });
  }
  // The four order statistics the two quantiles interpolate between, by selection (a sort per session was most of this check).
  const [p10, p90] = quantiles(values, 0.1, 0.9);
  const spread = (p90! - p10!) / std;
  if (spread < config.min_alpha_spread) {
    alerts.push({ severity: 'WARNING', check: 'signal.alpha_spread', message: `top-bottom alpha spread ${spread.toFixed(2)} std < ${config.min_alpha_spread}` });
  }
  return alerts;
}

export interface PostPickFacts {
  readonly turnover: number;
  readonly maxPosition: { ticker: string; weight: number } | null;
  readonly regime: RegimeLabel | null;
  readonly previousRegime: RegimeLabel | null;
}

/** Seed §7.2 rows that need the finished book: turnover, single-position size, regime change. */
export function postPickChecks(facts: PostPickFacts, config: ValidationConfig): Alert[] {
  const alerts: Alert[] = [];
  if (facts.turnover > config.warn_turnover) {
    alerts.push({ severity: 'WARNING', check: 'book.turnover', message: `turnover ${(100 * facts.turnover).toFixed(1)}% > ${(100 * config.warn_turnover).toFixed(0)}%` });
  }
  if (facts.maxPosition && Math.abs(facts.maxPosition.weight) > config.warn_position) {
    alerts.push({ severity: 'WARNING', check: 'book.position_size', message: `${facts.maxPosition.ticker} is ${(100 * facts.maxPosition.weight).toFixed(2)}% of the book (> ${(100 * config.warn_position).toFixed(0)}%)` });
  }
  if (facts.regime && facts.previousRegime && (facts.regime.volRegime !== facts.previousRegime.volRegime || facts.regime.trendRegime !== facts.previousRegime.trendRegime)) {
    alerts.push({ severity: 'INFO', check: 'regime.change', message: `regime changed from ${regimeName(facts.previousRegime)} to ${regimeName(facts.regime)}` });
  }
  return alerts;
}

export function regimeName(regime: RegimeLabel): string {
  return `${regime.volRegime}_${regime.trendRegime}`;
}

function sampleStd(values: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < values.length; k++) sum += values[k]!;
  const mean = sum / values.length;
  let ss = 0;
  for (let k = 0; k < values.length; k++) ss += (values[k]! - mean) ** 2;
  return Math.sqrt(ss / (values.length - 1));
}

/** Linearly interpolated quantiles of `values` (reordered in place), for ascending `qs`. */
function quantiles(values: Float64Array, ...qs: number[]): number[] {
  const positions = qs.map((q) => (values.length - 1) * q);
  // Neighbouring quantiles of a short list share ranks: each rank is selected once, in order.
  const ranks = [...new Set(positions.flatMap((pos) => [Math.floor(pos), Math.ceil(pos)]))];
  const statistics = orderStatistics(values, ranks);
  const at = (rank: number): number => statistics[ranks.indexOf(rank)]!;
  return positions.map((pos) => at(Math.floor(pos)) + (at(Math.ceil(pos)) - at(Math.floor(pos))) * (pos - Math.floor(pos)));
}

/**
 * Whether a replayed session is blocked: its pre-rebalance checks raise a CRITICAL alert, with the
 * data as fresh as the session (a replay's panel holds every table up to its last date). It reads
 * nothing but the session's market, so replay's strategy worker can decide it ahead.
 */
export function replaySessionBlocked(market: PointInTimeMarket, config: ValidationConfig): boolean {
  const freshness = { sep_base_latest: market.date, feat_matrix_latest: market.date, regime_latest: null };
  return hasCritical(preRebalanceChecks(market.date, freshness, market, config));
}
