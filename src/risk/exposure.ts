export interface Exposure {
  /** Σ|w|. */
  readonly gross: number;
  /** Σw. */
  readonly net: number;
}

export interface ExposureBounds {
  readonly maxGross: number;
  /** ≥ 0. */
  readonly maxNet: number;
  /** ≤ 0. */
  readonly minNet: number;
}

export function exposureOf(weights: Float64Array): Exposure {
  let gross = 0;
  let net = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    gross += Math.abs(w);
    net += w;
  }
  return { gross, net };
}

/**
 * The largest factor ≤ 1 that brings gross and net inside their bounds. One factor for the whole
 * book keeps its shape (caps, long/short balance) and scales its volatility linearly; because
 * minNet ≤ 0 ≤ maxNet, shrinking toward zero always reaches the bounds.
 */
export function exposureScale({ gross, net }: Exposure, bounds: ExposureBounds): number {
  let scale = 1;
  if (gross > bounds.maxGross + EXPOSURE_SLACK) scale = Math.min(scale, bounds.maxGross / gross);
  if (net > bounds.maxNet + EXPOSURE_SLACK) scale = Math.min(scale, bounds.maxNet / net);
  if (net < bounds.minNet - EXPOSURE_SLACK) scale = Math.min(scale, bounds.minNet / net);
  return scale;
}

/** A fully invested book sums to 1 only up to float rounding; that is not a breach. */
const EXPOSURE_SLACK = 1e-9;
