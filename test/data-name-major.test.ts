import { describe, expect, it } from 'vitest';
import { nameMajor, sharedNameMajor, type NameMajorWindow } from '../src/data/name-major.js';

/** Name i's window read through the shared layout. */
function series(window: NameMajorWindow, i: number): number[] {
  const first = i * window.stride + window.start;
  return Array.from(window.values.subarray(first, first + window.sessions));
}

describe('name-major windows', () => {
  // 5 sessions × 3 names: value = 10 × session + name.
  const panel = Float64Array.from({ length: 15 }, (_, cell) => 10 * Math.floor(cell / 3) + (cell % 3));

  it('copies a row-major block name by name, oldest first', () => {
    expect(Array.from(nameMajor(panel.subarray(3, 9), 2, 3))).toEqual([10, 20, 11, 21, 12, 22]);
  });

  it('reads any window of whole rows from one transposed copy of the array, and only that window', () => {
    const window = sharedNameMajor(panel.subarray(6, 15), 3, 3);
    expect([0, 1, 2].map((i) => series(window, i))).toEqual([
      [20, 30, 40],
      [21, 31, 41],
      [22, 32, 42],
    ]);
    const earlier = sharedNameMajor(panel.subarray(3, 9), 2, 3);
    expect(earlier.values).toBe(window.values);
    expect(series(earlier, 2)).toEqual([12, 22]);
  });

  it('hands out the same object for the same window, a new one for the next', () => {
    const a = sharedNameMajor(panel.subarray(3, 12), 3, 3);
    expect(sharedNameMajor(panel.subarray(3, 12), 3, 3)).toBe(a);
    expect(sharedNameMajor(panel.subarray(6, 15), 3, 3)).not.toBe(a);
  });

  it('copies a block that is not whole rows of its buffer on its own', () => {
    const window = sharedNameMajor(panel.subarray(1, 5), 2, 2);
    expect(window.stride).toBe(2);
    expect([0, 1].map((i) => series(window, i))).toEqual([
      [1, 10],
      [2, 11],
    ]);
  });

  it('refuses a block of the wrong size', () => {
    expect(() => sharedNameMajor(panel.subarray(0, 7), 2, 3)).toThrow(RangeError);
  });
});
