/** Grown to the longest vector seen: `nonZeroIndices` writes every index into it, then copies the kept ones out. */
let scratch = new Int32Array(0);

/** Ascending indices of the entries of `values` that are not ±0: the names a weight vector holds. */
export function nonZeroIndices(values: Float64Array): Int32Array {
  if (scratch.length < values.length) scratch = new Int32Array(values.length);
  // Branch-free: held and empty names alternate unpredictably, and a mispredicted branch per name
  // cost more than writing every index and keeping the held ones.
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    scratch[count] = i;
    count += values[i] !== 0 ? 1 : 0;
  }
  return scratch.slice(0, count);
}
