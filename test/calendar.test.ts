import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Command } from 'commander';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { addDays, fromEpochDay, toEpochDay, weekday, type IsoDate } from '../src/core/dates.js';
import { UsageError } from '../src/core/errors.js';
import { registerCalendarCommands } from '../src/cli/commands/calendar.js';

const calendar = new XnysCalendar();

/**
 * An oracle written from the NYSE's published rules with plain date arithmetic (no date-holidays),
 * so the calendar's use of the library is checked, not restated.
 */
function isoDate(year: number, month: number, day: number): IsoDate {
  return fromEpochDay(Date.UTC(year, month - 1, day) / 86_400_000);
}

function nthWeekdayOfMonth(year: number, month: number, dayOfWeek: number, n: number): IsoDate {
  const first = isoDate(year, month, 1);
  return addDays(first, ((dayOfWeek - weekday(first) + 7) % 7) + 7 * (n - 1));
}

function lastMondayOfMay(year: number): IsoDate {
  const may31 = isoDate(year, 5, 31);
  return addDays(may31, -((weekday(may31) + 6) % 7));
}

/** Anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
function easterSunday(year: number): IsoDate {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return isoDate(year, month, day);
}

/** Saturday → Friday before, Sunday → Monday after. */
function observed(date: IsoDate): IsoDate {
  if (weekday(date) === 6) return addDays(date, -1);
  if (weekday(date) === 0) return addDays(date, 1);
  return date;
}

const EXPECTED_SPECIAL_CLOSURES = [
  '1994-04-27',
  '2001-09-11',
  '2001-09-12',
  '2001-09-13',
  '2001-09-14',
  '2004-06-11',
  '2007-01-02',
  '2012-10-29',
  '2012-10-30',
  '2018-12-05',
  '2025-01-09',
];

function expectedClosures(year: number): IsoDate[] {
  const newYear = isoDate(year, 1, 1);
  return [
    ...(weekday(newYear) === 6 ? [] : [observed(newYear)]),
    ...(year >= 1998 ? [nthWeekdayOfMonth(year, 1, 1, 3)] : []),
    nthWeekdayOfMonth(year, 2, 1, 3),
    addDays(easterSunday(year), -2),
    lastMondayOfMay(year),
    ...(year >= 2022 ? [observed(isoDate(year, 6, 19))] : []),
    observed(isoDate(year, 7, 4)),
    nthWeekdayOfMonth(year, 9, 1, 1),
    nthWeekdayOfMonth(year, 11, 4, 4),
    observed(isoDate(year, 12, 25)),
    ...EXPECTED_SPECIAL_CLOSURES.filter((date) => date.startsWith(`${year}-`)),
  ];
}

describe('XnysCalendar — sessions', () => {
  it('agrees with the rule oracle on every day from 1990 to 2030', () => {
    const closed = new Set<IsoDate>();
    for (let year = 1990; year <= 2030; year++) for (const date of expectedClosures(year)) closed.add(date);
    const mismatches: string[] = [];
    for (let day = toEpochDay('1990-01-01'); day <= toEpochDay('2030-12-31'); day++) {
      const date = fromEpochDay(day);
      const expected = weekday(date) !== 0 && weekday(date) !== 6 && !closed.has(date);
      if (calendar.isSession(date) !== expected) mismatches.push(`${date}: expected ${expected ? 'open' : 'closed'}`);
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    ['2024-01-01', "New Year's Day"],
    ['2023-01-02', "New Year's Day on a Sunday, observed Monday"],
    ['2017-01-02', "New Year's Day on a Sunday, observed Monday"],
    ['1998-01-19', 'MLK Day, first year the NYSE closed'],
    ['2024-01-15', 'MLK Day'],
    ['1990-02-19', "Washington's Birthday"],
    ['2024-02-19', "Washington's Birthday"],
    ['1990-04-13', 'Good Friday'],
    ['2023-04-07', 'Good Friday'],
    ['2024-03-29', 'Good Friday'],
    ['2030-04-19', 'Good Friday'],
    ['1999-05-31', 'Memorial Day'],
    ['2024-05-27', 'Memorial Day'],
    ['2022-06-20', 'Juneteenth on a Sunday, observed Monday'],
    ['2023-06-19', 'Juneteenth'],
    ['2027-06-18', 'Juneteenth on a Saturday, observed Friday'],
    ['2015-07-03', 'Independence Day on a Saturday, observed Friday'],
    ['2020-07-03', 'Independence Day on a Saturday, observed Friday'],
    ['2021-07-05', 'Independence Day on a Sunday, observed Monday'],
    ['2024-07-04', 'Independence Day'],
    ['2024-09-02', 'Labor Day'],
    ['2024-11-28', 'Thanksgiving'],
    ['1999-12-24', 'Christmas on a Saturday, observed Friday'],
    ['2021-12-24', 'Christmas on a Saturday, observed Friday'],
    ['2022-12-26', 'Christmas on a Sunday, observed Monday'],
    ['2024-12-25', 'Christmas'],
  ])('%s is closed (%s)', (date) => {
    expect(calendar.isSession(date)).toBe(false);
  });

  it.each([
    ['2021-12-31', 'Jan 1 2022 is a Saturday: NYSE stays open on the year-end Friday'],
    ['2010-12-31', 'Jan 1 2011 is a Saturday'],
    ['2004-12-31', 'Jan 1 2005 is a Saturday'],
    ['2022-01-03', 'no Monday substitute for a Saturday New Year either'],
    ['1997-01-20', 'MLK Day before the NYSE observed it'],
    ['2021-06-18', 'Juneteenth observed federally in 2021 but not by the NYSE until 2022'],
    ['2024-10-14', 'Columbus Day'],
    ['2024-11-11', 'Veterans Day'],
    ['2023-11-10', "federal Veterans Day substitute (Saturday's Friday)"],
    ['2024-11-29', 'day after Thanksgiving (short session)'],
    ['2024-12-24', 'Christmas Eve (short session)'],
    ['2020-07-02', 'Thursday before an observed Friday Independence Day'],
    ['2001-09-10', 'day before the September 11 closure'],
    ['2001-09-17', 'reopening after September 11'],
    ['2012-10-31', 'reopening after Hurricane Sandy'],
  ])('%s is a session (%s)', (date) => {
    expect(calendar.isSession(date)).toBe(true);
  });

  it.each(EXPECTED_SPECIAL_CLOSURES)('special closure %s is not a session', (date) => {
    expect(calendar.isSession(date)).toBe(false);
  });

  it('is open on Columbus Day and Veterans Day (when a weekday) in every year', () => {
    for (let year = 1990; year <= 2030; year++) {
      expect(calendar.isSession(nthWeekdayOfMonth(year, 10, 1, 2)), `Columbus Day ${year}`).toBe(true);
      const veteransDay = isoDate(year, 11, 11);
      if (weekday(veteransDay) !== 0 && weekday(veteransDay) !== 6) expect(calendar.isSession(veteransDay), `Veterans Day ${year}`).toBe(true);
    }
  });

  // Hand counts: weekdays in the year minus weekday closures. 2001 lost four days to September 11,
  // 2012 two to Sandy; 2025 lost one to the Carter day of mourning.
  it.each([
    [1996, 254],
    [2001, 248],
    [2008, 253],
    [2012, 250],
    [2019, 252],
    [2020, 253],
    [2021, 252],
    [2022, 251],
    [2023, 250],
    [2024, 252],
    [2025, 250],
  ])('%i has %i sessions', (year, count) => {
    expect(calendar.sessions(`${year}-01-01`, `${year}-12-31`)).toHaveLength(count);
  });

  it('has the 1,259 sessions of the real S&P 500 price set (2013-02-08..2018-02-07)', () => {
    // The union of dates in shared/data/sp500_prices.csv.gz, checked date by date when this was written.
    const sessions = calendar.sessions('2013-02-08', '2018-02-07');
    expect(sessions).toHaveLength(1259);
    expect(sessions[0]).toBe('2013-02-08');
    expect(sessions.at(-1)).toBe('2018-02-07');
  });
});

describe('XnysCalendar — navigation', () => {
  it('steps over holidays and closures with nextSession / previousSession', () => {
    expect(calendar.nextSession('2001-09-11')).toBe('2001-09-17');
    expect(calendar.previousSession('2001-09-16')).toBe('2001-09-10');
    expect(calendar.nextSession('2024-07-03')).toBe('2024-07-03');
    expect(calendar.nextSession('2024-07-03', true)).toBe('2024-07-05');
    expect(calendar.previousSession('2024-07-05')).toBe('2024-07-05');
    expect(calendar.previousSession('2024-07-05', true)).toBe('2024-07-03');
    expect(calendar.nextSession('2024-12-28')).toBe('2024-12-30');
    expect(calendar.previousSession('2025-01-01')).toBe('2024-12-31');
  });

  it('counts sessionDistance in sessions, signed', () => {
    expect(calendar.sessionDistance('2001-09-10', '2001-09-17')).toBe(1);
    expect(calendar.sessionDistance('2001-09-17', '2001-09-10')).toBe(-1);
    expect(calendar.sessionDistance('2024-01-02', '2024-12-31')).toBe(251);
    expect(calendar.sessionDistance('2024-05-01', '2024-05-01')).toBe(0);
    expect(() => calendar.sessionDistance('2024-01-01', '2024-01-02')).toThrow(RangeError);
  });

  it('returns sessions with both ends inclusive, and none for an empty range', () => {
    expect(calendar.sessions('2024-12-20', '2025-01-03')).toEqual([
      '2024-12-20',
      '2024-12-23',
      '2024-12-24',
      '2024-12-26',
      '2024-12-27',
      '2024-12-30',
      '2024-12-31',
      '2025-01-02',
      '2025-01-03',
    ]);
    expect(calendar.sessions('2024-12-28', '2024-12-29')).toEqual([]);
    expect(calendar.sessions('2024-12-31', '2024-12-30')).toEqual([]);
    expect(calendar.sessions('1990-01-01', '1990-01-03')).toEqual(['1990-01-02', '1990-01-03']);
  });

  it('throws RangeError outside 1990-01-01..2030-12-31 and for malformed dates', () => {
    expect(calendar.isSession('1990-01-02')).toBe(true);
    expect(calendar.isSession('2030-12-31')).toBe(true);
    expect(() => calendar.isSession('1989-12-29')).toThrow(RangeError);
    expect(() => calendar.isSession('2031-01-02')).toThrow(/outside the XNYS calendar/);
    expect(() => calendar.sessions('1989-12-01', '1990-01-31')).toThrow(RangeError);
    expect(() => calendar.isSession('2024-02-30')).toThrow(RangeError);
    expect(() => calendar.earlyClose('2031-07-03')).toThrow(RangeError);
    expect(() => calendar.previousSession('1990-01-01')).toThrow(RangeError);
    expect(() => calendar.nextSession('2030-12-31', true)).toThrow(RangeError);
  });

  it('answers like a brute-force scan of the session list (property)', () => {
    const all = calendar.sessions('1990-01-01', '2030-12-31');
    const position = new Map(all.map((date, i) => [date, i]));
    // Inside the first and last session, so every neighbour asked for exists.
    const day = fc.integer({ min: toEpochDay('1990-01-03'), max: toEpochDay('2030-12-30') }).map(fromEpochDay);
    fc.assert(
      fc.property(day, day, (a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        expect(calendar.sessions(from, to)).toEqual(all.filter((date) => date >= from && date <= to));
        expect(calendar.isSession(a)).toBe(position.has(a));
        expect(calendar.nextSession(a)).toBe(all.find((date) => date >= a));
        expect(calendar.previousSession(a, true)).toBe(all.findLast((date) => date < a));
        const next = calendar.nextSession(a);
        const previous = calendar.previousSession(b);
        expect(calendar.sessionDistance(next, previous)).toBe((position.get(previous) ?? NaN) - (position.get(next) ?? NaN));
      }),
      { numRuns: 300 },
    );
  });

});

describe('XnysCalendar — early closes', () => {
  it.each([
    ['2024-07-03', '13:00', 'day before Independence Day'],
    ['2024-11-29', '13:00', 'day after Thanksgiving'],
    ['2024-12-24', '13:00', 'Christmas Eve'],
    ['2019-07-03', '13:00', 'Wednesday before a Thursday July 4 (since 2013)'],
    ['2013-07-03', '13:00', 'first year of the Wednesday rule'],
    ['2002-07-05', '13:00', 'Friday after a Thursday July 4 (until 2012)'],
    ['2023-07-03', '13:00', 'Monday before a Tuesday July 4'],
    ['1995-07-03', '13:00', 'first year of the July 3 rule'],
    ['2025-12-24', '13:00', 'Christmas Eve'],
    ['1993-11-26', '13:00', 'first year of 13:00 short sessions'],
    ['1992-11-27', '14:00', 'day after Thanksgiving before 1993 closed at 14:00'],
    ['1990-12-24', '14:00', 'Christmas Eve before 1993 closed at 14:00'],
    ['1997-12-26', '13:00', 'Friday after Christmas, announced'],
    ['2003-12-26', '13:00', 'Friday after Christmas, announced'],
    ['1999-12-31', '13:00', 'Y2K eve'],
    ['1996-01-08', '14:00', 'blizzard'],
    ['1997-10-27', '15:30', 'circuit-breaker halt'],
  ])('%s closes at %s (%s)', (date, close) => {
    expect(calendar.earlyClose(date)).toBe(close);
  });

  it.each([
    ['2002-07-03', 'Wednesday before a Thursday July 4, before 2013'],
    ['2024-07-05', 'Friday after a Thursday July 4, since 2013'],
    ['2020-07-02', 'Thursday before an observed Friday holiday'],
    ['1994-07-01', 'before the July 3 rule'],
    ['1991-11-29', 'day after Thanksgiving before 1992'],
    ['2008-12-26', 'Friday after Christmas was a full day'],
    ['2014-12-26', 'Friday after Christmas was a full day'],
    ['2025-12-26', 'Friday after Christmas'],
    ['2024-12-31', "New Year's Eve"],
    ['2024-12-25', 'a holiday is not a short session'],
  ])('%s has no early close (%s)', (date) => {
    expect(calendar.earlyClose(date)).toBeNull();
  });

  it('lists a year of early closes in date order', () => {
    expect(calendar.earlyCloses('2024-01-01', '2024-12-31')).toEqual([
      { date: '2024-07-03', close: '13:00' },
      { date: '2024-11-29', close: '13:00' },
      { date: '2024-12-24', close: '13:00' },
    ]);
    expect(calendar.earlyCloses('2021-01-01', '2021-12-31')).toEqual([{ date: '2021-11-26', close: '13:00' }]);
  });

  it('puts every early close on a session, and agrees with earlyClose(date)', () => {
    const all = calendar.earlyCloses('1990-01-01', '2030-12-31');
    expect(all.length).toBeGreaterThan(90);
    for (const { date, close } of all) {
      expect(calendar.isSession(date), date).toBe(true);
      expect(calendar.earlyClose(date)).toBe(close);
    }
    expect([...all].sort((a, b) => a.date.localeCompare(b.date))).toEqual(all);
  });
});

/** The program as main.ts builds it (exitOverride: errors reach the caller), with only these commands. */
function calendarProgram(): Command {
  const program = new Command('kairos').exitOverride();
  registerCalendarCommands(program);
  return program;
}

describe('kairos calendar (CLI)', () => {
  let stdout: string[];

  beforeEach(() => {
    stdout = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function kairos(...args: string[]): Promise<string> {
    await calendarProgram().parseAsync(['node', 'kairos', ...args]);
    return stdout.join('');
  }

  it('prints sessions one per line', async () => {
    expect(await kairos('calendar', 'sessions', '--from', '2024-12-23', '--to', '2024-12-27')).toBe('2024-12-23\n2024-12-24\n2024-12-26\n2024-12-27\n');
  });

  it('prints early closes as date,HH:MM', async () => {
    expect(await kairos('calendar', 'early-closes', '--from', '2024-01-01', '--to', '2024-12-31')).toBe(
      '2024-07-03,13:00\n2024-11-29,13:00\n2024-12-24,13:00\n',
    );
  });

  it('prints nothing for a range without sessions', async () => {
    expect(await kairos('calendar', 'sessions', '--from', '2024-12-28', '--to', '2024-12-29')).toBe('');
  });

  it('rejects --from after --to', async () => {
    await expect(kairos('calendar', 'sessions', '--from', '2024-12-31', '--to', '2024-12-01')).rejects.toThrow(UsageError);
  });

  it('rejects dates outside the calendar with a clear message', async () => {
    await expect(kairos('calendar', 'early-closes', '--from', '1989-01-01', '--to', '1990-12-31')).rejects.toThrow(
      /--from 1989-01-01 is outside the XNYS calendar, which covers 1990-01-01..2030-12-31/,
    );
    await expect(kairos('calendar', 'sessions', '--from', '2030-01-01', '--to', '2031-01-01')).rejects.toThrow(UsageError);
  });

  it('rejects malformed dates', async () => {
    await expect(kairos('calendar', 'sessions', '--from', '2024-02-30', '--to', '2024-03-01')).rejects.toThrow(UsageError);
  });

  it('describes every command and option for --help', () => {
    const program = calendarProgram();
    const commands: Command[] = [];
    const collect = (command: Command): void => {
      for (const sub of command.commands) {
        commands.push(sub);
        collect(sub);
      }
    };
    collect(program);
    expect(commands.map((command) => command.name()).sort()).toEqual(['calendar', 'early-closes', 'schedule', 'sessions']);
    for (const command of commands) {
      expect(command.description(), command.name()).not.toBe('');
      for (const option of command.options) expect(option.description, `${command.name()} ${option.flags}`).not.toBe('');
    }
  });
});
