import type { IsoDate } from '../core/dates.js';
import type { PointInTimeMarket } from '../data/panel.js';
import type { DataFreshness } from '../validation/checks.js';
import { regimeName } from '../validation/checks.js';
import type { Alert } from '../validation/alerts.js';
import { sortAlerts } from '../validation/alerts.js';
import type { PortfolioMetrics } from '../risk/metrics.js';
import type { SessionResult } from '../engine/session.js';
import { fixed, round, toCsv } from './csv.js';

export interface ArtifactContext {
  readonly result: SessionResult;
  readonly market: PointInTimeMarket;
  readonly metrics: PortfolioMetrics;
  readonly freshness: DataFreshness;
  readonly alerts: readonly Alert[];
  readonly isRebalanceDay: boolean;
  readonly nextRebalance: IsoDate;
  readonly schedule: Record<string, unknown>;
  readonly portfolioId: string;
  /** Write sleeves.csv (multi-strategy runs). */
  readonly includeSleeves: boolean;
}

/** The seed's four artifacts (§5.1–5.4), plus sleeves.csv for multi-strategy runs. */
export function buildRebalanceArtifacts(ctx: ArtifactContext): Map<string, string> {
  const files = new Map<string, string>([
    ['picks.csv', picksCsv(ctx)],
    ['trades.csv', tradesCsv(ctx.result)],
    ['portfolio_summary.json', `${JSON.stringify(summary(ctx), null, 2)}\n`],
    ['schedule.json', `${JSON.stringify(ctx.schedule, null, 2)}\n`],
  ]);
  if (ctx.includeSleeves) files.set('sleeves.csv', sleevesCsv(ctx.result));
  return files;
}

/**
 * One row per name in the final book, ranked by |weight| (ties by ticker). alpha_z comes from the
 * sleeve that reported it (Risk4); vol_blend and adv_20 are the features at D.
 */
function picksCsv({ result, market }: ArtifactContext): string {
  const vol = market.field('volBlend');
  const adv = market.field('adv20');
  const alphaZ = new Map<string, number>();
  for (const sleeve of result.sleeves) {
    for (const t of sleeve.targets) {
      const z = t.meta?.alpha_z;
      if (typeof z === 'number' && !alphaZ.has(t.ticker)) alphaZ.set(t.ticker, z);
    }
  }
  const held = bookOrder(result.risk.weights, result.tickers);
  const rows = held.map((i, rank) => {
    const ticker = result.tickers[i]!;
    const z = alphaZ.get(ticker);
    return [
      ticker,
      fixed(result.risk.weights[i]!, 6),
      String(result.targetShares[i]!),
      market.sectors[i] ?? '',
      z === undefined ? '' : fixed(z, 4),
      fixed(vol[i]!, 4),
      fixed(adv[i]!, 0),
      rank + 1,
    ];
  });
  return toCsv(['ticker', 'weight', 'target_shares', 'sector', 'alpha_z', 'vol_blend', 'adv_20', 'rank'], rows);
}

function tradesCsv(result: SessionResult): string {
  const rows = result.trades.map((t) => [t.ticker, t.action, t.shares, fixed(t.estimated_value, 2), String(t.price), t.reason]);
  return toCsv(['ticker', 'action', 'shares', 'estimated_value', 'price', 'reason'], rows);
}

function sleevesCsv(result: SessionResult): string {
  const rows: (string | number)[][] = [];
  for (const sleeve of [...result.sleeves].sort((a, b) => a.strategyId.localeCompare(b.strategyId))) {
    sleeve.weights.forEach((w, i) => {
      if (w !== 0) rows.push([sleeve.strategyId, result.tickers[i]!, fixed(w, 6), fixed(sleeve.allocation, 6), fixed(w * sleeve.allocation, 6)]);
    });
  }
  return toCsv(['strategy', 'ticker', 'sleeve_weight', 'allocation', 'contribution'], rows);
}

function summary(ctx: ArtifactContext): Record<string, unknown> {
  const { result, market, metrics } = ctx;
  const regime = market.regime();
  return {
    date: result.date,
    is_rebalance_day: ctx.isRebalanceDay,
    next_rebalance: ctx.nextRebalance,
    regime: regime
      ? { current: regimeName(regime), vol_regime: regime.volRegime, trend_regime: regime.trendRegime }
      : { current: null, vol_regime: null, trend_regime: null },
    portfolio: {
      n_positions: metrics.n_positions,
      total_weight: round(metrics.total_weight),
      top_5_weight: round(metrics.top_5_weight),
      sector_concentration: Object.fromEntries(Object.entries(metrics.sector_concentration).map(([s, w]) => [s, round(w)])),
      cash_weight: round(result.risk.cash),
      portfolio_value: round(result.portfolioValue, 2),
    },
    metrics: {
      estimated_beta: metrics.estimated_beta === null ? null : round(metrics.estimated_beta),
      estimated_vol: round(metrics.estimated_vol),
      avg_adv: metrics.avg_adv === null ? null : round(metrics.avg_adv, 0),
      turnover_vs_prior: round(metrics.turnover_vs_prior),
    },
    data_freshness: ctx.freshness,
    alerts: sortAlerts(ctx.alerts).map((a) => ({ severity: a.severity, check: a.check, message: a.message })),
    risk_steps: result.risk.steps,
    strategies: result.sleeves.map((s) => ({
      id: s.strategyId,
      status: s.status,
      reason: s.reason,
      allocation: round(s.allocation),
      last_rebalance: s.lastRebalance,
      next_rebalance: s.nextRebalance,
      positions: s.weights.reduce((n, w) => n + (w !== 0 ? 1 : 0), 0),
      notes: s.notes,
      ...(s.error !== undefined ? { error: s.error } : {}),
    })),
    n_trades: result.trades.length,
    portfolio_id: ctx.portfolioId,
  };
}

/** Indices of non-zero weights ordered by |weight| desc, then ticker. */
function bookOrder(weights: Float64Array, tickers: readonly string[]): number[] {
  const held: number[] = [];
  weights.forEach((w, i) => {
    if (w !== 0) held.push(i);
  });
  return held.sort((a, b) => Math.abs(weights[b]!) - Math.abs(weights[a]!) || (tickers[a]! < tickers[b]! ? -1 : 1));
}
