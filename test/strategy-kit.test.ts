import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { DataError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/log.js';
import type { MarketPanel } from '../src/data/panel.js';
import { buildPanel } from '../src/data/panel-builder.js';
import { pointInTime } from '../src/data/point-in-time.js';
import { SeededRandom } from '../src/data/random.js';
import type { SleeveTarget, StrategyDefinition, StrategyOutput } from '../src/engine/strategy.js';
import {
  columnMoments,
  eligibleScores,
  factorParamsSchema,
  factorWarmupSessions,
  rankLongShort,
  rebalanceFactor,
  trailingReturnsWindow,
  type FactorParams,
  type FactorSpec,
  type LegParams,
} from '../src/strategy-kit/index.js';
import durbinWatson from '../strategies/durbin-watson/index.js';
import kurtosis from '../strategies/kurtosis/index.js';
import volatility from '../strategies/volatility/index.js';
import { fakeMarket, type FakeName } from './helpers/fake-market.js';
import { orderStatistics } from '../src/core/order-statistics.js';
import { packOutput, unpackOutput } from '../src/replay/packed.js';

const schema = factorParamsSchema({ window: 60, fewestObservations: 2 }, { flavour: z.enum(['plain', 'spicy']).default('plain') });
const params = (overrides: Partial<FactorParams> = {}): FactorParams => schema.parse(overrides);
const legParams = (overrides: Partial<LegParams> = {}): LegParams => ({
  quantile: 0.2,
  long_only: false,
  gross: 1,
  weighting: 'equal',
  longEnd: 'low',
  factor: 'value',
  ...overrides,
});
const letters = (count: number): string[] => Array.from({ length: count }, (_, i) => String.fromCharCode(65 + i));
const weightsOf = (targets: readonly SleeveTarget[]): Record<string, number> => Object.fromEntries(targets.map((t) => [t.ticker, t.weight]));
const legSum = (targets: readonly SleeveTarget[], leg: 'long' | 'short'): number =>
  targets.filter((t) => t.meta?.leg === leg).reduce((sum, t) => sum + t.weight, 0);

describe('factorParamsSchema', () => {
  it('fills the common defaults, derives min_observations from the window and keeps the extra keys', () => {
    expect(schema.parse({})).toEqual({
      window: 60,
      min_observations: 48,
      quantile: 0.2,
      long_only: false,
      gross: 1,
      min_adv: 2_000_000,
      weighting: 'equal',
      flavour: 'plain',
    });
    expect(schema.parse({ window: 21 }).min_observations).toBe(17);
    expect(schema.parse({ window: 10, min_observations: 10, flavour: 'spicy' })).toMatchObject({ min_observations: 10, flavour: 'spicy' });
    expect(factorWarmupSessions({ window: 60 })).toBe(61);
  });

  it.each([
    ['an unknown key', { lookback: 60 }],
    ['min_observations above the window', { window: 20, min_observations: 21 }],
    ['a window below the fewest observations', { window: 1 }],
    ['a fractional window', { window: 10.5 }],
    ['a zero quantile', { quantile: 0 }],
    ['overlapping legs', { quantile: 0.6 }],
    ['a zero gross', { gross: 0 }],
    ['a negative min_adv', { min_adv: -1 }],
    ['an unknown weighting', { weighting: 'cap' }],
    ['a non-boolean long_only', { long_only: 'yes' }],
    ['an unknown extra value', { flavour: 'sour' }],
  ])('rejects %s', (_label, input) => {
    expect(schema.safeParse(input).success).toBe(false);
  });

  it('explains a min_observations above the window', () => {
    const result = schema.safeParse({ window: 20, min_observations: 30 });
    expect(result.error?.issues).toEqual([expect.objectContaining({ path: ['min_observations'], message: '30 exceeds window (20)' })]);
  });
});

describe('trailingReturnsWindow', () => {
  const names: FakeName[] = [
    { ticker: 'A', returns: [0.01, 0.02, 0.03] },
    { ticker: 'B', returns: [0.04, 0.05, 0.06] },
  ];

  it('returns the last sessions, oldest row first', () => {
    const window = trailingReturnsWindow(fakeMarket({ names }), 2, 'test');
    expect(window).toMatchObject({ sessions: 2, names: 2 });
    expect([...window.returns]).toEqual([0.02, 0.05, 0.03, 0.06]);
  });

  it('throws a DataError naming the shortfall when the history is shorter than window + 1 sessions', () => {
    const market = fakeMarket({ names, history: 3 });
    expect(() => trailingReturnsWindow(market, 3, 'test')).toThrow(DataError);
    expect(() => trailingReturnsWindow(market, 3, 'test')).toThrow(
      'test at 2025-12-30: needs 3 daily returns (4 sessions of closes) but the history holds 3 session(s)',
    );
  });
});

describe('columnMoments', () => {
  it('uses only finite returns, centred on their own mean', () => {
    const market = fakeMarket({
      names: [
        { ticker: 'A', returns: [0.01, 0.03, Number.NaN, 0.02] },
        { ticker: 'B', returns: [Number.NaN, Number.POSITIVE_INFINITY, Number.NaN, 0.05] },
        { ticker: 'C', returns: [Number.NaN, Number.NaN, Number.NaN, Number.NaN] },
      ],
    });
    const moments = columnMoments(trailingReturnsWindow(market, 4, 'test'));
    expect([...moments.observations]).toEqual([3, 1, 0]);
    expect(moments.means[0]).toBeCloseTo(0.02, 15);
    expect(moments.means[1]).toBe(0.05);
    expect(moments.means[2]).toBeNaN();
    // A's deviations are −0.01, +0.01, 0.
    expect(moments.sumSquares[0]).toBeCloseTo(2e-4, 15);
    expect(moments.sumFourthPowers[0]).toBeCloseTo(2e-8, 20);
    expect([moments.sumSquares[1], moments.sumSquares[2], moments.sumFourthPowers[1]]).toEqual([0, 0, 0]);
  });

  it('gives every name exactly what a plain two-pass loop gives, gap-free names four at a time', () => {
    const sessions = 25;
    // Eleven names: F (index 5) has an infinite return, I (8) a leading gap, G (6) is constant.
    const names: FakeName[] = Array.from({ length: 11 }, (_, i) => ({
      ticker: String.fromCharCode(65 + i),
      returns: Array.from({ length: sessions }, (_, t) =>
        i === 5 && t === 9 ? Number.POSITIVE_INFINITY : i === 8 && t < 3 ? Number.NaN : i === 6 ? 0.03 : Math.sin(t * 0.9 + i) / (30 + i),
      ),
    }));
    const moments = columnMoments(trailingReturnsWindow(fakeMarket({ names }), sessions, 'test'));
    names.forEach((name, i) => {
      const finite = name.returns!.filter((r) => Number.isFinite(r));
      let sum = 0;
      for (const r of finite) sum += r;
      const mean = sum / finite.length;
      let squares = 0;
      let fourth = 0;
      for (const r of finite) {
        squares += (r - mean) * (r - mean);
        fourth += (r - mean) * (r - mean) * ((r - mean) * (r - mean));
      }
      const flat = i === 6;
      expect([moments.observations[i], moments.means[i], moments.sumSquares[i], moments.sumFourthPowers[i]], name.ticker).toEqual([finite.length, mean, flat ? 0 : squares, flat ? 0 : fourth]);
    });
  });

  it('reads a constant series as flat despite rounding in its mean', () => {
    const market = fakeMarket({ names: [{ ticker: 'PEG', returns: Array.from({ length: 120 }, () => 0.07) }] });
    const moments = columnMoments(trailingReturnsWindow(market, 120, 'test'));
    expect([moments.sumSquares[0], moments.sumFourthPowers[0]]).toEqual([0, 0]);
  });
});

describe('eligibleScores', () => {
  it('keeps names with a close, enough adv_20 and returns, and a defined factor; counts each exclusion once', () => {
    const names: FakeName[] = [
      { ticker: 'OK', close: 10, adv20: 3e6 },
      { ticker: 'EDGE', close: 10, adv20: 2e6 },
      { ticker: 'NOCLOSE', adv20: 3e6 },
      { ticker: 'THIN', close: 10, adv20: 1e6 },
      { ticker: 'NOADV', close: 10 },
      { ticker: 'FEW', close: 10, adv20: 3e6 },
      { ticker: 'UNDEF', close: 10, adv20: 3e6 },
    ];
    const market = fakeMarket({ names });
    const order = market.tickers; // EDGE FEW NOADV NOCLOSE OK THIN UNDEF
    const factor = Float64Array.from(order, (t) => (t === 'UNDEF' ? Number.NaN : 1));
    const observations = Int32Array.from(order, (t) => (t === 'FEW' ? 4 : t === 'EDGE' ? 5 : 9));
    const result = eligibleScores(market, factor, observations, { min_adv: 2e6, min_observations: 5 });
    expect(order.filter((_, i) => Number.isFinite(result.scores[i]!))).toEqual(['EDGE', 'OK']);
    expect(result.eligible).toBe(2);
    expect(result.excluded).toEqual({ noClose: 1, belowMinAdv: 2, fewObservations: 1, undefinedFactor: 1 });
  });
});

describe('rankLongShort', () => {
  // A..J scored 1..10.
  const tickers = letters(10);
  const oneToTen = Float64Array.from(tickers, (_, i) => i + 1);

  it('gives its targets as columns too: keys ticker, weight, score, meta { factor, rank, leg }, built only when read', () => {
    const book = rankLongShort(oneToTen, tickers, legParams());
    expect(Array.from(book.columns.tickers)).toEqual([0, 1, 8, 9]);
    expect(book.columns.metaKeys).toEqual(['value', 'rank', 'leg']);
    for (const target of book.targets) {
      expect(Object.keys(target)).toEqual(['ticker', 'weight', 'score', 'meta']);
      expect(Object.keys(target.meta!)).toEqual(['value', 'rank', 'leg']);
    }
    expect(book.targets).toBe(book.targets);
    expect(() => rankLongShort(oneToTen, tickers, legParams({ factor: 'rank' }))).toThrow(/cannot be called "rank"/);
  });

  it('gives its targets as a vector too, weight by weight the same, 0 outside the legs', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: -5, max: 5, noNaN: true }), fc.constant(Number.NaN)), { minLength: 1, maxLength: 40 }), fc.constantFrom<'equal' | 'score'>('equal', 'score'), (values, weighting) => {
        const names = letters(values.length);
        const book = rankLongShort(Float64Array.from(values), names, legParams({ weighting, quantile: 0.25 }));
        const expected = new Float64Array(values.length);
        for (const t of book.targets) expected[names.indexOf(t.ticker)] = t.weight;
        expect(book.weights).toEqual(expected);
      }),
    );
  });

  it('longs the lowest quantile and shorts the highest, equal weights summing to ±gross/2, sorted by ticker', () => {
    const book = rankLongShort(oneToTen, tickers, legParams());
    expect(book).toMatchObject({ eligible: 10, namesPerLeg: 2 });
    expect(book.targets.map((t) => [t.ticker, t.weight, t.score])).toEqual([
      ['A', 0.25, 1],
      ['B', 0.25, 2],
      ['I', -0.25, 9],
      ['J', -0.25, 10],
    ]);
    expect(book.targets.map((t) => t.meta)).toEqual([
      { value: 1, rank: 1, leg: 'long' },
      { value: 2, rank: 2, leg: 'long' },
      { value: 9, rank: 9, leg: 'short' },
      { value: 10, rank: 10, leg: 'short' },
    ]);
  });

  it('longs the highest end when asked and scales with gross', () => {
    const book = rankLongShort(oneToTen, tickers, legParams({ longEnd: 'high', gross: 2 }));
    expect(weightsOf(book.targets)).toEqual({ A: -0.5, B: -0.5, I: 0.5, J: 0.5 });
    expect(book.targets.find((t) => t.ticker === 'J')?.meta).toEqual({ value: 10, rank: 1, leg: 'long' });
  });

  it('puts all of gross in the long leg when long-only', () => {
    const book = rankLongShort(oneToTen, tickers, legParams({ long_only: true, quantile: 0.3 }));
    expect(book.targets.map((t) => t.ticker)).toEqual(['A', 'B', 'C']);
    expect(legSum(book.targets, 'long')).toBeCloseTo(1, 15);
    expect(legSum(book.targets, 'short')).toBe(0);
  });

  it('skips NaN scores and sizes the legs on the eligible count', () => {
    const scores = Float64Array.from(oneToTen, (v) => (v % 2 === 0 ? Number.NaN : v)); // A C E G I
    const book = rankLongShort(scores, tickers, legParams());
    expect(book).toMatchObject({ eligible: 5, namesPerLeg: 1 });
    expect(weightsOf(book.targets)).toEqual({ A: 0.5, I: -0.5 });
  });

  it('breaks ties by ticker, comparing the ticker strings rather than positions', () => {
    // B, C, D tie for lowest, H, I, J for highest: one global order (value, then ticker) decides both legs.
    const scores = Float64Array.from([5, 1, 1, 1, 5, 5, 5, 9, 9, 9]);
    expect(rankLongShort(scores, tickers, legParams()).targets.map((t) => t.ticker)).toEqual(['B', 'C', 'I', 'J']);
    const unsorted = ['Z', 'Y', 'A', 'B'];
    const flat = new Float64Array(4);
    expect(weightsOf(rankLongShort(flat, unsorted, legParams({ quantile: 0.25 })).targets)).toEqual({ A: 0.5, Z: -0.5 });
  });

  it('weights by distance from the median with score weighting', () => {
    // Median 5.5: A and B sit 4.5 and 3.5 below it, I and J 3.5 and 4.5 above.
    const book = rankLongShort(oneToTen, tickers, legParams({ weighting: 'score' }));
    const weights = weightsOf(book.targets);
    expect(weights.A).toBeCloseTo((0.5 * 4.5) / 8, 15);
    expect(weights.B).toBeCloseTo((0.5 * 3.5) / 8, 15);
    expect(weights.I).toBeCloseTo((-0.5 * 3.5) / 8, 15);
    expect(weights.J).toBeCloseTo((-0.5 * 4.5) / 8, 15);
  });

  it('falls back to equal weights when a whole leg sits on the median', () => {
    const book = rankLongShort(new Float64Array(4), letters(4), legParams({ weighting: 'score', quantile: 0.5 }));
    expect(weightsOf(book.targets)).toEqual({ A: 0.25, B: 0.25, C: -0.25, D: -0.25 });
  });

  it('returns no targets when the quantile leaves no name per leg or the legs would overlap', () => {
    expect(rankLongShort(Float64Array.from([1, 2, 3, 4]), letters(4), legParams())).toMatchObject({ targets: [], weights: new Float64Array(4), eligible: 4, namesPerLeg: 0 });
    expect(rankLongShort(Float64Array.from([1, 2, 3, 4, 5]), letters(5), legParams()).targets).toHaveLength(2);
    // ⌊0.7 × 5⌋ = 3 per leg needs 6 names long/short but only 3 long-only.
    const five = Float64Array.from([1, 2, 3, 4, 5]);
    expect(rankLongShort(five, letters(5), legParams({ quantile: 0.7 }))).toMatchObject({ targets: [], weights: new Float64Array(5), eligible: 5, namesPerLeg: 3 });
    expect(rankLongShort(five, letters(5), legParams({ quantile: 0.7, long_only: true })).targets).toHaveLength(3);
  });

  it('equals ranking the whole universe (score, then ticker) and cutting the legs, ties, zeros and NaN included', () => {
    const universe = fc.integer({ min: 1, max: 40 }).chain((n) =>
      fc.record({
        // Few distinct values so ties cross the leg boundaries; ±0 and NaN among them.
        scores: fc.array(fc.constantFrom(-2, -1, -0, 0, 0.5, 1, 3, Number.NaN), { minLength: n, maxLength: n }),
        order: fc.shuffledSubarray(Array.from({ length: n }, (_, i) => `T${String(i).padStart(2, '0')}`), { minLength: n, maxLength: n }),
        quantile: fc.constantFrom(0.1, 0.2, 0.25, 0.5),
        longEnd: fc.constantFrom('low' as const, 'high' as const),
        long_only: fc.boolean(),
        weighting: fc.constantFrom('equal' as const, 'score' as const),
      }),
    );
    fc.assert(
      fc.property(universe, ({ scores, order, ...leg }) => {
        const values = Float64Array.from(scores);
        const book = rankLongShort(values, order, legParams(leg));
        expect(book.targets).toEqual(referenceRanking(values, order, legParams(leg)));
      }),
      { numRuns: 500 },
    );
  });

  it('does not lose a name to floating point when quantile × N is an integer', () => {
    const hundred = Float64Array.from({ length: 100 }, (_, i) => i);
    const names = Array.from({ length: 100 }, (_, i) => `T${String(i).padStart(3, '0')}`);
    expect(rankLongShort(hundred, names, legParams({ quantile: 0.29 })).namesPerLeg).toBe(29);
  });
});

describe('rebalanceFactor', () => {
  const liquid = (ticker: string, returns: number[]): FakeName => ({ ticker, close: 10, adv20: 5e6, returns });
  const meanReturn: FactorSpec = { strategy: 'test', factor: 'mean', longEnd: 'low', compute: (_window, moments) => moments.means };

  it('scores only the trailing window: older returns do not count', () => {
    // Over the last 2 sessions A is the best and E the worst; the first session says the opposite.
    const names = [liquid('A', [-9, 5, 5]), liquid('B', [0, 2, 2]), liquid('C', [0, 0, 0]), liquid('D', [0, -2, -2]), liquid('E', [9, -5, -5])];
    const output = rebalanceFactor(fakeMarket({ names }), params({ window: 2, min_observations: 2 }), meanReturn);
    expect(weightsOf(output.targets)).toEqual({ A: -0.5, E: 0.5 });
    expect(output.notes).toBeUndefined();
  });

  it('crosses to replay\'s books as columns, without building its targets, and unpacks to exactly them', () => {
    const names = [liquid('A', [-9, 5, 5]), liquid('B', [0, 2, 2]), liquid('C', [0, 0, 0]), liquid('D', [0, -2, -2]), liquid('E', [9, -5, -5])];
    const market = fakeMarket({ names });
    let reads = 0;
    const output = rebalanceFactor(market, params({ window: 2, min_observations: 2 }), meanReturn);
    const targets = Object.getOwnPropertyDescriptor(output, 'targets')!.get!;
    Object.defineProperty(output, 'targets', { enumerable: true, configurable: true, get: () => (reads++, targets()) });
    const packed = packOutput(output, market.tickers);
    expect(reads).toBe(0);
    expect('packed' in packed).toBe(true);
    const unpacked = unpackOutput(structuredClone(packed), market.tickers);
    expect(unpacked.targets).toEqual(output.targets);
    expect(unpacked.targets.map((t) => Object.keys(t))).toEqual(output.targets.map((t) => Object.keys(t)));
  });

  it('goes to cash with a note that says why when too few names are eligible', () => {
    const names = [
      liquid('A', [1, 2]),
      liquid('B', [2, 3]),
      liquid('C', [3, 4]),
      liquid('D', [Number.NaN, 5]),
      { ticker: 'E', adv20: 5e6, returns: [1, 1] },
      { ticker: 'F', close: 10, adv20: 1e6, returns: [1, 1] },
    ];
    const output = rebalanceFactor(fakeMarket({ names }), params({ window: 2, min_observations: 2 }), meanReturn);
    expect(output.targets).toEqual([]);
    expect(output.notes).toEqual([
      'test at 2025-12-30: 3 of 6 names eligible (1 without a close at D, 1 with adv_20 missing or below 2000000, 1 with fewer than 2 returns in 2 sessions); ' +
        'quantile 0.2 leaves 0 name(s) per leg, too few for a long and a short leg — the sleeve stays in cash',
    ]);
  });

  it('throws rather than estimate on a history shorter than the window', () => {
    const names = [liquid('A', [1, 2, 3])];
    expect(() => rebalanceFactor(fakeMarket({ names, history: 3 }), params({ window: 3, min_observations: 2 }), meanReturn)).toThrow(DataError);
  });
});

describe.each([
  ['volatility', volatility],
  ['durbin-watson', durbinWatson],
  ['kurtosis', kurtosis],
] as [string, StrategyDefinition<FactorParams>][])('the %s plugin on a point-in-time panel', (name, plugin) => {
  // 40 names over 130 sessions of random walks with different volatilities and tails. S05 misses
  // a close every 20 sessions (2 returns in 20 lost: eligible under the default 80% rule), S06
  // every 4 (half its returns lost: not eligible), S09 trades below min_adv.
  const calendar = new XnysCalendar();
  const dates = calendar.sessions('2024-01-02', '2024-12-31').slice(0, 130);
  const decisionIndex = 125;
  const decisionDate = dates[decisionIndex]!;
  const nextSession = dates[decisionIndex + 1]!;
  const tickers = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, '0')}`);

  /** The same market, optionally with every close tripled or cut to a fifth, or every adv_20 zeroed, after D. */
  const panel = (afterDecision: 'unchanged' | 'price spike' | 'liquidity collapse'): MarketPanel => {
    const random = new SeededRandom(7);
    const closes: (number | null)[][] = [];
    const adv: number[][] = [];
    let previous = tickers.map(() => 100);
    for (let d = 0; d < dates.length; d++) {
      const today = previous.map((close, i) => {
        const jump = i % 4 === 0 && random.uniform() < 0.05 ? random.normal(0, 0.08) : 0;
        return close * (1 + random.normal(0, 0.005 + 0.001 * i) + jump);
      });
      previous = today;
      const planted = d > decisionIndex ? afterDecision : 'unchanged';
      const shown = planted === 'price spike' ? today.map((close, i) => close * (i % 2 === 0 ? 3 : 0.2)) : today;
      closes.push(shown.map((close, i) => ((i === 5 && d % 20 === 10) || (i === 6 && d % 4 === 0) ? null : close)));
      adv.push(tickers.map((_, i) => (planted === 'liquidity collapse' ? 0 : i === 9 ? 1e6 : 5e6)));
    }
    return buildPanel({ tickers, dates, fields: { close: closes, adv20: adv } });
  };
  const unchanged = panel('unchanged');
  const run = (market: MarketPanel, date: string, overrides: Partial<FactorParams> = {}): StrategyOutput => {
    const params = plugin.paramsSchema.parse(overrides);
    const context = { strategyId: name, date, params, market: pointInTime(market, date), state: null, priorSleeve: new Map(), calendar, log: silentLogger() };
    return plugin.rebalance(context) as StrategyOutput;
  };

  it('ranks the 38 eligible names into legs of ±0.5, sorted by ticker', () => {
    const halves = run(unchanged, decisionDate, { quantile: 0.5 }).targets;
    expect(halves).toHaveLength(38);
    expect(halves.map((t) => t.ticker)).toEqual(tickers.filter((t) => t !== 'S06' && t !== 'S09'));
    const { targets } = run(unchanged, decisionDate);
    expect(targets).toHaveLength(14); // ⌊0.2 × 38⌋ = 7 per leg
    expect(targets.map((t) => t.ticker)).toEqual(targets.map((t) => t.ticker).sort());
    expect(legSum(targets, 'long')).toBeCloseTo(0.5, 12);
    expect(legSum(targets, 'short')).toBeCloseTo(-0.5, 12);
    expect(targets.every((t) => (t.meta?.leg === 'long') === t.weight > 0)).toBe(true);
  });

  it.each(['price spike', 'liquidity collapse'] as const)('does not see a %s planted after D', (planted) => {
    const altered = panel(planted);
    expect(run(altered, decisionDate)).toEqual(run(unchanged, decisionDate));
    // The planted change is there to be seen one session later.
    expect(run(altered, nextSession)).not.toEqual(run(unchanged, nextSession));
  });

  it('needs window + 1 sessions of history and throws with less', () => {
    const params = plugin.paramsSchema.parse({});
    expect(plugin.warmupSessions(params)).toBe(params.window + 1);
    expect(() => run(unchanged, dates[params.window]!)).not.toThrow();
    expect(() => run(unchanged, dates[params.window - 1]!)).toThrow(DataError);
    expect(() => run(unchanged, dates[params.window - 1]!)).toThrow(`${name} at ${dates[params.window - 1]}: needs ${params.window} daily returns`);
  });

  it('rejects unknown params', () => {
    expect(plugin.paramsSchema.safeParse({ windows: 20 }).success).toBe(false);
  });
});

/** rankLongShort's contract written the slow way: sort every eligible name, take the legs from the ends. */
function referenceRanking(scores: Float64Array, tickers: readonly string[], params: LegParams): SleeveTarget[] {
  const byTicker = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const direction = params.longEnd === 'low' ? 1 : -1;
  const ranked = [...scores.keys()].filter((i) => Number.isFinite(scores[i]!)).sort((a, b) => direction * (scores[a]! - scores[b]!) || byTicker(tickers[a]!, tickers[b]!));
  const perLeg = Math.floor(params.quantile * ranked.length + 1e-9);
  const legs = params.long_only ? 1 : 2;
  if (perLeg < 1 || ranked.length < legs * perLeg) return [];
  const median = (scores[ranked[(ranked.length - 1) >> 1]!]! + scores[ranked[ranked.length >> 1]!]!) / 2;
  const out: SleeveTarget[] = [];
  const leg = (first: number, budget: number, name: 'long' | 'short') => {
    const members = ranked.slice(first, first + perLeg);
    const distance = members.reduce((sum, i) => sum + Math.abs(scores[i]! - median), 0);
    members.forEach((i, k) => {
      const weight = params.weighting === 'score' && distance > 0 ? (budget * Math.abs(scores[i]! - median)) / distance : budget / perLeg;
      out.push({ ticker: tickers[i]!, weight, score: scores[i]!, meta: { [params.factor]: scores[i]!, rank: first + k + 1, leg: name } });
    });
  };
  leg(0, params.gross / legs, 'long');
  if (!params.long_only) leg(ranked.length - perLeg, -params.gross / legs, 'short');
  return out.sort((a, b) => byTicker(a.ticker, b.ticker));
}

describe('orderStatistics', () => {
  it('finds the values a sort would put at the given positions, whatever ties and zeros', () => {
    const value = fc.oneof(fc.double({ min: -3, max: 3, noNaN: true }), fc.constantFrom(0, -0, 1, -1, 2));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 60 }).chain((values) => fc.tuple(fc.constant(values), fc.uniqueArray(fc.nat(values.length - 1), { minLength: 1, maxLength: 4 }))), ([values, picked]) => {
        const positions = [...picked].sort((a, b) => a - b);
        const sorted = Float64Array.from(values).sort();
        // ±0 are one value to every use of the statistics: compare with ===, not Object.is.
        expect(orderStatistics(Float64Array.from(values), positions).every((v, k) => v === sorted[positions[k]!])).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
