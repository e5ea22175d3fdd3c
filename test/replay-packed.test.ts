import { describe, expect, it } from 'vitest';
import { attachedDenseTargets, signalRecord, stateOfSleeve } from '../src/engine/sleeve-vectors.js';
import type { StrategyOutput } from '../src/engine/strategy.js';
import { packOutput, packSignal, packStateSleeve, signalEquals, sleeveEquals, unpackOutput } from '../src/replay/packed.js';

const tickers = ['AAA', 'BBB', 'CCC', 'DDD'];

describe('packed strategy outputs', () => {
  it('unpack to an output equal to the original, with its dense targets attached', () => {
    const output: StrategyOutput = {
      targets: [
        { ticker: 'CCC', weight: -0.25, score: 3, meta: { volatility: 0.3, rank: 4, leg: 'short' } },
        { ticker: 'AAA', weight: 0.5, score: 1, meta: { volatility: 0.1, rank: 1, leg: 'long' } },
        { ticker: 'DDD', weight: -0, score: 2, meta: { volatility: 0.2, rank: 2, leg: 'long' } },
      ],
      notes: ['n'],
      state: { k: 1 },
    };
    const unpacked = unpackOutput(structuredClone(packOutput(output, tickers)), tickers);
    expect(Object.keys(unpacked)).toEqual(['targets', 'notes', 'state']);
    expect(unpacked).toEqual(output);
    const dense = attachedDenseTargets(unpacked, tickers)!;
    expect(Array.from(dense)).toEqual([0.5, 0, -0.25, -0]);
    expect(Object.is(dense[3], -0)).toBe(true);
    expect(attachedDenseTargets(unpacked, [...tickers])).toBeUndefined(); // another ticker list: not this vector
  });

  it('carry a meta column of texts as its distinct texts and a code per target, and give back the same texts, nulls and mixed columns', () => {
    const output: StrategyOutput = {
      targets: [
        { ticker: 'AAA', weight: 0.5, meta: { leg: 'short', note: null, mixed: 'a' } },
        { ticker: 'BBB', weight: 0.25, meta: { leg: 'long', note: 'x', mixed: 1 } },
        { ticker: 'CCC', weight: 0.25, meta: { leg: 'long', note: null, mixed: -0 } },
      ],
    };
    const packed = packOutput(output, tickers);
    if (!('packed' in packed)) throw new Error('expected columns');
    expect(packed.packed.metaColumns[0]).toEqual({ texts: ['short', 'long'], codes: Int32Array.from([0, 1, 1]) });
    expect(packed.packed.metaColumns[1]).toEqual({ texts: [null, 'x'], codes: Int32Array.from([0, 1, 0]) });
    expect(packed.packed.metaColumns[2]).toEqual(['a', 1, -0]);
    const unpacked = unpackOutput(structuredClone(packed), tickers);
    expect(unpacked).toEqual(output);
    expect(Object.is(unpacked.targets[2]!.meta!.mixed, -0)).toBe(true);
  });

  it('travel as they are when a target does not have the columns\' exact keys, so nothing is lost or reordered', () => {
    const inherited = Object.assign(Object.create({ extra: 1 }) as object, { ticker: 'AAA', weight: 0.5 }) as { ticker: string; weight: number };
    const odd: StrategyOutput[] = [
      { targets: [{ weight: 0.5, ticker: 'AAA' }] },
      { targets: [{ ticker: 'AAA', weight: 0.5 }, { ticker: 'BBB', weight: 0.5, score: 1 }] },
      { targets: [inherited] },
      { targets: [{ ticker: 'AAA', weight: 0.5, meta: { a: 1 } }, { ticker: 'BBB', weight: 0.5, meta: { b: 1 } }] },
    ];
    for (const output of odd) expect(packOutput(output, tickers)).toEqual({ raw: output });
  });

  it('attach no vector when the targets would fail the pipeline\'s checks, so the books check them as in-process', () => {
    const twice: StrategyOutput = { targets: [{ ticker: 'AAA', weight: 0.5 }, { ticker: 'AAA', weight: 0.5 }] };
    const notFinite: StrategyOutput = { targets: [{ ticker: 'BBB', weight: Number.NaN }] };
    for (const output of [twice, notFinite]) {
      const unpacked = unpackOutput(packOutput(output, tickers), tickers);
      expect(unpacked).toEqual(output);
      expect(attachedDenseTargets(unpacked, tickers)).toBeUndefined();
    }
  });
});

describe('signalEquals', () => {
  const vector = Float64Array.from([0.25, 0, -0.5, 0.25]);

  it('matches a record to its packed form whether or not the record came from a vector', () => {
    const fromVector = signalRecord(vector, tickers);
    const literal = { AAA: 0.25, CCC: -0.5, DDD: 0.25 };
    for (const record of [fromVector, literal]) {
      expect(signalEquals(record, packSignal(literal, tickers)!, tickers)).toBe(true);
      expect(signalEquals(record, { tickers: Int32Array.of(0, 2, 3), weights: Float64Array.of(0.25, -0.5, 0.3) }, tickers)).toBe(false);
      expect(signalEquals(record, { tickers: Int32Array.of(0, 2), weights: Float64Array.of(0.25, -0.5) }, tickers)).toBe(false);
      expect(signalEquals(record, { tickers: Int32Array.of(0, 1, 3), weights: Float64Array.of(0.25, -0.5, 0.25) }, tickers)).toBe(false);
    }
  });

  it('tells the order of a record\'s names and −0 from +0, as code reading the record could', () => {
    const reordered = { DDD: 0.25, AAA: 0.25, CCC: -0.5 };
    expect(signalEquals(reordered, packSignal({ AAA: 0.25, CCC: -0.5, DDD: 0.25 }, tickers)!, tickers)).toBe(false);
    expect(signalEquals(reordered, packSignal(reordered, tickers)!, tickers)).toBe(true);
    const zero = signalRecord(Float64Array.from([0.5, 0, 0, 0]), tickers);
    expect(signalEquals(zero, { tickers: Int32Array.of(0), weights: Float64Array.of(0.5) }, tickers)).toBe(true);
    expect(signalEquals({ AAA: -0 }, { tickers: Int32Array.of(0), weights: Float64Array.of(0) }, tickers)).toBe(false);
  });
});

describe('sleeveEquals', () => {
  const vector = Float64Array.from([0.25, 0, -0.5, 0.25]);
  const packed = { tickers: Int32Array.of(0, 2, 3), weights: Float64Array.of(0.25, -0.5, 0.25) };

  it('compares a state\'s vector with a packed sleeve as signalEquals compares its record', () => {
    const state = stateOfSleeve({ lastRebalance: null, custom: null }, vector, tickers);
    expect(sleeveEquals(state, packed, tickers)).toBe(true);
    expect(sleeveEquals(state, { tickers: Int32Array.of(0, 2, 3), weights: Float64Array.of(0.25, -0.5, 0.3) }, tickers)).toBe(false);
    expect(sleeveEquals(state, { tickers: Int32Array.of(0, 2), weights: Float64Array.of(0.25, -0.5) }, tickers)).toBe(false);
    expect(sleeveEquals(stateOfSleeve({ lastRebalance: null, custom: null }, Float64Array.from([-0, 0, 0, 0]), tickers), { tickers: new Int32Array(0), weights: new Float64Array(0) }, tickers)).toBe(true);
  });

  it('falls back to the record of a state without a vector, and takes no state as an empty sleeve', () => {
    expect(sleeveEquals({ lastRebalance: null, signal: { AAA: 0.25, CCC: -0.5, DDD: 0.25 }, custom: null }, packed, tickers)).toBe(true);
    expect(sleeveEquals({ lastRebalance: null, signal: { DDD: 0.25, AAA: 0.25, CCC: -0.5 }, custom: null }, packed, tickers)).toBe(false);
    expect(sleeveEquals(null, { tickers: new Int32Array(0), weights: new Float64Array(0) }, tickers)).toBe(true);
    expect(sleeveEquals(null, packed, tickers)).toBe(false);
  });
});

describe('packStateSleeve', () => {
  it('packs a state\'s vector as packSignal packs its record, falls back to the record, and packs no state as an empty sleeve', () => {
    const fromVector = stateOfSleeve({ lastRebalance: null, custom: null }, Float64Array.from([0.25, 0, -0.5, -0]), tickers);
    expect(packStateSleeve(fromVector, tickers)).toEqual(packSignal(fromVector.signal, tickers));
    expect(packStateSleeve(fromVector, tickers)).toEqual({ tickers: Int32Array.of(0, 2), weights: Float64Array.of(0.25, -0.5) });
    const reordered = { lastRebalance: null, signal: { CCC: -0.5, AAA: 0.25 }, custom: null };
    expect(packStateSleeve(reordered, tickers)).toEqual({ tickers: Int32Array.of(2, 0), weights: Float64Array.of(-0.5, 0.25) });
    expect(packStateSleeve(null, tickers)).toEqual({ tickers: new Int32Array(0), weights: new Float64Array(0) });
    expect(packStateSleeve({ lastRebalance: null, signal: { ZZZ: 1 }, custom: null }, tickers)).toBeNull();
  });
});
