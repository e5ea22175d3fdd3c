import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnysCalendar } from '../src/calendar/xnys.js';
import type { IsoDate } from '../src/core/dates.js';
import { runCli } from './helpers/cli.js';
import {
  fixedWeightsConfig,
  makeMarketDatabase,
  pick,
  readReplayOutputs,
  writeReplayConfig,
  writeReplayProject,
  xnysSessions,
  type ReplayOutputs,
} from './helpers/replay-fixtures.js';

/**
 * A replay small enough to check by hand: two names (A in Tech, B in Energy), a plugin holding
 * fixed weights, risk limits that leave the weights alone, $100,000, commission $0.01/share and a
 * half spread of 10 bps (costs = shares·0.01 + notional/1,000), no impact. Orders below $5,000 are
 * dropped (trading.min_trade_value), so the only trades are the initial buy and one switch.
 *
 * Prices (open/close) outside the dates below: A 100/100, B 50/50.
 */
const BARS: Readonly<Record<IsoDate, { A: [number, number]; B: [number, number] }>> = {
  '2024-06-27': { A: [101, 102], B: [49, 48] },
  '2024-06-28': { A: [102, 104], B: [48, 47.5] },
  '2024-07-01': { A: [104, 105], B: [47.5, 48] },
  '2024-07-02': { A: [105, 106], B: [48, 48] },
  '2024-07-03': { A: [106, 108], B: [48, 50] }, // early close (13:00)
  // 2024-07-04: Independence Day, no session
  '2024-07-05': { A: [110, 111], B: [50, 52] },
  '2024-07-08': { A: [111, 110], B: [52, 51] },
  '2024-07-09': { A: [110, 109], B: [51, 52] },
  '2024-07-10': { A: [109, 112], B: [52, 53] },
  // Thanksgiving week: 2024-11-28 is a holiday, 2024-11-29 an early close.
  '2024-11-29': { A: [99, 98], B: [51, 52] },
};

const calendar = new XnysCalendar();
let root: string;
let db: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kairos-replay-exact-'));
  await writeReplayProject(root);
  db = await makeMarketDatabase(root, {
    tickers: [
      { ticker: 'A', sector: 'Tech' },
      { ticker: 'B', sector: 'Energy' },
    ],
    sessions: xnysSessions('2024-06-03', '2024-12-31'),
    bar: (ticker, date) => {
      const [open, close] = BARS[date]?.[ticker as 'A' | 'B'] ?? (ticker === 'A' ? [100, 100] : [50, 50]);
      return { open, close };
    },
  });
});

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** Replays from..to with 50/50, switching to A 25 % / B 75 % from `switchOn`. */
async function replay(name: string, from: IsoDate, to: IsoDate, switchOn: IsoDate, replayOverrides: Record<string, unknown> = {}): Promise<ReplayOutputs> {
  const config = await writeReplayConfig(
    root,
    `${name}.yaml`,
    fixedWeightsConfig(
      `exact-${name}`,
      { weights: { A: 0.5, B: 0.5 }, changes: [{ from: switchOn, weights: { A: 0.25, B: 0.75 } }] },
      {
        trading: { min_trade_value: 5000 },
        replay: { commission_per_share: 0.01, half_spread_bps: 10, initial_capital: 100_000, positions: 'daily', ...replayOverrides },
      },
    ),
  );
  const out = join(root, name);
  const result = await runCli(['replay', '--db', db, '--config', config, '--from', from, '--to', to, '--output-dir', out]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return readReplayOutputs(out);
}

describe('replay: two names, ten sessions, by hand', () => {
  let outputs: ReplayOutputs;

  beforeAll(async () => {
    expect(xnysSessions('2024-06-26', '2024-07-10')).toHaveLength(10);
    outputs = await replay('july', '2024-06-26', '2024-07-10', '2024-07-03');
  });

  it('equity.csv: every row, from the price path', () => {
    // 06-26: nothing held yet: equity = cash = 100,000. Decision at the close: 50/50 of 100,000
    //        → A trunc(50,000/100) = 500, B trunc(50,000/50) = 1,000 shares, to fill at the next open.
    // 06-27: fills at the open (A 101, B 49):
    //          A BUY 500 @101: notional 50,500; commission 500·0.01 = 5; spread 50,500·10/1e4 = 50.50 → cost 55.50
    //          B BUY 1000 @49: notional 49,000; commission 10; spread 49 → cost 59.00
    //        cash = 100,000 − 50,500 − 55.50 − 49,000 − 59 = 385.50 (cash drop = notional + costs)
    //        mark at the close (A 102, B 48): 500·102 + 1000·48 = 99,000 → equity 99,385.50
    //        return 99,385.5/100,000 − 1 = −0.006145; gross = net = 99,000/99,385.5 = 0.996121
    //        turnover = 99,500 / (2·99,385.5) = 0.500576; costs 55.50 + 59 = 114.50
    //        decision: A trunc(49,692.75/102) = 487 (−13 sh = $1,326), B trunc(49,692.75/48) = 1,035
    //        (+35 sh = $1,680): both under $5,000, dropped. Same on every day without a switch.
    // 06-28: 500·104 + 1000·47.5 = 99,500 + 385.50 = 99,885.50; return 99,885.5/99,385.5 − 1 = 0.00503091
    // 07-01: 500·105 + 1000·48 = 100,500 + 385.50 = 100,885.50
    // 07-02: 500·106 + 1000·48 = 101,000 + 385.50 = 101,385.50
    // 07-03 (early close): 500·108 + 1000·50 = 104,000 + 385.50 = 104,385.50. The plugin switches to
    //        A 25 % / B 75 %: A trunc(26,096.375/108) = 241 → SELL 259; B trunc(78,289.125/50) = 1,565
    //        → BUY 565. 07-04 is a holiday: they fill at the 07-05 open (A 110, B 50):
    //          A SELL 259 @110: notional 28,490; commission 2.59; spread 28.49 → cost 31.08
    //          B BUY 565 @50: notional 28,250; commission 5.65; spread 28.25 → cost 33.90
    //        cash = 385.50 + 28,490 − 31.08 − 28,250 − 33.90 = 560.52
    // 07-05: 241·111 + 1565·52 = 26,751 + 81,380 = 108,131 + 560.52 = 108,691.52
    //        turnover = (28,490 + 28,250) / (2·108,691.52) = 0.261014; costs 64.98
    // 07-08: 241·110 + 1565·51 = 26,510 + 79,815 = 106,325 + 560.52 = 106,885.52
    // 07-09: 241·109 + 1565·52 = 26,269 + 81,380 = 107,649 + 560.52 = 108,209.52
    // 07-10: 241·112 + 1565·53 = 26,992 + 82,945 = 109,937 + 560.52 = 110,497.52
    expect(outputs.files['equity.csv']).toBe(
      [
        'date,book,equity,return,gross,net,turnover,costs',
        '2024-06-26,combined,100000.00,0.00000000,0.000000,0.000000,0.000000,0.00',
        '2024-06-27,combined,99385.50,-0.00614500,0.996121,0.996121,0.500576,114.50',
        '2024-06-28,combined,99885.50,0.00503091,0.996141,0.996141,0.000000,0.00',
        '2024-07-01,combined,100885.50,0.01001146,0.996179,0.996179,0.000000,0.00',
        '2024-07-02,combined,101385.50,0.00495611,0.996198,0.996198,0.000000,0.00',
        '2024-07-03,combined,104385.50,0.02959003,0.996307,0.996307,0.000000,0.00',
        '2024-07-05,combined,108691.52,0.04125113,0.994843,0.994843,0.261014,64.98',
        '2024-07-08,combined,106885.52,-0.01661583,0.994756,0.994756,0.000000,0.00',
        '2024-07-09,combined,108209.52,0.01238708,0.994820,0.994820,0.000000,0.00',
        '2024-07-10,combined,110497.52,0.02114417,0.994927,0.994927,0.000000,0.00',
        '',
      ].join('\n'),
    );
  });

  it('trades.csv: fill prices and every cost term', () => {
    // fill_price = reference moved half a spread against the order: 101·1.001, 49·1.001, 110·0.999, 50·1.001.
    expect(outputs.files['trades.csv']).toBe(
      [
        'date,book,ticker,side,shares,reference_price,fill_price,notional,commission,spread_cost,impact_cost,total_cost,reason',
        '2024-06-27,combined,A,BUY,500,101,101.101000,50500.00,5.00,50.50,0.00,55.50,rebalance',
        '2024-06-27,combined,B,BUY,1000,49,49.049000,49000.00,10.00,49.00,0.00,59.00,rebalance',
        '2024-07-05,combined,A,SELL,259,110,109.890000,28490.00,2.59,28.49,0.00,31.08,rebalance',
        '2024-07-05,combined,B,BUY,565,50,50.050000,28250.00,5.65,28.25,0.00,33.90,rebalance',
        '',
      ].join('\n'),
    );
  });

  it('costs at the book level: cash moves by notional plus costs, and the costs add up', () => {
    const cash = new Map(outputs.positions.filter((r) => r.ticker === 'CASH').map((r) => [r.date, Number(r.shares)]));
    expect(cash.get('2024-06-26')).toBe(100_000);
    // Buys: cash drops by notional + total_cost of each fill.
    expect(cash.get('2024-06-27')).toBeCloseTo(100_000 - (50_500 + 55.5) - (49_000 + 59), 6);
    // A sale adds notional − costs, a buy takes notional + costs.
    expect(cash.get('2024-07-05')).toBeCloseTo(385.5 + (28_490 - 31.08) - (28_250 + 33.9), 6);
    for (const date of ['2024-06-28', '2024-07-01', '2024-07-02', '2024-07-03']) expect(cash.get(date)).toBe(385.5);
    for (const date of ['2024-07-08', '2024-07-09', '2024-07-10']) expect(cash.get(date)).toBe(560.52);

    const totalCosts = outputs.trades.reduce((s, t) => s + Number(t.total_cost), 0);
    expect(totalCosts).toBeCloseTo(179.48, 9);
    expect(outputs.equity.reduce((s, r) => s + Number(r.costs), 0)).toBeCloseTo(totalCosts, 9);
    const combined = outputs.metrics.books.find((b) => b.book === 'combined') as { total_costs: number; end_equity: number } | undefined;
    expect(combined?.total_costs).toBeCloseTo(179.48, 6);
    expect(combined?.end_equity).toBeCloseTo(110_497.52, 6);
    // Holdings entering each decision, valued at the close, add up to the equity row.
    for (const row of outputs.equity) {
      const value = outputs.positions.filter((p) => p.date === row.date).reduce((s, p) => s + Number(p.value), 0);
      expect(value).toBeCloseTo(Number(row.equity), 6);
    }
    expect(outputs.flags).toEqual([]);
  });

  it('a decision on the early close of 2024-07-03 fills at the open of 2024-07-05, across the holiday', () => {
    expect(calendar.earlyClose('2024-07-03')).not.toBeNull();
    expect(calendar.isSession('2024-07-04')).toBe(false);
    const switchFills = outputs.trades.filter((t) => t.date! > '2024-07-03');
    expect(pick(switchFills, ['date', 'ticker', 'side', 'reference_price'])).toEqual(['2024-07-05,A,SELL,110', '2024-07-05,B,BUY,50']);
    expect(outputs.trades.some((t) => t.date === '2024-07-03' || t.date === '2024-07-04')).toBe(false);
  });
});

describe('replay: fills around holidays and early closes', () => {
  it('a decision on 2024-11-27 fills at the 2024-11-29 open (Thanksgiving in between, early close)', async () => {
    expect(calendar.isSession('2024-11-28')).toBe(false);
    expect(calendar.earlyClose('2024-11-29')).not.toBeNull();
    const outputs = await replay('thanksgiving', '2024-11-22', '2024-12-03', '2024-11-27');
    // 11-22 decision: 500 A @100 and 1,000 B @50, filled at the 11-25 open (100/50):
    //   costs 5 + 50 and 10 + 50 → cash 100,000 − 100,000 − 115 = −115.
    // 11-27 (equity 99,885): A trunc(24,971.25/100) = 249 → SELL 251; B trunc(74,913.75/50) = 1,498 → BUY 498,
    //   filled at the 11-29 open: A 99, B 51.
    expect(pick(outputs.trades, ['date', 'ticker', 'side', 'shares', 'reference_price', 'total_cost'])).toEqual([
      '2024-11-25,A,BUY,500,100,55.00',
      '2024-11-25,B,BUY,1000,50,60.00',
      // A: 251 shares·0.01 + 251·99/1,000 = 2.51 + 24.849 = 27.359; B: 4.98 + 498·51/1,000 = 4.98 + 25.398 = 30.378
      '2024-11-29,A,SELL,251,99,27.36',
      '2024-11-29,B,BUY,498,51,30.38',
    ]);
    // 11-29 close: 249·98 + 1,498·52 = 24,402 + 77,896 = 102,298; cash −115 + 24,849 − 27.359 − 25,398 − 30.378 = −721.737
    expect(outputs.equity.find((r) => r.date === '2024-11-29')?.equity).toBe('101576.26');
  });

  it.each([
    ['next_open', ['2024-06-27,A,101', '2024-06-27,B,49', '2024-07-05,A,110', '2024-07-05,B,50'], '2024-06-26,combined,100000.00,0.00000000,0.000000,0.000000,0.000000,0.00'],
    // next_close: the close of the next session (07-05 for the decision of the 07-03 early close).
    ['next_close', ['2024-06-27,A,102', '2024-06-27,B,48', '2024-07-05,A,111', '2024-07-05,B,52'], '2024-06-26,combined,100000.00,0.00000000,0.000000,0.000000,0.000000,0.00'],
    // same_close: the close that produced the decision (research only). The first session's row is
    // marked after its own fills: 500 A @100 + 1,000 B @50 cost 5 + 50 and 10 + 50, so cash is
    // −115 and equity 99,885; gross = 100,000/99,885 = 1.001151; turnover 100,000/(2·99,885) = 0.500576.
    ['same_close', ['2024-06-26,A,100', '2024-06-26,B,50', '2024-07-03,A,108', '2024-07-03,B,50'], '2024-06-26,combined,99885.00,-0.00115000,1.001151,1.001151,0.500576,115.00'],
  ])('timing %s fills at the right session and price, and equity.csv counts every fill\'s costs', async (timing, expected, firstRow) => {
    const outputs = await replay(`timing-${timing}`, '2024-06-26', '2024-07-10', '2024-07-03', { timing });
    expect(pick(outputs.trades, ['date', 'ticker', 'reference_price'])).toEqual(expected);
    expect(outputs.files['equity.csv']!.split('\n')[1]).toBe(firstRow);
    // Each session's costs and turnover are those of the fills dated that session (costs are
    // rounded to cents per row in both files, hence the cent of slack).
    expect(outputs.trades.length).toBe(4);
    for (const row of outputs.equity) {
      const today = outputs.trades.filter((t) => t.date === row.date);
      const costs = today.reduce((s, t) => s + Number(t.total_cost), 0);
      expect(Math.abs(Number(row.costs) - costs)).toBeLessThanOrEqual(0.01 + 1e-9);
      const traded = today.reduce((s, t) => s + Number(t.notional), 0);
      expect(Number(row.turnover)).toBeCloseTo(traded / (2 * Number(row.equity)), 6);
    }
    const costs = outputs.metrics.books[0] as unknown as { total_costs: number };
    expect(costs.total_costs).toBeGreaterThan(100);
  });
});
