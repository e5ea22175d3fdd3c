import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromEpochDay, isIsoDate, toEpochDay } from '../src/core/dates.js';

describe('dates', () => {
  it('reads and writes YYYY-MM-DD as days since 1970-01-01, the same on every call', () => {
    expect(toEpochDay('1970-01-01')).toBe(0);
    expect(toEpochDay('2024-02-29')).toBe(19782);
    expect(fromEpochDay(19782)).toBe('2024-02-29');
    fc.assert(
      fc.property(fc.integer({ min: -25_000, max: 60_000 }), (day) => {
        const date = fromEpochDay(day);
        expect(fromEpochDay(day)).toBe(date);
        expect(toEpochDay(date)).toBe(day);
        expect(toEpochDay(date)).toBe(day);
        expect(isIsoDate(date)).toBe(true);
      }),
    );
  });

  it('tells real calendar days from text that only looks like one, which still reads as a day', () => {
    for (let k = 0; k < 2; k++) {
      expect(isIsoDate('2024-02-30')).toBe(false);
      expect(toEpochDay('2024-02-30')).toBe(toEpochDay('2024-03-01'));
      expect(isIsoDate('2024-2-3')).toBe(false);
      expect(() => toEpochDay('2024-2-3')).toThrow(/not a YYYY-MM-DD date/);
    }
  });
});
