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

/** A window of a panel-wide array in name-major order. */
export interface NameMajorWindow {
  /**
   * Name-major values: name i's window is `values[i × stride + start …+ sessions)`, oldest first.
   * The array may hold other sessions around the window (a whole panel): read only inside it.
   */
  readonly values: Float64Array;
  readonly stride: number;
  readonly start: number;
  readonly sessions: number;
  readonly names: number;
}

/**
 * `block` — a window of whole rows of a panel-wide row-major array, such as `market.returns(T)` —
 * in name-major order without copying the window: the whole array behind it is transposed once,
 * on first use, and every later window of it (each session of a replay, each strategy and book)
 * is an offset into that copy. A block that is not whole rows of its buffer is copied on its own.
 * The same window gives the same object, so callers can cache what they derive from it by identity.
 * The array behind `block` must not change once used here (a panel's arrays never do).
 */
export function sharedNameMajor(block: Float64Array, sessions: number, names: number): NameMajorWindow {
  if (block.length !== sessions * names) throw new RangeError(`block has ${block.length} values, expected ${sessions} × ${names}`);
  const rowBytes = names * Float64Array.BYTES_PER_ELEMENT;
  const buffer = block.buffer;
  if (names === 0 || block.byteOffset % rowBytes !== 0 || buffer.byteLength % rowBytes !== 0) {
    return { values: nameMajor(block, sessions, names), stride: sessions, start: 0, sessions, names };
  }
  const whole = transposedWhole(buffer, names);
  const start = block.byteOffset / rowBytes;
  let window = whole.latest.get(sessions);
  if (window?.start !== start) {
    window = { values: whole.values, stride: whole.rows, start, sessions, names };
    whole.latest.set(sessions, window);
  }
  return window;
}

function transposedWhole(buffer: ArrayBufferLike, names: number): TransposedBuffer {
  let whole = transposed.get(buffer);
  if (whole?.names !== names) {
    const rows = buffer.byteLength / (names * Float64Array.BYTES_PER_ELEMENT);
    const source = new Float64Array(buffer);
    const into = buffer instanceof SharedArrayBuffer ? new Float64Array(new SharedArrayBuffer(buffer.byteLength)) : undefined;
    whole = { names, rows, values: nameMajor(source, rows, names, into), latest: new Map() };
    transposed.set(buffer, whole);
  }
  return whole;
}

/**
 * The name-major copy of the whole row-major array `values` (`names` wide) that `sharedNameMajor`
 * reads its windows from; in shared memory when `values` is, so another thread can adopt it.
 */
export function nameMajorOfWhole(values: Float64Array, names: number): Float64Array {
  return transposedWhole(values.buffer, names).values;
}

/** Uses `transposedValues` — `nameMajorOfWhole(values, names)` computed by another thread — for `values`. */
export function adoptNameMajor(values: Float64Array, names: number, transposedValues: Float64Array): void {
  if (transposedValues.length !== values.buffer.byteLength / Float64Array.BYTES_PER_ELEMENT) throw new RangeError('transposed copy does not match the array');
  transposed.set(values.buffer, { names, rows: transposedValues.length / names, values: transposedValues, latest: new Map() });
}

interface TransposedBuffer {
  readonly names: number;
  readonly rows: number;
  readonly values: Float64Array;
  /** The latest window of each length handed out. */
  readonly latest: Map<number, NameMajorWindow>;
}

/** Per buffer: its name-major copy and the latest window of each length handed out. */
const transposed = new WeakMap<ArrayBufferLike, TransposedBuffer>();
