import { nonZeroIndices } from '../core/vectors.js';
import { tickerPositions } from '../data/ticker-index.js';
import type { StrategyState } from '../state/store.js';
import { jsonEqual } from '../core/json.js';
import type { SleeveTarget } from './strategy.js';

/**
 * Sleeves travel in two shapes: a ticker → weight record in persisted state, and a dense vector
 * aligned with the market's tickers in the pipeline. Replay runs several books over one panel,
 * and every book holding a strategy converts the same sleeve; these caches, keyed by object
 * identity, make each conversion happen once. Vectors handed out are shared: read them, never
 * write them.
 */
export interface DenseSignal {
  readonly weights: Float64Array;
  /** Indices with a non-zero weight, ascending. */
  readonly held: Int32Array;
  /** Tickers in the record that the market does not have. */
  readonly unknown: readonly string[];
}

const denseBySignal = new WeakMap<object, { tickers: readonly string[]; dense: DenseSignal }>();
/** Records built by `signalRecord`: their keys are exactly their vector's held names, in ascending order. */
const recordsInTickerOrder = new WeakSet<object>();
const signalByWeights = new WeakMap<Float64Array, Readonly<Record<string, number>>>();
const mapBySignal = new WeakMap<object, ReadonlyMap<string, number>>();

export function denseSignal(signal: Readonly<Record<string, number>>, tickers: readonly string[]): DenseSignal {
  const cached = denseBySignal.get(signal);
  if (cached && cached.tickers === tickers) return cached.dense;
  const positions = tickerPositions(tickers);
  const weights = new Float64Array(tickers.length);
  const unknown: string[] = [];
  for (const [ticker, weight] of Object.entries(signal)) {
    const i = positions.get(ticker);
    if (i === undefined) unknown.push(ticker);
    else weights[i] = weight;
  }
  const dense = { weights, held: nonZeroIndices(weights), unknown };
  denseBySignal.set(signal, { tickers, dense });
  return dense;
}

/** The record as a ticker → weight map (the strategy context's `priorSleeve`), in the record's order. */
export function signalMap(signal: Readonly<Record<string, number>>): ReadonlyMap<string, number> {
  let map = mapBySignal.get(signal);
  if (!map) {
    map = new Map(Object.entries(signal));
    mapBySignal.set(signal, map);
  }
  return map;
}

/** The record form of a sleeve vector, for state (only non-zero weights, in ticker order). */
export function signalRecord(weights: Float64Array, tickers: readonly string[]): Readonly<Record<string, number>> {
  let signal = signalByWeights.get(weights);
  if (!signal) {
    const record: Record<string, number> = {};
    for (let i = 0; i < weights.length; i++) if (weights[i] !== 0) record[tickers[i]!] = weights[i]!;
    signal = record;
    signalByWeights.set(weights, signal);
    recordsInTickerOrder.add(signal);
    // The record's own dense form is the vector it came from.
    denseBySignal.set(signal, { tickers, dense: vectorDense(weights) });
  }
  return signal;
}

const denseByWeights = new WeakMap<Float64Array, DenseSignal>();

function vectorDense(weights: Float64Array): DenseSignal {
  let dense = denseByWeights.get(weights);
  if (!dense) {
    dense = { weights, held: nonZeroIndices(weights), unknown: [] };
    denseByWeights.set(weights, dense);
  }
  return dense;
}

/** States made by `stateOfSleeve`: the vector their signal record is (or will be) built from. */
const sleeveByState = new WeakMap<object, { tickers: readonly string[]; weights: Float64Array }>();

/**
 * A strategy state whose signal is the sleeve vector `weights` (aligned with `tickers`). Its
 * `signal` record is `signalRecord(weights, tickers)`, built when first read — committing or
 * checkpointing — because a replay carries six books' states from session to session and reads
 * only their vectors: a thousand-key record per strategy output and thread was most of what the
 * states cost.
 */
export function stateOfSleeve(fields: Omit<StrategyState, 'signal'>, weights: Float64Array, tickers: readonly string[]): StrategyState {
  const state: StrategyState = {
    lastRebalance: fields.lastRebalance,
    get signal() {
      return signalRecord(weights, tickers);
    },
    custom: fields.custom,
    ...(fields.sleeveReturns !== undefined ? { sleeveReturns: fields.sleeveReturns } : {}),
  };
  sleeveByState.set(state, { tickers, weights });
  return state;
}

/**
 * The dense form of a state's sleeve over `tickers`, when it is known without reading a record:
 * the state was made by `stateOfSleeve` for these tickers, or its record by `signalRecord`. Its
 * record's keys are then exactly the held names in ticker order.
 */
export function orderedStateSleeve(state: StrategyState, tickers: readonly string[]): DenseSignal | undefined {
  const own = sleeveByState.get(state);
  if (own) return own.tickers === tickers ? vectorDense(own.weights) : undefined;
  return orderedDenseSignal(state.signal, tickers);
}

/** The dense form of a state's sleeve (of no state: an empty sleeve) over `tickers`, its record built only when it has no vector. */
export function stateSleeve(state: StrategyState | null, tickers: readonly string[]): DenseSignal {
  if (state === null) return denseSignal(NO_SIGNAL, tickers);
  return orderedStateSleeve(state, tickers) ?? denseSignal(state.signal, tickers);
}

/**
 * Whether two states hand a strategy the same prior sleeve: the same names, in the same order,
 * with the same weights (0 ≠ −0). Vectors are compared when both states have one.
 */
export function sameSleeve(a: StrategyState | null, b: StrategyState | null, tickers: readonly string[]): boolean {
  if (a === b) return true;
  const denseA = a === null ? EMPTY_DENSE : orderedStateSleeve(a, tickers);
  const denseB = b === null ? EMPTY_DENSE : orderedStateSleeve(b, tickers);
  if (denseA && denseB) {
    if (denseA.weights === denseB.weights) return true;
    if (denseA.held.length !== denseB.held.length) return false;
    for (let k = 0; k < denseA.held.length; k++) {
      const i = denseA.held[k]!;
      if (i !== denseB.held[k] || !Object.is(denseA.weights[i], denseB.weights[i])) return false;
    }
    return true;
  }
  return jsonEqual(a?.signal ?? NO_SIGNAL, b?.signal ?? NO_SIGNAL);
}

/** The sleeve of a strategy that has none yet. */
export const NO_SIGNAL: Readonly<Record<string, number>> = {};
const EMPTY_DENSE: DenseSignal = { weights: new Float64Array(0), held: new Int32Array(0), unknown: [] };

/**
 * The dense form of a record whose keys are known to be its held names in ticker order (one
 * `signalRecord` built for `tickers`), so that comparing it needs no look-up by name; else undefined.
 */
export function orderedDenseSignal(signal: object, tickers: readonly string[]): DenseSignal | undefined {
  if (!recordsInTickerOrder.has(signal)) return undefined;
  const cached = denseBySignal.get(signal);
  return cached?.tickers === tickers ? cached.dense : undefined;
}

/**
 * A fact about a strategy output, valid for one ticker list, kept beside the output (keyed by its
 * identity) rather than on it, so that nothing a strategy returns is changed.
 */
function outputAttachment<T>(): { attach(output: object, tickers: readonly string[], value: T): void; attached(output: object, tickers: readonly string[]): T | undefined } {
  const byOutput = new WeakMap<object, { tickers: readonly string[]; value: T }>();
  return {
    attach: (output, tickers, value) => byOutput.set(output, { tickers, value }),
    attached: (output, tickers) => {
      const entry = byOutput.get(output);
      return entry?.tickers === tickers ? entry.value : undefined;
    },
  };
}

const denseTargets = outputAttachment<Float64Array>();

/**
 * Declares `weights` (aligned with `tickers`) the checked dense form of `output`'s targets: every
 * weight finite, no ticker twice. Replay's strategy worker sends targets as columns, and the books
 * then need no target object to build their vectors.
 */
export const attachDenseTargets: (output: object, tickers: readonly string[], weights: Float64Array) => void = denseTargets.attach;

/** The dense targets attached to `output` for `tickers`, if any. */
export const attachedDenseTargets: (output: object, tickers: readonly string[]) => Float64Array | undefined = denseTargets.attached;

export type TargetMetaValue = string | number | null;

/** Targets as columns: each target's ticker index, weight and optional score and meta, in target order. */
export interface TargetColumns {
  readonly tickers: Int32Array;
  readonly weights: Float64Array;
  /** Present when every target has a score. */
  readonly scores: Float64Array | null;
  /** Present when every target has a meta with exactly these keys in this order; one column per key. */
  readonly metaKeys: readonly string[] | null;
  readonly metaColumns: readonly (Float64Array | readonly TargetMetaValue[])[];
}

/** The targets the columns describe, each `{ ticker, weight, score?, meta? }` with its keys in that order. */
export function targetsFromColumns(columns: TargetColumns, tickers: readonly string[]): SleeveTarget[] {
  const { scores, metaKeys, metaColumns } = columns;
  const targets: SleeveTarget[] = [];
  for (let k = 0; k < columns.tickers.length; k++) {
    const target: { ticker: string; weight: number; score?: number; meta?: Record<string, TargetMetaValue> } = { ticker: tickers[columns.tickers[k]!]!, weight: columns.weights[k]! };
    if (scores) target.score = scores[k]!;
    if (metaKeys) {
      // Assigned, not a computed key in a literal: V8 takes a slow path for those, per object.
      const meta: Record<string, TargetMetaValue> = {};
      for (let m = 0; m < metaKeys.length; m++) meta[metaKeys[m]!] = metaColumns[m]![k]!;
      target.meta = meta;
    }
    targets.push(target);
  }
  return targets;
}

const targetColumns = outputAttachment<TargetColumns>();

/**
 * Declares `columns` (ticker indices into `tickers`) exactly `output`'s targets, as
 * `targetsFromColumns` builds them: replay's worker then sends the columns without reading, or
 * building, a thousand target objects.
 */
export const attachTargetColumns: (output: object, tickers: readonly string[], columns: TargetColumns) => void = targetColumns.attach;

/** The target columns attached to `output` for `tickers`, if any. */
export const attachedTargetColumns: (output: object, tickers: readonly string[]) => TargetColumns | undefined = targetColumns.attached;

