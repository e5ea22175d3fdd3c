/**
 * The values at ascending positions `ranks` of `values` sorted ascending, by quickselect: each
 * selection leaves no larger value before its position and no smaller one after, so the next
 * (higher) rank is looked for only to its right. O(n) instead of a sort. Equal values are
 * interchangeable, ±0 included: where a sort would put −0 before +0 this may return either, which
 * no use here can tell apart (boundary tests with === and <, distances |score − median|).
 */
export function orderStatistics(values: Float64Array, ranks: readonly number[]): number[] {
  let left = 0;
  return ranks.map((rank) => {
    if (!(rank >= left && rank < values.length)) throw new RangeError(`rank ${rank} is not in ${left}…${values.length - 1}`);
    selectInPlace(values, rank, left, values.length - 1);
    left = rank;
    return values[rank]!;
  });
}

/** Hoare-partition quickselect on values[left…right] (median-of-three pivot): values[k] ends where a sort would put it. */
function selectInPlace(values: Float64Array, k: number, left: number, right: number): void {
  let lo = left;
  let hi = right;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < values[lo]!) swap(values, mid, lo);
    if (values[hi]! < values[lo]!) swap(values, hi, lo);
    if (values[hi]! < values[mid]!) swap(values, hi, mid);
    const pivot = values[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        swap(values, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(values: Float64Array, a: number, b: number): void {
  const held = values[a]!;
  values[a] = values[b]!;
  values[b] = held;
}
