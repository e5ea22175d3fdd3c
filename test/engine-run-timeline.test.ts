import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ScheduleRule } from '../src/calendar/schedule.js';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { kairosConfigSchema } from '../src/config/schema.js';
import type { IsoDate } from '../src/core/dates.js';
import type { JsonValue } from '../src/core/json.js';
import { silentLogger } from '../src/core/log.js';
import { buildPanel } from '../src/data/panel-builder.js';
import { pointInTime } from '../src/data/point-in-time.js';
import { runSession, type SessionResult } from '../src/engine/session.js';
import { defineStrategy, type SleeveTarget } from '../src/engine/strategy.js';
import type { LoadedStrategy } from '../src/engine/strategy-loader.js';
import type { Holdings, RunSnapshot } from '../src/state/store.js';

/**
 * Mixed schedules over January 2024, the month of the mixed-rebalance seed's timeline
 * ("Implementation Option 2": 2024-01-01 Monday — all; 01-08 Monday — daily + weekly; 01-15
 * Monday — all). On XNYS 2024-01-01 (New Year) and 2024-01-15 (Martin Luther King Jr. Day) are
 * holidays, so their Monday targets roll to the Tuesday after. Every session is run through
 * runSession, each day's snapshot being the next day's prior, as `kairos run` does day after day.
 */

const calendar = new XnysCalendar();
const FIRST: IsoDate = '2024-01-02';
const LAST: IsoDate = '2024-01-31';

// Hand-checked against the NYSE calendar: no session on Jan 1 (Mon) or Jan 15 (Mon, MLK day).
const JANUARY: readonly IsoDate[] = [
  '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05',
  '2024-01-08', '2024-01-09', '2024-01-10', '2024-01-11', '2024-01-12',
  '2024-01-16', '2024-01-17', '2024-01-18', '2024-01-19',
  '2024-01-22', '2024-01-23', '2024-01-24', '2024-01-25', '2024-01-26',
  '2024-01-29', '2024-01-30', '2024-01-31',
];

/** Weekly on Monday: Jan 1 → Tue Jan 2, Jan 8, Jan 15 → Tue Jan 16, Jan 22, Jan 29; then Feb 5. */
const WEEKLY_DATES: readonly IsoDate[] = ['2024-01-02', '2024-01-08', '2024-01-16', '2024-01-22', '2024-01-29'];
/**
 * Biweekly on Monday anchored on the seed's Day 1, 2024-01-01: the weeks of Jan 1, 15, 29
 * (→ Jan 2, Jan 16, Jan 29); then Feb 12.
 */
const BIWEEKLY_SEED_DATES: readonly IsoDate[] = ['2024-01-02', '2024-01-16', '2024-01-29'];
/**
 * Biweekly on Monday anchored as config/multi.yaml's kurtosis (2015-01-05): 2015-01-05 → 2024-01-01
 * is 469 weeks (odd), so the other parity: Jan 8, Jan 22 (Dec 25 and Feb 5 around them). On Jan 2
 * it still rebalances, as a first run with no signal to hold.
 */
const BIWEEKLY_MULTI_DATES: readonly IsoDate[] = ['2024-01-08', '2024-01-22'];

const TICKERS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH', 'III', 'JJJ', 'KKK', 'LLL'] as const;

/** Twelve names with a deterministic, bumpy price path from November 2023 to the end of January. */
const panel = (() => {
  const dates = calendar.sessions('2023-11-01', LAST);
  let seed = 12_345;
  const noise = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648 - 0.5;
  };
  const closes: number[][] = [];
  let row = TICKERS.map((_, i) => 20 + 7 * i);
  for (let t = 0; t < dates.length; t++) {
    if (t > 0) row = row.map((c) => Math.round(c * (1 + 0.04 * noise()) * 100) / 100);
    closes.push(row);
  }
  const constant = (value: number) => dates.map(() => TICKERS.map(() => value));
  return buildPanel({
    tickers: TICKERS,
    sectors: TICKERS.map((_, i) => ['Tech', 'Energy', 'Health Care'][i % 3]!),
    dates,
    fields: { close: closes, open: closes, adv20: constant(1e9), volBlend: constant(0.2), alpha: dates.map(() => TICKERS.map((_, i) => i / 10)) },
  });
})();

/** Book limits loose enough that the risk stage passes the net book through unchanged. */
const config = kairosConfigSchema.parse({
  risk: { max_position: 1, max_sector_mult: 100, vol_window: 5, target_vol: 100, max_turnover: 1, lambda_tc: 0 },
});

type Pick = (date: IsoDate) => SleeveTarget[];

/** Day-of-month as a number: what the scripted sleeves rotate on, so each rebalance looks different. */
const dom = (date: IsoDate): number => Number(date.slice(8, 10));
const name = (k: number): string => TICKERS[k % TICKERS.length]!;

/** Long/short sleeves with gross ≤ 1 that overlap each other on some days (so netting shows). */
const PICKS: Record<string, Pick> = {
  daily: (d) => [
    { ticker: name(dom(d)), weight: 0.5 },
    { ticker: name(dom(d) + 5), weight: -0.3 },
  ],
  weekly: (d) => [
    { ticker: name(dom(d) + 1), weight: 0.6 },
    { ticker: name(dom(d) + 5), weight: 0.4 },
  ],
  biweekly: (d) => [
    { ticker: name(dom(d)), weight: -0.2 },
    { ticker: name(dom(d) + 2), weight: 0.7 },
  ],
};

interface Call {
  readonly date: IsoDate;
  readonly state: JsonValue | null;
  readonly priorSleeve: Record<string, number>;
}

/** A plugin defined inline, as a newcomer would: its sleeve depends on the date only; it counts its rebalances in its state. */
function scripted(id: string, schedule: ScheduleRule, allocation: number, calls: Call[]): LoadedStrategy {
  const pick = PICKS[id]!;
  const definition = defineStrategy({
    name: id,
    description: `${id} test sleeve`,
    paramsSchema: z.strictObject({}),
    warmupSessions: () => 1,
    rebalance: (context) => {
      calls.push({ date: context.date, state: context.state, priorSleeve: Object.fromEntries(context.priorSleeve) });
      const previous = (context.state as { rebalances?: number } | null)?.rebalances ?? 0;
      return { targets: pick(context.date), state: { rebalances: previous + 1, last: context.date } };
    },
  });
  return { id, module: id, source: id, definition: definition as LoadedStrategy['definition'], params: {}, schedule, allocation, onError: 'critical' };
}

function signalOf(targets: readonly SleeveTarget[]): Record<string, number> {
  return Object.fromEntries(targets.map((t) => [t.ticker, t.weight]));
}

function valueOf(holdings: Holdings, close: Float64Array, tickers: readonly string[]): number {
  return holdings.positions.reduce((value, p) => value + p.shares * close[tickers.indexOf(p.ticker)]!, holdings.cash);
}

interface Day {
  readonly date: IsoDate;
  readonly prior: RunSnapshot | null;
  readonly result: SessionResult;
}

/** Every session FIRST..LAST, the way the daily job chains them: holdings and state from the day before. */
async function walk(strategies: readonly LoadedStrategy[]): Promise<Day[]> {
  const days: Day[] = [];
  let prior: RunSnapshot | null = null;
  for (const date of calendar.sessions(FIRST, LAST)) {
    const market = pointInTime(panel, date);
    const holdings = prior?.holdings ?? { asOf: date, cash: 1_000_000, positions: [] };
    const result = await runSession({
      date,
      runId: `run-${date}`,
      market,
      calendar,
      strategies,
      prior,
      holdings,
      portfolioValue: valueOf(holdings, market.field('close'), market.tickers),
      forced: new Set(),
      config,
      log: silentLogger(),
    });
    days.push({ date, prior, result });
    prior = result.snapshot;
  }
  return days;
}

/** The last rebalance on or before `date` among `dates` (what a held sleeve must still carry). */
function lastOnOrBefore(dates: readonly IsoDate[], date: IsoDate): IsoDate {
  const found = dates.filter((d) => d <= date).at(-1);
  if (found === undefined) throw new Error(`no rebalance on or before ${date}`);
  return found;
}

function rebalancedOn(days: readonly Day[], id: string): IsoDate[] {
  return days.filter((d) => d.result.sleeves.find((s) => s.strategyId === id)!.status === 'rebalanced').map((d) => d.date);
}

function sleeveSignal(result: SessionResult, id: string): Record<string, number> {
  const sleeve = result.sleeves.find((s) => s.strategyId === id)!;
  const signal: Record<string, number> = {};
  sleeve.weights.forEach((w, i) => {
    if (w !== 0) signal[result.tickers[i]!] = w;
  });
  return signal;
}

it('walks the sessions of January 2024 the test expects (no Jan 1, no MLK day)', () => {
  expect(calendar.sessions(FIRST, LAST)).toEqual(JANUARY);
});

describe.each([
  { label: 'biweekly anchored on the seed’s Day 1 (2024-01-01)', anchor: '2024-01-01', biweekly: BIWEEKLY_SEED_DATES, biweeklyNextAfterMonth: '2024-02-12' },
  { label: 'biweekly anchored as config/multi.yaml (2015-01-05)', anchor: '2015-01-05', biweekly: BIWEEKLY_MULTI_DATES, biweeklyNextAfterMonth: '2024-02-05' },
])('daily / weekly Monday / $label, 30% / 35% / 35%', ({ anchor, biweekly, biweeklyNextAfterMonth }) => {
  const ALLOCATION = { daily: 0.3, weekly: 0.35, biweekly: 0.35 } as const;
  const calls: Record<string, Call[]> = { daily: [], weekly: [], biweekly: [] };
  const strategies = [
    scripted('daily', { type: 'daily' }, ALLOCATION.daily, calls.daily!),
    scripted('weekly', { type: 'weekly', weekday: 'monday' }, ALLOCATION.weekly, calls.weekly!),
    scripted('biweekly', { type: 'biweekly', weekday: 'monday', anchor }, ALLOCATION.biweekly, calls.biweekly!),
  ];
  /** What each schedule says, hand-computed above. */
  const scheduled: Record<string, readonly IsoDate[]> = { daily: JANUARY, weekly: WEEKLY_DATES, biweekly };
  /** When each strategy actually rebalances: on schedule, and on the first session (nothing to hold yet). */
  const rebalanceDates: Record<string, readonly IsoDate[]> = Object.fromEntries(
    Object.entries(scheduled).map(([id, dates]) => [id, dates[0] === FIRST ? dates : [FIRST, ...dates]]),
  );
  const nextAfterMonth: Record<string, IsoDate> = { daily: '2024-02-01', weekly: '2024-02-05', biweekly: biweeklyNextAfterMonth };
  let days: Day[];
  beforeAll(async () => {
    days = await walk(strategies);
  });

  it('rebalances each strategy exactly on its schedule’s sessions, holding in between', () => {
    expect(days.map((d) => d.date)).toEqual(JANUARY);
    for (const id of ['daily', 'weekly', 'biweekly']) {
      expect(rebalancedOn(days, id), id).toEqual(rebalanceDates[id]);
      // The plugin is not even called on a held day.
      expect(calls[id]!.map((c) => c.date), id).toEqual(rebalanceDates[id]);
    }
    // The seed's three Mondays, each moved to the next session where it is a holiday.
    const due = (date: IsoDate) => days.find((d) => d.date === date)!.result.sleeves.filter((s) => s.status === 'rebalanced').map((s) => s.strategyId);
    expect(due('2024-01-02')).toEqual(['daily', 'weekly', 'biweekly']);
    expect(due('2024-01-03')).toEqual(['daily']);
    expect(due('2024-01-08')).toEqual(anchor === '2024-01-01' ? ['daily', 'weekly'] : ['daily', 'weekly', 'biweekly']);
    expect(due('2024-01-16')).toEqual(anchor === '2024-01-01' ? ['daily', 'weekly', 'biweekly'] : ['daily', 'weekly']);
    expect(due('2024-01-17')).toEqual(['daily']);
  });

  it('reports why each sleeve rebalanced or held, its last and its next rebalance', () => {
    for (const { date, result } of days) {
      for (const sleeve of result.sleeves) {
        const dates = rebalanceDates[sleeve.strategyId]!;
        const onSchedule = scheduled[sleeve.strategyId]!;
        const reason = onSchedule.includes(date) ? 'scheduled' : dates.includes(date) ? 'first_run' : 'not_due';
        const next = onSchedule.find((d) => d > date) ?? nextAfterMonth[sleeve.strategyId]!;
        expect({ id: sleeve.strategyId, date, reason: sleeve.reason, lastRebalance: sleeve.lastRebalance, nextRebalance: sleeve.nextRebalance }).toEqual({
          id: sleeve.strategyId,
          date,
          reason,
          lastRebalance: lastOnOrBefore(dates, date),
          nextRebalance: next,
        });
      }
    }
  });

  it('carries a held strategy’s previous signal and state unchanged, and hands both back at its next rebalance', () => {
    for (const { date, prior, result } of days) {
      for (const id of ['daily', 'weekly', 'biweekly']) {
        const last = lastOnOrBefore(rebalanceDates[id]!, date);
        expect(sleeveSignal(result, id), `${id} on ${date}`).toEqual(signalOf(PICKS[id]!(last)));
        const stored = result.snapshot.strategies[id]!;
        expect(stored.lastRebalance).toBe(last);
        expect(stored.custom).toEqual({ rebalances: rebalanceDates[id]!.indexOf(last) + 1, last });
        if (last !== date) {
          // Held: exactly what the day before stored.
          expect(stored.signal).toStrictEqual(prior!.strategies[id]!.signal);
          expect(stored.custom).toStrictEqual(prior!.strategies[id]!.custom);
        }
      }
    }
    for (const id of ['daily', 'weekly', 'biweekly']) {
      calls[id]!.forEach((call, n) => {
        const previous = rebalanceDates[id]![n - 1];
        expect(call.state).toEqual(previous === undefined ? null : { rebalances: n, last: previous });
        expect(call.priorSleeve).toEqual(previous === undefined ? {} : signalOf(PICKS[id]!(previous)));
      });
    }
  });

  it('nets Σ allocation × sleeve weight per name every day, fresh and held sleeves alike', () => {
    let overlaps = 0;
    for (const { date, result } of days) {
      const expected = new Map<string, number>();
      for (const id of ['daily', 'weekly', 'biweekly'] as const) {
        for (const t of PICKS[id]!(lastOnOrBefore(rebalanceDates[id]!, date))) expected.set(t.ticker, (expected.get(t.ticker) ?? 0) + ALLOCATION[id] * t.weight);
      }
      if (expected.size < 6) overlaps++;
      expect(result.sleeves.map((s) => [s.strategyId, s.allocation])).toEqual([
        ['daily', 0.3],
        ['weekly', 0.35],
        ['biweekly', 0.35],
      ]);
      result.tickers.forEach((ticker, i) => {
        expect(result.net[i], `${ticker} on ${date}`).toBeCloseTo(expected.get(ticker) ?? 0, 12);
        // Loose limits: the final book is the net book.
        expect(result.risk.weights[i], `${ticker} on ${date}`).toBeCloseTo(expected.get(ticker) ?? 0, 9);
      });
    }
    // The sleeves do share names on some days, so the sums above are real netting.
    expect(overlaps).toBeGreaterThan(0);
  });

  it('trades every day (the daily sleeve rebalances every day)', () => {
    for (const { date, result } of days) expect(result.trades.length, date).toBeGreaterThan(0);
  });
});

describe('weekly Monday + biweekly Monday only (no daily sleeve)', () => {
  const calls: Call[] = [];
  const strategies = [
    scripted('weekly', { type: 'weekly', weekday: 'monday' }, 0.5, calls),
    scripted('biweekly', { type: 'biweekly', weekday: 'monday', anchor: '2024-01-01' }, 0.5, calls),
  ];

  it('trades only on sessions where some strategy rebalanced; the book holds its shares in between', async () => {
    const days = await walk(strategies);
    const rebalanceDays = days.filter((d) => d.result.sleeves.some((s) => s.status === 'rebalanced')).map((d) => d.date);
    expect(rebalanceDays).toEqual(WEEKLY_DATES);
    for (const { date, prior, result } of days) {
      if (WEEKLY_DATES.includes(date)) {
        expect(result.trades.length, date).toBeGreaterThan(0);
        continue;
      }
      expect(result.trades, date).toEqual([]);
      expect(result.sleeves.map((s) => s.status)).toEqual(['held', 'held']);
      // Same shares and cash as the day before: price drift is not re-traded.
      expect(result.snapshot.holdings.positions).toStrictEqual(prior!.holdings.positions);
      expect(result.snapshot.holdings.cash).toBeCloseTo(prior!.holdings.cash, 2);
      expect(result.snapshot.holdings.asOf).toBe(date);
    }
  });
});
