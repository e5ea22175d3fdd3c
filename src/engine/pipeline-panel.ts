import type { IsoDate } from '../core/dates.js';
import type { TradingCalendar } from '../calendar/calendar.js';
import type { KairosConfig } from '../config/schema.js';
import type { KairosDatabase } from '../data/database.js';
import { loadPanel } from '../data/panel-loader.js';
import type { MarketPanel } from '../data/panel.js';
import type { LoadedStrategy } from './strategy-loader.js';

export interface PipelineDataSources {
  readonly db: KairosDatabase;
  readonly calendar: TradingCalendar;
  readonly config: KairosConfig;
  readonly strategies: readonly LoadedStrategy[];
}

/** Sessions of history a decision needs: the largest strategy warm-up, or the risk stage's covariance window plus one. */
export function requiredHistory({ config, strategies }: Pick<PipelineDataSources, 'config' | 'strategies'>): number {
  return Math.max(config.risk.vol_window + 1, ...strategies.map((s) => s.definition.warmupSessions(s.params)));
}

/**
 * The panel that lets the pipeline decide every session from `first` to `last`: enough history
 * before `first`, and every extra feature column a strategy reads. Production loads one session's
 * worth, replay a range; both go through here.
 */
export async function loadPipelinePanel(sources: PipelineDataSources, first: IsoDate, last: IsoDate): Promise<MarketPanel> {
  const { calendar, strategies } = sources;
  const from = calendar.sessions(calendar.firstDate, first).at(-(requiredHistory(sources) + 1)) ?? calendar.firstDate;
  const featureColumns = [...new Set(strategies.flatMap((s) => s.definition.featureColumns?.(s.params) ?? []))].sort();
  return loadPanel(sources.db, { from, to: last, featureColumns });
}
