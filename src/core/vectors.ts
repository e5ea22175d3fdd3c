/** Ascending indices of the entries of `values` that are not ±0: the names a weight vector holds. */
export function nonZeroIndices(values: Float64Array): Int32Array {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) count++;
  const indices = new Int32Array(count);
  for (let i = 0, k = 0; i < values.length; i++) if (values[i] !== 0) indices[k++] = i;
  return indices;
}
