/**
 * Copies a row-major `sessions × names` block (e.g. a window of daily returns, row 0 oldest) into
 * name-major order: name i's series at `i × sessions`, oldest first. Per-name statistics then read
 * contiguous memory; walking a name down the rows of a wide panel touches a new page every row.
 * The copy goes a tile of names at a time so its reads are sequential too. `into` is reused when
 * it has the right length.
 */
export function nameMajor(block: Float64Array, sessions: number, names: number, into?: Float64Array): Float64Array {
  if (block.length !== sessions * names) throw new RangeError(`block has ${block.length} values, expected ${sessions} × ${names}`);
  const out = into?.length === block.length ? into : new Float64Array(block.length);
  for (let first = 0; first < names; first += NAMES_PER_TILE) {
    const last = Math.min(names, first + NAMES_PER_TILE);
    for (let t = 0; t < sessions; t++) {
      const row = t * names;
      for (let i = first; i < last; i++) out[i * sessions + t] = block[row + i]!;
    }
  }
  return out;
}

/** 64 names × 8 bytes: each row's slice of a tile is a few cache lines, and the tile's output lines stay in L1. */
const NAMES_PER_TILE = 64;
