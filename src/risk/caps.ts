/**
 * Position and sector caps that still hold after normalisation.
 *
 * The seed clips each weight once and renormalises, which pushes the clipped names back over
 * the cap. Here the budget is water-filled instead: every name gets `level × base`, the names and
 * sectors that would exceed their cap are pinned at it, and the freed budget raises the level of
 * everyone else until nothing exceeds a cap. Budget that no name can absorb is cash.
 */

import { nonZeroIndices } from '../core/vectors.js';

/** Numerical slack of the water-filling: a weight may exceed a cap by at most this much. */
const CAP_TOLERANCE = 1e-12;
/**
 * Slack for reporting: a name or sector within this of its cap is "binding", and unallocated
 * budget below it is rounding (each name may be clamped by CAP_TOLERANCE), not cash.
 */
export const BINDING_SLACK = 1e-9;

export interface CapsInput {
  /**
   * Base weights aligned with `market.tickers`. Long-only: only the proportions matter. A negative
   * entry switches to the long/short rules (see `applyCaps`).
   */
  readonly weights: Float64Array;
  /** Sector id per name; −1 = no sector (only the position cap applies). */
  readonly sectorIds: Int32Array;
  readonly positionCap: number;
  /** Cap on Σ|w| per sector id. */
  readonly sectorCaps: Float64Array;
  /** Total the long side should reach; for a long-only book, the book's total. */
  readonly budget: number;
}

export interface CapsResult {
  readonly weights: Float64Array;
  /** Part of the budget the caps leave unallocated (0 when a fully invested book is feasible). */
  readonly cash: number;
  /** Indices of names at the position cap. */
  readonly bindingPositions: Int32Array;
  /** Sector ids whose Σ|w| is at its cap. */
  readonly bindingSectors: Int32Array;
}

/**
 * Long-only: returns w with every w_i ≤ positionCap, every sector sum ≤ its cap and Σw = budget
 * when some book satisfies the caps; otherwise Σw < budget and `cash` is the difference. Names
 * whose caps do not bind keep their base proportions, so their relative order is preserved.
 *
 * Long/short (any negative weight, the netted book): both sides are first clipped (|w| to the
 * position cap, then each sector's Σ|w| scaled down to its cap). The short side stays clipped:
 * re-inflating it would add gross exposure and borrow the strategies never asked for. The long
 * side is water-filled again, towards `budget`, within the sector room the clipped shorts leave.
 */
export function applyCaps(input: CapsInput): CapsResult {
  validateCapsInput(input);
  const { weights, sectorIds, positionCap, sectorCaps, budget } = input;
  // A book holds part of the universe (a risk book ~75 names of 3,000): every pass below visits
  // only the names with weight.
  // A name without weight adds exact zeros to every sum, so skipping it changes no bit.
  const held = nonZeroIndices(weights);
  const clipped = clipAt(weights, held, sectorIds, positionCap, sectorCaps);

  const longCapacity = Float64Array.from(sectorCaps);
  const longs = new Int32Array(held.length);
  let longCount = 0;
  let largestLong = 0;
  for (const i of held) {
    const w = weights[i]!;
    if (w > 0) {
      longs[longCount++] = i;
      largestLong = Math.max(largestLong, w);
    }
    const sector = sectorIds[i]!;
    const c = clipped[i]!;
    if (c < 0 && sector >= 0) longCapacity[sector] = Math.max(0, longCapacity[sector]! + c);
  }

  // The water-filling runs on the longs alone, packed: names without base weight get nothing from it.
  const longBase = new Float64Array(longCount);
  const longSectors = new Int32Array(longCount);
  for (let k = 0; k < longCount; k++) {
    // Only proportions matter; scaling to max 1 keeps sums of subnormal bases from losing precision.
    longBase[k] = weights[longs[k]!]! / largestLong;
    longSectors[k] = sectorIds[longs[k]!]!;
  }
  const filled = waterFill(longBase, longSectors, positionCap, longCapacity, budget);

  const result = new Float64Array(weights.length);
  // The water-filling gives a name without base min(positionCap, 0): −0 under a −0 cap.
  if (Object.is(positionCap, -0)) result.fill(-0);
  let longTotal = 0;
  for (let k = 0; k < longCount; k++) {
    result[longs[k]!] = filled[k]!;
    longTotal += filled[k]!;
  }
  for (const i of held) if (clipped[i]! < 0) result[i] = clipped[i]!;
  const unallocated = budget - longTotal;
  return {
    weights: result,
    cash: unallocated > BINDING_SLACK ? unallocated : 0,
    bindingPositions: bindingPositions(result, held, positionCap),
    bindingSectors: bindingSectors(weights, result, held, sectorIds, sectorCaps),
  };
}

/**
 * Clipping only, no re-inflation: |w_i| ≤ positionCap, then every sector over its cap scaled down
 * proportionally (which keeps the position caps). Used for the short side and for a prior book
 * that drifted over its caps.
 */
export function clipToCaps(
  weights: Float64Array,
  sectorIds: Int32Array,
  positionCap: number,
  sectorCaps: Float64Array,
): Float64Array {
  // Clipping maps a zero weight to itself unless a cap is negative or −0 (which flips its sign).
  const zerosStay = !flipsZeroSign(positionCap) && !sectorCaps.some(flipsZeroSign);
  const indices = zerosStay ? nonZeroIndices(weights) : Int32Array.from(weights.keys());
  return clipAt(weights, indices, sectorIds, positionCap, sectorCaps);
}

function flipsZeroSign(cap: number): boolean {
  return cap < 0 || Object.is(cap, -0);
}

/** `clipToCaps` of the names at `indices` (ascending); every other weight is copied as it is. */
function clipAt(
  weights: Float64Array,
  indices: Int32Array,
  sectorIds: Int32Array,
  positionCap: number,
  sectorCaps: Float64Array,
): Float64Array {
  const out = weights.slice();
  const gross = new Float64Array(sectorCaps.length);
  for (const i of indices) {
    const w = weights[i]!;
    const c = Math.sign(w) * Math.min(Math.abs(w), positionCap);
    out[i] = c;
    const sector = sectorIds[i]!;
    if (sector >= 0) gross[sector] = gross[sector]! + Math.abs(c);
  }
  const sectorScale = new Float64Array(sectorCaps.length);
  for (let s = 0; s < sectorCaps.length; s++) sectorScale[s] = gross[s]! > sectorCaps[s]! ? sectorCaps[s]! / gross[s]! : 1;
  for (const i of indices) {
    const sector = sectorIds[i]!;
    if (sector >= 0) out[i] = out[i]! * sectorScale[sector]!;
  }
  return out;
}

const FREE = 0;
const PINNED = 1;
const IN_FULL_SECTOR = 2;

/**
 * Nested water-filling of `budget` over non-negative `base` weights.
 *
 * Free names get level × base_i; PINNED names sit at the position cap; a FULL sector holds exactly
 * its capacity, spread over its names by the same rule one level down (`fillWithinCap`).
 * Each round recomputes the level from the budget left after pinned names and full sectors, pins
 * every free name above the cap and, only once no name is above it, fills every sector above
 * its capacity.
 *
 * Termination: a round that changes anything either moves a FREE name to PINNED or marks a
 * sector FULL, and neither is ever undone (names leave PINNED only into a FULL sector). So
 * (free names + non-full sectors) strictly decreases and there are at most n + sectors + 1 rounds.
 *
 * Exactness: what is pinned or filled was receiving more than it keeps, so the budget left for
 * the remaining free names exceeds level × their base and the level only rises. A name or sector
 * over its cap at some level is therefore over it at the final level too: the result is the
 * unique fixed point w_i = min(cap, μ_s·base_i) with μ_s = level unless sector s is full.
 */
function waterFill(
  base: Float64Array,
  sectorIds: Int32Array,
  positionCap: number,
  sectorCapacity: Float64Array,
  budget: number,
): Float64Array {
  const n = base.length;
  const state = new Uint8Array(n);
  const sectorFull = new Uint8Array(sectorCapacity.length);
  const maxRounds = n + sectorCapacity.length + 1;
  for (let round = 0; round < maxRounds; round++) {
    const level = freeLevel(base, state, sectorFull, sectorCapacity, positionCap, budget);
    if (pinNamesOverCap(base, state, level, positionCap)) continue;
    if (markSectorsOverCapacity(base, sectorIds, state, sectorFull, sectorCapacity, level, positionCap)) continue;
    return assemble(base, sectorIds, state, sectorFull, sectorCapacity, level, positionCap);
  }
  throw new Error(`water-filling did not settle within ${maxRounds} rounds (bound violated)`);
}

/**
 * The level as "budget left over free base": a name gets left × (base / freeBase). Dividing the
 * base first keeps every factor ≤ 1, so a tiny free base cannot overflow the level to Infinity.
 */
interface Level {
  readonly left: number;
  readonly freeBase: number;
}

function allocation(level: Level, base: number): number {
  return level.freeBase > 0 ? level.left * (base / level.freeBase) : 0;
}

function freeLevel(
  base: Float64Array,
  state: Uint8Array,
  sectorFull: Uint8Array,
  sectorCapacity: Float64Array,
  positionCap: number,
  budget: number,
): Level {
  let fixed = 0;
  let freeBase = 0;
  for (let i = 0; i < base.length; i++) {
    if (state[i] === FREE) freeBase += base[i]!;
    else if (state[i] === PINNED) fixed += positionCap;
  }
  for (let s = 0; s < sectorFull.length; s++) if (sectorFull[s] === 1) fixed += sectorCapacity[s]!;
  return { left: Math.max(0, budget - fixed), freeBase };
}

function pinNamesOverCap(base: Float64Array, state: Uint8Array, level: Level, positionCap: number): boolean {
  let pinned = false;
  for (let i = 0; i < base.length; i++) {
    if (state[i] === FREE && allocation(level, base[i]!) > positionCap + CAP_TOLERANCE) {
      state[i] = PINNED;
      pinned = true;
    }
  }
  return pinned;
}

function markSectorsOverCapacity(
  base: Float64Array,
  sectorIds: Int32Array,
  state: Uint8Array,
  sectorFull: Uint8Array,
  sectorCapacity: Float64Array,
  level: Level,
  positionCap: number,
): boolean {
  const demand = new Float64Array(sectorCapacity.length);
  for (let i = 0; i < base.length; i++) {
    const sector = sectorIds[i]!;
    if (sector < 0 || sectorFull[sector] === 1) continue;
    demand[sector] = demand[sector]! + (state[i] === PINNED ? positionCap : allocation(level, base[i]!));
  }
  let filled = false;
  for (let s = 0; s < demand.length; s++) {
    if (sectorFull[s] === 0 && demand[s]! > sectorCapacity[s]! + CAP_TOLERANCE) {
      sectorFull[s] = 1;
      filled = true;
    }
  }
  if (filled) {
    for (let i = 0; i < base.length; i++) {
      const sector = sectorIds[i]!;
      if (sector >= 0 && sectorFull[sector] === 1) state[i] = IN_FULL_SECTOR;
    }
  }
  return filled;
}

function assemble(
  base: Float64Array,
  sectorIds: Int32Array,
  state: Uint8Array,
  sectorFull: Uint8Array,
  sectorCapacity: Float64Array,
  level: Level,
  positionCap: number,
): Float64Array {
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    if (state[i] === FREE) out[i] = Math.min(positionCap, allocation(level, base[i]!));
    else if (state[i] === PINNED) out[i] = positionCap;
  }
  for (let s = 0; s < sectorFull.length; s++) {
    if (sectorFull[s] === 1) fillWithinCap(base, membersOf(sectorIds, s), positionCap, sectorCapacity[s]!, out);
  }
  return out;
}

function membersOf(sectorIds: Int32Array, sector: number): Int32Array {
  let count = 0;
  for (let i = 0; i < sectorIds.length; i++) if (sectorIds[i] === sector) count++;
  const members = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < sectorIds.length; i++) if (sectorIds[i] === sector) members[k++] = i;
  return members;
}

/**
 * Spreads `amount` over `members` in proportion to base, none above the position cap: the
 * one-sector case of `waterFill`. The caller only fills a sector whose demand exceeded `amount`,
 * so its members can absorb it; each round pins at least one member or stops (≤ members + 1).
 */
function fillWithinCap(
  base: Float64Array,
  members: Int32Array,
  positionCap: number,
  amount: number,
  out: Float64Array,
): void {
  const pinned = new Uint8Array(members.length);
  let pinnedCount = 0;
  let level: Level = { left: 0, freeBase: 0 };
  for (let round = 0; round <= members.length; round++) {
    let freeBase = 0;
    for (let k = 0; k < members.length; k++) if (pinned[k] === 0) freeBase += base[members[k]!]!;
    level = { left: Math.max(0, amount - pinnedCount * positionCap), freeBase };
    let changed = false;
    for (let k = 0; k < members.length; k++) {
      if (pinned[k] === 0 && allocation(level, base[members[k]!]!) > positionCap + CAP_TOLERANCE) {
        pinned[k] = 1;
        pinnedCount++;
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (let k = 0; k < members.length; k++) {
    const i = members[k]!;
    out[i] = pinned[k] === 1 ? positionCap : Math.min(positionCap, allocation(level, base[i]!));
  }
}

/** `held`: the only names whose weight can be non-zero. */
function bindingPositions(weights: Float64Array, held: Int32Array, positionCap: number): Int32Array {
  const threshold = positionCap - BINDING_SLACK;
  const indices: number[] = [];
  if (threshold <= 0) {
    // A cap within the slack of 0 binds every name, held or not.
    for (let i = 0; i < weights.length; i++) if (Math.abs(weights[i]!) >= threshold) indices.push(i);
  } else {
    for (const i of held) if (Math.abs(weights[i]!) >= threshold) indices.push(i);
  }
  return Int32Array.from(indices);
}

/** Sectors at their cap that wanted weight (a zero cap binds only if some member asked for weight). */
function bindingSectors(
  requested: Float64Array,
  weights: Float64Array,
  held: Int32Array,
  sectorIds: Int32Array,
  sectorCaps: Float64Array,
): Int32Array {
  const gross = new Float64Array(sectorCaps.length);
  const wanted = new Float64Array(sectorCaps.length);
  for (const i of held) {
    const sector = sectorIds[i]!;
    if (sector < 0) continue;
    gross[sector] = gross[sector]! + Math.abs(weights[i]!);
    wanted[sector] = wanted[sector]! + Math.abs(requested[i]!);
  }
  const sectors: number[] = [];
  for (let s = 0; s < gross.length; s++) if (wanted[s]! > 0 && gross[s]! >= sectorCaps[s]! - BINDING_SLACK) sectors.push(s);
  return Int32Array.from(sectors);
}

/** Σ|w| per sector id. */
export function sectorGross(weights: Float64Array, sectorIds: Int32Array, sectorCount: number): Float64Array {
  const gross = new Float64Array(sectorCount);
  for (let i = 0; i < weights.length; i++) {
    const sector = sectorIds[i]!;
    if (sector >= 0) gross[sector] = gross[sector]! + Math.abs(weights[i]!);
  }
  return gross;
}

function validateCapsInput({ weights, sectorIds, positionCap, sectorCaps, budget }: CapsInput): void {
  if (sectorIds.length !== weights.length) {
    throw new RangeError(`sectorIds has ${sectorIds.length} entries for ${weights.length} weights`);
  }
  if (!(positionCap >= 0 && Number.isFinite(positionCap))) throw new RangeError(`position cap must be ≥ 0, got ${positionCap}`);
  if (!(budget >= 0 && Number.isFinite(budget))) throw new RangeError(`budget must be ≥ 0, got ${budget}`);
  for (let s = 0; s < sectorCaps.length; s++) {
    const cap = sectorCaps[s]!;
    if (!(cap >= 0 && Number.isFinite(cap))) throw new RangeError(`sector cap ${s} must be ≥ 0, got ${cap}`);
  }
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i]!)) throw new RangeError(`weight ${i} is not finite: ${weights[i]}`);
    const sector = sectorIds[i]!;
    if (sector < -1 || sector >= sectorCaps.length) throw new RangeError(`sector id ${sector} of name ${i} has no cap`);
  }
}
