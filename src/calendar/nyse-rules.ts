import Holidays from 'date-holidays';
import { addDays, weekday, type IsoDate } from '../core/dates.js';

/**
 * The NYSE's holiday and short-day rules for 1990–2030, checked against exchange_calendars (XNYS)
 * and pandas_market_calendars (NYSE), whose tables come from the NYSE's own closings record.
 */

const THANKSGIVING_DAY = 'Thanksgiving Day';

/**
 * Regular holidays in date-holidays' rule grammar. The library's 'US' data is the federal set, which
 * is the wrong starting point: the NYSE trades on Columbus and Veterans Day, closes on Good Friday,
 * adopted MLK Day only in 1998 and Juneteenth only in 2022 (federal: 2021), and does not close on
 * Friday Dec 31 when Jan 1 is a Saturday (NYSE Rule 7.2: no Saturday-holiday closing on the last day
 * of an accounting period). Other Saturday holidays close the Friday before, Sunday ones the Monday after.
 */
const REGULAR_HOLIDAY_RULES: readonly { name: string; rule: string }[] = [
  { name: "New Year's Day", rule: '01-01 and if sunday then next monday' },
  { name: 'Martin Luther King Jr. Day', rule: '3rd monday in January since 1998' },
  { name: "Washington's Birthday", rule: '3rd monday in February' },
  { name: 'Good Friday', rule: 'easter -2' },
  { name: 'Memorial Day', rule: 'monday before 06-01' },
  { name: 'Juneteenth', rule: '06-19 and if saturday then previous friday if sunday then next monday since 2022' },
  { name: 'Independence Day', rule: '07-04 and if saturday then previous friday if sunday then next monday' },
  { name: 'Labor Day', rule: '1st monday in September' },
  { name: THANKSGIVING_DAY, rule: '4th thursday in November' },
  { name: 'Christmas Day', rule: '12-25 and if saturday then previous friday if sunday then next monday' },
];

/**
 * Unplanned full-day closures in range. The 1990s had no weather closure (the 1996-01-08 blizzard
 * only shortened the day), so the list is mourning days and two disasters.
 */
export const SPECIAL_CLOSURES: readonly { date: IsoDate; reason: string }[] = [
  { date: '1994-04-27', reason: 'National day of mourning for former President Richard Nixon' },
  { date: '2001-09-11', reason: 'September 11 attacks' },
  { date: '2001-09-12', reason: 'September 11 attacks' },
  { date: '2001-09-13', reason: 'September 11 attacks' },
  { date: '2001-09-14', reason: 'September 11 attacks' },
  { date: '2004-06-11', reason: 'National day of mourning for former President Ronald Reagan' },
  { date: '2007-01-02', reason: 'National day of mourning for former President Gerald Ford' },
  { date: '2012-10-29', reason: 'Hurricane Sandy' },
  { date: '2012-10-30', reason: 'Hurricane Sandy' },
  { date: '2018-12-05', reason: 'National day of mourning for former President George H. W. Bush' },
  { date: '2025-01-09', reason: 'National day of mourning for former President Jimmy Carter' },
];

export interface EarlyClose {
  date: IsoDate;
  /** Closing time "HH:MM", America/New_York. */
  close: string;
}

/**
 * Short sessions no rule produces: announced ones (two Fridays after Christmas, Y2K eve) and
 * unplanned ones (snowstorms, the 1997 circuit-breaker halt, a 2005 systems failure).
 */
const AD_HOC_EARLY_CLOSES: readonly EarlyClose[] = [
  { date: '1994-02-11', close: '14:30' },
  { date: '1996-01-08', close: '14:00' },
  { date: '1997-10-27', close: '15:30' },
  { date: '1997-12-26', close: '13:00' },
  { date: '1999-12-31', close: '13:00' },
  { date: '2003-12-26', close: '13:00' },
  { date: '2005-06-01', close: '15:56' },
];

const MONDAY = 1;
const WEDNESDAY = 3;
const THURSDAY = 4;
const FRIDAY = 5;
const SATURDAY = 6;
const SUNDAY = 0;

interface DatedHoliday {
  date: IsoDate;
  name: string;
}

function regularHolidayRules(): Holidays {
  const rules = new Holidays();
  for (const { name, rule } of REGULAR_HOLIDAY_RULES) {
    if (!rules.setHoliday(rule, { name, type: 'public' })) throw new Error(`date-holidays rejected the NYSE rule "${rule}"`);
  }
  return rules;
}

/** Weekday holidays only: an "and if saturday…" rule also yields the weekend date itself. */
function regularHolidays(rules: Holidays, year: number): DatedHoliday[] {
  return rules
    .getHolidays(year)
    .map((holiday) => ({ date: holiday.date.slice(0, 10), name: holiday.name }))
    .filter(({ date }) => weekday(date) !== SATURDAY && weekday(date) !== SUNDAY);
}

/** Every weekday the NYSE is closed in [firstYear, lastYear]. */
export function nyseClosedWeekdays(firstYear: number, lastYear: number): Set<IsoDate> {
  const rules = regularHolidayRules();
  const closed = new Set<IsoDate>();
  for (let year = firstYear; year <= lastYear; year++) {
    for (const holiday of regularHolidays(rules, year)) closed.add(holiday.date);
  }
  for (const closure of SPECIAL_CLOSURES) {
    const year = Number(closure.date.slice(0, 4));
    if (year >= firstYear && year <= lastYear) closed.add(closure.date);
  }
  return closed;
}

/** Until 1993 the NYSE's holiday short sessions ended at 14:00; since then at 13:00. */
function holidayEarlyCloseTime(year: number): string {
  return year >= 1993 ? '13:00' : '14:00';
}

/** The Friday after Thanksgiving has been a short session since 1992. */
function dayAfterThanksgiving(year: number, thanksgiving: IsoDate): EarlyClose[] {
  return year >= 1992 ? [{ date: addDays(thanksgiving, 1), close: holidayEarlyCloseTime(year) }] : [];
}

/** Christmas Eve on Monday–Thursday; a Friday Christmas Eve is the observed Christmas holiday. */
function christmasEve(year: number): EarlyClose[] {
  const date = `${year}-12-24`;
  const day = weekday(date);
  return day >= MONDAY && day <= THURSDAY ? [{ date, close: holidayEarlyCloseTime(year) }] : [];
}

/**
 * Since 1995: July 3 when it is a Monday, Tuesday or Thursday. When July 4 is a Thursday the short
 * day was Friday July 5 until 2012 and has been Wednesday July 3 since 2013.
 */
function aroundIndependenceDay(year: number): EarlyClose[] {
  if (year < 1995) return [];
  const july3 = `${year}-07-03`;
  const july3Weekday = weekday(july3);
  if (july3Weekday >= MONDAY && july3Weekday <= THURSDAY && (july3Weekday !== WEDNESDAY || year >= 2013)) {
    return [{ date: july3, close: '13:00' }];
  }
  const july5 = `${year}-07-05`;
  return weekday(july5) === FRIDAY && year <= 2012 ? [{ date: july5, close: '13:00' }] : [];
}

/** Every short session in [firstYear, lastYear], ascending by date. */
export function nyseEarlyCloses(firstYear: number, lastYear: number): EarlyClose[] {
  const rules = regularHolidayRules();
  const earlyCloses: EarlyClose[] = [];
  for (let year = firstYear; year <= lastYear; year++) {
    const thanksgiving = regularHolidays(rules, year).find((holiday) => holiday.name === THANKSGIVING_DAY);
    if (!thanksgiving) throw new Error(`no Thanksgiving Day computed for ${year}`);
    earlyCloses.push(...dayAfterThanksgiving(year, thanksgiving.date), ...christmasEve(year), ...aroundIndependenceDay(year));
  }
  for (const adHoc of AD_HOC_EARLY_CLOSES) {
    const year = Number(adHoc.date.slice(0, 4));
    if (year >= firstYear && year <= lastYear) earlyCloses.push(adHoc);
  }
  return earlyCloses.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}
