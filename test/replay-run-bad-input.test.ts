import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsoDate } from '../src/core/dates.js';
import { runCli, treeDigest } from './helpers/cli.js';
import {
  fixedWeightsConfig,
  makeMarketDatabase,
  readReplayOutputs,
  wavyBar,
  writeReplayConfig,
  writeReplayProject,
  xnysSessions,
  type ReplayOutputs,
} from './helpers/replay-fixtures.js';

/**
 * Bad input to `kairos replay`: empty ranges, ranges outside the data or its warm-up, a held name
 * without a close, a delisted name, configs that cannot be replayed, and a failure mid-replay.
 * Exit codes: 2 usage, 3 config, 4 data. A failed replay never publishes its output directory.
 */

const DATA = xnysSessions('2024-01-02', '2024-03-28');
const TICKERS = ['A', 'B', 'C'];
/** A has no sep_base row: held, so carried at its last close and flagged. */
const A_MISSING: IsoDate = '2024-02-14';
/** C's last row: held, so closed at this close on the next session (reason delisted). */
const C_LAST: IsoDate = '2024-03-08';
/** The plugin asks for 5 sessions of history (more than the risk stage's vol_window 2 + 1). */
const WARMUP = 5;

let root: string;
let db: string;
let config: string;

const close = (ticker: string, date: IsoDate): number => wavyBar(TICKERS.indexOf(ticker), DATA.indexOf(date)).close;

function configFor(params: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return fixedWeightsConfig('replay-bad-input', { weights: { A: 0.3, B: 0.3, C: 0.3 }, warmup: WARMUP, ...params }, { replay: { positions: 'daily' }, ...overrides });
}

async function replay(from: IsoDate, to: IsoDate, out: string, configPath = config): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['replay', '--db', db, '--config', configPath, '--from', from, '--to', to, '--output-dir', out]);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kairos-replay-bad-'));
  await writeReplayProject(root);
  db = await makeMarketDatabase(root, {
    tickers: [
      { ticker: 'A', sector: 'Tech' },
      { ticker: 'B', sector: 'Energy' },
      { ticker: 'C', sector: 'Utilities' },
    ],
    sessions: DATA,
    bar: (ticker, date, index) => {
      if (ticker === 'A' && date === A_MISSING) return null;
      if (ticker === 'C' && date > C_LAST) return null;
      return wavyBar(TICKERS.indexOf(ticker), index);
    },
  });
  config = await writeReplayConfig(root, 'bad.yaml', configFor());
});

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** Neither the output directory nor a complete-looking copy of it exists. */
function expectNothingPublished(out: string): void {
  expect(existsSync(out)).toBe(false);
  if (existsSync(`${out}.partial`)) expect(existsSync(join(`${out}.partial`, 'metrics.json'))).toBe(false);
}

describe('replay ranges', () => {
  it('a range with no sessions is a usage error (exit 2)', async () => {
    const out = join(root, 'christmas');
    const result = await replay('2024-12-25', '2024-12-25', out);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no XNYS sessions between 2024-12-25 and 2024-12-25');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('--from after --to is a usage error (exit 2)', async () => {
    const result = await replay('2024-03-01', '2024-02-01', join(root, 'reversed'));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--from 2024-03-01 is after --to 2024-02-01');
  });

  it.each([
    ['before the data starts', '2023-12-01'],
    ['inside the warm-up', DATA[2]!],
  ])('D1 %s: the replay starts at the first session with enough history and metrics.json says so', async (_label, from) => {
    const out = join(root, `early-${from}`);
    const result = await replay(from, '2024-01-31', out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // 5 sessions of history before it: 01-02, 01-03, 01-04, 01-05, 01-08 → 01-09.
    const first = DATA[WARMUP]!;
    expect(first).toBe('2024-01-09');
    expect(result.stdout).toContain(`Replayed ${xnysSessions(first, '2024-01-31').length} sessions from ${first}`);
    const outputs = await readReplayOutputs(out);
    expect(outputs.metrics.from).toBe(first);
    expect(outputs.equity[0]!.date).toBe(first);
    const requested = xnysSessions(from, '2024-01-31')[0]!;
    expect(outputs.metrics.notes).toContain(`replay starts ${first} instead of ${requested}: the first session with ${WARMUP} sessions of history`);
  });

  it('D2 after the data ends: the replay stops at the last session in the database and metrics.json says so', async () => {
    const out = join(root, 'short');
    const result = await replay('2024-03-01', '2024-06-28', out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const outputs = await readReplayOutputs(out);
    expect(outputs.metrics.to).toBe('2024-03-28');
    expect(outputs.equity.at(-1)!.date).toBe('2024-03-28');
    expect(outputs.metrics.notes).toContain('replay ends 2024-03-28 instead of 2024-06-28: the database has no later session');
  });

  it('no session of the range has enough history: a data error (exit 4), nothing published', async () => {
    const out = join(root, 'too-early');
    const result = await replay('2023-12-01', DATA[3]!, out);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`has the ${WARMUP} sessions of history the strategies and risk stage need (data starts 2024-01-02)`);
    expectNothingPublished(out);
  });

  it.each([
    ['just after the data ends', '2024-04-01', '2024-04-30'],
    ['long after the data ends', '2024-10-01', '2024-10-31'],
  ])('D1 %s: a data error (exit 4), nothing published', async (_label, from, to) => {
    const out = join(root, `late-${from}`);
    const result = await replay(from, to, out);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/the database ends 2024-03-28, before the replay starts|sep_base has no sessions between/);
    expectNothingPublished(out);
  });
});

describe('missing prices and delistings', () => {
  let outputs: ReplayOutputs;

  beforeAll(async () => {
    const out = join(root, 'gaps');
    const result = await replay(DATA[0]!, DATA.at(-1)!, out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    outputs = await readReplayOutputs(out);
  });

  it('a held name without a close is carried at its last price, flagged, and valued at it', () => {
    expect(outputs.flags).toContainEqual({ date: A_MISSING, book: 'combined', ticker: 'A', flag: 'carried_price' });
    expect(outputs.flags.filter((f) => f.flag === 'carried_price')).toHaveLength(1);
    const previous = DATA[DATA.indexOf(A_MISSING) - 1]!;
    const onDay = outputs.positions.filter((p) => p.book === 'combined' && p.date === A_MISSING);
    const a = onDay.find((p) => p.ticker === 'A')!;
    expect(Number(a.shares)).toBeGreaterThan(0);
    expect(Number(a.price)).toBe(close('A', previous));
    expect(Number(onDay.find((p) => p.ticker === 'B')!.price)).toBe(close('B', A_MISSING));
    // equity = cash + A at its last close + B and C at today's.
    const cash = Number(onDay.find((p) => p.ticker === 'CASH')!.shares);
    const value = (t: string, price: number) => Number(onDay.find((p) => p.ticker === t)!.shares) * price;
    const expected = cash + value('A', close('A', previous)) + value('B', close('B', A_MISSING)) + value('C', close('C', A_MISSING));
    const equity = outputs.equity.find((r) => r.book === 'combined' && r.date === A_MISSING)!;
    expect(Number(equity.equity)).toBeCloseTo(expected, 2);
  });

  it('a delisted name is closed at its last price on the next session, without costs', () => {
    const next = DATA[DATA.indexOf(C_LAST) + 1]!;
    const held = outputs.positions.find((p) => p.book === 'combined' && p.date === C_LAST && p.ticker === 'C')!;
    const closing = outputs.trades.filter((t) => t.reason === 'delisted');
    expect(closing).toEqual([
      {
        date: next,
        book: 'combined',
        ticker: 'C',
        side: 'SELL',
        shares: held.shares,
        reference_price: String(close('C', C_LAST)),
        fill_price: close('C', C_LAST).toFixed(6),
        notional: (Number(held.shares) * close('C', C_LAST)).toFixed(2),
        commission: '0.00',
        spread_cost: '0.00',
        impact_cost: '0.00',
        total_cost: '0.00',
        reason: 'delisted',
      },
    ]);
    // Not held afterwards, and no order for it is attempted.
    expect(outputs.positions.some((p) => p.ticker === 'C' && p.date! > C_LAST)).toBe(false);
    expect(outputs.trades.some((t) => t.ticker === 'C' && t.date! > next)).toBe(false);
  });
});

describe('configs that cannot be replayed, and failures mid-replay', () => {
  it.each([
    ['an unknown strategy module', configFor(), { strategies: [{ id: 'ghost', module: './plugins/no-such-plugin.js', allocation: 1 }] }, /strategy module not found: \.\/plugins\/no-such-plugin\.js/],
    ['an unknown replay setting', configFor(), { replay: { slippage_bps: 3 } }, /replay.*slippage_bps/],
    ['an invalid fill timing', configFor(), { replay: { timing: 'tomorrow' } }, /replay\.timing/],
    ['bad strategy params', configFor({ weights: 'half' }), {}, /params/],
  ])('%s: a config error (exit 3), nothing written', async (label, base, overrides, message) => {
    const path = await writeReplayConfig(root, `broken-${label.replace(/\W+/g, '-')}.yaml`, { ...base, ...overrides });
    const out = join(root, `broken-${label.replace(/\W+/g, '-')}`);
    const result = await replay(DATA[0]!, DATA.at(-1)!, out, path);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('a replay that fails part-way publishes nothing and leaves an earlier complete output alone', async () => {
    const out = join(root, 'fails-midway');
    const good = await replay(DATA[0]!, '2024-02-29', out);
    expect(good.code).toBe(0);
    const earlier = await treeDigest(out);
    // Targeting a name after its series ended: the session's trade generation has no price for it.
    const path = await writeReplayConfig(root, 'strict.yaml', configFor({ require_price: false }));
    const result = await replay(DATA[0]!, DATA.at(-1)!, out, path);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/C needs a trade but has no usable price/);
    expect(result.stdout).not.toContain('Replayed');
    expect(await treeDigest(out)).toEqual(earlier);
    expect(existsSync(`${out}.partial`)).toBe(true);
    expect(existsSync(join(`${out}.partial`, 'metrics.json'))).toBe(false);
    expect(existsSync(join(`${out}.partial`, 'report.html'))).toBe(false);
  });
});
