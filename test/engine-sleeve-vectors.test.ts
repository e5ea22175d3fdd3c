import { describe, expect, it } from 'vitest';
import { sameSleeve, signalRecord, stateOfSleeve, stateSleeve } from '../src/engine/sleeve-vectors.js';
import { SharedStrategyOutputs } from '../src/engine/shared-outputs.js';
import type { PointInTimeMarket } from '../src/data/panel.js';
import type { StrategyState } from '../src/state/store.js';

const tickers = ['AAA', 'BBB', 'CCC', 'DDD'];
const vector = Float64Array.from([0.25, 0, -0.5, 0.25]);

describe('states made from a sleeve vector', () => {
  it('read, serialise and clone exactly as a state holding the vector\'s record', () => {
    const state = stateOfSleeve({ lastRebalance: '2024-01-02', custom: { k: 1 }, sleeveReturns: [0.01] }, vector, tickers);
    const plain: StrategyState = { lastRebalance: '2024-01-02', signal: { AAA: 0.25, CCC: -0.5, DDD: 0.25 }, custom: { k: 1 }, sleeveReturns: [0.01] };
    expect(Object.keys(state)).toEqual(Object.keys(plain));
    expect(state).toEqual(plain);
    expect(JSON.stringify(state)).toBe(JSON.stringify(plain));
    expect(structuredClone(state)).toEqual(plain);
    expect(Object.keys(state.signal)).toEqual(['AAA', 'CCC', 'DDD']);
    expect(state.signal).toBe(signalRecord(vector, tickers)); // one record per vector, however many states hold it
  });

  it('omit sleeveReturns when given none, as a literal state without them', () => {
    const state = stateOfSleeve({ lastRebalance: null, custom: null }, vector, tickers);
    expect(Object.keys(state)).toEqual(['lastRebalance', 'signal', 'custom']);
  });

  it('hand out their vector as the dense sleeve for their tickers, and convert the record for any other list', () => {
    const state = stateOfSleeve({ lastRebalance: null, custom: null }, vector, tickers);
    expect(stateSleeve(state, tickers).weights).toBe(vector);
    expect(Array.from(stateSleeve(state, tickers).held)).toEqual([0, 2, 3]);
    const wider = ['AAA', 'BBB', 'BBC', 'CCC', 'DDD'];
    expect(Array.from(stateSleeve(state, wider).weights)).toEqual([0.25, 0, 0, -0.5, 0.25]);
    expect(Array.from(stateSleeve(null, tickers).weights)).toEqual([0, 0, 0, 0]);
  });
});

describe('sameSleeve', () => {
  const fromVector = (weights: Float64Array) => stateOfSleeve({ lastRebalance: null, custom: null }, weights, tickers);
  const literal = (signal: Record<string, number>): StrategyState => ({ lastRebalance: null, signal, custom: null });

  it('compares vectors by names and weights, telling −0 from +0', () => {
    expect(sameSleeve(fromVector(vector), fromVector(vector.slice()), tickers)).toBe(true);
    expect(sameSleeve(fromVector(vector), fromVector(Float64Array.from([0.25, 0, -0.5, 0.3])), tickers)).toBe(false);
    expect(sameSleeve(fromVector(vector), fromVector(Float64Array.from([0.25, 0.1, -0.5, 0.25])), tickers)).toBe(false);
    expect(sameSleeve(fromVector(Float64Array.from([0.5, 0, 0, 0])), literal({ AAA: 0.5 }), tickers)).toBe(true);
    expect(sameSleeve(literal({ AAA: -0 }), literal({ AAA: 0 }), tickers)).toBe(false);
  });

  it('compares a record\'s name order, which a strategy reading its prior sleeve can see', () => {
    expect(sameSleeve(fromVector(vector), literal({ AAA: 0.25, CCC: -0.5, DDD: 0.25 }), tickers)).toBe(true);
    expect(sameSleeve(fromVector(vector), literal({ DDD: 0.25, AAA: 0.25, CCC: -0.5 }), tickers)).toBe(false);
  });

  it('takes no state as an empty sleeve', () => {
    expect(sameSleeve(null, fromVector(new Float64Array(4)), tickers)).toBe(true);
    expect(sameSleeve(null, literal({}), tickers)).toBe(true);
    expect(sameSleeve(null, fromVector(vector), tickers)).toBe(false);
  });
});

describe('SharedStrategyOutputs', () => {
  const market = { tickers } as unknown as PointInTimeMarket;

  it('shares an output between books handing equal states, and computes again for a different sleeve', async () => {
    const shared = new SharedStrategyOutputs();
    let computed = 0;
    const compute = () => ({ targets: [{ ticker: 'AAA', weight: ++computed }] });
    const a = stateOfSleeve({ lastRebalance: null, custom: { n: 1 } }, vector, tickers);
    const equal: StrategyState = { lastRebalance: null, signal: { AAA: 0.25, CCC: -0.5, DDD: 0.25 }, custom: { n: 1 } };
    const otherSleeve = stateOfSleeve({ lastRebalance: null, custom: { n: 1 } }, Float64Array.from([0.25, 0, -0.5, 0]), tickers);
    const otherCustom = stateOfSleeve({ lastRebalance: null, custom: { n: 2 } }, vector, tickers);
    const first = await shared.output('s', market, a, compute);
    expect(await shared.output('s', market, equal, compute)).toBe(first);
    expect(await shared.output('s', market, otherSleeve, compute)).not.toBe(first);
    expect(await shared.output('s', market, otherCustom, compute)).not.toBe(first);
    expect(computed).toBe(3);
  });
});
