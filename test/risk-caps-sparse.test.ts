import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyCaps, clipToCaps, type CapsInput, type CapsResult } from '../src/risk/caps.js';
import { referenceApplyCaps, referenceClipToCaps } from './helpers/reference-caps.js';

/**
 * Books as the replay sees them: most of the universe at zero (or −0 from netting), the rest long
 * or long/short, with caps tight enough to bind and sector caps from 0 (or −0) upwards.
 */
const capsInputArb: fc.Arbitrary<CapsInput> = fc
  .record({
    sectorCount: fc.integer({ min: 0, max: 6 }),
    size: fc.integer({ min: 1, max: 80 }),
    zeroShare: fc.constantFrom(0, 0.5, 0.9, 1),
    shortShare: fc.constantFrom(0, 0, 0.3),
  })
  .chain(({ sectorCount, size, zeroShare, shortShare }) =>
    fc.record({
      names: fc.array(
        fc.record({
          draw: fc.double({ min: 0, max: 1, noNaN: true }),
          sign: fc.double({ min: 0, max: 1, noNaN: true }),
          magnitude: fc.oneof(fc.double({ min: 1e-6, max: 1, noNaN: true }), fc.constant(Number.MIN_VALUE), fc.double({ min: 1, max: 1e6, noNaN: true })),
          negativeZero: fc.boolean(),
          sector: fc.integer({ min: -1, max: sectorCount - 1 }),
        }),
        { minLength: size, maxLength: size },
      ),
      sectorCaps: fc.array(fc.oneof(fc.double({ min: 0, max: 0.8, noNaN: true }), fc.constant(0), fc.constant(-0)), {
        minLength: sectorCount,
        maxLength: sectorCount,
      }),
      positionCap: fc.oneof(fc.double({ min: 0.005, max: 0.6, noNaN: true }), fc.constantFrom(0, -0, 1e-10, 0.03)),
      budget: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(1)),
    }).map(({ names, sectorCaps, positionCap, budget }) => ({
      weights: Float64Array.from(names, (n) =>
        n.draw < zeroShare ? (n.negativeZero ? -0 : 0) : n.sign < shortShare ? -n.magnitude : n.magnitude,
      ),
      sectorIds: Int32Array.from(names, (n) => n.sector),
      positionCap,
      sectorCaps: Float64Array.from(sectorCaps),
      budget,
    })),
  );

function expectSameBits(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) expect.fail(`weight ${i}: ${Object.is(actual[i], -0) ? '-0' : actual[i]} vs ${Object.is(expected[i], -0) ? '-0' : expected[i]}`);
  }
}

function expectSameCaps(actual: CapsResult, expected: CapsResult): void {
  expectSameBits(actual.weights, expected.weights);
  expect(Object.is(actual.cash, expected.cash)).toBe(true);
  expect([...actual.bindingPositions]).toEqual([...expected.bindingPositions]);
  expect([...actual.bindingSectors]).toEqual([...expected.bindingSectors]);
}

describe('sparse caps reproduce the dense ones bit for bit', () => {
  it('applyCaps', () => {
    fc.assert(
      fc.property(capsInputArb, (input) => expectSameCaps(applyCaps(input), referenceApplyCaps(input))),
      { numRuns: 5000 },
    );
  });

  it('applyCaps with the risk stage budget: the whole long side', () => {
    fc.assert(
      fc.property(capsInputArb, (input) => {
        const budget = input.weights.reduce((sum, w) => (w > 0 ? sum + w : sum), 0);
        if (!Number.isFinite(budget)) return;
        expectSameCaps(applyCaps({ ...input, budget }), referenceApplyCaps({ ...input, budget }));
      }),
      { numRuns: 3000 },
    );
  });

  it('clipToCaps, including negative caps it does not validate', () => {
    const capArb = fc.oneof(fc.double({ min: -0.5, max: 0.8, noNaN: true }), fc.constantFrom(0, -0));
    fc.assert(
      fc.property(capsInputArb, capArb, fc.array(capArb, { maxLength: 6 }), (input, positionCap, capsDraw) => {
        const sectorCaps = Float64Array.from(input.sectorCaps, (cap, s) => capsDraw[s] ?? cap);
        expectSameBits(
          clipToCaps(input.weights, input.sectorIds, positionCap, sectorCaps),
          referenceClipToCaps(input.weights, input.sectorIds, positionCap, sectorCaps),
        );
      }),
      { numRuns: 5000 },
    );
  });
});
