import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Command } from 'commander';
import {
  describeRule,
  isRebalanceDay,
  nextRebalanceAfter,
  nextRebalanceDates,
  rebalanceDates,
  scheduleJson,
  scheduleRuleSchema,
  type ScheduleRule,
  type ScheduleRuleInput,
} from '../src/calendar/schedule.js';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { registerCalendarCommands } from '../src/cli/commands/calendar.js';
import { addDays, fromEpochDay, toEpochDay, weekday, type IsoDate } from '../src/core/dates.js';
import { UsageError } from '../src/core/errors.js';

const calendar = new XnysCalendar();
const rule = (input: ScheduleRuleInput): ScheduleRule => scheduleRuleSchema.parse(input);

const seedRule = rule({ type: 'every_n_sessions' });

describe('scheduleRuleSchema', () => {
  it('fills the seed defaults: every 5 sessions from 2015-01-02', () => {
    expect(seedRule).toEqual({ type: 'every_n_sessions', anchor: '2015-01-02', every: 5 });
    expect(rule({ type: 'biweekly', weekday: 'friday' })).toEqual({ type: 'biweekly', weekday: 'friday', anchor: '2015-01-02' });
    expect(rule({ type: 'every_n_days', every: 10 })).toEqual({ type: 'every_n_days', every: 10, anchor: '2015-01-02' });
  });

  it.each([
    [{ type: 'every_n_sessions', every: 5, anchr: '2015-01-02' }, 'unknown key'],
    [{ type: 'daily', weekday: 'monday' }, 'key of another rule type'],
    [{ type: 'weekly', weekday: 'saturday' }, 'not a trading weekday'],
    [{ type: 'weekly' }, 'missing weekday'],
    [{ type: 'every_n_sessions', every: 0 }, 'zero interval'],
    [{ type: 'every_n_sessions', every: 2.5 }, 'fractional interval'],
    [{ type: 'every_n_days' }, 'missing interval'],
    [{ type: 'biweekly', weekday: 'monday', anchor: '2015-02-30' }, 'impossible anchor date'],
    [{ type: 'monthly', which: 'middle' }, 'unknown monthly position'],
    [{ type: 'hourly' }, 'unknown rule type'],
  ] as [unknown, string][])('rejects %j (%s)', (input) => {
    expect(scheduleRuleSchema.safeParse(input).success).toBe(false);
  });
});

describe('every_n_sessions', () => {
  it('rebalances every fifth session from 2015-01-02, not counting MLK Day 2015-01-19', () => {
    // Sessions from the anchor: Jan 2 (0), 5–9 (1–5), 12–16 (6–10), 20–23 (11–14), 26 (15).
    expect(nextRebalanceDates(seedRule, calendar, '2015-01-02', 5)).toEqual(['2015-01-02', '2015-01-09', '2015-01-16', '2015-01-26', '2015-02-02']);
  });

  it('extends the grid before the anchor (non-negative modulo)', () => {
    // Back from the anchor: Dec 31 (-1), 30, 29, 26 (-4), 24 (-5; Christmas closed), 23, 22, 19, 18, 17 (-10).
    expect(rebalanceDates(seedRule, calendar, '2014-12-15', '2015-01-09')).toEqual(['2014-12-17', '2014-12-24', '2015-01-02', '2015-01-09']);
    expect(isRebalanceDay(seedRule, calendar, '2014-12-24')).toBe(true);
    expect(isRebalanceDay(seedRule, calendar, '2014-12-26')).toBe(false);
  });

  it('counts from the first session on or after an anchor that is not a session', () => {
    const newYearsDay = rule({ type: 'every_n_sessions', anchor: '2015-01-01' });
    expect(rebalanceDates(newYearsDay, calendar, '2014-12-01', '2015-03-31')).toEqual(rebalanceDates(seedRule, calendar, '2014-12-01', '2015-03-31'));
    const saturday = rule({ type: 'every_n_sessions', anchor: '2015-01-03', every: 5 });
    expect(nextRebalanceDates(saturday, calendar, '2015-01-01', 2)).toEqual(['2015-01-05', '2015-01-12']);
  });

  it('with every 1 is every session', () => {
    const everySession = rule({ type: 'every_n_sessions', every: 1 });
    expect(rebalanceDates(everySession, calendar, '2024-01-01', '2024-12-31')).toEqual(calendar.sessions('2024-01-01', '2024-12-31'));
  });

  it("agrees with the seed's algorithm (count sessions since the anchor, mod 5) on the XNYS calendar", () => {
    const date = fc.integer({ min: toEpochDay('2015-01-02'), max: toEpochDay('2030-12-31') }).map(fromEpochDay);
    fc.assert(
      fc.property(date, (d) => {
        const seedSays = calendar.isSession(d) && (calendar.sessions('2015-01-02', d).length - 1) % 5 === 0;
        expect(isRebalanceDay(seedRule, calendar, d)).toBe(seedSays);
      }),
      { numRuns: 400 },
    );
  });

  it('puts 2025-12-31, not the seed example 2025-12-30, on the grid', () => {
    // Sessions 2015..2025: 252+252+251+251+252+253+252+251+250+252+250 = 2,766, so 2025-12-31 is
    // 2,765 = 553 × 5 sessions after 2015-01-02. The seed's 2025-12-30 and its §5.4 list came from
    // the federal calendar and are illustrative only (SPEC).
    expect(calendar.sessionDistance('2015-01-02', '2025-12-31')).toBe(2765);
    expect(isRebalanceDay(seedRule, calendar, '2025-12-30')).toBe(false);
    // New Year's Day and MLK Day 2026 are skipped in the count.
    expect(nextRebalanceDates(seedRule, calendar, '2025-12-30', 4)).toEqual(['2025-12-31', '2026-01-08', '2026-01-15', '2026-01-23']);
  });
});

describe('calendar-day rules roll a closed target day forward to the next session', () => {
  it("weekly Monday: Presidents' Day 2024-02-19 rebalances on Tuesday 2024-02-20", () => {
    const mondays = rule({ type: 'weekly', weekday: 'monday' });
    expect(rebalanceDates(mondays, calendar, '2024-02-12', '2024-02-27')).toEqual(['2024-02-12', '2024-02-20', '2024-02-26']);
    expect(isRebalanceDay(mondays, calendar, '2024-02-19')).toBe(false);
    expect(isRebalanceDay(mondays, calendar, '2024-02-20')).toBe(true);
    expect(rebalanceDates(mondays, calendar, '2024-02-20', '2024-02-20')).toEqual(['2024-02-20']);
  });

  it('weekly Friday: Good Friday 2024-03-29 rebalances on Monday 2024-04-01', () => {
    const fridays = rule({ type: 'weekly', weekday: 'friday' });
    expect(rebalanceDates(fridays, calendar, '2024-03-25', '2024-04-12')).toEqual(['2024-04-01', '2024-04-05', '2024-04-12']);
  });

  it('weekly Tuesday across the September 11 closure rolls into the next week, next to its own Tuesday', () => {
    const tuesdays = rule({ type: 'weekly', weekday: 'tuesday' });
    expect(rebalanceDates(tuesdays, calendar, '2001-09-01', '2001-09-30')).toEqual(['2001-09-04', '2001-09-17', '2001-09-18', '2001-09-25']);
  });

  it('biweekly Friday keeps the parity of the anchor week, before and after it', () => {
    const fridays = rule({ type: 'biweekly', weekday: 'friday' });
    expect(rebalanceDates(fridays, calendar, '2014-12-15', '2015-02-01')).toEqual(['2014-12-19', '2015-01-02', '2015-01-16', '2015-01-30']);
  });

  it('biweekly Monday counts weeks Monday–Sunday and rolls MLK and Presidents Day forward', () => {
    const mondays = rule({ type: 'biweekly', weekday: 'monday', anchor: '2015-01-23' });
    expect(rebalanceDates(mondays, calendar, '2015-01-01', '2015-02-28')).toEqual(['2015-01-05', '2015-01-20', '2015-02-02', '2015-02-17']);
  });

  it('monthly first is the first session of each month', () => {
    const first = rule({ type: 'monthly', which: 'first' });
    expect(rebalanceDates(first, calendar, '2024-01-01', '2024-09-30')).toEqual([
      '2024-01-02',
      '2024-02-01',
      '2024-03-01',
      '2024-04-01',
      '2024-05-01',
      '2024-06-03',
      '2024-07-01',
      '2024-08-01',
      '2024-09-03',
    ]);
  });

  it('monthly last is the last session of each month', () => {
    const last = rule({ type: 'monthly', which: 'last' });
    expect(rebalanceDates(last, calendar, '2024-01-15', '2024-12-31')).toEqual([
      '2024-01-31',
      '2024-02-29',
      '2024-03-28',
      '2024-04-30',
      '2024-05-31',
      '2024-06-28',
      '2024-07-31',
      '2024-08-30',
      '2024-09-30',
      '2024-10-31',
      '2024-11-29',
      '2024-12-31',
    ]);
    expect(rebalanceDates(last, calendar, '2024-03-29', '2024-04-29')).toEqual([]);
  });

  it('every_n_days: weekend and holiday targets move to the next session, the grid extends before the anchor', () => {
    const everyTenDays = rule({ type: 'every_n_days', every: 10, anchor: '2024-01-11' });
    // Targets: Jan 1 (holiday), 11, 21 (Sunday), 31, Feb 10 (Saturday), 20.
    expect(rebalanceDates(everyTenDays, calendar, '2024-01-01', '2024-02-20')).toEqual([
      '2024-01-02',
      '2024-01-11',
      '2024-01-22',
      '2024-01-31',
      '2024-02-12',
      '2024-02-20',
    ]);
  });

  it('every_n_days: two targets landing on one session rebalance once', () => {
    const everyDay = rule({ type: 'every_n_days', every: 1 });
    expect(rebalanceDates(everyDay, calendar, '2024-01-01', '2024-03-31')).toEqual(calendar.sessions('2024-01-01', '2024-03-31'));
    // Every other day from Saturday 2024-01-06: Sat 6 and Mon 8 both rebalance on Monday 8.
    const everyOtherDay = rule({ type: 'every_n_days', every: 2, anchor: '2024-01-06' });
    expect(rebalanceDates(everyOtherDay, calendar, '2024-01-06', '2024-01-12')).toEqual(['2024-01-08', '2024-01-10', '2024-01-12']);
  });

  it('daily is every session', () => {
    expect(rebalanceDates(rule({ type: 'daily' }), calendar, '2001-09-07', '2001-09-18')).toEqual(['2001-09-07', '2001-09-10', '2001-09-17', '2001-09-18']);
  });
});

const ruleArbitrary = fc.oneof(
  fc.record({ type: fc.constant('every_n_sessions' as const), every: fc.integer({ min: 1, max: 30 }), anchor: fc.constantFrom('2015-01-02', '2015-01-01', '2020-06-13', '1990-01-01') }),
  fc.record({ type: fc.constant('daily' as const) }),
  fc.record({ type: fc.constant('weekly' as const), weekday: fc.constantFrom('monday', 'tuesday', 'wednesday', 'thursday', 'friday' as const) }),
  fc.record({
    type: fc.constant('biweekly' as const),
    weekday: fc.constantFrom('monday', 'tuesday', 'wednesday', 'thursday', 'friday' as const),
    anchor: fc.constantFrom('2015-01-02', '2001-09-11', '2024-02-19'),
  }),
  fc.record({ type: fc.constant('monthly' as const), which: fc.constantFrom('first', 'last' as const) }),
  fc.record({ type: fc.constant('every_n_days' as const), every: fc.integer({ min: 1, max: 45 }), anchor: fc.constantFrom('2015-01-02', '2012-10-29', '2024-02-10') }),
);
const dayArbitrary = fc.integer({ min: toEpochDay('1990-01-01'), max: toEpochDay('2030-10-31') });
/** Leaves room before 2030-12-31 for 12 dates of the sparsest rule (every 30 sessions ≈ 17 months) or a 400-day range. */
const earlyDayArbitrary = fc.integer({ min: toEpochDay('1990-01-01'), max: toEpochDay('2028-06-30') });

describe('one source of truth (properties)', () => {
  it('rebalanceDates = the days isRebalanceDay accepts; all are sessions, ascending', () => {
    fc.assert(
      fc.property(ruleArbitrary, dayArbitrary, fc.integer({ min: 0, max: 60 }), (input, start, length) => {
        const scheduleRule = rule(input);
        const from = fromEpochDay(start);
        const to = fromEpochDay(start + length);
        const dates = rebalanceDates(scheduleRule, calendar, from, to);
        const accepted: IsoDate[] = [];
        for (let d = from; d <= to; d = addDays(d, 1)) if (isRebalanceDay(scheduleRule, calendar, d)) accepted.push(d);
        expect(dates).toEqual(accepted);
        for (const date of dates) expect(calendar.isSession(date)).toBe(true);
        expect(new Set(dates).size).toBe(dates.length);
      }),
      { numRuns: 300 },
    );
  });

  it('splitting a range anywhere changes nothing', () => {
    fc.assert(
      fc.property(ruleArbitrary, earlyDayArbitrary, fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 400 }), (input, start, split, length) => {
        const scheduleRule = rule(input);
        const from = fromEpochDay(start);
        const to = fromEpochDay(start + Math.max(split, length));
        const middle = fromEpochDay(start + Math.min(split, length));
        const whole = rebalanceDates(scheduleRule, calendar, from, to);
        const parts = [...rebalanceDates(scheduleRule, calendar, from, middle), ...rebalanceDates(scheduleRule, calendar, addDays(middle, 1), to)];
        expect(parts).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('nextRebalanceDates and nextRebalanceAfter read off rebalanceDates', () => {
    fc.assert(
      fc.property(ruleArbitrary, earlyDayArbitrary, fc.integer({ min: 1, max: 12 }), (input, start, count) => {
        const scheduleRule = rule(input);
        const from = fromEpochDay(start);
        const next = nextRebalanceDates(scheduleRule, calendar, from, count);
        expect(next).toEqual(rebalanceDates(scheduleRule, calendar, from, calendar.lastDate).slice(0, count));
        const after = nextRebalanceAfter(scheduleRule, calendar, from);
        expect(after > from).toBe(true);
        expect(after).toBe(rebalanceDates(scheduleRule, calendar, addDays(from, 1), calendar.lastDate)[0]);
      }),
      { numRuns: 200 },
    );
  });

  it('weekly and every_n_days rebalance within days of their target', () => {
    fc.assert(
      fc.property(dayArbitrary, (start) => {
        const from = fromEpochDay(start);
        for (const date of rebalanceDates(rule({ type: 'weekly', weekday: 'wednesday' }), calendar, from, addDays(from, 60))) {
          const daysLate = (weekday(date) - 3 + 7) % 7;
          // Never more than the September 11 closure (Tue–Fri plus a weekend) late.
          expect(daysLate).toBeLessThanOrEqual(5);
          expect(calendar.sessions(addDays(date, -daysLate), date)).toEqual([date]);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('limits', () => {
  it('throws RangeError when the calendar ends before enough dates', () => {
    expect(() => nextRebalanceDates(seedRule, calendar, '2030-12-20', 10)).toThrow(/only 2 of 10 rebalance dates from 2030-12-20 .* ends 2030-12-31/);
    expect(() => nextRebalanceAfter(seedRule, calendar, '2030-12-31')).toThrow(RangeError);
    expect(nextRebalanceDates(seedRule, calendar, '2030-12-20', 0)).toEqual([]);
  });

  it('throws RangeError for dates outside the calendar', () => {
    expect(() => rebalanceDates(seedRule, calendar, '1989-12-01', '1990-01-31')).toThrow(/outside the XNYS calendar/);
    expect(() => isRebalanceDay(rule({ type: 'daily' }), calendar, '2031-01-02')).toThrow(RangeError);
    expect(() => nextRebalanceDates(seedRule, calendar, '1989-12-29', 1)).toThrow(RangeError);
  });

  it('returns nothing for an empty range', () => {
    expect(rebalanceDates(rule({ type: 'daily' }), calendar, '2024-05-10', '2024-05-01')).toEqual([]);
  });

  it('answers day by day over 2,500 sessions × 6 rules', () => {
    const sessions = calendar.sessions('2015-01-02', '2024-12-31');
    const rules = [
      seedRule,
      rule({ type: 'daily' }),
      rule({ type: 'weekly', weekday: 'monday' }),
      rule({ type: 'biweekly', weekday: 'friday' }),
      rule({ type: 'monthly', which: 'last' }),
      rule({ type: 'every_n_days', every: 14 }),
    ];
    let due = 0;
    for (const scheduleRule of rules) for (const session of sessions) if (isRebalanceDay(scheduleRule, calendar, session)) due++;
    expect(due).toBeGreaterThan(sessions.length);
  });
});

describe('describeRule', () => {
  it.each([
    [{ type: 'every_n_sessions' }, 'every 5 sessions, counted from the first session on or after 2015-01-02'],
    [{ type: 'daily' }, 'every session'],
    [{ type: 'weekly', weekday: 'monday' }, 'weekly on Monday (next session if that day is closed)'],
    [{ type: 'biweekly', weekday: 'friday' }, 'every other Friday, on alternate weeks counted from the week of 2015-01-02 (next session if that day is closed)'],
    [{ type: 'monthly', which: 'first' }, 'first session of each month'],
    [{ type: 'monthly', which: 'last' }, 'last session of each month'],
    [{ type: 'every_n_days', every: 10, anchor: '2024-01-11' }, 'every 10 calendar days from 2024-01-11 (next session if that day is closed)'],
  ] as [ScheduleRuleInput, string][])('%j → %s', (input, text) => {
    expect(describeRule(rule(input))).toBe(text);
  });
});

describe('scheduleJson', () => {
  it('has exactly the seed §5.4 keys for every_n_sessions', () => {
    const json = scheduleJson(seedRule, calendar, '2015-01-02', 4, '2015-01-02T08:00:00');
    expect(json).toEqual({
      generated_at: '2015-01-02T08:00:00',
      anchor_date: '2015-01-02',
      frequency_days: 5,
      next_4_rebalances: ['2015-01-02', '2015-01-09', '2015-01-16', '2015-01-26'],
    });
    expect(Object.keys(json)).toEqual(['generated_at', 'anchor_date', 'frequency_days', 'next_4_rebalances']);
  });

  it('nulls the anchor and frequency and adds the rule for other types', () => {
    const json = scheduleJson(rule({ type: 'weekly', weekday: 'monday' }), calendar, '2024-02-13', 2, '2024-02-13T08:00:00');
    expect(json).toEqual({
      generated_at: '2024-02-13T08:00:00',
      anchor_date: null,
      frequency_days: null,
      next_2_rebalances: ['2024-02-20', '2024-02-26'],
      rule: 'weekly on Monday (next session if that day is closed)',
    });
  });
});

describe('kairos schedule (CLI)', () => {
  let stdout: string[];
  let outputDir: string;

  beforeEach(async () => {
    stdout = [];
    outputDir = await mkdtemp(join(tmpdir(), 'kairos-schedule-'));
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(outputDir, { recursive: true, force: true });
  });

  async function kairos(...args: string[]): Promise<string> {
    const program = new Command('kairos').exitOverride();
    registerCalendarCommands(program);
    await program.parseAsync(['node', 'kairos', ...args]);
    return stdout.join('');
  }

  it('prints the next K dates, one per line, with the seed defaults', async () => {
    expect(await kairos('schedule', '--from', '2015-01-02', '--next', '4')).toBe('2015-01-02\n2015-01-09\n2015-01-16\n2015-01-26\n');
  });

  it('takes --anchor and --every', async () => {
    // Sessions from 2015-01-05: 5, 6, 7 | 8, 9, 12 | 13 …
    expect(await kairos('schedule', '--from', '2015-01-05', '--next', '3', '--anchor', '2015-01-05', '--every', '3')).toBe('2015-01-05\n2015-01-08\n2015-01-13\n');
  });

  it('lists 10 dates by default', async () => {
    expect((await kairos('schedule', '--from', '2024-01-02')).trimEnd().split('\n')).toHaveLength(10);
  });

  it('writes schedule.json (2-space JSON, trailing newline) with --output-dir', async () => {
    const printed = await kairos('schedule', '--from', '2015-01-02', '--next', '3', '--output-dir', outputDir);
    const text = await readFile(join(outputDir, 'schedule.json'), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "anchor_date": "2015-01-02",\n');
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['generated_at', 'anchor_date', 'frequency_days', 'next_3_rebalances']);
    expect(json.generated_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(json.frequency_days).toBe(5);
    expect(json.next_3_rebalances).toEqual(['2015-01-02', '2015-01-09', '2015-01-16']);
    expect(printed).toBe('2015-01-02\n2015-01-09\n2015-01-16\n');
  });

  it('rejects bad input with UsageError', async () => {
    await expect(kairos('schedule', '--from', '2030-12-20', '--next', '10')).rejects.toThrow(/only 2 rebalance dates from 2030-12-20/);
    await expect(kairos('schedule', '--from', '1989-12-29')).rejects.toThrow(/--from 1989-12-29 is outside the XNYS calendar/);
    await expect(kairos('schedule', '--from', '2024-01-02', '--anchor', '1985-01-02')).rejects.toThrow(UsageError);
    await expect(kairos('schedule', '--from', '2024-01-02', '--every', '0')).rejects.toThrow(UsageError);
    await expect(kairos('schedule', '--from', '2024-13-01')).rejects.toThrow(UsageError);
  });
});
