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
  const { nextRebalance, scheduled } = scheduleOn(rule, calendar, date);
  if (forced) return { due: true, reason: 'forced', nextRebalance };
  if (scheduled) return { due: true, reason: 'scheduled', nextRebalance };
  if (state === null || state.lastRebalance === null) return { due: true, reason: 'first_run', nextRebalance };
  return { due: false, reason: 'not_due', nextRebalance };
}

interface ScheduleDay {
  readonly calendar: TradingCalendar;
  readonly date: IsoDate;
  readonly scheduled: boolean;
  readonly nextRebalance: IsoDate;
}

/** Each rule's latest day looked up: replay asks the same rule about the same session once per book. */
const latestDay = new WeakMap<ScheduleRule, ScheduleDay>();

function scheduleOn(rule: ScheduleRule, calendar: TradingCalendar, date: IsoDate): ScheduleDay {
  let day = latestDay.get(rule);
  if (day?.date !== date || day.calendar !== calendar) {
    day = { calendar, date, nextRebalance: nextRebalanceAfter(rule, calendar, date), scheduled: isRebalanceDay(rule, calendar, date) };
    latestDay.set(rule, day);
  }
  return day;
}
