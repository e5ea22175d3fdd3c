import type { z } from 'zod';
import type { IsoDate } from '../core/dates.js';
import type { JsonValue } from '../core/json.js';
import type { Logger } from '../core/log.js';
import type { PointInTimeMarket } from '../data/panel.js';
import type { TradingCalendar } from '../calendar/calendar.js';

/** One name a strategy wants in its sleeve. Weights are fractions of the sleeve's capital; shorts negative. */
export interface SleeveTarget {
  readonly ticker: string;
  readonly weight: number;
  /** The strategy's ranking score, shown to reviewers. */
  readonly score?: number;
  /** Per-name detail for artifacts (e.g. Risk4's alpha_z, vol_blend, adv_20, rank). */
  readonly meta?: Readonly<Record<string, number | string | null>>;
}

export interface StrategyOutput {
  readonly targets: readonly SleeveTarget[];
  /** Persisted for the strategy's next run (entry dates, clusters, …). Must be JSON. */
  readonly state?: JsonValue;
  /** Human-readable remarks (e.g. "caps force 4% cash") carried into the run summary. */
  readonly notes?: readonly string[];
}

/** Everything a strategy may look at. Nothing here reaches Redis, DuckDB or the bus. */
export interface StrategyContext<P> {
  readonly strategyId: string;
  readonly date: IsoDate;
  readonly params: P;
  readonly market: PointInTimeMarket;
  readonly state: JsonValue | null;
  readonly priorSleeve: ReadonlyMap<string, number>;
  readonly calendar: TradingCalendar;
  readonly log: Logger;
}

export interface StrategyDefinition<P = unknown> {
  /** Plugin name, as written in config `module` when it is a built-in (e.g. "risk4"). */
  readonly name: string;
  readonly description: string;
  /** Validates and fills defaults; unknown keys must be rejected (use z.object(...).strict()). */
  readonly paramsSchema: z.ZodType<P>;
  /** Sessions of history the strategy needs before D (the panel loads at least this many). */
  warmupSessions(params: P): number;
  /** Extra feat_matrix_v2 columns it reads through `market.feature()`. */
  featureColumns?(params: P): readonly string[];
  rebalance(context: StrategyContext<P>): StrategyOutput | Promise<StrategyOutput>;
}

/** Identity helper that gives plugin authors type inference for `P`. */
export function defineStrategy<P>(definition: StrategyDefinition<P>): StrategyDefinition<P> {
  return definition;
}
