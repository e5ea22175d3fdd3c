/**
 * −1, 0 or 1 as `a` is below, equal to or above `b`; 0 when either is NaN, as `a − b || tieBreak`
 * treats it. Sort comparators return this instead of the difference itself: a fractional
 * difference is a heap number allocated on every comparison, and ranking sorts a few thousand
 * names for every rebalance.
 */
export function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
