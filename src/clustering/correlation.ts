import { upperCrossProducts } from '../kernels/kernels.js';

/**
 * Pearson correlations of chosen columns of a row-major `sessions × width` block (e.g. daily
 * returns, row 0 oldest), each pair over the sessions where both values are finite.
 *
 * Columns without a gap — nearly all of them — are centred and scaled once, so a pair of them
 * costs one dot product; only pairs involving a column with gaps pay for the pairwise-complete
 * sums. Both paths give the same Pearson coefficient on the overlapping sessions.
 *
 * Returns a `columns.length²` row-major matrix with ones on the diagonal, clamped to [−1, 1];
 * NaN for a pair with fewer than 2 common sessions or a column constant over them.
 */
export function pairwiseCorrelation(block: Float64Array, sessions: number, width: number, columns: ArrayLike<number>): Float64Array {
  if (block.length !== sessions * width) throw new RangeError(`block has ${block.length} values, expected ${sessions} × ${width}`);
  const n = columns.length;
  const series = new Float64Array(n * sessions);
  const complete = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const column = columns[k]!;
    if (!(column >= 0 && column < width)) throw new RangeError(`column ${column} outside 0…${width - 1}`);
    let finite = 0;
    let sum = 0;
    for (let t = 0; t < sessions; t++) {
      const value = block[t * width + column]!;
      series[k * sessions + t] = value;
      if (Number.isFinite(value)) {
        finite++;
        sum += value;
      }
    }
    // Centring on the column's own mean first avoids cancellation in the pairwise sums below.
    const mean = finite > 0 ? sum / finite : 0;
    let squares = 0;
    for (let t = 0; t < sessions; t++) {
      const value = series[k * sessions + t]!;
      if (!Number.isFinite(value)) continue;
      series[k * sessions + t] = value - mean;
      squares += (value - mean) ** 2;
    }
    if (finite === sessions) {
      complete[k] = 1;
      const norm = Math.sqrt(squares);
      for (let t = 0; t < sessions; t++) series[k * sessions + t] = norm > 0 ? series[k * sessions + t]! / norm : Number.NaN;
    }
  }

  // Complete columns' dot products all at once (the SIMD cross-product kernel, each pair summed in
  // session order as one dot product would): their standardised series session by session,
  // padded to a multiple of four columns, zeros for the others.
  const padded = Math.ceil(n / 4) * 4;
  const standardised = new Float64Array(sessions * padded);
  for (let k = 0; k < n; k++) {
    if (complete[k] !== 1) continue;
    for (let t = 0; t < sessions; t++) standardised[t * padded + k] = series[k * sessions + t]!;
  }
  const products = upperCrossProducts(standardised, sessions, padded);
  const correlation = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    correlation[k * n + k] = 1;
    for (let l = k + 1; l < n; l++) {
      store(correlation, n, k, l, complete[k] === 1 && complete[l] === 1 ? products[k * padded + l]! : overlapCorrelation(series, k * sessions, l * sessions, sessions));
    }
  }
  return correlation;
}

function store(correlation: Float64Array, n: number, k: number, l: number, rho: number): void {
  const clamped = Number.isNaN(rho) ? rho : Math.max(-1, Math.min(1, rho));
  correlation[k * n + l] = clamped;
  correlation[l * n + k] = clamped;
}

/** Correlation distance √(2(1 − ρ)) ∈ [0, 2]: the Euclidean distance between standardised series. */
export function correlationDistance(rho: number): number {
  return Math.sqrt(Math.max(0, 2 * (1 - rho)));
}

function overlapCorrelation(series: Float64Array, first: number, second: number, length: number): number {
  let count = 0;
  let sumX = 0;
  let sumY = 0;
  let sumXX = 0;
  let sumYY = 0;
  let sumXY = 0;
  for (let t = 0; t < length; t++) {
    const x = series[first + t]!;
    const y = series[second + t]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    count++;
    sumX += x;
    sumY += y;
    sumXX += x * x;
    sumYY += y * y;
    sumXY += x * y;
  }
  if (count < 2) return Number.NaN;
  const covariance = sumXY - (sumX * sumY) / count;
  const varianceX = sumXX - (sumX * sumX) / count;
  const varianceY = sumYY - (sumY * sumY) / count;
  return varianceX > 0 && varianceY > 0 ? covariance / Math.sqrt(varianceX * varianceY) : Number.NaN;
}
