import { describe, expect, it } from 'vitest';
import { XnysCalendar } from '../../src/calendar/xnys.js';
import { silentLogger } from '../../src/core/log.js';
import { buildPanel } from '../../src/data/panel-builder.js';
import { pointInTime } from '../../src/data/point-in-time.js';
import momentum, { momentumParamsSchema, trailingReturns } from './index.js';

const DATES = ['2025-03-03', '2025-03-04', '2025-03-05', '2025-03-06', '2025-03-07'];
const D = '2025-03-06';
const LIQUID = 10_000_000;

/**
 * Closes over D−3..D: AAA and CCC +30% (a tie), BBB +20%, DDD −10%; EEE doubles but is thin, FFF
 * has no close at D−3 and GGG has no adv_20. The session after D sends DDD up tenfold, which a
 * rebalance at D must not see.
 */
const panel = buildPanel({
  tickers: ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG'],
  dates: DATES,
  fields: {
    close: [
      [100, 50, 20, 100, 10, null, 10],
      [110, 52, 22, 95, 12, 40, 11],
      [120, 55, 24, 92, 15, 41, 13],
      [130, 60, 26, 90, 20, 42, 15],
      [131, 61, 27, 900, 21, 43, 16],
    ],
    adv20: DATES.map(() => [LIQUID, LIQUID, LIQUID, LIQUID, 100_000, LIQUID, null]),
  },
});

async function rebalanceAt(date: string, params: Record<string, unknown>) {
  return momentum.rebalance({
    strategyId: 'momentum',
    date,
    params: momentumParamsSchema.parse(params),
    market: pointInTime(panel, date),
    state: null,
    priorSleeve: new Map(),
    calendar: new XnysCalendar(),
    log: silentLogger(),
  });
}

const weights = (targets: readonly { ticker: string; weight: number }[]): Record<string, number> =>
  Object.fromEntries(targets.map(({ ticker, weight }) => [ticker, weight]));

describe('example-momentum params', () => {
  it('defaults to the top 20 by 60-session return over $2M ADV, needs 61 sessions, and rejects unknown keys', () => {
    expect(momentumParamsSchema.parse({})).toEqual({ top_n: 20, window: 60, min_adv: 2_000_000 });
    expect(momentum.name).toBe('example-momentum');
    expect(momentum.warmupSessions(momentumParamsSchema.parse({}))).toBe(61);
    expect(momentumParamsSchema.safeParse({ topn: 5 }).success).toBe(false);
    expect(momentumParamsSchema.safeParse({ window: 0 }).success).toBe(false);
  });
});

describe('example-momentum rebalance', () => {
  it('measures close_D / close_{D−window} − 1, NaN where a close is missing', () => {
    const returns = trailingReturns(pointInTime(panel, D), 3);
    expect(returns[0]).toBeCloseTo(0.3, 12);
    expect(returns[1]).toBeCloseTo(0.2, 12);
    expect(returns[3]).toBeCloseTo(-0.1, 12);
    expect(returns[5]).toBeNaN();
  });

  it('holds the top_n liquid names by trailing return at equal weight, ties by ticker', async () => {
    const output = await rebalanceAt(D, { window: 3, top_n: 3, min_adv: 2_000_000 });
    expect(output.targets.map((t) => t.ticker)).toEqual(['AAA', 'CCC', 'BBB']);
    expect(weights(output.targets)).toEqual({ AAA: 1 / 3, CCC: 1 / 3, BBB: 1 / 3 });
    expect(output.targets.map((t) => t.meta?.rank)).toEqual([1, 2, 3]);
    expect(output.targets[2]!.score).toBeCloseTo(0.2, 12);
    expect(output.notes).toEqual([]);
  });

  it('holds every eligible name when there are fewer than top_n, and says so', async () => {
    const output = await rebalanceAt(D, { window: 3, top_n: 10 });
    expect(weights(output.targets)).toEqual({ AAA: 0.25, CCC: 0.25, BBB: 0.25, DDD: 0.25 });
    expect(output.notes).toEqual(['only 4 names have both closes and adv_20 ≥ 2000000: holding 4 instead of 10']);
  });

  it('sees only data up to its session: the jump after D counts from the next session on', async () => {
    expect((await rebalanceAt(D, { window: 3, top_n: 1 })).targets.map((t) => t.ticker)).toEqual(['AAA']);
    expect((await rebalanceAt('2025-03-07', { window: 3, top_n: 1 })).targets.map((t) => t.ticker)).toEqual(['DDD']);
  });

  it('fails loudly when the panel holds less history than the window needs', async () => {
    await expect(rebalanceAt(D, { window: 4 })).rejects.toThrow(/close window of 5 at 2025-03-06 needs 5 sessions of history; 4 loaded/);
  });
});
