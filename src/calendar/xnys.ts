import { weekday, type IsoDate } from '../core/dates.js';
import type { TradingCalendar } from './calendar.js';
import { nyseClosedWeekdays, nyseEarlyCloses, type EarlyClose } from './nyse-rules.js';
import { SessionIndex } from './session-index.js';

export type { EarlyClose } from './nyse-rules.js';

const NAME = 'XNYS';
const FIRST_DATE: IsoDate = '1990-01-01';
const LAST_DATE: IsoDate = '2030-12-31';
const FIRST_YEAR = 1990;
const LAST_YEAR = 2030;

/** Built on first use and shared by every XnysCalendar: the tables never change at run time. */
let sessionIndex: SessionIndex | undefined;
let earlyCloseTable: { list: readonly EarlyClose[]; byDate: ReadonlyMap<IsoDate, string> } | undefined;

function xnysSessions(): SessionIndex {
  if (!sessionIndex) {
    const closed = nyseClosedWeekdays(FIRST_YEAR, LAST_YEAR);
    sessionIndex = new SessionIndex(NAME, FIRST_DATE, LAST_DATE, (date) => {
      const day = weekday(date);
      return day !== 0 && day !== 6 && !closed.has(date);
    });
  }
  return sessionIndex;
}

function xnysEarlyCloses(): NonNullable<typeof earlyCloseTable> {
  if (!earlyCloseTable) {
    const list = nyseEarlyCloses(FIRST_YEAR, LAST_YEAR);
    earlyCloseTable = { list, byDate: new Map(list.map(({ date, close }) => [date, close])) };
  }
  return earlyCloseTable;
}

/**
 * The New York Stock Exchange, 1990-01-01..2030-12-31: regular holidays from date-holidays rules,
 * special closures and short sessions from the NYSE record (see nyse-rules.ts). Every method throws
 * RangeError for a date outside that range.
 */
export class XnysCalendar implements TradingCalendar {
  readonly name = NAME;
  readonly firstDate = FIRST_DATE;
  readonly lastDate = LAST_DATE;

  isSession(date: IsoDate): boolean {
    return xnysSessions().isSession(date);
  }

  sessions(from: IsoDate, to: IsoDate): IsoDate[] {
    return xnysSessions().sessions(from, to);
  }

  nextSession(date: IsoDate, strict = false): IsoDate {
    return xnysSessions().nextSession(date, strict);
  }

  previousSession(date: IsoDate, strict = false): IsoDate {
    return xnysSessions().previousSession(date, strict);
  }

  sessionDistance(a: IsoDate, b: IsoDate): number {
    return xnysSessions().sessionDistance(a, b);
  }

  earlyClose(date: IsoDate): string | null {
    xnysSessions().dayInRange(date);
    return xnysEarlyCloses().byDate.get(date) ?? null;
  }

  /** Short sessions in [from, to], ascending. */
  earlyCloses(from: IsoDate, to: IsoDate): EarlyClose[] {
    xnysSessions().dayInRange(from);
    xnysSessions().dayInRange(to);
    return xnysEarlyCloses()
      .list.filter(({ date }) => date >= from && date <= to)
      .map((earlyClose) => ({ ...earlyClose }));
  }
}
