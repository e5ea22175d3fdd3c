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
  /** Laid out as `values`: the row of the latest non-finite value at or before each cell, −1 for none (see `lastGaps`). */
  readonly lastGap: Int32Array;
  readonly stride: number;
  readonly start: number;
  readonly sessions: number;
  readonly names: number;
}

/**
 * Whether name i's window holds only finite values. Most windows do (a name's gaps are the
 * sessions before it lists and after it delists), and a loop that need not test each value for a
 * gap runs about a third faster in the hot statistics.
 */
export function gapFree(window: NameMajorWindow, i: number): boolean {
  return window.lastGap[i * window.stride + window.start + window.sessions - 1]! < window.start;
}

/**
 * The means of names i…i+3, whose windows are gap-free, into `means[i…i+3]`; each name summed in
 * order exactly as alone. One name's sum is a chain of dependent additions: four side by side
 * keep the processor busy while each waits for the one before.
 */
export function gapFreeMeansOfFour({ values, stride, start, sessions }: NameMajorWindow, i: number, means: Float64Array): void {
  const a = i * stride + start;
  const b = a + stride;
  const c = b + stride;
  const d = c + stride;
  let sa = 0;
  let sb = 0;
  let sc = 0;
  let sd = 0;
  for (let t = 0; t < sessions; t++) {
    sa += values[a + t]!;
    sb += values[b + t]!;
    sc += values[c + t]!;
    sd += values[d + t]!;
  }
  means[i] = sa / sessions;
  means[i + 1] = sb / sessions;
  means[i + 2] = sc / sessions;
  means[i + 3] = sd / sessions;
}

/** For name-major `values` (`rows` per name): per cell, the row of the latest non-finite value at or before it in its name's series, −1 for none. */
export function lastGaps(values: Float64Array, rows: number, into?: Int32Array): Int32Array {
  const out = into?.length === values.length ? into : new Int32Array(values.length);
  for (let first = 0; first < values.length; first += rows) {
    let last = -1;
    for (let t = 0; t < rows; t++) {
      if (!Number.isFinite(values[first + t]!)) last = t;
      out[first + t] = last;
    }
  }
  return out;
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
    const values = nameMajor(block, sessions, names);
    return { values, lastGap: lastGaps(values, sessions), stride: sessions, start: 0, sessions, names };
  }
  const whole = transposedWhole(buffer, names);
  const start = block.byteOffset / rowBytes;
  let window = whole.latest.get(sessions);
  if (window?.start !== start) {
    window = { values: whole.values, lastGap: whole.lastGap, stride: whole.rows, start, sessions, names };
    whole.latest.set(sessions, window);
  }
  return window;
}

function transposedWhole(buffer: ArrayBufferLike, names: number): TransposedBuffer {
  let whole = transposed.get(buffer);
  if (whole?.names !== names) {
    const rows = buffer.byteLength / (names * Float64Array.BYTES_PER_ELEMENT);
    const source = new Float64Array(buffer);
    const shared = buffer instanceof SharedArrayBuffer;
    const values = nameMajor(source, rows, names, shared ? new Float64Array(new SharedArrayBuffer(buffer.byteLength)) : undefined);
    const lastGap = lastGaps(values, rows, shared ? new Int32Array(new SharedArrayBuffer(values.length * Int32Array.BYTES_PER_ELEMENT)) : undefined);
    whole = { names, rows, values, lastGap, latest: new Map() };
    transposed.set(buffer, whole);
  }
  return whole;
}

/** The name-major copy of a whole row-major array and its gap index, as `sharedNameMajor` reads windows of them. */
export interface WholeNameMajor {
  readonly values: Float64Array;
  readonly lastGap: Int32Array;
}

/**
 * The name-major copy of the whole row-major array `values` (`names` wide) that `sharedNameMajor`
 * reads its windows from; in shared memory when `values` is, so another thread can adopt it.
 */
export function nameMajorOfWhole(values: Float64Array, names: number): WholeNameMajor {
  const { values: transposedValues, lastGap } = transposedWhole(values.buffer, names);
  return { values: transposedValues, lastGap };
}

/** Uses `whole` — `nameMajorOfWhole(values, names)` computed by another thread — for `values`. */
export function adoptNameMajor(values: Float64Array, names: number, whole: WholeNameMajor): void {
  const cells = values.buffer.byteLength / Float64Array.BYTES_PER_ELEMENT;
  if (whole.values.length !== cells || whole.lastGap.length !== cells) throw new RangeError('transposed copy does not match the array');
  transposed.set(values.buffer, { names, rows: cells / names, ...whole, latest: new Map() });
}

interface TransposedBuffer extends WholeNameMajor {
  readonly names: number;
  readonly rows: number;
  /** The latest window of each length handed out. */
  readonly latest: Map<number, NameMajorWindow>;
}

/** Per buffer: its name-major copy and the latest window of each length handed out. */
const transposed = new WeakMap<ArrayBufferLike, TransposedBuffer>();
