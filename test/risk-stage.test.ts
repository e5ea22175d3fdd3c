import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyCaps, sectorGross } from '../src/risk/caps.js';
import { defaultRiskConfig, riskConfigSchema, type RiskConfig } from '../src/risk/config.js';
import { exposureOf, exposureScale } from '../src/risk/exposure.js';
import { applyRiskStage, deriveBookSectors, type BookSectors } from '../src/risk/risk-stage.js';
import { oneWayTurnover, smoothTurnover } from '../src/risk/turnover.js';
import { estimateBookVol } from '../src/risk/volatility.js';
import { fakeMarket, type FakeName } from './helpers/fake-market.js';

const TOLERANCE = 1e-9;
const config = (overrides: Partial<RiskConfig>): RiskConfig => riskConfigSchema.parse(overrides);
const vector = (values: number[]): Float64Array => Float64Array.from(values);
const noSectors = (n: number): BookSectors => ({ sectorIds: new Int32Array(n).fill(-1), sectorNames: [], sectorCaps: new Float64Array(0) });
/** Names whose returns are all zero: volatility targeting leaves such a book alone. */
const flatNames = (n: number, sessions = 3): FakeName[] =>
  Array.from({ length: n }, (_, i) => ({ ticker: `T${i}`, returns: new Array<number>(sessions).fill(0) }));

describe('risk config', () => {
  it('defaults to the seed parameters', () => {
    expect(defaultRiskConfig).toEqual({
      max_position: 0.03,
      max_sector_mult: 2.0,
      sector_universe_min_adv: 2_000_000,
      lambda_tc: 0.5,
      max_turnover: 0.3,
      target_vol: 0.2,
      vol_window: 126,
      shrinkage: 0.3,
      allow_leverage: false,
      max_leverage: 1.0,
      max_gross: 1.0,
      max_net: 1.0,
      min_net: -1.0,
    });
  });

  it('rejects unknown keys and bounds a scale-down cannot reach, reporting every problem', () => {
    const result = riskConfigSchema.safeParse({ max_turnovr: 0.2, min_net: 0.2, vol_window: 1, lambda_tc: 1.5 });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join('.') || issue.code);
    expect(paths).toEqual(expect.arrayContaining(['min_net', 'vol_window', 'lambda_tc', 'unrecognized_keys']));
  });
});

describe('smoothTurnover', () => {
  it('keeps the λ-blend when it trades within budget', () => {
    const smoothed = smoothTurnover(vector([0, 0.5, 0.5]), vector([0.5, 0.5, 0]), 0.5, 0.3);
    expect([...smoothed.weights]).toEqual([0.25, 0.5, 0.25]);
    expect(smoothed.turnover).toBeCloseTo(0.25, 15);
    expect(smoothed.changeScale).toBe(1);
  });

  it('scales the change to hit max_turnover exactly, without renormalising', () => {
    // Blend [0.25 ×4] trades 0.5 > 0.3: keep 60% of the change.
    const smoothed = smoothTurnover(vector([0.5, 0.5, 0, 0]), vector([0, 0, 0.5, 0.5]), 0.5, 0.3);
    [0.15, 0.15, 0.35, 0.35].forEach((w, i) => expect(smoothed.weights[i]).toBeCloseTo(w, 15));
    expect(smoothed.turnover).toBeCloseTo(0.3, 15);
    expect(smoothed.blendTurnover).toBeCloseTo(0.5, 15);
    expect(smoothed.changeScale).toBeCloseTo(0.6, 15);
  });
});

describe('exposure bounds', () => {
  it('finds the one factor that satisfies gross and net', () => {
    expect(exposureScale(exposureOf(vector([0.6, -0.6])), { maxGross: 1, maxNet: 1, minNet: -1 })).toBeCloseTo(1 / 1.2, 15);
    expect(exposureScale(exposureOf(vector([0.8, 0.1])), { maxGross: 1, maxNet: 0.5, minNet: -1 })).toBeCloseTo(0.5 / 0.9, 15);
    expect(exposureScale(exposureOf(vector([0.1, -0.7])), { maxGross: 1, maxNet: 1, minNet: -0.3 })).toBeCloseTo(0.5, 15);
    expect(exposureScale(exposureOf(vector([0.3, 0.2])), { maxGross: 1, maxNet: 1, minNet: -1 })).toBe(1);
  });
});

describe('applyRiskStage', () => {
  // Same returns as the hand-checked volatility example: annualised vol √(0.00016 × 252) ≈ 20.08%.
  const handMarket = fakeMarket({
    names: [
      { ticker: 'A', returns: [0.01, -0.01, 0.03] },
      { ticker: 'B', returns: [0.02, 0.0, Number.NaN] },
    ],
  });
  const handVol = Math.sqrt(0.00016 * 252);

  it('scales a first book down to the volatility target and reports each step', () => {
    const result = applyRiskStage({
      target: vector([0.5, 0.5]),
      prior: null,
      market: handMarket,
      sectors: noSectors(2),
      config: config({ max_position: 1, vol_window: 3, target_vol: 0.1 }),
    });
    expect(result.steps.map((s) => s.step)).toEqual(['caps', 'vol_target', 'exposure']);
    expect(result.volScale).toBeCloseTo(0.1 / handVol, 12);
    expect(result.estimatedVol).toBeCloseTo(0.1, 12);
    result.weights.forEach((w) => expect(w).toBeCloseTo(0.5 * (0.1 / handVol), 12));
    expect(result.cash).toBeCloseTo(1 - 0.1 / handVol, 12);
    expect(result.turnover).toBe(0);
    expect(result.notes.join('\n')).toMatch(/volatility targeting scaled the book/);
  });

  it('never scales up without leverage, and up to max_leverage with it', () => {
    const base = { target: vector([0.5, 0.5]), prior: null, market: handMarket, sectors: noSectors(2) };
    const unlevered = applyRiskStage({ ...base, config: config({ max_position: 1, vol_window: 3, target_vol: 0.3 }) });
    expect(unlevered.volScale).toBe(1);
    expect(unlevered.estimatedVol).toBeCloseTo(handVol, 12);

    const levered = applyRiskStage({
      ...base,
      config: config({ max_position: 1, vol_window: 3, target_vol: 0.3, allow_leverage: true, max_leverage: 2, max_gross: 3, max_net: 3 }),
    });
    expect(levered.volScale).toBeCloseTo(0.3 / handVol, 12);
    expect(levered.estimatedVol).toBeCloseTo(0.3, 12);

    const capped = applyRiskStage({ ...base, config: config({ max_position: 1, vol_window: 3, target_vol: 0.3, allow_leverage: true, max_leverage: 1.2, max_gross: 3, max_net: 3 }) });
    expect(capped.volScale).toBe(1.2);
  });

  it('blends toward the target and stops at max_turnover', () => {
    const result = applyRiskStage({
      target: vector([0.5, 0.5, 0, 0]),
      prior: vector([0, 0, 0.5, 0.5]),
      market: fakeMarket({ names: flatNames(4) }),
      sectors: noSectors(4),
      config: config({ max_position: 1, vol_window: 3 }),
    });
    expect(result.steps.map((s) => s.step)).toEqual(['caps', 'turnover', 'vol_target', 'exposure']);
    [0.15, 0.15, 0.35, 0.35].forEach((w, i) => expect(result.weights[i]).toBeCloseTo(w, 15));
    expect(result.turnover).toBeCloseTo(0.3, 15);
    expect(result.forcedTurnover).toBe(0);
  });

  it('clips a prior that drifted over its cap and counts that change outside the turnover budget', () => {
    // Prior clipped to [0.5, 0.4, 0, 0] (forced 0.05); blend with [0.4, 0.4, 0.1, 0.1] = [0.45, 0.4, 0.05, 0.05].
    const result = applyRiskStage({
      target: vector([0.4, 0.4, 0.1, 0.1]),
      prior: vector([0.6, 0.4, 0, 0]),
      market: fakeMarket({ names: flatNames(4) }),
      sectors: noSectors(4),
      config: config({ max_position: 0.5, vol_window: 3 }),
    });
    expect(result.steps.map((s) => s.step)).toEqual(['caps', 'prior_caps', 'turnover', 'vol_target', 'exposure']);
    [0.45, 0.4, 0.05, 0.05].forEach((w, i) => expect(result.weights[i]).toBeCloseTo(w, 15));
    expect(result.forcedTurnover).toBeCloseTo(0.05, 15);
    expect(result.turnover).toBeCloseTo(0.125, 15);
    expect(result.notes.join('\n')).toMatch(/drifted over their caps: 5\.00% turnover forced/);
  });

  it('caps an over-concentrated net book and bounds its gross exposure', () => {
    const result = applyRiskStage({
      target: vector([0.9, -0.5, 0.3]),
      prior: null,
      market: fakeMarket({ names: flatNames(3) }),
      sectors: { sectorIds: Int32Array.from([0, 0, -1]), sectorNames: ['Energy'], sectorCaps: vector([1]) },
      config: config({ max_position: 0.6, vol_window: 3 }),
    });
    // Clip: [0.6, −0.5, 0.3]; sector 0 gross 1.1 > 1 → ×1/1.1, short −5/11 stays; longs refill to
    // the 1.2 budget: A gets the 6/11 its sector leaves, the loner the 0.6 cap. Gross 1.6 → ×0.625.
    [6 / 11, -5 / 11, 0.6].forEach((w, i) => expect(result.weights[i]).toBeCloseTo(w * 0.625, 15));
    expect(result.exposureScale).toBeCloseTo(0.625, 15);
    expect(result.steps[0]!.detail).toMatch(/sectors at cap: Energy/);
  });

  it('derives sector caps from the liquid universe when none are given', () => {
    const names: FakeName[] = [
      { ticker: 'A', sector: 'Tech', alpha: 1, volBlend: 0.2, adv20: 5e6 },
      { ticker: 'B', sector: 'Tech', alpha: 1, volBlend: 0.2, adv20: 5e6 },
      { ticker: 'C', sector: 'Energy', alpha: 1, volBlend: 0.2, adv20: 5e6 },
      { ticker: 'D', sector: 'Energy', alpha: 1, volBlend: 0.2, adv20: 1e5 },
      { ticker: 'E', sector: 'Utilities', alpha: Number.NaN, volBlend: 0.2, adv20: 5e6 },
    ];
    const sectors = deriveBookSectors(fakeMarket({ names }), config({ max_sector_mult: 1.5, max_position: 0.05 }));
    expect(sectors.sectorNames).toEqual(['Energy', 'Tech', 'Utilities']);
    expect([...sectors.sectorIds]).toEqual([1, 1, 0, 0, 2]);
    // Universe {A, B, C}: Energy 1/3, Tech 2/3 → ×1.5; Utilities has no member → the position cap.
    [0.5, 1, 0.05].forEach((cap, s) => expect(sectors.sectorCaps[s]).toBeCloseTo(cap, 15));
  });
});

// ---------------------------------------------------------------------------------------------
// Properties.

interface RandomBook {
  readonly n: number;
  readonly sectorIds: Int32Array;
  readonly sectorCaps: Float64Array;
  readonly positionCap: number;
  readonly target: Float64Array;
  readonly prior: Float64Array;
  readonly returns: number[][];
  readonly lambda: number;
  readonly maxTurnover: number;
  readonly targetVol: number;
}

const cappedBook = (base: number[], budget: number, ids: Int32Array, caps: Float64Array, positionCap: number): Float64Array =>
  applyCaps({ weights: Float64Array.from(base), sectorIds: ids, positionCap, sectorCaps: caps, budget }).weights;

const bookArb: fc.Arbitrary<RandomBook> = fc
  .record({ n: fc.integer({ min: 1, max: 25 }), sectorCount: fc.integer({ min: 0, max: 4 }), sessions: fc.integer({ min: 2, max: 8 }) })
  .chain(({ n, sectorCount, sessions }) =>
    fc.record({
      n: fc.constant(n),
      ids: fc.array(fc.integer({ min: -1, max: sectorCount - 1 }), { minLength: n, maxLength: n }),
      caps: fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { minLength: sectorCount, maxLength: sectorCount }),
      positionCap: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
      targetBase: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: n, maxLength: n }),
      priorBase: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: n, maxLength: n }),
      priorBudget: fc.double({ min: 0, max: 1, noNaN: true }),
      returns: fc.array(fc.array(fc.double({ min: -0.08, max: 0.08, noNaN: true }), { minLength: n, maxLength: n }), {
        minLength: sessions + 1,
        maxLength: sessions + 1,
      }),
      lambda: fc.double({ min: 0, max: 1, noNaN: true }),
      maxTurnover: fc.double({ min: 0, max: 1, noNaN: true }),
      targetVol: fc.double({ min: 0.01, max: 2, noNaN: true }),
    }),
  )
  .map((r) => {
    const sectorIds = Int32Array.from(r.ids);
    const sectorCaps = Float64Array.from(r.caps);
    return {
      n: r.n,
      sectorIds,
      sectorCaps,
      positionCap: r.positionCap,
      target: cappedBook(r.targetBase, 1, sectorIds, sectorCaps, r.positionCap),
      prior: cappedBook(r.priorBase, r.priorBudget, sectorIds, sectorCaps, r.positionCap),
      returns: r.returns,
      lambda: r.lambda,
      maxTurnover: r.maxTurnover,
      targetVol: r.targetVol,
    };
  });

function marketOf(book: RandomBook) {
  return fakeMarket({ names: Array.from({ length: book.n }, (_, i) => ({ ticker: `N${String(i).padStart(3, '0')}`, returns: book.returns.map((row) => row[i]!) })) });
}

function stageOf(book: RandomBook, overrides: Partial<RiskConfig> = {}) {
  return applyRiskStage({
    target: book.target,
    prior: book.prior,
    market: marketOf(book),
    sectors: { sectorIds: book.sectorIds, sectorNames: [...book.sectorCaps].map((_, s) => `S${s}`), sectorCaps: book.sectorCaps },
    config: config({
      max_position: book.positionCap,
      lambda_tc: book.lambda,
      max_turnover: book.maxTurnover,
      target_vol: book.targetVol,
      vol_window: book.returns.length,
      ...overrides,
    }),
  });
}

describe('risk stage: properties', () => {
  it('smoothing never trades more than max_turnover and keeps the caps of a capped prior and target', () => {
    fc.assert(
      fc.property(bookArb, (book) => {
        const smoothed = smoothTurnover(book.target, book.prior, book.lambda, book.maxTurnover);
        expect(oneWayTurnover(book.prior, smoothed.weights)).toBeLessThanOrEqual(book.maxTurnover + TOLERANCE);
        for (const w of smoothed.weights) expect(w).toBeLessThanOrEqual(book.positionCap + TOLERANCE);
        sectorGross(smoothed.weights, book.sectorIds, book.sectorCaps.length).forEach((g, s) =>
          expect(g).toBeLessThanOrEqual(book.sectorCaps[s]! + TOLERANCE),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('the whole stage keeps caps, long-only weights and Σw ≤ 1, and its turnover within budget when volatility does not bind', () => {
    fc.assert(
      fc.property(bookArb, (book) => {
        const result = stageOf(book, { target_vol: 1e6 });
        let total = 0;
        for (const w of result.weights) {
          expect(w).toBeGreaterThanOrEqual(0);
          expect(w).toBeLessThanOrEqual(book.positionCap + TOLERANCE);
          total += w;
        }
        expect(total).toBeLessThanOrEqual(1 + TOLERANCE);
        sectorGross(result.weights, book.sectorIds, book.sectorCaps.length).forEach((g, s) =>
          expect(g).toBeLessThanOrEqual(book.sectorCaps[s]! + TOLERANCE),
        );
        expect(result.turnover).toBeLessThanOrEqual(book.maxTurnover + TOLERANCE);
        expect(result.forcedTurnover).toBeLessThanOrEqual(TOLERANCE);
      }),
      { numRuns: 1000 },
    );
  });

  it('volatility targeting never raises volatility without leverage, and the reported vol is the final book’s', () => {
    fc.assert(
      fc.property(bookArb, (book) => {
        const result = stageOf(book);
        expect(result.volScale).toBeLessThanOrEqual(1);
        const market = marketOf(book);
        const finalVol = estimateBookVol(market, result.weights, book.returns.length, defaultRiskConfig.shrinkage).vol;
        expect(Math.abs(result.estimatedVol - finalVol)).toBeLessThanOrEqual(1e-12);
        const scale = result.volScale * result.exposureScale;
        if (scale > 0) {
          const unscaled = Float64Array.from(result.weights, (w) => w / scale);
          const before = estimateBookVol(market, unscaled, book.returns.length, defaultRiskConfig.shrinkage).vol;
          expect(result.estimatedVol).toBeLessThanOrEqual(before + 1e-12);
          if (result.volScale < 1) expect(result.estimatedVol).toBeLessThanOrEqual(book.targetVol + 1e-12);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(bookArb, (book) => {
        const first = stageOf(book);
        const second = stageOf(book);
        expect(second.weights).toEqual(first.weights);
        expect(second.steps).toEqual(first.steps);
      }),
      { numRuns: 300 },
    );
  });
});
