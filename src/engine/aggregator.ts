import { ConfigError } from '../core/errors.js';

export interface SleeveAllocation {
  readonly strategyId: string;
  readonly allocation: number;
}

/** Net book = Σ allocation × sleeve weight, per name (seed "Weighted Average" netting). */
export function netSleeves(sleeves: readonly { readonly weights: Float64Array }[], allocations: readonly number[], size: number): Float64Array {
  const net = new Float64Array(size);
  for (let s = 0; s < sleeves.length; s++) {
    const a = allocations[s]!;
    if (a === 0) continue;
    const w = sleeves[s]!.weights;
    for (let i = 0; i < size; i++) net[i]! += a * w[i]!;
  }
  return net;
}

const ALLOCATION_TOLERANCE = 1e-6;

/**
 * Fixed allocations must add up to 1 (a typo in config should not silently lever or de-lever the
 * book); with `normalize` they are rescaled instead.
 */
export function fixedAllocations(entries: readonly { id: string; allocation: number | undefined }[], normalize: boolean): SleeveAllocation[] {
  const missing = entries.filter((e) => e.allocation === undefined).map((e) => e.id);
  if (missing.length > 0) throw new ConfigError(`allocation scheme "fixed" needs an allocation for every strategy; missing for: ${missing.join(', ')}`);
  const total = entries.reduce((s, e) => s + e.allocation!, 0);
  if (total <= 0) throw new ConfigError('allocations add up to 0');
  if (Math.abs(total - 1) > ALLOCATION_TOLERANCE && !normalize) {
    throw new ConfigError(`allocations add up to ${round(total)}, not 1 (${entries.map((e) => `${e.id}=${e.allocation}`).join(', ')}); fix them or set allocation.normalize: true`);
  }
  const scale = normalize ? 1 / total : 1;
  return entries.map((e) => ({ strategyId: e.id, allocation: e.allocation! * scale }));
}

export function equalAllocations(ids: readonly string[]): SleeveAllocation[] {
  return ids.map((id) => ({ strategyId: id, allocation: 1 / ids.length }));
}

/**
 * Sharpe-weighted (seed "Option B"): allocation ∝ max(Sharpe, 0). When no sleeve has a positive
 * Sharpe there is nothing to prefer, so fall back to equal weights.
 */
export function sharpeAllocations(sharpes: readonly { id: string; sharpe: number }[]): SleeveAllocation[] {
  const positive = sharpes.map((s) => (Number.isFinite(s.sharpe) ? Math.max(s.sharpe, 0) : 0));
  const total = positive.reduce((a, b) => a + b, 0);
  if (total === 0) return equalAllocations(sharpes.map((s) => s.id));
  return sharpes.map((s, i) => ({ strategyId: s.id, allocation: positive[i]! / total }));
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
