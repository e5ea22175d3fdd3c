import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TradingCalendar } from '../../src/calendar/calendar.js';
import { DataError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import type { SleeveTarget } from '../../src/engine/strategy.js';
import { riskConfigSchema } from '../../src/risk/config.js';
import { applyRiskStage } from '../../src/risk/risk-stage.js';
import { fakeMarket, type FakeName } from '../../test/helpers/fake-market.js';
import risk4, { risk4ParamsSchema, risk4Rebalance, Z_CLIP, type Risk4Params } from './index.js';

const params = (overrides: Partial<Risk4Params> = {}): Risk4Params => risk4ParamsSchema.parse(overrides);
const liquid = (ticker: string, alpha: number, sector = 'Tech', volBlend = 0.2): FakeName => ({ ticker, alpha, sector, volBlend, adv20: 5e6 });
const weightsOf = (targets: readonly SleeveTarget[]): Record<string, number> => Object.fromEntries(targets.map((t) => [t.ticker, t.weight]));

describe('risk4 params', () => {
  it('defaults to the seed and rejects unknown keys', () => {
    expect(params()).toEqual({ top_n: 75, min_adv: 2_000_000, max_position: 0.03, max_sector_mult: 2.0 });
    expect(risk4ParamsSchema.safeParse({ top_n: 50, max_turnover: 0.3 }).success).toBe(false);
    expect(risk4ParamsSchema.safeParse({ top_n: 0 }).success).toBe(false);
    expect(risk4.name).toBe('risk4');
    expect(risk4.warmupSessions(params())).toBe(1);
  });
});

describe('risk4 rebalance', () => {
  // Universe {A..E} with alpha 1..5: mean 3, sample std √2.5. The excluded names carry extreme
  // alphas, so including any of them would move every z-score.
  const universe: FakeName[] = [
    liquid('A', 1, 'Energy'),
    liquid('B', 2, 'Energy'),
    liquid('C', 3, 'Utilities'),
    liquid('D', 4, 'Energy', 0.4),
    liquid('E', 5, 'Tech', 0.2),
    { ticker: 'X1', alpha: Number.NaN, sector: 'Tech', volBlend: 0.2, adv20: 5e6 },
    { ticker: 'X2', alpha: 100, sector: 'Tech', volBlend: 0, adv20: 5e6 },
    { ticker: 'X3', alpha: 100, sector: 'Tech', volBlend: 0.2, adv20: 1.9e6 },
    { ticker: 'X4', alpha: 100, sector: null, volBlend: 0.2, adv20: 5e6 },
    { ticker: 'X5', alpha: 100, sector: 'Tech', volBlend: Number.NaN, adv20: 5e6 },
    { ticker: 'X6', alpha: 100, sector: 'Tech', volBlend: 0.2 },
  ];

  it('filters the universe, z-scores with the sample std and weights by z / vol', () => {
    const output = risk4Rebalance(fakeMarket({ names: universe }), params({ top_n: 3, max_position: 1, max_sector_mult: 5 }));
    const zE = 2 / Math.sqrt(2.5);
    const zD = 1 / Math.sqrt(2.5);
    // Bases zE/0.2 and zD/0.4 are in ratio 4 : 1; C (z = 0) is third and gets nothing.
    expect(output.targets).toHaveLength(2);
    expect(output.targets[0]).toMatchObject({ ticker: 'E', score: zE, meta: { alpha_z: zE, vol_blend: 0.2, adv_20: 5e6, rank: 1, sector: 'Tech' } });
    expect(output.targets[1]).toMatchObject({ ticker: 'D', score: zD, meta: { rank: 2, sector: 'Energy' } });
    expect(output.targets[0]!.weight).toBeCloseTo(0.8, 15);
    expect(output.targets[1]!.weight).toBeCloseTo(0.2, 15);
    expect(output.notes).toEqual(['1 of the top 3 have alpha_z ≤ 0 and get no weight']);
  });

  it('clips z at ±3 before ranking, so clipped ties go to the lower ticker', () => {
    // 40 zeros with 100 (ZZZ) and 95 (AAA): both z-scores exceed 4 and clip to 3.
    const names = [...Array.from({ length: 40 }, (_, i) => liquid(`N${String(i).padStart(2, '0')}`, 0)), liquid('ZZZ', 100), liquid('AAA', 95)];
    const output = risk4Rebalance(fakeMarket({ names }), params({ top_n: 1, max_position: 1, max_sector_mult: 5 }));
    expect(output.targets.map((t) => [t.ticker, t.score])).toEqual([['AAA', Z_CLIP]]);
  });

  it('holds the remainder as cash and says why when the caps cannot be met', () => {
    const names = Array.from({ length: 10 }, (_, i) => liquid(`N${i}`, i));
    const output = risk4Rebalance(fakeMarket({ names }), params({ top_n: 3 }));
    expect(Object.values(weightsOf(output.targets))).toEqual([0.03, 0.03, 0.03]);
    expect(output.notes).toEqual(['caps make a fully invested book impossible: 91.00% held as cash (3 weighted names, 3 at the 3.00% position cap)']);
  });

  it('keeps a sector at 2 × its universe share after normalisation', () => {
    // Tech is 2 of 10 names: cap 40% (mult 2). Its two names carry most of the alpha.
    const names = [liquid('T1', 10, 'Tech', 0.1), liquid('T2', 9, 'Tech', 0.1), ...Array.from({ length: 8 }, (_, i) => liquid(`O${i}`, i, 'Other'))];
    const output = risk4Rebalance(fakeMarket({ names }), params({ top_n: 6, max_position: 0.5 }));
    const weights = weightsOf(output.targets);
    expect(weights.T1! + weights.T2!).toBeCloseTo(0.4, 12);
    expect(Object.values(weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Within the full sector the two keep their base ratio: equal vols, so (10 − 4.7) : (9 − 4.7).
    expect(weights.T1! / weights.T2!).toBeCloseTo((10 - 4.7) / (9 - 4.7), 12);
  });

  it('throws a DataError for an empty universe, a single name and zero dispersion', () => {
    const run = (names: FakeName[]) => () => risk4Rebalance(fakeMarket({ names }), params());
    expect(run([{ ticker: 'A', alpha: 1, sector: 'Tech', volBlend: 0.2, adv20: 1e6 }])).toThrow(/no ticker passes the universe filter/);
    expect(run([liquid('A', 1)])).toThrow(/has 1 name\(s\)/);
    expect(run([liquid('A', 1), liquid('B', 1)])).toThrow(DataError);
    expect(run([liquid('A', 1), liquid('B', 1)])).toThrow(/identical for all 2 universe names/);
  });

  it('runs through the plugin contract', async () => {
    const calendar = {} as TradingCalendar;
    const output = await risk4.rebalance({
      strategyId: 'risk4',
      date: '2025-12-30',
      params: params({ top_n: 3, max_position: 1, max_sector_mult: 5 }),
      market: fakeMarket({ names: universe }),
      state: null,
      priorSleeve: new Map(),
      calendar,
      log: silentLogger(),
    });
    expect(output.targets.map((t) => t.ticker)).toEqual(['E', 'D']);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random universes.

const SECTORS = ['Energy', 'Health', 'Tech', 'Utilities'];

const universeArb = fc.array(
  fc.record({
    alpha: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: -20, max: 20 }).map((a) => a / 4) }, { weight: 1, arbitrary: fc.constant(Number.NaN) }),
    sector: fc.constantFrom(...SECTORS),
    volBlend: fc.double({ min: 0.05, max: 0.8, noNaN: true }),
    adv20: fc.constantFrom(1e6, 3e6, 5e7),
  }),
  { minLength: 2, maxLength: 60 },
).map((rows) => rows.map((row, i): FakeName => ({ ticker: `T${String((i * 37) % 101).padStart(3, '0')}${i}`, ...row })));

const paramsArb = fc.record({
  top_n: fc.integer({ min: 1, max: 40 }),
  max_position: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
  max_sector_mult: fc.double({ min: 0.5, max: 3, noNaN: true }),
  min_adv: fc.constant(2_000_000),
});

function tryRebalance(names: FakeName[], p: Risk4Params) {
  try {
    return risk4Rebalance(fakeMarket({ names }), p);
  } catch (error) {
    if (error instanceof DataError) return null;
    throw error;
  }
}

describe('risk4: properties', () => {
  it('caps hold, weights are positive, Σw ≤ 1, and the picks are the top N by (clipped z desc, ticker asc)', () => {
    fc.assert(
      fc.property(universeArb, paramsArb, (names, p) => {
        const output = tryRebalance(names, p);
        if (!output) return;
        const eligible = names.filter((n) => Number.isFinite(n.alpha!) && n.adv20! >= p.min_adv);
        const total = output.targets.reduce((sum, t) => sum + t.weight, 0);
        expect(total).toBeLessThanOrEqual(1 + 1e-9);
        for (const t of output.targets) {
          expect(t.weight).toBeGreaterThan(0);
          expect(t.weight).toBeLessThanOrEqual(p.max_position + 1e-9);
        }
        for (const sector of SECTORS) {
          const share = eligible.filter((n) => n.sector === sector).length / eligible.length;
          const held = output.targets.filter((t) => t.meta?.sector === sector).reduce((sum, t) => sum + t.weight, 0);
          expect(held).toBeLessThanOrEqual(p.max_sector_mult * share + 1e-9);
        }
        const mean = eligible.reduce((s, n) => s + n.alpha!, 0) / eligible.length;
        const std = Math.sqrt(eligible.reduce((s, n) => s + (n.alpha! - mean) ** 2, 0) / (eligible.length - 1));
        const ranked = eligible
          .map((n) => ({ ticker: n.ticker, z: Math.max(-3, Math.min(3, (n.alpha! - mean) / std)) }))
          .sort((a, b) => b.z - a.z || (a.ticker < b.ticker ? -1 : 1))
          .slice(0, p.top_n)
          .filter((r) => r.z > 0);
        expect(output.targets.map((t) => t.ticker)).toEqual(ranked.map((r) => r.ticker));
        output.targets.forEach((t, k) => expect(t.meta?.rank).toBe(k + 1));
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic and does not depend on the order names are listed in', () => {
    fc.assert(
      fc.property(universeArb, paramsArb, fc.integer({ min: 1, max: 1000 }), (names, p, seed) => {
        const output = tryRebalance(names, p);
        const shuffled = [...names].sort((a, b) => ((a.ticker.length * seed + a.ticker.charCodeAt(2)) % 7) - ((b.ticker.length * seed + b.ticker.charCodeAt(2)) % 7));
        expect(tryRebalance(shuffled, p)).toEqual(output);
        expect(tryRebalance(names, p)).toEqual(output);
      }),
      { numRuns: 1000 },
    );
  });

  it('a Risk4 book passes the risk stage caps unchanged', () => {
    fc.assert(
      fc.property(universeArb, paramsArb, (names, p) => {
        const withReturns = names.map((n) => ({ ...n, returns: [0, 0, 0] }));
        const market = fakeMarket({ names: withReturns });
        const output = tryRebalance(withReturns, p);
        if (!output) return;
        const target = new Float64Array(market.tickers.length);
        for (const t of output.targets) target[market.tickers.indexOf(t.ticker)] = t.weight;
        const config = riskConfigSchema.parse({ max_position: p.max_position, max_sector_mult: p.max_sector_mult, sector_universe_min_adv: p.min_adv, vol_window: 3 });
        const result = applyRiskStage({ target, prior: null, market, config });
        expect(result.steps[0]!.detail).toMatch(/^target already within caps/);
        result.weights.forEach((w, i) => expect(Math.abs(w - target[i]!)).toBeLessThanOrEqual(1e-15));
      }),
      { numRuns: 500 },
    );
  });
});
