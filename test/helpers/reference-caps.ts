/**
 * Frozen copy of the dense caps (src/risk/caps.ts before the sparse passes): every pass over the
 * whole universe. The sparse implementation must reproduce it bit for bit.
 */
import { BINDING_SLACK, type CapsInput, type CapsResult } from '../../src/risk/caps.js';

const CAP_TOLERANCE = 1e-12;

export function referenceApplyCaps(input: CapsInput): CapsResult {
  const { weights, sectorIds, positionCap, sectorCaps, budget } = input;
  const clipped = referenceClipToCaps(weights, sectorIds, positionCap, sectorCaps);

  const longBase = new Float64Array(weights.length);
  const longCapacity = Float64Array.from(sectorCaps);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w > 0) longBase[i] = w;
    const sector = sectorIds[i]!;
    const c = clipped[i]!;
    if (c < 0 && sector >= 0) longCapacity[sector] = Math.max(0, longCapacity[sector]! + c);
  }

  const result = waterFill(scaledToUnitMax(longBase), sectorIds, positionCap, longCapacity, budget);
  let longTotal = 0;
  for (let i = 0; i < result.length; i++) {
    const c = clipped[i]!;
    if (c < 0) result[i] = c;
    else longTotal += result[i]!;
  }
  const unallocated = budget - longTotal;
  return {
    weights: result,
    cash: unallocated > BINDING_SLACK ? unallocated : 0,
    bindingPositions: bindingPositions(result, positionCap),
    bindingSectors: bindingSectors(weights, result, sectorIds, sectorCaps),
  };
}

/**
 * Clipping only, no re-inflation: |w_i| ≤ positionCap, then every sector over its cap scaled down
 * proportionally (which keeps the position caps). Used for the short side and for a prior book
 * that drifted over its caps.
 */
export function referenceClipToCaps(
  weights: Float64Array,
  sectorIds: Int32Array,
  positionCap: number,
  sectorCaps: Float64Array,
): Float64Array {
  const out = new Float64Array(weights.length);
  for (let i = 0; i < weights.length; i++) out[i] = Math.sign(weights[i]!) * Math.min(Math.abs(weights[i]!), positionCap);
  const gross = sectorGross(out, sectorIds, sectorCaps.length);
  const sectorScale = new Float64Array(sectorCaps.length);
  for (let s = 0; s < sectorCaps.length; s++) sectorScale[s] = gross[s]! > sectorCaps[s]! ? sectorCaps[s]! / gross[s]! : 1;
  for (let i = 0; i < out.length; i++) {
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

function bindingPositions(weights: Float64Array, positionCap: number): Int32Array {
  const indices: number[] = [];
  for (let i = 0; i < weights.length; i++) if (Math.abs(weights[i]!) >= positionCap - BINDING_SLACK) indices.push(i);
  return Int32Array.from(indices);
}

/** Sectors at their cap that wanted weight (a zero cap binds only if some member asked for weight). */
function bindingSectors(requested: Float64Array, weights: Float64Array, sectorIds: Int32Array, sectorCaps: Float64Array): Int32Array {
  const gross = sectorGross(weights, sectorIds, sectorCaps.length);
  const wanted = sectorGross(requested, sectorIds, sectorCaps.length);
  const sectors: number[] = [];
  for (let s = 0; s < gross.length; s++) if (wanted[s]! > 0 && gross[s]! >= sectorCaps[s]! - BINDING_SLACK) sectors.push(s);
  return Int32Array.from(sectors);
}

/** Only proportions matter; scaling to max 1 keeps sums of subnormal bases from losing precision. */
function scaledToUnitMax(base: Float64Array): Float64Array {
  let max = 0;
  for (let i = 0; i < base.length; i++) max = Math.max(max, base[i]!);
  if (max === 0) return base;
  const scaled = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) scaled[i] = base[i]! / max;
  return scaled;
}

/** Σ|w| per sector id. */
function sectorGross(weights: Float64Array, sectorIds: Int32Array, sectorCount: number): Float64Array {
  const gross = new Float64Array(sectorCount);
  for (let i = 0; i < weights.length; i++) {
    const sector = sectorIds[i]!;
    if (sector >= 0) gross[sector] = gross[sector]! + Math.abs(weights[i]!);
  }
  return gross;
}

