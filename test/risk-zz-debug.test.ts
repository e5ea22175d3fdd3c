import fc from 'fast-check';
import { it } from 'vitest';
import { applyCaps, sectorGross } from '../src/risk/caps.js';
it('debug', () => {
  fc.assert(fc.property(
    fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 5, maxLength: 5 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    (base, budget) => {
      const r = applyCaps({ weights: Float64Array.from(base), sectorIds: Int32Array.from([0,0,0,0,0]), positionCap: 0.02, sectorCaps: Float64Array.from([0.05]), budget });
      const g = sectorGross(r.weights, Int32Array.from([0,0,0,0,0]), 1)[0]!;
      if (g > 0.05 + 1e-9) throw new Error(JSON.stringify({ base, budget, w: [...r.weights] }));
    }), { numRuns: 20000 });
});
