import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { kairosConfigSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/core/log.js';
import { fixedAllocations, sharpeAllocations } from '../src/engine/aggregator.js';
import { EventBus, type SignalEvent } from '../src/engine/bus.js';
import { runSession, type SessionInputs } from '../src/engine/session.js';
import { SharedStrategyOutputs } from '../src/engine/shared-outputs.js';
import { defineStrategy, type SleeveTarget } from '../src/engine/strategy.js';
import type { LoadedStrategy } from '../src/engine/strategy-loader.js';
import type { RunSnapshot } from '../src/state/store.js';
import { buildPanel } from '../src/data/panel-builder.js';
import { pointInTime } from '../src/data/point-in-time.js';

const calendar = new XnysCalendar();
const DATE = '2025-12-30';

/** A strategy that always wants the same sleeve, or throws when told to. */
function fixedStrategy(id: string, targets: readonly SleeveTarget[] | Error, allocation?: number, onError: 'critical' | 'warning' = 'critical'): LoadedStrategy {
  return {
    id,
    module: id,
    source: id,
    definition: defineStrategy({
      name: id,
      description: 'fixed test sleeve',
      paramsSchema: z.strictObject({}),
      warmupSessions: () => 1,
      rebalance: () => {
        if (targets instanceof Error) throw targets;
        return { targets, state: { calls: 1 } };
      },
    }) as LoadedStrategy['definition'],
    params: {},
    schedule: { type: 'daily' },
    allocation,
    onError,
  };
}

const SESSIONS = calendar.sessions('2025-12-01', DATE);
/** Three names with steady, alternating daily moves; BTC closes at 100 on DATE. */
function panelUpTo(lastDate: string) {
  const dates = SESSIONS.filter((d) => d <= lastDate);
  const path = (last: number, step: number) => dates.map((_, t) => (t === dates.length - 1 ? last : last * (1 + step * ((t % 3) - 1))));
  const columns = [path(100, 0.01), path(50, 0.02), path(20, 0.015)];
  const rows = (value: (c: number) => number) => dates.map(() => [0, 1, 2].map(value));
  return buildPanel({
    tickers: ['BTC', 'ETH', 'SOL'],
    sectors: ['Tech', 'Tech', 'Energy'],
    dates,
    fields: {
      close: dates.map((_, t) => columns.map((c) => c[t]!)),
      adv20: rows(() => 1e9),
      volBlend: rows(() => 0.2),
      alpha: rows((c) => 1 - c),
    },
  });
}
const market = pointInTime(panelUpTo(DATE), DATE);

/** Loose book limits so the netting arithmetic is visible in the final book too. */
const config = kairosConfigSchema.parse({
  risk: { max_position: 1, max_sector_mult: 100, vol_window: 5, target_vol: 100, max_turnover: 1, lambda_tc: 0 },
});

function inputs(strategies: readonly LoadedStrategy[], prior: RunSnapshot | null = null, date = DATE): SessionInputs {
  return {
    date,
    runId: 'test-run',
    market,
    calendar,
    strategies,
    prior,
    holdings: prior?.holdings ?? { asOf: date, cash: 100_000, positions: [] },
    portfolioValue: 100_000,
    forced: new Set(),
    config,
    log: silentLogger(),
  };
}

describe('netting (mixed-rebalance seed, "Weighted Average")', () => {
  const strategies = [
    fixedStrategy('volatility', [{ ticker: 'BTC', weight: 0.3 }], 0.3),
    fixedStrategy('dw', [{ ticker: 'BTC', weight: 0.2 }], 0.35),
    fixedStrategy('kurtosis', [{ ticker: 'BTC', weight: -0.1 }], 0.35),
  ];

  it('nets +30% / +20% / −10% at 30/35/35 into +12.5%', async () => {
    const result = await runSession(inputs(strategies));
    const btc = result.tickers.indexOf('BTC');
    expect(result.net[btc]).toBeCloseTo(0.125, 12);
    expect(result.risk.weights[btc]).toBeCloseTo(0.125, 12);
    expect(result.sleeves.map((s) => [s.strategyId, s.status, s.allocation])).toEqual([
      ['volatility', 'rebalanced', 0.3],
      ['dw', 'rebalanced', 0.35],
      ['kurtosis', 'rebalanced', 0.35],
    ]);
  });

  it('produces one order for the net difference, not one per strategy', async () => {
    const result = await runSession(inputs(strategies));
    expect(result.trades).toHaveLength(1);
    expect(result.trades[0]).toMatchObject({ ticker: 'BTC', action: 'BUY', shares: 125, reason: 'new_position' });
  });

  it('publishes each sleeve on the bus under signals.<id>', async () => {
    const bus = new EventBus();
    const seen: SignalEvent[] = [];
    bus.topic('signals.dw').subscribe((e) => seen.push(e));
    await runSession(inputs(strategies), undefined, bus);
    expect(seen.map((e) => e.strategyId)).toEqual(['dw']);
  });
});

describe('holding between rebalances', () => {
  it('holds a strategy’s last signal from the prior snapshot when it is not due', async () => {
    const weekly: LoadedStrategy = { ...fixedStrategy('weekly', [{ ticker: 'ETH', weight: 1 }], 1), schedule: { type: 'weekly', weekday: 'monday' } };
    const prior: RunSnapshot = {
      runId: 'earlier',
      date: '2025-12-29',
      strategies: { weekly: { lastRebalance: '2025-12-29', signal: { SOL: 0.4 }, custom: { calls: 1 } } },
      holdings: { asOf: '2025-12-29', cash: 100_000, positions: [] },
    };
    const result = await runSession(inputs([weekly], prior));
    const sleeve = result.sleeves[0]!;
    expect(sleeve.status).toBe('held');
    expect(sleeve.lastRebalance).toBe('2025-12-29');
    expect(sleeve.nextRebalance).toBe('2026-01-05');
    expect(result.net[result.tickers.indexOf('SOL')]).toBeCloseTo(0.4, 12);
    expect(result.net[result.tickers.indexOf('ETH')]).toBe(0);
    const sol = result.tickers.indexOf('SOL');
    const solMove = market.field('close')[sol]! / market.field('close', 1)[sol]! - 1;
    expect(result.snapshot.strategies.weekly).toEqual({ lastRebalance: '2025-12-29', signal: { SOL: 0.4 }, custom: { calls: 1 }, sleeveReturns: [0.4 * solMove] });
  });

  it('rebalances on a first run even when the schedule says no', async () => {
    const weekly: LoadedStrategy = { ...fixedStrategy('weekly', [{ ticker: 'ETH', weight: 1 }], 1), schedule: { type: 'weekly', weekday: 'monday' } };
    const result = await runSession(inputs([weekly]));
    expect(result.sleeves[0]).toMatchObject({ status: 'rebalanced', reason: 'first_run', lastRebalance: DATE });
    expect(result.snapshot.strategies.weekly!.custom).toEqual({ calls: 1 });
  });
});

describe('a strategy that fails', () => {
  const prior: RunSnapshot = {
    runId: 'earlier',
    date: '2025-12-29',
    strategies: { flaky: { lastRebalance: '2025-12-29', signal: { BTC: 0.5 }, custom: null } },
    holdings: { asOf: '2025-12-29', cash: 100_000, positions: [] },
  };

  it.each([
    ['throws', new Error('boom')],
    ['returns NaN', [{ ticker: 'BTC', weight: Number.NaN }]],
    ['returns an unknown ticker', [{ ticker: 'DOGE', weight: 0.1 }]],
  ] as const)('holds its previous signal and raises an alert when it %s', async (_label, output) => {
    const result = await runSession(inputs([fixedStrategy('flaky', output as SleeveTarget[] | Error, 1, 'warning')], prior));
    expect(result.sleeves[0]!.status).toBe('failed');
    expect(result.net[result.tickers.indexOf('BTC')]).toBeCloseTo(0.5, 12);
    expect(result.alerts).toEqual([expect.objectContaining({ severity: 'WARNING', check: 'strategy.flaky' })]);
    expect(result.snapshot.strategies.flaky!.lastRebalance).toBe('2025-12-29');
  });

  it('raises a CRITICAL alert when configured so', async () => {
    const result = await runSession(inputs([fixedStrategy('flaky', new Error('boom'), 1, 'critical')], prior));
    expect(result.alerts[0]).toMatchObject({ severity: 'CRITICAL', message: expect.stringContaining('boom') });
  });
});

describe('allocation schemes', () => {
  it('allocates by trailing sleeve Sharpe once every sleeve has 20 returns, equally before', async () => {
    const history = (mu: number, sigma: number, n: number) => Array.from({ length: n }, (_, t) => mu + (t % 2 === 0 ? sigma : -sigma));
    const sharpeConfig = kairosConfigSchema.parse({ ...config, allocation: { scheme: 'sharpe' } });
    const strategiesFor = ['a', 'b'].map((id) => ({ ...fixedStrategy(id, [{ ticker: 'BTC', weight: 0 }]), schedule: { type: 'weekly' as const, weekday: 'monday' as const } }));
    const priorWith = (n: number): RunSnapshot => ({
      runId: 'earlier',
      date: '2025-12-29',
      strategies: {
        a: { lastRebalance: '2025-12-29', signal: {}, custom: null, sleeveReturns: history(0.002, 0.01, n) },
        b: { lastRebalance: '2025-12-29', signal: {}, custom: null, sleeveReturns: history(0.001, 0.01, n) },
      },
      holdings: { asOf: '2025-12-29', cash: 100_000, positions: [] },
    });
    const early = await runSession({ ...inputs(strategiesFor, priorWith(10)), config: sharpeConfig });
    expect(early.sleeves.map((s) => s.allocation)).toEqual([0.5, 0.5]);
    const later = await runSession({ ...inputs(strategiesFor, priorWith(40)), config: sharpeConfig });
    // Both sleeves were empty today (return 0 appended): Sharpe ∝ mean / std of the 41 returns.
    const sharpe = (mu: number) => {
      const r = [...history(mu, 0.01, 40), 0].slice(-252);
      const m = r.reduce((x, y) => x + y, 0) / r.length;
      const sd = Math.sqrt(r.reduce((x, y) => x + (y - m) ** 2, 0) / (r.length - 1));
      return m / sd;
    };
    const expectedA = sharpe(0.002) / (sharpe(0.002) + sharpe(0.001));
    expect(later.sleeves[0]!.allocation).toBeCloseTo(expectedA, 12);
    expect(later.sleeves[1]!.allocation).toBeCloseTo(1 - expectedA, 12);
  });

  it('keeps the last sharpe_window sleeve returns: at the limit the oldest is dropped as today\'s is appended', async () => {
    const windowConfig = kairosConfigSchema.parse({ ...config, allocation: { ...config.allocation, sharpe_window: 20 } });
    const held = [{ ...fixedStrategy('a', [{ ticker: 'BTC', weight: 0 }], 1), schedule: { type: 'weekly' as const, weekday: 'monday' as const } }];
    const priorWith = (returns: number[]): RunSnapshot => ({
      runId: 'earlier',
      date: '2025-12-29',
      strategies: { a: { lastRebalance: '2025-12-29', signal: {}, custom: null, sleeveReturns: returns } },
      holdings: { asOf: '2025-12-29', cash: 100_000, positions: [] },
    });
    const full = Array.from({ length: 20 }, (_, t) => (t + 1) / 1000);
    const atLimit = await runSession({ ...inputs(held, priorWith(full)), config: windowConfig });
    expect(atLimit.snapshot.strategies.a!.sleeveReturns).toStrictEqual([...full.slice(1), 0]); // an empty sleeve returns 0
    const below = await runSession({ ...inputs(held, priorWith(full.slice(0, 5))), config: windowConfig });
    expect(below.snapshot.strategies.a!.sleeveReturns).toStrictEqual([...full.slice(0, 5), 0]);
  });

  it('Sharpe-weights as the seed does: 1.20 / 0.67 / 0.71 → 46.5% / 26.0% / 27.5%', () => {
    const allocations = sharpeAllocations([
      { id: 'volatility', sharpe: 1.2 },
      { id: 'dw', sharpe: 0.67 },
      { id: 'kurtosis', sharpe: 0.71 },
    ]);
    expect(allocations.map((a) => Math.round(a.allocation * 1000) / 10)).toEqual([46.5, 26, 27.5]);
  });

  it('refuses fixed allocations that do not add up to 1 unless told to normalise', () => {
    const entries = [
      { id: 'a', allocation: 0.5 },
      { id: 'b', allocation: 0.6 },
    ];
    expect(() => fixedAllocations(entries, false)).toThrow(/add up to 1\.1, not 1.*normalize: true/);
    expect(fixedAllocations(entries, true).map((a) => a.allocation)).toEqual([0.5 / 1.1, 0.6 / 1.1]);
    expect(() => fixedAllocations([{ id: 'a', allocation: undefined }], false)).toThrow(/missing for: a/);
  });
});

describe('outputs shared between books (replay)', () => {
  function countingStrategy(): { strategy: LoadedStrategy; calls: () => number } {
    let calls = 0;
    const base = fixedStrategy('counted', [{ ticker: 'BTC', weight: 1 }], 1);
    const rebalance: LoadedStrategy['definition']['rebalance'] = (context) => {
      calls++;
      return base.definition.rebalance(context);
    };
    return { strategy: { ...base, definition: { ...base.definition, rebalance } }, calls: () => calls };
  }

  it('computes a strategy once for books that hand it the same state, and again for a book whose state differs', async () => {
    const { strategy, calls } = countingStrategy();
    const sharedOutputs = new SharedStrategyOutputs();
    const first = await runSession({ ...inputs([strategy]), sharedOutputs });
    const second = await runSession({ ...inputs([strategy]), sharedOutputs });
    expect(calls()).toBe(1);
    expect(second.sleeves[0]!.weights).toBe(first.sleeves[0]!.weights);

    // Equal state in other objects (e.g. a book restored from a checkpoint) is the same input.
    const restored = structuredClone(first.snapshot);
    await runSession({ ...inputs([strategy], first.snapshot), sharedOutputs });
    await runSession({ ...inputs([strategy], restored), sharedOutputs });
    expect(calls()).toBe(2);

    // A book that kept older state (e.g. it was blocked the day before) must not get the others' answer.
    const diverged: RunSnapshot = { ...first.snapshot, date: '2025-12-29', strategies: { counted: { ...first.snapshot.strategies.counted!, custom: { calls: 0 }, lastRebalance: '2025-12-29' } } };
    await runSession({ ...inputs([strategy], diverged), sharedOutputs });
    expect(calls()).toBe(3);
  });

  it('computes again on the next session', async () => {
    const { strategy, calls } = countingStrategy();
    const sharedOutputs = new SharedStrategyOutputs();
    await runSession({ ...inputs([strategy]), sharedOutputs });
    const nextMarket = pointInTime(panelUpTo(DATE), DATE);
    await runSession({ ...inputs([strategy]), market: nextMarket, sharedOutputs });
    expect(calls()).toBe(2);
  });
});
