/** A calendar date as `YYYY-MM-DD`. Kairos never attaches a time zone to a session date. */
export type IsoDate = string;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

export function isIsoDate(value: string): boolean {
  return parsed(value)?.real === true;
}

/** Days since 1970-01-01 (the unit DuckDB's DATE uses), for arithmetic without time zones. */
export function toEpochDay(date: IsoDate): number {
  const day = parsed(date)?.day;
  if (day === undefined) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  return day;
}

export function fromEpochDay(day: number): IsoDate {
  let date = dateOfDay.get(day);
  if (date === undefined) {
    date = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
    remember(dateOfDay, day, date);
  }
  return date;
}

/**
 * Dates are parsed and formatted for every strategy, book and session of a replay, and a process
 * meets a few thousand distinct ones: each is worked out once (within a bound, for long-lived
 * processes fed arbitrary strings).
 */
const parsedDates = new Map<string, ParsedDate | null>();
const dateOfDay = new Map<number, IsoDate>();
const REMEMBERED_DATES = 100_000;

function remember<K, V>(memo: Map<K, V>, key: K, value: V): void {
  if (memo.size >= REMEMBERED_DATES) memo.clear();
  memo.set(key, value);
}

interface ParsedDate {
  /** Date.UTC's day for the fields (a day past a month's end rolls over: 2024-02-30 is 2024-03-01). */
  readonly day: number;
  /** Whether the fields name a real calendar day. */
  readonly real: boolean;
}

/** `YYYY-MM-DD` read into a day, or null when the text is not of that form. */
function parsed(value: string): ParsedDate | null {
  let date = parsedDates.get(value);
  if (date === undefined) {
    const m = ISO_DATE.exec(value);
    if (m) {
      const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
      date = { day: d.getTime() / MS_PER_DAY, real: d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) };
    } else date = null;
    remember(parsedDates, value, date);
  }
  return date;
}

export function addDays(date: IsoDate, days: number): IsoDate {
  return fromEpochDay(toEpochDay(date) + days);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(date: IsoDate): number {
  return new Date(toEpochDay(date) * MS_PER_DAY).getUTCDay();
}
