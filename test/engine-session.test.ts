import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { kairosConfigSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/core/log.js';
import { fixedAllocations, sharpeAllocations } from '../src/engine/aggregator.js';
import { EventBus, type SignalEvent } from '../src/engine/bus.js';
import { runSession, type SessionInputs } from '../src/engine/session.js';
import { defineStrategy, type SleeveTarget } from '../src/engine/strategy.js';
import type { LoadedStrategy } from '../src/engine/strategy-loader.js';
import type { RunSnapshot } from '../src/state/store.js';
import { fakeMarket } from './helpers/fake-market.js';

const calendar = new XnysCalendar();
const DATE = '2025-12-30';

/** A strategy that always wants the same sleeve, or throws when told to. */
function fixedStrategy(id: string, targets: readonly SleeveTarget[] | Error, allocation?: number, onError: 'critical' | 'warning' = 'critical'): LoadedStrategy {
  return {
    id,
    module: id,
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

const flatReturns = (n: number, r: number) => Array.from({ length: n }, (_, t) => (t % 2 === 0 ? r : -r));
const market = fakeMarket({
  date: DATE,
  names: [
    { ticker: 'BTC', sector: 'Tech', close: 100, adv20: 1e9, volBlend: 0.2, alpha: 1, returns: flatReturns(10, 0.01) },
    { ticker: 'ETH', sector: 'Tech', close: 50, adv20: 1e9, volBlend: 0.2, alpha: 0, returns: flatReturns(10, 0.02) },
    { ticker: 'SOL', sector: 'Energy', close: 20, adv20: 1e9, volBlend: 0.2, alpha: -1, returns: flatReturns(10, 0.015) },
  ],
});

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
    expect(result.snapshot.strategies.weekly).toEqual({ lastRebalance: '2025-12-29', signal: { SOL: 0.4 }, custom: { calls: 1 } });
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
