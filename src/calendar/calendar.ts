import type { IsoDate } from '../core/dates.js';

/** A exchange session calendar. All answers are for dates within [firstDate, lastDate]. */
export interface TradingCalendar {
  readonly name: string;
  readonly firstDate: IsoDate;
  readonly lastDate: IsoDate;
  isSession(date: IsoDate): boolean;
  /** Sessions in [from, to], ascending. */
  sessions(from: IsoDate, to: IsoDate): IsoDate[];
  /** First session ≥ date (or > date when `strict`). */
  nextSession(date: IsoDate, strict?: boolean): IsoDate;
  /** Last session ≤ date (or < date when `strict`). */
  previousSession(date: IsoDate, strict?: boolean): IsoDate;
  /** Early close time "HH:MM" (America/New_York) if `date` is a shortened session, else null. */
  earlyClose(date: IsoDate): string | null;
  /** Sessions between a and b counted as index(b) - index(a) (both must be sessions). */
  sessionDistance(a: IsoDate, b: IsoDate): number;
}
