import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyCaps, clipToCaps, sectorGross, type CapsInput } from '../src/risk/caps.js';

const TOLERANCE = 1e-9;

function caps(weights: number[], sectorIds: number[], positionCap: number, sectorCaps: number[], budget: number): CapsInput {
  return {
    weights: Float64Array.from(weights),
    sectorIds: Int32Array.from(sectorIds),
    positionCap,
    sectorCaps: Float64Array.from(sectorCaps),
    budget,
  };
}

/** The seed's §3.3 position step: normalise, clip once, renormalise. */
function seedClipThenRenormalise(base: number[], positionCap: number, budget: number): number[] {
  const total = base.reduce((a, b) => a + b, 0);
  const clipped = base.map((b) => Math.min((budget * b) / total, positionCap));
  const clippedTotal = clipped.reduce((a, b) => a + b, 0);
  return clipped.map((w) => (budget * w) / clippedTotal);
}

describe('applyCaps: hand-checked books', () => {
  it('holds a 3% cap on a 10% sleeve where the seed clip-then-renormalise breaks it', () => {
    const base = [0.5, 0.3, 0.1, 0.1];
    expect(Math.max(...seedClipThenRenormalise(base, 0.03, 0.1))).toBeCloseTo(0.0375, 12);

    const result = applyCaps(caps(base, [-1, -1, -1, -1], 0.03, [], 0.1));
    // A pins at 3%; the level rises to 0.14, pinning B; C and D share the remaining 4%.
    expect([...result.weights].map((w) => Number(w.toFixed(12)))).toEqual([0.03, 0.03, 0.02, 0.02]);
    expect(result.cash).toBe(0);
    expect([...result.bindingPositions]).toEqual([0, 1]);
  });

  it('holds the remainder as cash when the caps make a fully invested book impossible', () => {
    const base = [0.7, 0.1, 0.1, 0.1];
    expect(seedClipThenRenormalise(base, 0.03, 1)).toEqual([0.25, 0.25, 0.25, 0.25]);

    const result = applyCaps(caps(base, [-1, -1, -1, -1], 0.03, [], 1));
    expect([...result.weights]).toEqual([0.03, 0.03, 0.03, 0.03]);
    expect(result.cash).toBeCloseTo(0.88, 12);
  });

  it('fills a sector to its cap in base proportions and gives the excess to the other sector', () => {
    const result = applyCaps(caps([0.4, 0.3, 0.2, 0.1], [0, 0, 1, 1], 0.5, [0.6, 1], 1));
    const expected = [(0.6 * 4) / 7, (0.6 * 3) / 7, (0.4 * 2) / 3, 0.4 / 3];
    result.weights.forEach((w, i) => expect(w).toBeCloseTo(expected[i]!, 14));
    expect([...result.bindingSectors]).toEqual([0]);
    expect(result.cash).toBe(0);
  });

  it('re-spreads a full sector by base when a name pinned earlier no longer needs the cap', () => {
    // Level 1 pins A at 30%; level 1.4 overfills sector 0 (58% > 45%); inside it A stays pinned
    // (0.45/0.7 × 0.5 > 0.3) and B, C share 15%; sector 1 takes the remaining 55%.
    const result = applyCaps(caps([0.5, 0.1, 0.1, 0.1, 0.1, 0.1], [0, 0, 0, 1, 1, 1], 0.3, [0.45, 1], 1));
    const expected = [0.3, 0.075, 0.075, 0.55 / 3, 0.55 / 3, 0.55 / 3];
    result.weights.forEach((w, i) => expect(w).toBeCloseTo(expected[i]!, 14));
    expect(result.cash).toBe(0);
  });

  it('keeps the base order of names whose caps do not bind', () => {
    // Level 1/15 pins the first name (0.333 > 0.3); the other 70% goes at level 0.07.
    const result = applyCaps(caps([5, 4, 3, 2, 1], [-1, -1, -1, -1, -1], 0.3, [], 1));
    [0.3, 0.28, 0.21, 0.14, 0.07].forEach((w, i) => expect(result.weights[i]).toBeCloseTo(w, 14));
  });

  it('gives zero-base names nothing, even when that leaves cash', () => {
    const result = applyCaps(caps([1, 0, 0], [-1, -1, -1], 0.4, [], 1));
    expect([...result.weights]).toEqual([0.4, 0, 0]);
    expect(result.cash).toBeCloseTo(0.6, 15);
  });

  it('long/short: clips shorts without re-inflating them and water-fills longs in the room left', () => {
    // Clip: [0.1, −0.1, 0.05]; sector 0 gross 0.2 > 0.15 → ×0.75 → short −0.075 leaves 0.075 for longs.
    const result = applyCaps(caps([0.2, -0.12, 0.05], [0, 0, -1], 0.1, [0.15], 0.25));
    result.weights.forEach((w, i) => expect(w).toBeCloseTo([0.075, -0.075, 0.1][i]!, 15));
    expect(result.cash).toBeCloseTo(0.075, 15);
    expect([...result.bindingSectors]).toEqual([0]);
  });

  it('rejects inputs it cannot cap', () => {
    expect(() => applyCaps(caps([Number.NaN], [-1], 0.1, [], 1))).toThrow(/not finite/);
    expect(() => applyCaps(caps([1], [2], 0.1, [0.5], 1))).toThrow(/has no cap/);
    expect(() => applyCaps(caps([1], [-1], -0.1, [], 1))).toThrow(/position cap/);
  });
});

describe('clipToCaps', () => {
  it('clips names, then scales over-cap sectors down without re-inflating anything', () => {
    const clipped = clipToCaps(Float64Array.from([0.5, 0.2, -0.4, 0.1]), Int32Array.from([0, 0, 1, -1]), 0.3, Float64Array.from([0.4, 1]));
    [0.24, 0.16, -0.3, 0.1].forEach((w, i) => expect(clipped[i]).toBeCloseTo(w, 15));
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random universes.

interface RandomUniverse {
  readonly base: number[];
  readonly sectorIds: number[];
  readonly sectorCaps: number[];
  readonly positionCap: number;
  readonly budget: number;
}

const baseWeight = fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 10, noNaN: true }));

const universeArb: fc.Arbitrary<RandomUniverse> = fc.integer({ min: 0, max: 6 }).chain((sectorCount) =>
  fc.record({
    names: fc.array(fc.record({ base: baseWeight, sector: fc.integer({ min: -1, max: sectorCount - 1 }) }), { minLength: 1, maxLength: 40 }),
    sectorCaps: fc.array(fc.double({ min: 0, max: 0.8, noNaN: true }), { minLength: sectorCount, maxLength: sectorCount }),
    positionCap: fc.double({ min: 0.01, max: 0.6, noNaN: true }),
    budget: fc.double({ min: 0, max: 1, noNaN: true }),
  }).map(({ names, sectorCaps, positionCap, budget }) => ({
    base: names.map((n) => n.base),
    sectorIds: names.map((n) => n.sector),
    sectorCaps,
    positionCap,
    budget,
  })),
);

const toInput = (u: RandomUniverse): CapsInput => caps(u.base, u.sectorIds, u.positionCap, u.sectorCaps, u.budget);

/**
 * Independent reference by bisection on the nested formula w_i = min(cap, μ_s·b_i), where μ_s is
 * the global level unless sector s would exceed its cap at that level.
 */
function referenceCaps(u: RandomUniverse): number[] {
  const fillSector = (members: number[], mu: number): number =>
    members.reduce((sum, i) => sum + (u.base[i]! > 0 ? Math.min(u.positionCap, mu * u.base[i]!) : 0), 0);
  const bisect = (f: (x: number) => number, goal: number): number => {
    let lo = 0;
    let hi = 1;
    while (f(hi) < goal && hi < 1e300) hi *= 2;
    if (f(hi) < goal) return Number.POSITIVE_INFINITY;
    for (let k = 0; k < 400; k++) {
      const mid = (lo + hi) / 2;
      if (f(mid) < goal) lo = mid;
      else hi = mid;
    }
    return hi;
  };
  const members = u.sectorCaps.map((_, s) => u.sectorIds.flatMap((id, i) => (id === s ? [i] : [])));
  const loners = u.sectorIds.flatMap((id, i) => (id === -1 ? [i] : []));
  const total = (level: number): number =>
    fillSector(loners, level) + members.reduce((sum, m, s) => sum + Math.min(u.sectorCaps[s]!, fillSector(m, level)), 0);
  const level = bisect(total, u.budget);
  const out = u.base.map((b) => (b > 0 ? Math.min(u.positionCap, level * b) : 0));
  members.forEach((m, s) => {
    if (fillSector(m, level) <= u.sectorCaps[s]!) return;
    const mu = bisect((x) => fillSector(m, x), u.sectorCaps[s]!);
    for (const i of m) out[i] = u.base[i]! > 0 ? Math.min(u.positionCap, mu * u.base[i]!) : 0;
  });
  return out;
}

describe('applyCaps: properties', () => {
  it('every cap holds, weights are non-negative and the book never exceeds its budget', () => {
    fc.assert(
      fc.property(universeArb, (u) => {
        const result = applyCaps(toInput(u));
        const total = result.weights.reduce((a, b) => a + b, 0);
        for (const w of result.weights) {
          expect(w).toBeGreaterThanOrEqual(0);
          expect(w).toBeLessThanOrEqual(u.positionCap + TOLERANCE);
        }
        sectorGross(result.weights, Int32Array.from(u.sectorIds), u.sectorCaps.length).forEach((gross, s) =>
          expect(gross).toBeLessThanOrEqual(u.sectorCaps[s]! + TOLERANCE),
        );
        expect(total).toBeLessThanOrEqual(u.budget + TOLERANCE);
        expect(Math.abs(total + result.cash - u.budget)).toBeLessThanOrEqual(TOLERANCE);
      }),
      { numRuns: 3000 },
    );
  });

  it('matches an independent bisection of the nested water-filling formula', () => {
    fc.assert(
      fc.property(universeArb, (u) => {
        const result = applyCaps(toInput(u));
        const reference = referenceCaps(u);
        result.weights.forEach((w, i) => expect(Math.abs(w - reference[i]!)).toBeLessThanOrEqual(1e-9));
      }),
      { numRuns: 1500 },
    );
  });

  it('only leaves cash when every name with base weight is at a binding cap', () => {
    fc.assert(
      fc.property(universeArb, (u) => {
        const result = applyCaps(toInput(u));
        if (result.cash === 0) return;
        const bindingSectors = new Set(result.bindingSectors);
        const bindingNames = new Set(result.bindingPositions);
        u.base.forEach((b, i) => {
          if (b > 0) expect(bindingNames.has(i) || bindingSectors.has(u.sectorIds[i]!)).toBe(true);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps base proportions among names no cap binds (and within each full sector)', () => {
    fc.assert(
      fc.property(universeArb, (u) => {
        const result = applyCaps(toInput(u));
        const fullSectors = new Set(result.bindingSectors);
        const ratios = new Map<string, number>();
        u.base.forEach((b, i) => {
          const w = result.weights[i]!;
          if (b === 0 || w >= u.positionCap - TOLERANCE) return;
          const group = fullSectors.has(u.sectorIds[i]!) ? `sector ${u.sectorIds[i]}` : 'free';
          const ratio = w / b;
          const seen = ratios.get(group);
          if (seen === undefined) ratios.set(group, ratio);
          else expect(Math.abs(ratio - seen)).toBeLessThanOrEqual(1e-9 * Math.max(1, seen));
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('is deterministic, permutation-invariant and a no-op on an already-capped book', () => {
    fc.assert(
      fc.property(universeArb, fc.integer({ min: 0, max: 1_000_000 }), (u, seed) => {
        const result = applyCaps(toInput(u));
        expect(applyCaps(toInput(u)).weights).toEqual(result.weights);

        const order = u.base.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 104729) - ((b * 7919 + seed) % 104729) || a - b);
        const permuted = applyCaps(
          caps(order.map((i) => u.base[i]!), order.map((i) => u.sectorIds[i]!), u.positionCap, u.sectorCaps, u.budget),
        );
        order.forEach((i, k) => expect(Math.abs(permuted.weights[k]! - result.weights[i]!)).toBeLessThanOrEqual(1e-12));

        const total = result.weights.reduce((a, b) => a + b, 0);
        const again = applyCaps({ ...toInput(u), weights: result.weights, budget: total });
        again.weights.forEach((w, i) => expect(Math.abs(w - result.weights[i]!)).toBeLessThanOrEqual(1e-12));
        expect(again.cash).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('holds the caps for bases of any magnitude, subnormal to huge', () => {
    const extremeArb = universeArb.chain((u) =>
      fc.array(fc.oneof(fc.constant(0), fc.constant(Number.MIN_VALUE), fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true })), {
        minLength: u.base.length,
        maxLength: u.base.length,
      }).map((base) => ({ ...u, base })),
    );
    fc.assert(
      fc.property(extremeArb, (u) => {
        const result = applyCaps(toInput(u));
        for (const w of result.weights) expect(w).toBeLessThanOrEqual(u.positionCap + TOLERANCE);
        sectorGross(result.weights, Int32Array.from(u.sectorIds), u.sectorCaps.length).forEach((gross, s) =>
          expect(gross).toBeLessThanOrEqual(u.sectorCaps[s]! + TOLERANCE),
        );
        expect(result.weights.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(u.budget + TOLERANCE);
      }),
      { numRuns: 2000 },
    );
  });

  it('long/short books: |w| and sector Σ|w| within caps, shorts never grow, longs never exceed the budget', () => {
    const signedArb = universeArb.chain((u) =>
      fc.array(fc.boolean(), { minLength: u.base.length, maxLength: u.base.length }).map((short) => ({
        ...u,
        base: u.base.map((b, i) => (short[i] ? -b : b)),
      })),
    );
    fc.assert(
      fc.property(signedArb, (u) => {
        const result = applyCaps(toInput(u));
        let longs = 0;
        result.weights.forEach((w, i) => {
          expect(Math.abs(w)).toBeLessThanOrEqual(u.positionCap + TOLERANCE);
          if (u.base[i]! < 0) {
            expect(w).toBeLessThanOrEqual(0);
            expect(Math.abs(w)).toBeLessThanOrEqual(Math.abs(u.base[i]!) + TOLERANCE);
          } else {
            expect(w).toBeGreaterThanOrEqual(0);
            longs += w;
          }
        });
        sectorGross(result.weights, Int32Array.from(u.sectorIds), u.sectorCaps.length).forEach((gross, s) =>
          expect(gross).toBeLessThanOrEqual(u.sectorCaps[s]! + TOLERANCE),
        );
        expect(longs).toBeLessThanOrEqual(u.budget + TOLERANCE);
      }),
      { numRuns: 2000 },
    );
  });
});
