import { firstValueFrom, take, toArray } from 'rxjs';
import type { IsoDate } from '../core/dates.js';
import type { JsonValue } from '../core/json.js';
import type { Logger } from '../core/log.js';
import type { TradingCalendar } from '../calendar/calendar.js';
import type { PointInTimeMarket } from '../data/panel.js';
import type { KairosConfig } from '../config/schema.js';
import type { Holdings, RunSnapshot, StrategyState } from '../state/store.js';
import type { Alert } from '../validation/alerts.js';
import type { RiskStageResult } from '../risk/risk-stage.js';
import { currentWeights, type TradeRow } from '../trading/trades.js';
import { defaultStages, type PipelineStages } from './stages.js';
import { annualisedSharpe } from '../analytics/returns.js';
import { tickerIndexOf, tickerPositions } from '../data/ticker-index.js';
import { attachedDenseTargets, signalMap, stateOfSleeve, stateSleeve } from './sleeve-vectors.js';
import { positionsFromShares, sharesVector } from '../trading/holdings.js';
import { DataError } from '../core/errors.js';
import { EventBus, type SignalEvent } from './bus.js';
import { decideDue, type DueDecision, type DueReason } from './scheduler.js';
import { equalAllocations, fixedAllocations, netSleeves, sharpeAllocations, type SleeveAllocation } from './aggregator.js';
import type { LoadedStrategy } from './strategy-loader.js';
import type { SleeveTarget, StrategyContext, StrategyOutput } from './strategy.js';
import type { SharedStrategyOutputs } from './shared-outputs.js';

export interface SessionInputs {
  readonly date: IsoDate;
  readonly runId: string;
  readonly market: PointInTimeMarket;
  readonly calendar: TradingCalendar;
  readonly strategies: readonly LoadedStrategy[];
  /** State left by the last run before `date` (null on a first run). */
  readonly prior: RunSnapshot | null;
  /** What the book holds going into `date`. */
  readonly holdings: Holdings;
  /**
   * The same holdings as shares aligned with `market.tickers` (read only); derived from
   * `holdings` when omitted. Replay passes its ledger's vector instead of a lookup per position.
   */
  readonly shares?: Float64Array;
  /** Capital the target weights are fractions of. */
  readonly portfolioValue: number;
  /**
   * Prices that value holdings and size orders; default D's close. Replay passes closes with a
   * held name's last price carried through a missing close.
   */
  readonly prices?: Float64Array;
  /** Strategy ids to rebalance whatever their schedule says (manual runs). */
  readonly forced: ReadonlySet<string>;
  readonly config: KairosConfig;
  readonly log: Logger;
  /** Outputs shared with other books run over the same session (replay); each run computes its own without. */
  readonly sharedOutputs?: SharedStrategyOutputs;

}

export interface SleeveOutcome {
  readonly strategyId: string;
  readonly status: SignalEvent['status'];
  readonly reason: DueReason;
  readonly allocation: number;
  readonly weights: Float64Array;
  readonly targets: readonly SleeveTarget[];
  readonly lastRebalance: IsoDate | null;
  readonly nextRebalance: IsoDate;
  readonly notes: readonly string[];
  readonly error?: string;
}

export interface SessionResult {
  readonly date: IsoDate;
  readonly tickers: readonly string[];
  readonly sleeves: readonly SleeveOutcome[];
  /** Σ allocation × sleeve, before the risk stage. */
  readonly net: Float64Array;
  /** Prior book weights at today's close (zeros on a first run). */
  readonly priorWeights: Float64Array;
  readonly hasPrior: boolean;
  readonly risk: RiskStageResult;
  readonly prices: Float64Array;
  readonly currentShares: Float64Array;
  readonly targetShares: Float64Array;
  readonly trades: readonly TradeRow[];
  readonly portfolioValue: number;
  readonly alerts: readonly Alert[];
  /** What to commit once the run's artifacts are safely written. */
  readonly snapshot: RunSnapshot;
}

/**
 * One session through the whole pipeline, the same for `kairos run`, `kairos rebalance` and replay:
 * due strategies publish fresh signals on the bus, the rest publish their held signal; the
 * aggregator nets what arrives; then the risk stage and trade generation. Pure apart from the
 * strategies' own code: nothing is written here.
 */
export async function runSession(inputs: SessionInputs, stages: PipelineStages = defaultStages, bus: EventBus = new EventBus()): Promise<SessionResult> {
  const { market, strategies, date } = inputs;
  const size = market.tickers.length;
  const sleeveReturns = updatedSleeveReturns(inputs);
  const allocations = resolveAllocations(inputs, sleeveReturns);

  const collected = firstValueFrom(bus.topic('signals').pipe(take(strategies.length), toArray()));
  const dueInfo = new Map<string, { reason: DueReason; nextRebalance: IsoDate; lastRebalance: IsoDate | null; custom: JsonValue }>();
  for (const strategy of strategies) {
    const step = await stepStrategy(strategy, inputs.prior?.strategies[strategy.id] ?? null, inputs);
    dueInfo.set(strategy.id, { reason: step.decision.reason, nextRebalance: step.decision.nextRebalance, lastRebalance: step.lastRebalance, custom: step.custom });
    bus.publish(step.event);
  }
  const events = await collected;

  const sleeves: SleeveOutcome[] = events.map((event) => {
    const info = dueInfo.get(event.strategyId)!;
    return {
      strategyId: event.strategyId,
      status: event.status,
      reason: info.reason,
      allocation: allocations.get(event.strategyId)!,
      weights: event.weights,
      // Read by the run's artifacts; a replay never reads them, and sorting them per book and session would be waste.
      get targets() {
        return event.targets;
      },
      lastRebalance: info.lastRebalance,
      nextRebalance: info.nextRebalance,
      notes: event.notes,
      ...(event.error !== undefined ? { error: event.error } : {}),
    };
  });
  const alerts: Alert[] = sleeves
    .filter((s) => s.status === 'failed')
    .map((s) => ({
      severity: strategies.find((st) => st.id === s.strategyId)!.onError === 'critical' ? 'CRITICAL' : 'WARNING',
      check: `strategy.${s.strategyId}`,
      message: `strategy ${s.strategyId} failed and its previous signal is held: ${s.error}`,
    }));

  const strategyStates = nextStrategyStates(sleeves, dueInfo, sleeveReturns, market.tickers);
  const prices = inputs.prices ?? market.field('close');
  const currentShares = inputs.shares ?? heldShares(inputs.holdings, market.tickers);
  const hasPrior = anyNonZero(currentShares);
  const priorWeights = currentWeights(currentShares, prices, inputs.portfolioValue, market.tickers);
  // Between rebalances the book holds its shares (seed: "hold positions until the next rebalance"):
  // re-targeting price drift every session would be turnover no strategy asked for.
  const trading = !hasPrior || sleeves.some((s) => s.status === 'rebalanced');
  // A holding book needs no net target; netting is done only if it is read (a replay never reads it then).
  let netTarget: Float64Array | null = null;
  const net = (): Float64Array => (netTarget ??= netSleeves(sleeves, sleeves.map((s) => s.allocation), size));
  const risk = trading ? stages.riskStage({ target: net(), prior: hasPrior ? priorWeights : null, market, config: inputs.config.risk }) : holdRisk(priorWeights);
  const trades = trading
    ? stages.tradeGenerator({
        tickers: market.tickers,
        targetWeights: risk.weights,
        currentShares,
        prices,
        portfolioValue: inputs.portfolioValue,
        minTradeValue: inputs.config.trading.min_trade_value,
      })
    : [];
  const targetShares = sharesAfterTrades(currentShares, trades, market.tickers);
  const snapshot = nextSnapshot(inputs, strategyStates, targetShares, prices);
  const { portfolioValue } = inputs;
  return {
    date,
    tickers: market.tickers,
    sleeves,
    get net() {
      return net();
    },
    priorWeights,
    hasPrior,
    risk,
    prices,
    currentShares,
    targetShares,
    trades,
    portfolioValue,
    alerts,
    snapshot,
  };
}

/** The book on a session where no strategy rebalanced: exactly what it holds. */
function holdRisk(priorWeights: Float64Array): RiskStageResult {
  let invested = 0;
  for (let i = 0; i < priorWeights.length; i++) invested += priorWeights[i]!;
  return {
    weights: priorWeights,
    cash: 1 - invested,
    steps: [{ step: 'hold', detail: 'no strategy rebalanced this session: the book holds its shares' }],
    turnover: 0,
    forcedTurnover: 0,
    estimatedVol: Number.NaN,
    volScale: 1,
    exposureScale: 1,
    notes: [],
  };
}

function resolveAllocations(inputs: SessionInputs, sleeveReturns: ReadonlyMap<string, readonly number[]>): Map<string, number> {
  const { strategies, config } = inputs;
  const ids = strategies.map((s) => s.id);
  let list: SleeveAllocation[];
  if (config.allocation.scheme === 'equal') list = equalAllocations(ids);
  else if (config.allocation.scheme === 'sharpe') {
    // Comparing a Sharpe from a year of returns with one from a week would be noise: until every
    // sleeve has enough history, allocate equally.
    const enough = ids.every((id) => (sleeveReturns.get(id)?.length ?? 0) >= MIN_SHARPE_HISTORY);
    list = enough ? sharpeAllocations(ids.map((id) => ({ id, sharpe: annualisedSharpe(sleeveReturns.get(id)!) }))) : equalAllocations(ids);
  } else list = fixedAllocations(strategies.map((s) => ({ id: s.id, allocation: s.allocation })), config.allocation.normalize);
  return new Map(list.map((a) => [a.strategyId, a.allocation]));
}

/** Returns a Sharpe-weighted allocation needs per sleeve before it replaces equal weights. */
export const MIN_SHARPE_HISTORY = 20;

/**
 * Each sleeve's trailing returns including the interval just ended: the sleeve held at the prior
 * run, marked from the prior run's close to D's close. Names without both closes contribute 0.
 */
function updatedSleeveReturns(inputs: SessionInputs): Map<string, readonly number[]> {
  const { prior, market, calendar, date, strategies } = inputs;
  const window = inputs.config.allocation.sharpe_window;
  const out = new Map<string, readonly number[]>();
  const lag = prior ? calendar.sessionDistance(prior.date, date) : 0;
  const canMark = prior !== null && lag >= 1 && lag < market.history;
  const closeNow = market.field('close');
  const closeThen = canMark ? market.field('close', lag) : null;
  for (const strategy of strategies) {
    const state = prior?.strategies[strategy.id];
    const history = state?.sleeveReturns ?? [];
    if (!state || !closeThen) {
      out.set(strategy.id, history);
      continue;
    }
    const { weights, held } = stateSleeve(state, market.tickers);
    let r = 0;
    for (let k = 0; k < held.length; k++) {
      const i = held[k]!;
      const move = closeNow[i]! / closeThen[i]! - 1;
      if (Number.isFinite(move)) r += weights[i]! * move;
    }
    out.set(strategy.id, appendedWithin(history, r, window));
  }
  return out;
}

/** `[...history, value].slice(-limit)` (limit ≥ 1) as one array: it runs per strategy, book and session. */
function appendedWithin(history: readonly number[], value: number, limit: number): number[] {
  const out: number[] = [];
  for (let k = history.length - Math.min(history.length, limit - 1); k < history.length; k++) out.push(history[k]!);
  out.push(value);
  return out;
}

/** What one strategy contributes to a session, and what it leaves for the next. */
export interface StrategyStep {
  readonly event: SignalEvent;
  readonly decision: DueDecision;
  readonly lastRebalance: IsoDate | null;
  readonly custom: JsonValue;
}

export type StepInputs = Pick<SessionInputs, 'date' | 'market' | 'calendar' | 'log' | 'forced' | 'sharedOutputs'>;

/**
 * One strategy through one session: due (scheduled, first run or forced) → a fresh signal, else
 * its held one. The step of `runSession` for each strategy, and all that replay's strategy worker
 * runs to follow a strategy's own chain of states ahead of the books.
 */
export async function stepStrategy(strategy: LoadedStrategy, state: StrategyState | null, inputs: StepInputs): Promise<StrategyStep> {
  const decision = decideDue(strategy.schedule, inputs.calendar, inputs.date, state, inputs.forced.has(strategy.id));
  const event = decision.due ? await freshSignal(strategy, state, inputs) : heldSignal(strategy.id, state, inputs.market, inputs.log);
  const rebalanced = event.status === 'rebalanced';
  return { event, decision, lastRebalance: rebalanced ? inputs.date : (state?.lastRebalance ?? null), custom: rebalanced ? (event.strategyState ?? null) : (state?.custom ?? null) };
}

async function freshSignal(strategy: LoadedStrategy, state: StrategyState | null, inputs: StepInputs): Promise<SignalEvent> {
  const { market, date } = inputs;
  const log = inputs.log.child({ strategy: strategy.id });
  try {
    const compute = () => strategy.definition.rebalance(strategyContext(strategy, date, market, state, inputs.calendar, log));
    const output = await (inputs.sharedOutputs ? inputs.sharedOutputs.output(strategy.id, market, state, compute) : compute());
    const weights = densify(output, market.tickers, strategy.id);
    return {
      topic: `signals.${strategy.id}`,
      strategyId: strategy.id,
      date,
      status: 'rebalanced',
      weights,
      get targets() {
        return byTicker(output.targets);
      },
      notes: output.notes ?? [],
      strategyState: output.state ?? null,
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error({ err: message }, 'strategy failed; holding its previous signal');
    const held = heldSignal(strategy.id, state, market, inputs.log);
    return { ...held, status: 'failed', error: message };
  }
}

/**
 * What a strategy is handed on `date`: the session's market, its params, and its own state and
 * prior sleeve.
 */
function strategyContext(
  strategy: Pick<LoadedStrategy, 'id' | 'params'>,
  date: IsoDate,
  market: PointInTimeMarket,
  state: Pick<StrategyState, 'custom' | 'signal'> | null,
  calendar: TradingCalendar,
  log: Logger,
): StrategyContext<unknown> {
  return {
    strategyId: strategy.id,
    date,
    params: strategy.params,
    market,
    state: state?.custom ?? null,
    // Built on first read: most strategies never look, and a sleeve of a thousand names is a Map of a thousand entries.
    get priorSleeve() {
      return signalMap(state?.signal ?? {});
    },
    calendar,
    log,
  };
}

/** The last signal, less names that no longer trade: a sleeve cannot target a name without a price. */
function heldSignal(strategyId: string, state: StrategyState | null, market: PointInTimeMarket, log: Logger): SignalEvent {
  const { tickers, date } = market;
  const dense = stateSleeve(state, tickers);
  const close = market.field('close');
  const gone = [...dense.unknown];
  for (const i of dense.held) if (!Number.isFinite(close[i]!)) gone.push(tickers[i]!);
  let weights = dense.weights;
  if (gone.length > 0) {
    weights = Float64Array.from(weights);
    for (const ticker of gone) {
      const i = tickerIndexOf(tickers, ticker);
      if (i >= 0) weights[i] = 0;
    }
  }
  const notes = gone.map((ticker) => `held ${ticker} (${state?.signal[ticker]}) has no price on ${date}; dropped from the sleeve`);
  // Recorded in the sleeve's notes (portfolio_summary.json); a log line per book and session would drown replay output.
  for (const ticker of gone) log.debug({ strategy: strategyId, ticker }, 'held name has no price; dropped from the sleeve');
  return { topic: `signals.${strategyId}`, strategyId, date, status: 'held', weights, targets: [], notes };
}

/** A strategy's targets as a dense vector; a NaN, unknown or duplicate name fails that strategy. */
function densify(output: StrategyOutput, tickers: readonly string[], strategyId: string): Float64Array {
  const attached = attachedDenseTargets(output, tickers);
  if (attached) return attached;
  const targets = output.targets;
  const cached = densified.get(targets);
  if (cached?.tickers === tickers) return cached.weights;
  const weights = validatedDense(targets, tickers, strategyId);
  densified.set(targets, { tickers, weights });
  return weights;
}

/** The targets sorted by ticker; once per output, which replay shares between books (read only). */
function byTicker(targets: readonly SleeveTarget[]): readonly SleeveTarget[] {
  let sorted = sortedTargets.get(targets);
  if (!sorted) {
    sorted = [...targets].sort((a, b) => compareTickers(a.ticker, b.ticker));
    sortedTargets.set(targets, sorted);
  }
  return sorted;
}

const sortedTargets = new WeakMap<readonly SleeveTarget[], readonly SleeveTarget[]>();

/** Replay shares one strategy output between books: its vector is built (and checked) once. */
const densified = new WeakMap<readonly SleeveTarget[], { tickers: readonly string[]; weights: Float64Array }>();

function validatedDense(targets: readonly SleeveTarget[], tickers: readonly string[], strategyId: string): Float64Array {
  const weights = new Float64Array(tickers.length);
  const seen = new Set<string>();
  const positions = tickerPositions(tickers);
  for (const t of targets) {
    if (!Number.isFinite(t.weight)) throw new Error(`${strategyId} returned a non-finite weight for ${t.ticker}: ${t.weight}`);
    const i = positions.get(t.ticker) ?? -1;
    if (i < 0) throw new Error(`${strategyId} returned an unknown ticker: ${t.ticker}`);
    if (seen.has(t.ticker)) throw new Error(`${strategyId} returned ${t.ticker} twice`);
    seen.add(t.ticker);
    weights[i] = t.weight;
  }
  return weights;
}

/** A held name the market has never heard of cannot be valued or traded: say which. */
function heldShares(holdings: Holdings, tickers: readonly string[]): Float64Array {
  const unknown = holdings.positions.filter((p) => tickerIndexOf(tickers, p.ticker) < 0).map((p) => p.ticker);
  if (unknown.length > 0) throw new DataError(`holdings as of ${holdings.asOf} include tickers with no market data: ${unknown.join(', ')}`);
  return sharesVector(holdings.positions, tickers);
}

function sharesAfterTrades(current: Float64Array, trades: readonly TradeRow[], tickers: readonly string[]): Float64Array {
  const shares = current.slice();
  const positions = tickerPositions(tickers);
  for (const t of trades) {
    const i = positions.get(t.ticker)!;
    shares[i]! += t.action === 'BUY' ? t.shares : -t.shares;
  }
  return shares;
}

/** Each strategy's state after the session: what the next run hands it. */
function nextStrategyStates(
  sleeves: readonly SleeveOutcome[],
  info: ReadonlyMap<string, { lastRebalance: IsoDate | null; custom: JsonValue }>,
  sleeveReturns: ReadonlyMap<string, readonly number[]>,
  tickers: readonly string[],
): Record<string, StrategyState> {
  const strategies: Record<string, StrategyState> = {};
  for (const sleeve of sleeves) {
    const { lastRebalance, custom } = info.get(sleeve.strategyId)!;
    strategies[sleeve.strategyId] = stateOfSleeve({ lastRebalance, custom, sleeveReturns: sleeveReturns.get(sleeve.strategyId) ?? [] }, sleeve.weights, tickers);
  }
  return strategies;
}

function nextSnapshot(inputs: SessionInputs, strategies: Record<string, StrategyState>, shares: Float64Array, prices: Float64Array): RunSnapshot {
  const tickers = inputs.market.tickers;
  let invested = 0;
  for (let i = 0; i < shares.length; i++) if (shares[i] !== 0) invested += shares[i]! * prices[i]!;
  // The position list is built when first read (committing, checkpointing, reconciling): a replay
  // carries six books' snapshots from session to session and reads their share vectors instead.
  let positions: { ticker: string; shares: number }[] | null = null;
  const holdings = {
    asOf: inputs.date,
    cash: roundCents(inputs.portfolioValue - invested),
    get positions() {
      positions ??= positionsFromShares(shares, tickers);
      return positions;
    },
  };
  return { runId: inputs.runId, date: inputs.date, strategies, holdings };
}

/** A loop, not `some` with a callback: it runs per book and session over the whole universe, which a held book's first name may be far into. */
function anyNonZero(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) return true;
  return false;
}

export function compareTickers(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function roundCents(x: number): number {
  return Math.round(x * 100) / 100;
}
