import { describe, expect, it } from 'vitest';
import { adoptNameMajor, gapFree, lastGaps, nameMajor, nameMajorOfWhole, sharedNameMajor, type NameMajorWindow } from '../src/data/name-major.js';

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

  it('knows which windows hold only finite values', () => {
    // 6 sessions × 2 names: name 0 has a NaN at session 1, name 1 an Infinity at session 4.
    const gappy = Float64Array.from({ length: 12 }, (_, cell) => (cell === 2 ? Number.NaN : cell === 9 ? Number.POSITIVE_INFINITY : cell));
    expect(Array.from(lastGaps(nameMajor(gappy, 6, 2), 6))).toEqual([-1, 1, 1, 1, 1, 1, -1, -1, -1, -1, 4, 4]);
    const gapFreeNames = (from: number, sessions: number) => {
      const window = sharedNameMajor(gappy.subarray(from * 2, (from + sessions) * 2), sessions, 2);
      return [0, 1].map((i) => gapFree(window, i));
    };
    expect(gapFreeNames(0, 1)).toEqual([true, true]);
    expect(gapFreeNames(0, 2)).toEqual([false, true]);
    expect(gapFreeNames(2, 2)).toEqual([true, true]);
    expect(gapFreeNames(2, 3)).toEqual([true, false]);
    expect(gapFreeNames(5, 1)).toEqual([true, true]);
    // A copied block has its own index.
    const copied = sharedNameMajor(gappy.subarray(1, 7), 3, 2);
    expect([gapFree(copied, 0), gapFree(copied, 1)]).toEqual([true, false]);
  });

  it('adopts a copy and gap index made elsewhere, checking they fit the array', () => {
    const source = Float64Array.from({ length: 12 }, (_, cell) => (cell === 3 ? Number.NaN : cell));
    const whole = nameMajorOfWhole(source, 3);
    const other = new Float64Array(source); // the same values in another buffer, as another thread sees them
    adoptNameMajor(other, 3, whole);
    const window = sharedNameMajor(other.subarray(3, 9), 2, 3);
    expect(window.values).toBe(whole.values);
    expect([0, 1, 2].map((i) => gapFree(window, i))).toEqual([false, true, true]);
    expect(() => adoptNameMajor(new Float64Array(9), 3, whole)).toThrow(RangeError);
  });
});
