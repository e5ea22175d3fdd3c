import type { IsoDate } from '../core/dates.js';
import type { TradingCalendar } from '../calendar/calendar.js';
import { isRebalanceDay, nextRebalanceAfter, type ScheduleRule } from '../calendar/schedule.js';
import type { StrategyState } from '../state/store.js';

export type DueReason = 'scheduled' | 'first_run' | 'forced' | 'not_due';

export interface DueDecision {
  readonly due: boolean;
  readonly reason: DueReason;
  readonly nextRebalance: IsoDate;
}

/**
 * A strategy rebalances on its schedule's days, on its first run (it has no signal to hold yet),
 * or when forced (a manual `kairos rebalance`). Otherwise its last signal is held.
 */
export function decideDue(rule: ScheduleRule, calendar: TradingCalendar, date: IsoDate, state: StrategyState | null, forced: boolean): DueDecision {
  const nextRebalance = nextRebalanceAfter(rule, calendar, date);
  if (forced) return { due: true, reason: 'forced', nextRebalance };
  if (isRebalanceDay(rule, calendar, date)) return { due: true, reason: 'scheduled', nextRebalance };
  if (state === null || state.lastRebalance === null) return { due: true, reason: 'first_run', nextRebalance };
  return { due: false, reason: 'not_due', nextRebalance };
}
