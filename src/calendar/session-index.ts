import { fromEpochDay, isIsoDate, toEpochDay, type IsoDate } from '../core/dates.js';

/**
 * A calendar's sessions, precomputed once, with a table from every day in range to the first
 * session on or after it. Every question a TradingCalendar answers is then O(1), and a run of
 * sessions is one array slice — replay asks for thousands of them.
 */
export class SessionIndex {
  private readonly firstDay: number;
  private readonly lastDay: number;
  private readonly sessionDays: Int32Array;
  private readonly sessionDates: readonly IsoDate[];
  /** Position in `sessionDays` of the first session ≥ firstDay + offset; sessionDays.length when none. */
  private readonly firstSessionAtOrAfter: Int32Array;

  constructor(
    private readonly calendarName: string,
    readonly firstDate: IsoDate,
    readonly lastDate: IsoDate,
    isSessionDay: (date: IsoDate) => boolean,
  ) {
    this.firstDay = toEpochDay(firstDate);
    this.lastDay = toEpochDay(lastDate);
    const sessionDates: IsoDate[] = [];
    for (let day = this.firstDay; day <= this.lastDay; day++) {
      const date = fromEpochDay(day);
      if (isSessionDay(date)) sessionDates.push(date);
    }
    this.sessionDates = sessionDates;
    this.sessionDays = Int32Array.from(sessionDates, toEpochDay);
    this.firstSessionAtOrAfter = new Int32Array(this.lastDay - this.firstDay + 1);
    let position = 0;
    for (let offset = 0; offset < this.firstSessionAtOrAfter.length; offset++) {
      while (position < this.sessionDays.length && (this.sessionDays[position] ?? 0) < this.firstDay + offset) position++;
      this.firstSessionAtOrAfter[offset] = position;
    }
  }

  isSession(date: IsoDate): boolean {
    const day = this.dayInRange(date);
    return this.sessionDays[this.positionAtOrAfter(day)] === day;
  }

  sessions(from: IsoDate, to: IsoDate): IsoDate[] {
    const start = this.positionAtOrAfter(this.dayInRange(from));
    const end = this.positionAtOrAfter(this.dayInRange(to) + 1);
    return this.sessionDates.slice(start, Math.max(start, end));
  }

  nextSession(date: IsoDate, strict = false): IsoDate {
    const day = this.dayInRange(date);
    const position = this.positionAtOrAfter(strict ? day + 1 : day);
    const session = this.sessionDates[position];
    if (session === undefined) throw new RangeError(`no ${this.calendarName} session ${strict ? 'after' : 'on or after'} ${date}: the calendar ends ${this.lastDate}`);
    return session;
  }

  previousSession(date: IsoDate, strict = false): IsoDate {
    const day = this.dayInRange(date);
    const position = this.positionAtOrAfter(strict ? day : day + 1) - 1;
    const session = this.sessionDates[position];
    if (session === undefined) throw new RangeError(`no ${this.calendarName} session ${strict ? 'before' : 'on or before'} ${date}: the calendar starts ${this.firstDate}`);
    return session;
  }

  sessionDistance(a: IsoDate, b: IsoDate): number {
    return this.sessionPosition(b) - this.sessionPosition(a);
  }

  /** Throws RangeError unless `date` is a real date within [firstDate, lastDate]. */
  dayInRange(date: IsoDate): number {
    if (!isIsoDate(date)) throw new RangeError(`not a YYYY-MM-DD date: "${date}"`);
    const day = toEpochDay(date);
    if (day < this.firstDay || day > this.lastDay) {
      throw new RangeError(`${date} is outside the ${this.calendarName} calendar (${this.firstDate}..${this.lastDate})`);
    }
    return day;
  }

  private sessionPosition(date: IsoDate): number {
    const day = this.dayInRange(date);
    const position = this.positionAtOrAfter(day);
    if (this.sessionDays[position] !== day) throw new RangeError(`${date} is not a ${this.calendarName} session`);
    return position;
  }

  /** Accepts lastDay + 1 (one past the range) so half-open ranges need no special case. */
  private positionAtOrAfter(day: number): number {
    return this.firstSessionAtOrAfter[day - this.firstDay] ?? this.sessionDays.length;
  }
}
