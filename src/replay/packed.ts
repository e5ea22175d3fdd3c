/**
 * Strategy outputs and sleeves in a form that crosses threads cheaply. Structured-cloning a
 * thousand small target objects, or a record with a thousand keys, costs the receiving thread
 * milliseconds — more than computing them — so targets travel as typed columns and sleeves as
 * (ticker index, weight) pairs. Unpacking gives back an output equal to the original property for
 * property, in the same order; an output whose targets do not fit the columns travels as it is.
 */
import type { SleeveTarget, StrategyOutput } from '../engine/strategy.js';
import { tickerPositions } from '../data/ticker-index.js';
import { attachDenseTargets, attachedTargetColumns, NO_SIGNAL, orderedDenseSignal, orderedStateSleeve, targetsFromColumns, type DenseSignal, type TargetColumns, type TargetMetaValue } from '../engine/sleeve-vectors.js';
import type { StrategyState } from '../state/store.js';

export type PackedOutput =
  | { readonly packed: PackedColumns; readonly rest: Omit<StrategyOutput, 'targets'>; readonly keys: readonly string[] }
  | { readonly raw: StrategyOutput };

/**
 * Target columns with each column of texts (a factor target's leg) as its distinct texts and one
 * code per target: the receiving thread would allocate every one of a thousand cloned strings,
 * and keep them while the output waits its session.
 */
type PackedColumns = Omit<TargetColumns, 'metaColumns'> & { readonly metaColumns: readonly (Float64Array | readonly TargetMetaValue[] | CodedTexts)[] };

interface CodedTexts {
  readonly texts: readonly (string | null)[];
  readonly codes: Int32Array;
}

/** The output in columns; a strategy that attached its targets' columns (the factor kit) is packed without reading its targets. */
export function packOutput(output: StrategyOutput, tickers: readonly string[]): PackedOutput {
  const columns = attachedTargetColumns(output, tickers) ?? packTargets(output.targets, tickers);
  if (!columns) return { raw: output };
  const packed: PackedColumns = { ...columns, metaColumns: columns.metaColumns.map(codedTexts) };
  const keys = Object.keys(output);
  const rest: Record<string, unknown> = {};
  for (const key of keys) if (key !== 'targets') rest[key] = output[key as keyof StrategyOutput];
  return { packed, rest: rest as Omit<StrategyOutput, 'targets'>, keys };
}

/**
 * The output as the strategy returned it. Its targets are built when first read — a replay's
 * books only need their dense vector, attached here when the columns pass the pipeline's checks
 * (finite weights, no ticker twice; otherwise the books check the targets and fail the strategy
 * as they would in-process).
 */
export function unpackOutput(message: PackedOutput, tickers: readonly string[]): StrategyOutput {
  if ('raw' in message) return message.raw;
  const { packed } = message;
  const output: Record<string, unknown> = {};
  let targets: SleeveTarget[] | null = null;
  for (const key of message.keys) {
    if (key === 'targets') {
      Object.defineProperty(output, key, { enumerable: true, configurable: true, get: () => (targets ??= targetsFromColumns({ ...packed, metaColumns: packed.metaColumns.map(decodedTexts) }, tickers)) });
    } else output[key] = message.rest[key as keyof typeof message.rest];
  }
  const dense = denseColumns(packed, tickers.length);
  if (dense) attachDenseTargets(output, tickers, dense);
  return output as unknown as StrategyOutput;
}

/** A column of texts (or nulls) coded; any other column as it is. */
function codedTexts(column: Float64Array | readonly TargetMetaValue[]): Float64Array | readonly TargetMetaValue[] | CodedTexts {
  if (column instanceof Float64Array) return column;
  const texts: (string | null)[] = [];
  const codeOf = new Map<string | null, number>();
  const codes = new Int32Array(column.length);
  for (let k = 0; k < column.length; k++) {
    const value = column[k]!;
    if (typeof value === 'number') return column;
    let code = codeOf.get(value);
    if (code === undefined) {
      code = texts.length;
      texts.push(value);
      codeOf.set(value, code);
    }
    codes[k] = code;
  }
  return { texts, codes };
}

function decodedTexts(column: Float64Array | readonly TargetMetaValue[] | CodedTexts): Float64Array | readonly TargetMetaValue[] {
  if (!('codes' in column)) return column;
  const { texts, codes } = column;
  return Array.from(codes, (code) => texts[code] as string | null);
}

function denseColumns(packed: PackedColumns, size: number): Float64Array | null {
  const dense = new Float64Array(size);
  const seen = new Uint8Array(size);
  for (let k = 0; k < packed.tickers.length; k++) {
    const i = packed.tickers[k]!;
    const weight = packed.weights[k]!;
    if (!Number.isFinite(weight) || seen[i] === 1) return null;
    seen[i] = 1;
    dense[i] = weight;
  }
  return dense;
}

const SHAPES = [
  ['ticker', 'weight'],
  ['ticker', 'weight', 'score'],
  ['ticker', 'weight', 'meta'],
  ['ticker', 'weight', 'score', 'meta'],
] as const;

function packTargets(targets: readonly SleeveTarget[], tickers: readonly string[]): TargetColumns | null {
  if (!Array.isArray(targets)) return null;
  const positions = tickerPositions(tickers);
  const first = targets[0];
  const shape = first ? SHAPES.find((s) => sameKeys(first, s)) : SHAPES[0];
  if (!shape) return null;
  const metaKeys = shape.includes('meta' as never) && first?.meta ? Object.keys(first.meta) : null;
  if (shape.includes('meta' as never) && metaKeys === null) return null;
  const n = targets.length;
  const packedTickers = new Int32Array(n);
  const weights = new Float64Array(n);
  const scores = shape.includes('score' as never) ? new Float64Array(n) : null;
  const metaValues: TargetMetaValue[][] = (metaKeys ?? []).map(() => []);
  for (let k = 0; k < n; k++) {
    const target = targets[k]!;
    const index = positions.get(target.ticker);
    if (index === undefined || !sameKeys(target, shape) || typeof target.weight !== 'number') return null;
    packedTickers[k] = index;
    weights[k] = target.weight;
    if (scores) {
      if (typeof target.score !== 'number') return null;
      scores[k] = target.score;
    }
    if (metaKeys) {
      const meta = target.meta;
      if (!meta || !sameKeys(meta, metaKeys)) return null;
      for (let m = 0; m < metaKeys.length; m++) metaValues[m]!.push(meta[metaKeys[m]!]!);
    }
  }
  const metaColumns = metaValues.map((column) => (column.every((v) => typeof v === 'number') ? Float64Array.from(column as number[]) : column));
  return { tickers: packedTickers, weights, scores, metaKeys, metaColumns };
}

/**
 * Whether `Object.keys(value)` is exactly `keys`, without building that array: a packed output
 * checks every target and its meta. An inherited enumerable key fails it (the output then travels
 * as it is, which is always correct).
 */
function sameKeys(value: object, keys: readonly string[]): boolean {
  let k = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || key !== keys[k]) return false;
    k++;
  }
  return k === keys.length;
}

/** A sleeve record (ticker → weight, in the record's order) as ticker indices and weights. */
export interface PackedSignal {
  readonly tickers: Int32Array;
  readonly weights: Float64Array;
}

export function packSignal(signal: Readonly<Record<string, number>>, tickers: readonly string[]): PackedSignal | null {
  const positions = tickerPositions(tickers);
  const keys = Object.keys(signal);
  const packed = { tickers: new Int32Array(keys.length), weights: new Float64Array(keys.length) };
  for (let k = 0; k < keys.length; k++) {
    const index = positions.get(keys[k]!);
    if (index === undefined) return null;
    packed.tickers[k] = index;
    packed.weights[k] = signal[keys[k]!]!;
  }
  return packed;
}

/** Whether `signal` is exactly the packed sleeve: same tickers in the same order, same weights (0 ≠ −0). */
export function signalEquals(signal: Readonly<Record<string, number>>, packed: PackedSignal, tickers: readonly string[]): boolean {
  // Several books (and the divergence check) hold the same record: compare it to a given sleeve once.
  if (equalPairs.get(signal) === packed) return true;
  const dense = orderedDenseSignal(signal, tickers);
  if (!(dense ? sameDense(dense, packed) : sameRecord(signal, packed, tickers))) return false;
  equalPairs.set(signal, packed);
  return true;
}

/** `signalEquals` for the prior sleeve a state hands its strategy (none: an empty sleeve), without building its record when it carries a vector. */
export function sleeveEquals(state: StrategyState | null, packed: PackedSignal, tickers: readonly string[]): boolean {
  const dense = state === null ? undefined : orderedStateSleeve(state, tickers);
  if (!dense) return signalEquals(state?.signal ?? NO_SIGNAL, packed, tickers);
  if (equalPairs.get(dense) === packed) return true;
  if (!sameDense(dense, packed)) return false;
  equalPairs.set(dense, packed);
  return true;
}

const equalPairs = new WeakMap<object, PackedSignal>();

/** Packed sleeves of the vectors states carry, made once per vector. */
const packedVectors = new WeakMap<Float64Array, PackedSignal>();

/**
 * The prior sleeve a state hands its strategy (none: an empty sleeve), packed: from its vector when
 * it carries one (its record would be the vector's non-zero weights in ticker order), else from its
 * record. Null when the record names a ticker not in `tickers`.
 */
export function packStateSleeve(state: StrategyState | null, tickers: readonly string[]): PackedSignal | null {
  const dense = state === null ? undefined : orderedStateSleeve(state, tickers);
  if (!dense) return packSignal(state?.signal ?? NO_SIGNAL, tickers);
  let packed = packedVectors.get(dense.weights);
  if (!packed) {
    const values = new Float64Array(dense.held.length);
    for (let k = 0; k < dense.held.length; k++) values[k] = dense.weights[dense.held[k]!]!;
    packed = { tickers: dense.held, weights: values };
    packedVectors.set(dense.weights, packed);
  }
  return packed;
}

/** A sleeve whose record's keys are its held names in ticker order: indices and weights compared without a name in sight. */
function sameDense({ held, weights }: DenseSignal, packed: PackedSignal): boolean {
  if (held.length !== packed.tickers.length) return false;
  for (let k = 0; k < held.length; k++) if (held[k] !== packed.tickers[k] || !Object.is(weights[held[k]!], packed.weights[k])) return false;
  return true;
}

function sameRecord(signal: Readonly<Record<string, number>>, packed: PackedSignal, tickers: readonly string[]): boolean {
  const keys = Object.keys(signal);
  if (keys.length !== packed.tickers.length) return false;
  for (let k = 0; k < keys.length; k++) {
    if (keys[k] !== tickers[packed.tickers[k]!] || !Object.is(signal[keys[k]!], packed.weights[k])) return false;
  }
  return true;
}
