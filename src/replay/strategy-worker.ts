/**
 * The replay's strategy worker (see strategy-prefetch.ts). It follows the combined book's
 * strategies down the sessions with the pipeline's own `stepStrategy` — same plugins, same
 * context, same due rules, same held-signal handling — over the panel in shared memory, and sends
 * each due strategy's raw output with the state it was computed from. It runs at most a few
 * sessions ahead of what the main thread has taken, and starts over from the states it is sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { XnysCalendar } from '../calendar/xnys.js';
import { createLogger } from '../core/log.js';
import { createMarketPanel } from '../data/market-panel.js';
import { adoptReturns, pointInTime } from '../data/point-in-time.js';
import { stepStrategy } from '../engine/session.js';
import { stateOfSleeve } from '../engine/sleeve-vectors.js';
import type { StrategyOutput } from '../engine/strategy.js';
import { importDefinition, type LoadedStrategy } from '../engine/strategy-loader.js';
import type { StrategyState } from '../state/store.js';
import { packOutput, packStateSleeve } from './packed.js';
import { computeWindowStats } from '../risk/volatility.js';
import { replaySessionBlocked } from '../validation/checks.js';
import { riskSlot, type FromWorker, type PrefetchResult, type RiskStatSlots, type StrategyWorkerData, type ToWorker } from './strategy-prefetch.js';
import type { MarketPanel, PointInTimeMarket } from '../data/panel.js';

const data = workerData as StrategyWorkerData;
const port = parentPort!;
const calendar = new XnysCalendar();
// The calendar's tables are built on first use (~60 ms): now, while the main thread loads the panel, not in the first session it waits for.
calendar.isSession(calendar.firstDate);
const log = createLogger(data.logLevel);
const NOT_FORCED: ReadonlySet<string> = new Set();

/** Each strategy's last raw outcome, captured on its way into the pipeline's step. */
const outcomes = new Map<string, { output: StrategyOutput } | { error: string }>();
const strategies: LoadedStrategy[] = await Promise.all(
  data.strategies.map(async (spec) => {
    const definition = await importDefinition(spec.source, spec.module, `strategy ${spec.id}`);
    const rebalance: LoadedStrategy['definition']['rebalance'] = async (context) => {
      try {
        const output = await definition.rebalance(context);
        outcomes.set(spec.id, { output });
        return output;
      } catch (err) {
        outcomes.set(spec.id, { error: err instanceof Error ? err.message : String(err) });
        throw err;
      }
    };
    return { ...spec, definition: { ...definition, rebalance } };
  }),
);

interface Chain {
  readonly generation: number;
  session: number;
  readonly states: Map<string, StrategyState | null>;
}

/** The panel and risk slots, from the main thread's first message (it loads the panel while this thread starts). */
let replayed: { readonly panel: MarketPanel; readonly risk: RiskStatSlots } | null = null;
let chain: Chain | null = null;
let allowedThrough = -1;
let pumping = false;

port.on('message', (message: ToWorker) => {
  if (message.type === 'panel') {
    const panel = createMarketPanel(message.panel);
    adoptReturns(panel, message.returns);
    replayed = { panel, risk: message.risk };
    return;
  }
  if (message.type === 'restart') {
    chain = { generation: message.generation, session: message.session, states: new Map(Object.entries(message.states)) };
    allowedThrough = message.through;
  } else if (message.generation === chain?.generation) {
    allowedThrough = Math.max(allowedThrough, message.through);
  }
  void pump();
});

async function pump(): Promise<void> {
  if (pumping || replayed === null) return;
  const { panel, risk } = replayed;
  pumping = true;
  try {
    while (chain !== null && chain.session <= allowedThrough && chain.session < panel.dates.length) {
      const current = chain;
      const market = pointInTime(panel, panel.dates[current.session]!);
      const results = await stepSession(panel, market, current);
      const riskStats = current.session >= risk.window;
      if (riskStats) computeWindowStats(market.returns(risk.window), risk.window, panel.tickers.length, riskSlot(risk, current.session, panel.tickers.length));
      const blocked = replaySessionBlocked(market, data.validation);
      // A restart that arrived meanwhile makes this session's work moot.
      if (chain !== current) continue;
      try {
        port.postMessage({ generation: current.generation, session: current.session, results, riskStats, blocked } satisfies FromWorker);
      } catch {
        // An output that cannot cross threads (a function in its meta, say): the main thread computes that session.
        port.postMessage({ generation: current.generation, session: current.session, results: [], riskStats, blocked } satisfies FromWorker);
      }
      current.session++;
    }
  } finally {
    pumping = false;
  }
}

async function stepSession(panel: MarketPanel, market: PointInTimeMarket, current: Chain): Promise<PrefetchResult[]> {
  const { date } = market;
  const results: PrefetchResult[] = [];
  for (const strategy of strategies) {
    const state = current.states.get(strategy.id) ?? null;
    outcomes.delete(strategy.id);
    const step = await stepStrategy(strategy, state, { date, market, calendar, log, forced: NOT_FORCED });
    const outcome = outcomes.get(strategy.id);
    if (outcome) {
      const input = { strategyId: strategy.id, custom: state?.custom ?? null, signal: packStateSleeve(state, panel.tickers) };
      results.push('output' in outcome ? { ...input, output: packOutput(outcome.output, panel.tickers) } : { ...input, error: outcome.error });
    }
    current.states.set(strategy.id, stateOfSleeve({ lastRebalance: step.lastRebalance, custom: step.custom, sleeveReturns: [] }, step.event.weights, panel.tickers));
  }
  return results;
}
