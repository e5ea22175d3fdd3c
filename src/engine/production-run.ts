import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SUBMITTED_FILE } from '../approval/approval.js';
import { CLAIM_FILE } from '../approval/broker.js';
import type { IsoDate } from '../core/dates.js';
import { BlockedError, LockedError, UsageError } from '../core/errors.js';
import { writeDirectoryAtomic } from '../core/atomic.js';
import type { TradingCalendar } from '../calendar/calendar.js';
import { isRebalanceDay, scheduleJson } from '../calendar/schedule.js';
import { latestDates } from '../data/freshness.js';
import { pointInTime } from '../data/point-in-time.js';
import type { PointInTimeMarket } from '../data/panel.js';
import type { Holdings } from '../state/store.js';
import { readHoldingsFile, type HoldingsFileKind } from '../trading/holdings.js';
import { portfolioMetrics } from '../risk/metrics.js';
import { buildRebalanceArtifacts } from '../artifacts/rebalance-artifacts.js';
import { formatAlertTable, hasCritical, type Alert } from '../validation/alerts.js';
import { postPickChecks, preRebalanceChecks } from '../validation/checks.js';
import { runSession, type SessionResult } from './session.js';
import { loadPipelinePanel } from './pipeline-panel.js';
import { tickerIndexOf } from '../data/ticker-index.js';
import type { EngineServices } from './container.js';

export interface ProductionRunOptions extends EngineServices {
  readonly date: IsoDate;
  readonly outputDir: string;
  /** `rebalance` is the manual run: every strategy rebalances. `run` follows each schedule. */
  readonly mode: 'rebalance' | 'run';
  readonly holdingsFile?: { readonly path: string; readonly kind: HoldingsFileKind };
  readonly portfolioValue?: number;
  readonly now?: () => Date;
}

export interface ProductionRunOutcome {
  readonly result: SessionResult;
  readonly alerts: readonly Alert[];
  readonly files: readonly string[];
}

const LOCK_TTL_MS = 10 * 60_000;
const SCHEDULE_HORIZON = 10;

/**
 * The daily production job: checks first (CRITICAL blocks with nothing written), then one session
 * through the engine, then the artifacts as one atomic directory, and only then the new state.
 */
export async function runProduction(options: ProductionRunOptions): Promise<ProductionRunOutcome> {
  const { date, calendar, config, store, log } = options;
  assertSession(calendar, date);
  assertNotSubmitted(options.outputDir);
  const freshness = await latestDates(options.db);
  const market = await loadMarket(options, freshness.sep_base_latest);
  const preAlerts = preRebalanceChecks(date, freshness, market, config.validation);
  if (market === null || hasCritical(preAlerts)) throw blocked(date, preAlerts, log);

  const owner = randomUUID();
  if (!(await store.acquireLock(config.portfolio, owner, LOCK_TTL_MS))) {
    throw new LockedError(`portfolio "${config.portfolio}" is locked by another run in progress; try again when it finishes`);
  }
  try {
    const prior = await store.loadBefore(config.portfolio, date);
    const holdings = options.holdingsFile
      ? await readHoldingsFile(options.holdingsFile.path, options.holdingsFile.kind, market)
      : (prior?.holdings ?? { asOf: date, cash: options.portfolioValue ?? config.portfolio_value, positions: [] });
    const portfolioValue = options.portfolioValue ?? holdingsValue(holdings, market, config.portfolio_value);
    const result = await runSession({
      date,
      runId: owner,
      market,
      calendar,
      strategies: options.strategies,
      prior,
      holdings,
      portfolioValue,
      forced: new Set(options.mode === 'rebalance' ? options.strategies.map((s) => s.id) : []),
      config,
      log,
    }, options.stages);
    const metrics = portfolioMetrics({ weights: result.risk.weights, prior: result.hasPrior ? result.priorWeights : null, market, config: config.risk });
    const alerts = [
      ...preAlerts,
      ...result.alerts,
      ...postPickChecks(
        { turnover: metrics.turnover_vs_prior, maxPosition: largestPosition(result), regime: market.regime(), previousRegime: market.history > 1 ? market.regime(1) : null },
        config.validation,
      ),
    ];
    if (hasCritical(alerts)) throw blocked(date, alerts, log);

    const primary = options.strategies[0]!;
    const generatedAt = (options.now?.() ?? new Date()).toISOString().slice(0, 19);
    const files = buildRebalanceArtifacts({
      result,
      market,
      metrics,
      freshness,
      alerts,
      isRebalanceDay: options.strategies.some((s) => isRebalanceDay(s.schedule, calendar, date)),
      nextRebalance: result.sleeves.map((s) => s.nextRebalance).sort()[0]!,
      schedule: scheduleJson(primary.schedule, calendar, calendar.nextSession(date, true), SCHEDULE_HORIZON, generatedAt),
      portfolioId: config.portfolio,
      includeSleeves: options.mode === 'run',
    });
    await writeDirectoryAtomic(options.outputDir, files);
    await store.commit(config.portfolio, result.snapshot);
    log.info({ date, outputDir: options.outputDir, trades: result.trades.length, positions: metrics.n_positions }, 'rebalance written');
    return { result, alerts, files: [...files.keys()] };
  } finally {
    await store.releaseLock(config.portfolio, owner);
  }
}

/** Replacing a directory whose trades went to a broker would erase the record that they did. */
function assertNotSubmitted(outputDir: string): void {
  const marker = [SUBMITTED_FILE, CLAIM_FILE].find((file) => existsSync(join(outputDir, file)));
  if (marker) throw new BlockedError(`${outputDir} holds trades already submitted to a broker (${marker}); write this run to another --output-dir`);
}

function assertSession(calendar: TradingCalendar, date: IsoDate): void {
  if (date < calendar.firstDate || date > calendar.lastDate) throw new UsageError(`--date ${date} is outside the calendar (${calendar.firstDate}..${calendar.lastDate})`);
  if (!calendar.isSession(date)) {
    throw new UsageError(`--date ${date} is not an XNYS session (previous session ${calendar.previousSession(date)}, next ${calendar.nextSession(date)})`);
  }
}

/** The panel from enough history before D for every strategy and the risk stage's covariance window. */
async function loadMarket(options: ProductionRunOptions, sepBaseLatest: IsoDate | null): Promise<PointInTimeMarket | null> {
  const { date } = options;
  if (sepBaseLatest === null || sepBaseLatest < date) return null;
  const panel = await loadPipelinePanel(options, date, date);
  if (panel.dateIndex(date) < 0) return null;
  return pointInTime(panel, date);
}

function holdingsValue(holdings: Holdings, market: PointInTimeMarket, fallback: number): number {
  if (holdings.positions.length === 0) return holdings.cash > 0 ? holdings.cash : fallback;
  const close = market.field('close');
  let value = holdings.cash;
  for (const p of holdings.positions) value += p.shares * close[tickerIndexOf(market.tickers, p.ticker)]!;
  return value;
}

function largestPosition(result: SessionResult): { ticker: string; weight: number } | null {
  let best = -1;
  result.risk.weights.forEach((w, i) => {
    if (best < 0 || Math.abs(w) > Math.abs(result.risk.weights[best]!)) best = i;
  });
  return best < 0 ? null : { ticker: result.tickers[best]!, weight: result.risk.weights[best]! };
}


/** The error is one line (main prints it as `kairos: …`); the full alert table goes to the log. */
function blocked(date: IsoDate, alerts: readonly Alert[], log: ProductionRunOptions['log']): BlockedError {
  const critical = alerts.filter((a) => a.severity === 'CRITICAL').map((a) => a.message);
  log.error(`pre-rebalance checks for ${date}:\n${formatAlertTable(alerts)}`);
  return new BlockedError(`rebalance for ${date} blocked: ${critical.join('; ')}`);
}
