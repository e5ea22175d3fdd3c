import { z } from 'zod';
import { addDays, fromEpochDay, isIsoDate, toEpochDay, type IsoDate } from '../core/dates.js';
import type { TradingCalendar } from './calendar.js';

/**
 * Rebalance schedules. `rebalanceDates` is the only place a rule is evaluated; "is today a
 * rebalance day", "the next k dates" and schedule.json are all read off it, so they cannot disagree.
 *
 * Rules and what happens on holidays:
 * - every_n_sessions: D rebalances iff D is a session and the session count from the anchor session
 *   to D is a multiple of `every`. The anchor session is the first session on or after `anchor`.
 *   The count is signed and taken modulo `every` with a non-negative result, so dates before the
 *   anchor lie on the same grid (the anchor is a phase, not a start date). Holidays are not counted.
 * - daily: every session.
 * - weekly / biweekly / monthly first / every_n_days: each rule names target calendar days; a target
 *   that is not a session (holiday, weekend, closure) rebalances on the next session, even when that
 *   falls in the next period. Targets that land on the same session rebalance once.
 * - monthly last: the last session of the month (never rolled).
 */

export const DEFAULT_SCHEDULE_ANCHOR: IsoDate = '2015-01-02';
export const DEFAULT_SESSION_INTERVAL = 5;

const WEEKDAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'] as const;
export type WeekdayName = (typeof WEEKDAY_NAMES)[number];

const isoDateSchema = z.string().refine(isIsoDate, { message: 'expected a date as YYYY-MM-DD' });
const positiveIntegerSchema = z.number().int().positive();

export const scheduleRuleSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('every_n_sessions'),
    anchor: isoDateSchema.default(DEFAULT_SCHEDULE_ANCHOR),
    every: positiveIntegerSchema.default(DEFAULT_SESSION_INTERVAL),
  }),
  z.strictObject({ type: z.literal('daily') }),
  z.strictObject({ type: z.literal('weekly'), weekday: z.enum(WEEKDAY_NAMES) }),
  z.strictObject({
    type: z.literal('biweekly'),
    weekday: z.enum(WEEKDAY_NAMES),
    anchor: isoDateSchema.default(DEFAULT_SCHEDULE_ANCHOR),
  }),
  z.strictObject({ type: z.literal('monthly'), which: z.enum(['first', 'last']) }),
  z.strictObject({
    type: z.literal('every_n_days'),
    every: positiveIntegerSchema,
    anchor: isoDateSchema.default(DEFAULT_SCHEDULE_ANCHOR),
  }),
]);

/** A parsed rule: defaults filled in. */
export type ScheduleRule = z.output<typeof scheduleRuleSchema>;
/** A rule as written in config, before defaults. */
export type ScheduleRuleInput = z.input<typeof scheduleRuleSchema>;

/** The seed's schedule.json (§5.4); rules other than every_n_sessions add a `rule` description. */
export type ScheduleJson = {
  generated_at: string;
  anchor_date: IsoDate | null;
  frequency_days: number | null;
  rule?: string;
} & { [nextKey: `next_${number}_rebalances`]: IsoDate[] };

/** Rebalance dates in [from, to], ascending. Both ends must lie in the calendar's range. */
export function rebalanceDates(rule: ScheduleRule, calendar: TradingCalendar, from: IsoDate, to: IsoDate): IsoDate[] {
  assertWithinCalendar(calendar, from);
  assertWithinCalendar(calendar, to);
  if (from > to) return [];
  switch (rule.type) {
    case 'daily':
      return calendar.sessions(from, to);
    case 'every_n_sessions':
      return everyNthSession(calendar, from, to, calendar.nextSession(rule.anchor), rule.every);
    case 'weekly':
      return rolledForward(calendar, from, to, (start, end) => daysOnGrid(start, end, A_MONDAY + weekdayOffset(rule.weekday), 7));
    case 'biweekly':
      return rolledForward(calendar, from, to, (start, end) =>
        daysOnGrid(start, end, mondayOfWeek(toEpochDay(rule.anchor)) + weekdayOffset(rule.weekday), 14),
      );
    case 'every_n_days':
      return rolledForward(calendar, from, to, (start, end) => daysOnGrid(start, end, toEpochDay(rule.anchor), rule.every));
    case 'monthly':
      return rule.which === 'first' ? rolledForward(calendar, from, to, firstDaysOfMonths) : lastSessionsOfMonths(calendar, from, to);
  }
}

export function isRebalanceDay(rule: ScheduleRule, calendar: TradingCalendar, date: IsoDate): boolean {
  return rebalanceDates(rule, calendar, date, date).length === 1;
}

/**
 * The first `count` rebalance dates on or after `from`. Throws RangeError when the calendar ends
 * before `count` of them.
 */
export function nextRebalanceDates(rule: ScheduleRule, calendar: TradingCalendar, from: IsoDate, count: number): IsoDate[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number ≥ 0, got ${count}`);
  if (from < calendar.firstDate) throw new RangeError(`${from} is before the ${calendar.name} calendar starts (${calendar.firstDate})`);
  const found: IsoDate[] = [];
  // Windows double so sparse rules (monthly, every 60 days) need few passes and dense ones little waste.
  let windowStart = from;
  let windowDays = 64;
  while (found.length < count) {
    if (windowStart > calendar.lastDate) {
      throw new RangeError(
        `only ${found.length} of ${count} rebalance dates from ${from} fall within the ${calendar.name} calendar, which ends ${calendar.lastDate}`,
      );
    }
    const windowEnd = earlier(addDays(windowStart, windowDays - 1), calendar.lastDate);
    found.push(...rebalanceDates(rule, calendar, windowStart, windowEnd));
    windowStart = addDays(windowEnd, 1);
    windowDays *= 2;
  }
  return found.slice(0, count);
}

/** The first rebalance date strictly after `date`. */
export function nextRebalanceAfter(rule: ScheduleRule, calendar: TradingCalendar, date: IsoDate): IsoDate {
  const [next] = nextRebalanceDates(rule, calendar, addDays(date, 1), 1);
  if (next === undefined) throw new RangeError(`no rebalance date after ${date}`);
  return next;
}

export function describeRule(rule: ScheduleRule): string {
  switch (rule.type) {
    case 'every_n_sessions':
      return `every ${rule.every} sessions, counted from the first session on or after ${rule.anchor}`;
    case 'daily':
      return 'every session';
    case 'weekly':
      return `weekly on ${capitalized(rule.weekday)} (next session if that day is closed)`;
    case 'biweekly':
      return `every other ${capitalized(rule.weekday)}, on alternate weeks counted from the week of ${rule.anchor} (next session if that day is closed)`;
    case 'monthly':
      return `${rule.which} session of each month`;
    case 'every_n_days':
      return `every ${rule.every} calendar days from ${rule.anchor} (next session if that day is closed)`;
  }
}

/** The seed's schedule.json (§5.4) for the next `count` rebalance dates on or after `from`. */
export function scheduleJson(
  rule: ScheduleRule,
  calendar: TradingCalendar,
  from: IsoDate,
  count: number,
  generatedAt: string,
): ScheduleJson {
  const nextKey: `next_${number}_rebalances` = `next_${count}_rebalances`;
  const nextDates: { [key: `next_${number}_rebalances`]: IsoDate[] } = { [nextKey]: nextRebalanceDates(rule, calendar, from, count) };
  if (rule.type === 'every_n_sessions') {
    return { generated_at: generatedAt, anchor_date: rule.anchor, frequency_days: rule.every, ...nextDates };
  }
  return { generated_at: generatedAt, anchor_date: null, frequency_days: null, ...nextDates, rule: describeRule(rule) };
}

/** 1970-01-05, epoch day 4, was a Monday. */
const A_MONDAY = 4;

function weekdayOffset(name: WeekdayName): number {
  return WEEKDAY_NAMES.indexOf(name);
}

/** Weeks run Monday–Sunday. */
function mondayOfWeek(day: number): number {
  return day - nonNegativeModulo(day - A_MONDAY, 7);
}

function nonNegativeModulo(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}

function everyNthSession(calendar: TradingCalendar, from: IsoDate, to: IsoDate, anchorSession: IsoDate, every: number): IsoDate[] {
  const sessions = calendar.sessions(from, to);
  const [firstSession] = sessions;
  if (firstSession === undefined) return [];
  const picked: IsoDate[] = [];
  for (let i = nonNegativeModulo(-calendar.sessionDistance(anchorSession, firstSession), every); i < sessions.length; i += every) {
    picked.push(sessions[i] as IsoDate);
  }
  return picked;
}

/** Epoch days in [start, end] of the form base + k·period. */
function daysOnGrid(start: number, end: number, base: number, period: number): number[] {
  const days: number[] = [];
  for (let day = start + nonNegativeModulo(base - start, period); day <= end; day += period) days.push(day);
  return days;
}

function firstDaysOfMonths(start: number, end: number): number[] {
  const startDate = fromEpochDay(start);
  const days: number[] = [];
  let monthStart = startDate.endsWith('-01') ? startDate : firstOfNextMonth(startDate);
  for (; toEpochDay(monthStart) <= end; monthStart = firstOfNextMonth(monthStart)) days.push(toEpochDay(monthStart));
  return days;
}

/**
 * Rebalance sessions for targets that roll forward to the next session. A target lands in
 * [from, to] exactly when it is after the last session before `from` and not after the last
 * session on or before `to`, so only those targets are generated: a Monday holiday just before
 * `from` still counts, and nothing past the calendar's end is ever asked for.
 */
function rolledForward(
  calendar: TradingCalendar,
  from: IsoDate,
  to: IsoDate,
  targetsBetween: (startDay: number, endDay: number) => number[],
): IsoDate[] {
  const firstSession = calendar.nextSession(calendar.firstDate);
  if (to < firstSession) return [];
  const firstTargetDay = from > firstSession ? toEpochDay(calendar.previousSession(from, true)) + 1 : toEpochDay(calendar.firstDate);
  const lastTargetDay = toEpochDay(calendar.previousSession(to));
  const rebalances: IsoDate[] = [];
  for (const target of targetsBetween(firstTargetDay, lastTargetDay)) {
    const session = calendar.nextSession(fromEpochDay(target));
    if (rebalances[rebalances.length - 1] !== session) rebalances.push(session);
  }
  return rebalances;
}

function lastSessionsOfMonths(calendar: TradingCalendar, from: IsoDate, to: IsoDate): IsoDate[] {
  const sessions: IsoDate[] = [];
  for (let monthStart = `${from.slice(0, 7)}-01`; monthStart <= to; monthStart = firstOfNextMonth(monthStart)) {
    const lastSession = calendar.previousSession(addDays(firstOfNextMonth(monthStart), -1));
    if (lastSession >= from && lastSession <= to) sessions.push(lastSession);
  }
  return sessions;
}

function firstOfNextMonth(date: IsoDate): IsoDate {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  return month === 12 ? `${year + 1}-01-01` : `${year}-${String(month + 1).padStart(2, '0')}-01`;
}

function assertWithinCalendar(calendar: TradingCalendar, date: IsoDate): void {
  if (!isIsoDate(date)) throw new RangeError(`not a YYYY-MM-DD date: "${date}"`);
  if (date < calendar.firstDate || date > calendar.lastDate) {
    throw new RangeError(`${date} is outside the ${calendar.name} calendar (${calendar.firstDate}..${calendar.lastDate})`);
  }
}

function earlier(a: IsoDate, b: IsoDate): IsoDate {
  return a < b ? a : b;
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
