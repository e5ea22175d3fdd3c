/**
 * The numeric core's hot loops as WebAssembly SIMD (kernels.wat): per-column moments, squared
 * changes and weighted row sums over row-major `rows × n` blocks such as `market.returns(T)`.
 * Results are bit-identical to the plain loops they replace (each lane sums in the same order);
 * V8 runs those loops at 2–3 ns a value, the kernels at a fraction of that.
 *
 * Each thread has its own instance and memory. A block has to be in that memory: an array marked
 * immutable (`markImmutable`, the panel's returns) is copied in whole once and every window of it
 * is an offset; anything else is copied for the call.
 */
import { KERNELS_WASM_BASE64 } from './kernels-binary.js';

interface KernelExports {
  columnMoments(src: number, rows: number, n: number, limit: number, emptyMean: number, counts: number, means: number, squares: number, fourths: number): void;
  squaredChanges(src: number, rows: number, n: number, limit: number, counts: number, sums: number): void;
  weightedRowSums(src: number, rows: number, n: number, columns: number, listed: number, weights: number, means: number, out: number): void;
  crossProducts(src: number, rows: number, width: number, out: number): void;
}

/** Which values of a block a kernel counts: `finite`, or every value but NaN (`not-nan`). */
export type Counted = 'finite' | 'not-nan';

const LIMITS: Record<Counted, number> = { finite: Number.MAX_VALUE, 'not-nan': Number.POSITIVE_INFINITY };
const PAGE_BYTES = 65536;
/** Scratch arrays start on 16-byte boundaries. */
const ALIGN = 16;
/** Readable bytes after every block: a column kernel's last block of eight may reach past its row. */
const BLOCK_SLACK = 64;

const immutableBuffers = new WeakSet<ArrayBufferLike>();

/**
 * Promises that `values` and the whole buffer behind it never change again (a loaded panel's
 * arrays): kernels may then keep one copy of it for every later call, instead of one per call.
 */
export function markImmutable(values: Float64Array): void {
  immutableBuffers.add(values.buffer);
}

/** Whether `values` is (a view of) an array marked immutable: what is derived from it can be kept. */
export function isImmutable(values: Float64Array): boolean {
  return immutableBuffers.has(values.buffer);
}

class KernelMemory {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  readonly kernels: KernelExports;
  private resident: ArrayBufferLike | null = null;
  /** First byte after the resident copy: where each call's scratch starts. */
  private scratchBase = 0;
  private top = 0;

  constructor() {
    const module = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    this.kernels = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
  }

  /** Starts a call: its scratch is released by the next `begin`. */
  begin(): void {
    this.top = this.scratchBase;
  }

  /** Where `block` is in kernel memory: inside the resident copy of an immutable buffer, else copied into scratch. */
  locate(block: Float64Array): number {
    const buffer = block.buffer;
    if (immutableBuffers.has(buffer)) {
      if (this.resident !== buffer) this.makeResident(buffer);
      return block.byteOffset;
    }
    const at = this.allocate(block.byteLength + BLOCK_SLACK);
    new Float64Array(this.memory.buffer, at, block.length).set(block);
    return at;
  }

  /** A zeroed scratch area of `bytes`, 16-byte aligned. */
  allocate(bytes: number): number {
    const at = this.top;
    this.top = align(at + bytes);
    this.reserve(this.top);
    new Uint8Array(this.memory.buffer, at, this.top - at).fill(0);
    return at;
  }

  /** Copies `values` into a new scratch area. */
  place(values: Float64Array | Int32Array): number {
    const at = this.allocate(values.byteLength);
    new Uint8Array(this.memory.buffer, at, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return at;
  }

  f64(at: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, at, length);
  }

  i32(at: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, length);
  }

  private makeResident(buffer: ArrayBufferLike): void {
    this.resident = null;
    this.reserve(buffer.byteLength + BLOCK_SLACK);
    new Uint8Array(this.memory.buffer).set(new Uint8Array(buffer));
    this.resident = buffer;
    this.scratchBase = align(buffer.byteLength + BLOCK_SLACK);
    this.top = this.scratchBase;
  }

  private reserve(bytes: number): void {
    const missing = bytes - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE_BYTES));
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}

let memory: KernelMemory | null = null;

function kernelMemory(): KernelMemory {
  memory ??= new KernelMemory();
  memory.begin();
  return memory;
}

function checkBlock(block: Float64Array, rows: number, n: number): void {
  if (!(Number.isInteger(rows) && rows >= 0 && Number.isInteger(n) && n >= 0)) throw new RangeError(`block shape ${rows} × ${n} is not a pair of counts`);
  if (block.length !== rows * n) throw new RangeError(`block has ${block.length} values, expected ${rows} × ${n}`);
}

/** Bytes of a per-column float64 output: n rounded up to whole blocks of eight columns. */
function columnBytes(n: number): number {
  return Math.ceil(n / 8) * 8 * Float64Array.BYTES_PER_ELEMENT;
}

export interface ColumnMomentsOptions {
  readonly counted: Counted;
  /** The mean of a column with no counted value. */
  readonly emptyMean: number;
  /** Whether to compute Σ((x − mean)²)² too. */
  readonly fourthPowers: boolean;
}

export interface ColumnMomentArrays {
  readonly observations: Int32Array;
  readonly means: Float64Array;
  /** Σ (x − mean)² over the counted values. */
  readonly sumSquares: Float64Array;
  /** Σ ((x − mean)²)²; empty unless asked for. */
  readonly sumFourthPowers: Float64Array;
}

/**
 * Per column of a row-major `rows × n` block, over its counted values in row order: how many, their
 * mean, and centred sums of squares (and fourth powers) — two passes, mean first, as a column loop
 * `sum += x; …; mean = sum / count; squares += (x − mean)·(x − mean)` computes them.
 */
export function columnMoments(block: Float64Array, rows: number, n: number, options: ColumnMomentsOptions): ColumnMomentArrays {
  checkBlock(block, rows, n);
  const mem = kernelMemory();
  const src = mem.locate(block);
  const bytes = columnBytes(n);
  const counts = mem.allocate(bytes / 2);
  const means = mem.allocate(bytes);
  const squares = mem.allocate(bytes);
  const fourths = options.fourthPowers ? mem.allocate(bytes) : 0;
  mem.kernels.columnMoments(src, rows, n, LIMITS[options.counted], options.emptyMean, counts, means, squares, fourths);
  return {
    observations: mem.i32(counts, n).slice(),
    means: mem.f64(means, n).slice(),
    sumSquares: mem.f64(squares, n).slice(),
    sumFourthPowers: options.fourthPowers ? mem.f64(fourths, n).slice() : new Float64Array(0),
  };
}

/** Per column, over rows 1…rows−1: the count and Σc² of the changes c = x_t − x_{t−1} that are counted. */
export function squaredChanges(block: Float64Array, rows: number, n: number, counted: Counted): { readonly counts: Int32Array; readonly sums: Float64Array } {
  checkBlock(block, rows, n);
  const mem = kernelMemory();
  const src = mem.locate(block);
  const bytes = columnBytes(n);
  const counts = mem.allocate(bytes / 2);
  const sums = mem.allocate(2 * bytes); // the second half holds the kernel's per-lane tallies
  mem.kernels.squaredChanges(src, rows, n, LIMITS[counted], counts, sums);
  return { counts: mem.i32(counts, n).slice(), sums: mem.f64(sums, n).slice() };
}

/**
 * p_t = Σ_k weights[k]·(x_{t, columns[k]} − means[k]) for each row t of a row-major `rows × n`
 * block, the terms added in list order; a NaN x contributes weights[k]·0.
 */
export function weightedRowSums(block: Float64Array, rows: number, n: number, columns: Int32Array, weights: Float64Array, means: Float64Array): Float64Array {
  checkBlock(block, rows, n);
  if (weights.length !== columns.length || means.length !== columns.length) throw new RangeError(`${columns.length} columns need as many weights and means, got ${weights.length} and ${means.length}`);
  for (let k = 0; k < columns.length; k++) if (!(columns[k]! >= 0 && columns[k]! < n)) throw new RangeError(`column ${columns[k]} outside 0…${n - 1}`);
  const mem = kernelMemory();
  const src = mem.locate(block);
  const listedColumns = mem.place(columns);
  const listedWeights = mem.place(weights);
  const listedMeans = mem.place(means);
  const out = mem.allocate(rows * Float64Array.BYTES_PER_ELEMENT);
  mem.kernels.weightedRowSums(src, rows, n, listedColumns, columns.length, listedWeights, listedMeans, out);
  return mem.f64(out, rows).slice();
}

/**
 * The cross products G[k][l] = Σ_t x_{t,k}·x_{t,l} of the columns of a row-major `rows × width`
 * block, each summed in row order, as a `width × width` row-major matrix of which only the entries
 * with l ≥ k are filled in. `width` must be a multiple of 4 (pad with zero columns).
 */
export function upperCrossProducts(block: Float64Array, rows: number, width: number): Float64Array {
  checkBlock(block, rows, width);
  if (width % 4 !== 0) throw new RangeError(`cross products need a width that is a multiple of 4, got ${width}`);
  const mem = kernelMemory();
  const src = mem.locate(block);
  const out = mem.allocate(width * width * Float64Array.BYTES_PER_ELEMENT);
  mem.kernels.crossProducts(src, rows, width, out);
  return mem.f64(out, width * width).slice();
}
