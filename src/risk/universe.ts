import type { PointInTimeMarket } from '../data/panel.js';

/**
 * The investable universe at D (seed §3.1): alpha present, vol_blend > 0, adv_20 ≥ minAdv and a
 * sector. Risk4 selects from it and the risk stage derives sector caps from it, so a Risk4 book
 * passes the risk stage's caps unchanged. Returns a 0/1 mask aligned with `market.tickers`.
 */
export function liquidUniverse(market: PointInTimeMarket, minAdv: number): Uint8Array {
  const alpha = market.field('alpha');
  const volBlend = market.field('volBlend');
  const adv20 = market.field('adv20');
  const mask = new Uint8Array(market.tickers.length);
  for (let i = 0; i < mask.length; i++) {
    const eligible =
      Number.isFinite(alpha[i]!) && volBlend[i]! > 0 && Number.isFinite(volBlend[i]!) && adv20[i]! >= minAdv && market.sectors[i] != null;
    mask[i] = eligible ? 1 : 0;
  }
  return mask;
}

export interface SectorIndex {
  /** Sector id per ticker (−1 when the ticker has no sector). */
  readonly ids: Int32Array;
  /** Sector name per id, sorted. */
  readonly names: readonly string[];
}

/** Dense sector ids for the caps, numbered in sorted name order so ids do not depend on ticker order. */
export function sectorIndex(sectors: readonly (string | null)[]): SectorIndex {
  let index = sectorIndexByList.get(sectors);
  if (!index) {
    index = buildSectorIndex(sectors);
    sectorIndexByList.set(sectors, index);
  }
  return index;
}

/** The panel's sector list is shared by every session and book: index it once. */
const sectorIndexByList = new WeakMap<readonly (string | null)[], SectorIndex>();

function buildSectorIndex(sectors: readonly (string | null)[]): SectorIndex {
  const names = [...new Set(sectors.filter((s): s is string => s != null))].sort();
  const idOf = new Map(names.map((name, id) => [name, id]));
  const ids = new Int32Array(sectors.length);
  for (let i = 0; i < sectors.length; i++) {
    const sector = sectors[i];
    ids[i] = sector == null ? -1 : idOf.get(sector)!;
  }
  return { ids, names };
}

/**
 * Sector cap = multiple × the sector's share of the universe by count (seed §3.3). A sector with
 * no universe member falls back to the position cap, as in the seed, so a name outside the
 * universe can still be held like any single name.
 */
export function universeSectorCaps(
  sectorIds: Int32Array,
  sectorCount: number,
  universe: Uint8Array,
  maxSectorMult: number,
  positionCap: number,
): Float64Array {
  const members = new Float64Array(sectorCount);
  let universeSize = 0;
  for (let i = 0; i < sectorIds.length; i++) {
    const sector = sectorIds[i]!;
    if (universe[i] === 1 && sector >= 0) {
      members[sector] = members[sector]! + 1;
      universeSize++;
    }
  }
  const caps = new Float64Array(sectorCount);
  for (let s = 0; s < sectorCount; s++) {
    caps[s] = members[s]! > 0 ? (maxSectorMult * members[s]!) / universeSize : positionCap;
  }
  return caps;
}
