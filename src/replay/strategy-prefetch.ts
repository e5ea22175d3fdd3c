import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TradingCalendar } from '../calendar/calendar.js';
import { XnysCalendar } from '../calendar/xnys.js';
import { jsonEqual, type JsonValue } from '../core/json.js';
import type { Logger } from '../core/log.js';
import type { MarketPanelParts } from '../data/market-panel.js';
import type { ValidationConfig } from '../config/schema.js';
import { returnsOf } from '../data/point-in-time.js';
import type { MarketPanel, PointInTimeMarket } from '../data/panel.js';
import type { SharedStrategyOutputs, StateMatch } from '../engine/shared-outputs.js';
import type { StrategyOutput } from '../engine/strategy.js';
import type { LoadedStrategy } from '../engine/strategy-loader.js';
import type { StrategyState } from '../state/store.js';
import { adoptWindowStats, type WindowStatArrays } from '../risk/volatility.js';
import { sleeveEquals, unpackOutput, type PackedOutput, type PackedSignal } from './packed.js';

/** A due strategy's raw outcome on a session, with the state it was computed from (packed: see packed.ts). */
export type PrefetchResult = {
  readonly strategyId: string;
  readonly custom: JsonValue | null;
  /** Null when the sleeve names a ticker the panel lacks: no book's state can match it. */
  readonly signal: PackedSignal | null;
} & ({ readonly output: PackedOutput } | { readonly error: string });

export type ToWorker =
  /** The panel to replay over, in shared memory; sent once, before any other message. */
  | { readonly type: 'panel'; readonly panel: MarketPanelParts; readonly returns: Float64Array; readonly risk: RiskStatSlots }
  /** Follow the strategies from `session` with these states (those the combined book hands them there). */
  | { readonly type: 'restart'; readonly generation: number; readonly session: number; readonly states: Readonly<Record<string, StrategyState>>; readonly through: number }
  /** The main thread has taken what it needs: compute up to `through`. */
  | { readonly type: 'ack'; readonly generation: number; readonly through: number };

export interface FromWorker {
  readonly generation: number;
  readonly session: number;
  readonly results: readonly PrefetchResult[];
  /** Whether the session's risk-window statistics are in its slot (see `RiskStatSlots`). */
  readonly riskStats: boolean;
  /** `replaySessionBlocked` for the session. */
  readonly blocked: boolean;
}

/**
 * Shared memory where the worker leaves each session's risk-window statistics (volatility.ts
 * `computeWindowStats`) for the main thread's risk stage: one slot per session modulo `slots`,
 * more slots than the worker may run ahead, so a slot is never rewritten while it is read.
 */
export interface RiskStatSlots {
  readonly window: number;
  readonly slots: number;
  readonly means: Float64Array;
  readonly sumSquares: Float64Array;
  readonly observed: Int32Array;
}

/** Session `session`'s slot as the arrays `computeWindowStats` fills. */
export function riskSlot(ring: RiskStatSlots, session: number, names: number): WindowStatArrays {
  const slot = session % ring.slots;
  return {
    means: ring.means.subarray(slot * names, (slot + 1) * names),
    sumSquares: ring.sumSquares.subarray(slot * names, (slot + 1) * names),
    observed: ring.observed.subarray(slot * names, (slot + 1) * names),
  };
}

export interface StrategyWorkerData {
  readonly strategies: readonly Omit<LoadedStrategy, 'definition'>[];
  readonly validation: ValidationConfig;
  readonly logLevel: string;
}

/**
 * How many sessions the worker may run ahead of the one the main thread is on. Deep enough that
 * the sessions that cost one thread more than the other (the cluster's days on the worker, days
 * the combined book trades heavily on the main thread) even out instead of stalling either.
 */
const LOOKAHEAD = 32;
const WORKER_YOUNG_GENERATION_MB = 64;

function riskStatSlots(window: number, names: number): RiskStatSlots {
  const slots = LOOKAHEAD + 2;
  const shared = (bytes: number) => new SharedArrayBuffer(bytes);
  return {
    window,
    slots,
    means: new Float64Array(shared(slots * names * 8)),
    sumSquares: new Float64Array(shared(slots * names * 8)),
    observed: new Int32Array(shared(slots * names * 4)),
  };
}

/**
 * Replay on a second core. A strategy's output depends only on the session and the state its book
 * hands it, and in the combined book (which holds every strategy) that state follows from the
 * strategy's own outputs. So a worker thread follows that chain a few sessions ahead of the main
 * thread, which meanwhile runs the books: risk stage, trades, fills, ledger and journals.
 *
 * Nothing is trusted: each output is offered through `SharedStrategyOutputs` under the state it
 * was computed from, and a book uses it only when its own state for the strategy is equal —
 * otherwise the book computes it, exactly as without a worker. When the combined book's state
 * parts from the worker's (a session blocked by a CRITICAL alert does not advance it), the worker
 * is restarted from the book's state. Outputs are therefore identical with or without it.
 *
 * The worker runs compiled JavaScript, so it is used only from the built CLI (not under a
 * TypeScript test runner), with a panel in shared memory, on a machine with two or more cores.
 */
export class StrategyPrefetch {
  private generation = 0;
  private chainStart = Number.POSITIVE_INFINITY;
  private readonly arrived = new Map<number, FromWorker>();
  private waiter: { session: number; deliver: (message: FromWorker | null) => void } | null = null;
  /** The states the combined book hands its strategies on a session, once known. */
  private readonly handed = new Map<number, Readonly<Record<string, StrategyState>>>();
  private diverged = false;
  private failed = false;

  private risk: RiskStatSlots | null = null;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly log: Logger,
  ) {
    worker.on('message', (message: FromWorker) => {
      if (message.generation !== this.generation) return;
      if (this.waiter?.session === message.session) {
        this.waiter.deliver(message);
        this.waiter = null;
      } else this.arrived.set(message.session, message);
    });
    worker.on('error', (err) => this.fail(err.message));
    worker.on('exit', (code) => {
      if (code !== 0) this.fail(`exited with code ${code}`);
    });
  }

  /**
   * A worker for the replay's strategies, or null where one cannot run (see the class comment).
   * Started before the panel is loaded, so it imports its modules and strategies meanwhile; it
   * computes nothing until `attach` hands it the panel. `close` it on every path.
   */
  static launch(strategies: readonly LoadedStrategy[], validation: ValidationConfig, calendar: TradingCalendar, log: Logger): StrategyPrefetch | null {
    const script = fileURLToPath(new URL('./strategy-worker.js', import.meta.url));
    const compiled = strategies.every((s) => !/\.[cm]?ts$/.test(s.source));
    if (!existsSync(script) || !compiled || strategies.length === 0 || !(calendar instanceof XnysCalendar) || availableParallelism() < 2) return null;
    const workerData: StrategyWorkerData = { strategies: strategies.map(({ definition: _plugin, ...spec }) => spec), validation, logLevel: log.level };
    try {
      // A young generation four times V8's default: the worker's outputs live a few sessions,
      // and fewer scavenges copy them fewer times.
      return new StrategyPrefetch(new Worker(script, { workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } }), log);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'strategy worker did not start; strategies run on the main thread');
      return null;
    }
  }

  /**
   * Hands the worker the panel. False when it cannot work on it (arrays not in shared memory, or
   * it has stopped): the worker is then closed and the replay runs its strategies on the main thread.
   */
  attach(panel: MarketPanel, riskWindow: number): boolean {
    const shared = [...Object.values(panel.fields), ...panel.extraFeatures.values()].every((values) => values.buffer instanceof SharedArrayBuffer);
    if (!shared || this.failed) {
      void this.close();
      return false;
    }
    this.risk = riskStatSlots(riskWindow, panel.tickers.length);
    const parts: MarketPanelParts = { tickers: panel.tickers, sectors: panel.sectors, dates: panel.dates, fields: panel.fields, extraFeatures: panel.extraFeatures, regime: panel.regime };
    this.worker.postMessage({ type: 'panel', panel: parts, returns: returnsOf(panel), risk: this.risk } satisfies ToWorker);
    this.log.debug({ tickers: panel.tickers.length, sessions: panel.dates.length }, 'strategies run ahead on a worker thread');
    return true;
  }

  /**
   * The states the combined book hands its strategies at `session` (its snapshot's, after the
   * session before). Starts the worker there the first time and after it parted from the book.
   */
  handing(session: number, states: Readonly<Record<string, StrategyState>> | undefined): void {
    if (this.failed) return;
    if (this.chainStart === Number.POSITIVE_INFINITY || this.diverged) {
      this.restart(session, states ?? {});
      return;
    }
    this.handed.set(session, states ?? {});
  }

  /**
   * Waits for the worker's outputs for `session` and offers them to the books through `shared`
   * for `market`, each under the state it was computed from. Returns whether the session is
   * blocked (`replaySessionBlocked`), or null when the worker has no word on it.
   */
  async offer(session: number, market: PointInTimeMarket, shared: SharedStrategyOutputs): Promise<boolean | null> {
    if (this.failed || session < this.chainStart) return null;
    const message = this.arrived.get(session) ?? (await new Promise<FromWorker | null>((deliver) => (this.waiter = { session, deliver })));
    this.arrived.delete(session);
    if (message === null) return null;
    this.worker.postMessage({ type: 'ack', generation: this.generation, through: session + LOOKAHEAD } satisfies ToWorker);
    const tickers = market.tickers;
    if (message.riskStats && this.risk) adoptWindowStats(market.returns(this.risk.window), this.risk.window, tickers.length, riskSlot(this.risk, session, tickers.length));
    const { results } = message;
    for (const result of results) {
      const computedFrom = result.signal;
      const matches: StateMatch = (state) => computedFrom !== null && jsonEqual(result.custom, state?.custom ?? null) && sleeveEquals(state, computedFrom, tickers);
      shared.offer(market, result.strategyId, matches, 'output' in result ? Promise.resolve(unpackOutput(result.output, tickers)) : rejected(result.error));
    }
    const handed = this.handed.get(session);
    this.handed.delete(session);
    if (handed && results.some((r) => r.signal === null || !jsonEqual(r.custom, handed[r.strategyId]?.custom ?? null) || !sleeveEquals(handed[r.strategyId] ?? null, r.signal, tickers))) {
      this.diverged = true;
    }
    return message.blocked;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failed = true;
    await this.worker.terminate();
  }

  private restart(session: number, states: Readonly<Record<string, StrategyState>>): void {
    if (this.generation > 0) this.log.debug({ session }, 'strategy worker restarted from the combined book (its state parted from the worker\'s)');
    this.generation++;
    this.chainStart = session;
    this.diverged = false;
    this.arrived.clear();
    this.handed.clear();
    this.waiter?.deliver(null);
    this.waiter = null;
    try {
      this.worker.postMessage({ type: 'restart', generation: this.generation, session, states, through: session + LOOKAHEAD } satisfies ToWorker);
    } catch (err) {
      this.fail(`state not sent (${(err as Error).message})`);
    }
  }

  private fail(reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.log.warn({ reason }, 'strategy worker stopped; strategies run on the main thread');
    this.waiter?.deliver(null);
    this.waiter = null;
  }
}

/** A strategy's failure as the pipeline sees it in-process: a rejected output with its message. */
function rejected(message: string): Promise<StrategyOutput> {
  const failure = Promise.reject(new Error(message));
  failure.catch(() => undefined); // handled when a book awaits it; not an unhandled rejection if none does
  return failure;
}
