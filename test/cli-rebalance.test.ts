import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebalanceDates, scheduleRuleSchema } from '../src/calendar/schedule.js';
import { XnysCalendar } from '../src/calendar/xnys.js';
import type { IsoDate } from '../src/core/dates.js';
import {
  ensureBuilt,
  parseCsv,
  runBinary,
  runCli,
  smallUniverseConfig,
  syntheticFixture,
  useTempDir,
  writeConfig,
  type SyntheticFixture,
} from './helpers/cli.js';
import { deleteKeysUnder, redisUrlForTests } from './helpers/redis.js';
import { PRE_REBALANCE_CHECKS } from '../src/validation/checks.js';

const PICKS_HEADER = ['ticker', 'weight', 'target_shares', 'sector', 'alpha_z', 'vol_blend', 'adv_20', 'rank'];
const TRADES_HEADER = ['ticker', 'action', 'shares', 'estimated_value', 'price', 'reason'];
const ARTIFACTS = ['picks.csv', 'portfolio_summary.json', 'schedule.json', 'trades.csv'];
const REASONS = ['new_position', 'increase_weight', 'decrease_weight', 'exit_position'];
const EPS = 1e-6;

const calendar = new XnysCalendar();
let shared: string;
let fx: SyntheticFixture;
let config: string;
/** The last two Risk4 rebalance dates in the database (every 5 sessions from 2015-01-02). */
let d1: IsoDate;
let d2: IsoDate;
const tmp = useTempDir('kairos-cli-rebalance-');

beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'kairos-cli-rebalance-shared-'));
  fx = await syntheticFixture(shared);
  config = await writeConfig(join(shared, 'kairos.yaml'), smallUniverseConfig('cli-rebalance'));
  const dates = rebalanceDates(scheduleRuleSchema.parse({ type: 'every_n_sessions' }), calendar, fx.sessions[0]!, fx.lastSession);
  [d1, d2] = dates.slice(-2) as [IsoDate, IsoDate];
});

afterAll(async () => {
  if (shared !== undefined) await rm(shared, { recursive: true, force: true });
});

async function rebalance(date: IsoDate, outputDir: string, extra: readonly string[] = []): Promise<void> {
  const result = await runCli(['rebalance', '--db', fx.path, '--date', date, '--config', config, '--output-dir', outputDir, ...extra]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

/** The parts of portfolio_summary.json (§5.3) the tests read; the file may carry more. */
interface Summary {
  readonly date: string;
  readonly is_rebalance_day: boolean;
  readonly next_rebalance: string;
  readonly regime: Record<string, string>;
  readonly portfolio: { n_positions: number; total_weight: number; top_5_weight: number; sector_concentration: Record<string, number> };
  readonly metrics: Record<string, number>;
  readonly data_freshness: Record<string, string>;
}

interface Schedule {
  readonly generated_at: string;
  readonly anchor_date: string;
  readonly frequency_days: number;
  readonly next_10_rebalances: string[];
}

interface Artifacts {
  readonly picks: { header: string[]; rows: Record<string, string>[] };
  readonly trades: { header: string[]; rows: Record<string, string>[] };
  readonly summary: Summary;
  readonly schedule: Schedule;
  readonly raw: Record<string, string>;
}

async function readArtifacts(dir: string): Promise<Artifacts> {
  const raw: Record<string, string> = {};
  for (const name of ARTIFACTS) raw[name] = await readFile(join(dir, name), 'utf8');
  return {
    picks: parseCsv(raw['picks.csv']!),
    trades: parseCsv(raw['trades.csv']!),
    summary: JSON.parse(raw['portfolio_summary.json']!) as Summary,
    schedule: JSON.parse(raw['schedule.json']!) as Schedule,
    raw,
  };
}

/** The artifacts' bytes with schedule.json's generated_at blanked: everything that must repeat exactly. */
function comparable(artifacts: Artifacts): Record<string, string> {
  return { ...artifacts.raw, 'schedule.json': artifacts.raw['schedule.json']!.replace(/"generated_at": "[^"]*"/, '"generated_at": "-"') };
}

function targetShares(picks: Artifacts['picks']): Map<string, number> {
  return new Map(picks.rows.map((row) => [row.ticker!, Number(row.target_shares)]));
}

/** Trades must be exactly the share differences between two books. */
function expectTradesAreTheDifference(trades: Artifacts['trades'], before: Map<string, number>, after: Map<string, number>): void {
  const expected = new Map<string, { action: string; shares: number; reason: string }>();
  for (const ticker of new Set([...before.keys(), ...after.keys()])) {
    const from = before.get(ticker) ?? 0;
    const to = after.get(ticker) ?? 0;
    if (to === from) continue;
    const reason = from === 0 ? 'new_position' : to === 0 ? 'exit_position' : to > from ? 'increase_weight' : 'decrease_weight';
    expected.set(ticker, { action: to > from ? 'BUY' : 'SELL', shares: Math.abs(to - from), reason });
  }
  const actual = new Map(trades.rows.map((row) => [row.ticker!, { action: row.action!, shares: Number(row.shares), reason: row.reason! }]));
  expect(actual).toEqual(expected);
}

describe('kairos rebalance', () => {
  it('writes the seed artifacts with exactly its columns and fields, within the caps', async () => {
    const out = join(tmp(), 'out');
    await rebalance(d2, out);
    expect((await readdir(out)).sort()).toEqual(ARTIFACTS);
    const { picks, trades, summary, schedule } = await readArtifacts(out);

    // picks.csv (§5.1)
    expect(picks.header).toEqual(PICKS_HEADER);
    expect(picks.rows.length).toBeGreaterThan(0);
    expect(picks.rows.length).toBeLessThanOrEqual(40);
    let total = 0;
    picks.rows.forEach((row, i) => {
      const weight = Number(row.weight);
      expect(weight).toBeGreaterThan(0);
      expect(weight).toBeLessThanOrEqual(0.03 + EPS);
      total += weight;
      expect(Number.isInteger(Number(row.target_shares))).toBe(true);
      expect(Number(row.target_shares)).toBeGreaterThanOrEqual(0);
      expect(row.sector).not.toBe('');
      expect(Number.isFinite(Number(row.alpha_z))).toBe(true);
      expect(Number(row.vol_blend)).toBeGreaterThan(0);
      expect(Number(row.adv_20)).toBeGreaterThanOrEqual(2_000_000);
      expect(Number(row.rank)).toBe(i + 1);
    });
    // Each weight is printed to 6 decimals, so the printed sum may exceed 1 by half a unit per row.
    expect(total).toBeLessThanOrEqual(1 + picks.rows.length * 5e-7 + 1e-12);
    expect(summary.portfolio.total_weight).toBeLessThanOrEqual(1);
    expect(new Set(picks.rows.map((row) => row.ticker)).size).toBe(picks.rows.length);

    // trades.csv (§5.2): from an empty book every trade is a new position of the target shares.
    expect(trades.header).toEqual(TRADES_HEADER);
    for (const row of trades.rows) {
      expect(REASONS).toContain(row.reason);
      expect(Number(row.shares)).toBeGreaterThan(0);
      expect(Number(row.estimated_value)).toBeCloseTo(Number(row.shares) * Number(row.price), 0);
    }
    expectTradesAreTheDifference(trades, new Map(), targetShares(picks));

    // portfolio_summary.json (§5.3)
    for (const key of ['date', 'is_rebalance_day', 'next_rebalance', 'regime', 'portfolio', 'metrics', 'data_freshness']) expect(summary).toHaveProperty(key);
    expect(summary.date).toBe(d2);
    expect(summary.is_rebalance_day).toBe(true);
    expect(summary.next_rebalance).toBe(calendar.sessions(d2, '2026-12-31')[5]);
    expect(Object.keys(summary.regime).sort()).toEqual(['current', 'trend_regime', 'vol_regime']);
    expect(summary.regime.current).toBe(`${summary.regime.vol_regime}_${summary.regime.trend_regime}`);
    for (const key of ['n_positions', 'total_weight', 'top_5_weight', 'sector_concentration']) expect(summary.portfolio).toHaveProperty(key);
    expect(summary.portfolio.n_positions).toBe(picks.rows.length);
    expect(summary.portfolio.total_weight).toBeCloseTo(total, 5);
    const weights = picks.rows.map((row) => Number(row.weight)).sort((a, b) => b - a);
    expect(summary.portfolio.top_5_weight).toBeCloseTo(weights.slice(0, 5).reduce((s, w) => s + w, 0), 5);
    const bySector = new Map<string, number>();
    for (const row of picks.rows) bySector.set(row.sector!, (bySector.get(row.sector!) ?? 0) + Number(row.weight));
    expect(Object.keys(summary.portfolio.sector_concentration).sort()).toEqual([...bySector.keys()].sort());
    for (const [sector, weight] of bySector) expect(summary.portfolio.sector_concentration[sector]).toBeCloseTo(weight, 5);
    expect(Object.keys(summary.metrics).sort()).toEqual(['avg_adv', 'estimated_beta', 'estimated_vol', 'turnover_vs_prior']);
    for (const value of Object.values(summary.metrics)) expect(Number.isFinite(value)).toBe(true);
    expect(summary.metrics.estimated_vol).toBeGreaterThan(0);
    expect(summary.metrics.estimated_vol).toBeLessThanOrEqual(0.2 + EPS);
    expect(summary.metrics.avg_adv).toBeGreaterThan(0);
    expect(summary.metrics.turnover_vs_prior).toBe(0);
    expect(summary.data_freshness).toEqual({ feat_matrix_latest: fx.lastSession, sep_base_latest: fx.lastSession, regime_latest: fx.lastSession });

    // schedule.json (§5.4)
    expect(Object.keys(schedule)).toEqual(['generated_at', 'anchor_date', 'frequency_days', 'next_10_rebalances']);
    expect(schedule.generated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(schedule.anchor_date).toBe('2015-01-02');
    expect(schedule.frequency_days).toBe(5);
    expect(schedule.next_10_rebalances).toHaveLength(10);
    expect(schedule.next_10_rebalances[0]).toBe(summary.next_rebalance);
  });

  it('gives byte-identical artifacts when the same date is run again (except generated_at)', async () => {
    const first = join(tmp(), 'first');
    const second = join(tmp(), 'second');
    await rebalance(d2, first);
    await rebalance(d2, second);
    const a = await readArtifacts(first);
    expect(comparable(await readArtifacts(second))).toEqual(comparable(a));
    // Over the previous output too: the directory is replaced, with nothing left from before.
    await rebalance(d2, first);
    expect((await readdir(first)).sort()).toEqual(ARTIFACTS);
    expect(comparable(await readArtifacts(first))).toEqual(comparable(a));
    expect((await readdir(tmp())).sort()).toEqual(['first', 'second']);
  });

  it('--prior-holdings on the next rebalance date smooths turnover and trades only the difference', async () => {
    const before = join(tmp(), d1);
    const after = join(tmp(), d2);
    await rebalance(d1, before);
    await rebalance(d2, after, ['--prior-holdings', join(before, 'picks.csv')]);
    const prior = await readArtifacts(before);
    const next = await readArtifacts(after);
    expect(next.summary.metrics.turnover_vs_prior).toBeGreaterThan(0);
    expect(next.summary.metrics.turnover_vs_prior).toBeLessThanOrEqual(0.3 + EPS);
    expectTradesAreTheDifference(next.trades, targetShares(prior.picks), targetShares(next.picks));
    for (const row of next.picks.rows) expect(Number(row.weight)).toBeLessThanOrEqual(0.03 + EPS);

    // Without the prior book the same date trades everything from scratch.
    const fresh = join(tmp(), 'fresh');
    await rebalance(d2, fresh);
    expect((await readArtifacts(fresh)).raw['trades.csv']).not.toBe(next.raw['trades.csv']);
  });

  it('--state redis:// carries the book from one run to the next without double counting', async () => {
    const portfolio = `cli-${process.pid}-${randomBytes(4).toString('hex')}`;
    const url = redisUrlForTests();
    const redisConfig = await writeConfig(join(tmp(), 'redis.yaml'), smallUniverseConfig(portfolio));
    const client = new Redis(url, { lazyConnect: true });
    await client.connect();
    try {
      const run = async (date: IsoDate, dir: string): Promise<Artifacts> => {
        const result = await runCli(['rebalance', '--db', fx.path, '--date', date, '--config', redisConfig, '--state', url, '--output-dir', dir]);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        return readArtifacts(dir);
      };
      const first = await run(d1, join(tmp(), 'd1'));
      const second = await run(d2, join(tmp(), 'd2'));

      // The second run's holdings are the first run's book, read back from Redis.
      expectTradesAreTheDifference(second.trades, targetShares(first.picks), targetShares(second.picks));
      expect(second.summary.metrics.turnover_vs_prior).toBeGreaterThan(0);
      expect(second.summary.metrics.turnover_vs_prior).toBeLessThanOrEqual(0.3 + EPS);
      expect(await client.zrange(`kairos:${portfolio}:runs`, '0', '-1')).toEqual([d1, d2]);
      const stored = JSON.parse((await client.get(`kairos:${portfolio}:run:${d2}:holdings`))!) as { positions: { ticker: string; shares: number }[] };
      expect(new Map(stored.positions.map((p) => [p.ticker, p.shares]))).toEqual(
        new Map([...targetShares(second.picks)].filter(([, shares]) => shares !== 0)),
      );
      expect(await client.exists(`kairos:${portfolio}:lock`)).toBe(0);

      // Re-running D2 starts again from D1's book, not from D2's own result.
      const again = await run(d2, join(tmp(), 'd2-again'));
      expect(comparable(again)).toEqual(comparable(second));
      expect(await client.zrange(`kairos:${portfolio}:runs`, '0', '-1')).toEqual([d1, d2]);
    } finally {
      await deleteKeysUnder(client, `kairos:${portfolio}`);
      await client.quit();
    }
  });
});

describe('kairos validate, check, calendar, schedule', () => {
  it('validate prints every check with its status and exits 0 on good data', async () => {
    const clean = await runCli(['validate', '--db', fx.path, '--date', fx.lastSession, '--config', config]);
    expect(clean).toMatchObject({ code: 0, stderr: '' });
    const [cleanHeader, ...cleanRows] = clean.stdout.trimEnd().split('\n');
    expect(cleanHeader!.split(/\s{2,}/)).toEqual(['STATUS', 'CHECK', 'ACTION', 'DETAIL']);
    expect(cleanRows.map((r) => r.split(/\s{2,}/).slice(0, 2))).toEqual(PRE_REBALANCE_CHECKS.map((c) => ['OK', c.check]));

    // With the seed's thresholds (500 names for a healthy universe) the small universe is a WARNING: listed, not blocking.
    const warned = await runCli(['validate', '--db', fx.path, '--date', fx.lastSession]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe('');
    const [header, ...rows] = warned.stdout.trimEnd().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['STATUS', 'CHECK', 'ACTION', 'DETAIL']);
    expect(rows).toHaveLength(PRE_REBALANCE_CHECKS.length);
    expect(rows.filter((r) => !r.startsWith('OK '))).toEqual([expect.stringMatching(/^WARNING\s+universe\.size\s+review before proceeding\s+\d+ stocks pass the ADV filter; 500 expected/)]);
  });

  it('check --date prints {date, is_rebalance_day, next_rebalance} as JSON', async () => {
    const due = await runCli(['check', '--date', d2]);
    expect(due.code).toBe(0);
    expect(JSON.parse(due.stdout)).toEqual({ date: d2, is_rebalance_day: true, next_rebalance: calendar.sessions(d2, '2026-12-31')[5] });
    const dayBefore = calendar.previousSession(d2, true);
    const notDue = await runCli(['check', '--date', dayBefore, '--config', config]);
    expect(notDue.code).toBe(0);
    expect(notDue.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(notDue.stdout)).toEqual({ date: dayBefore, is_rebalance_day: false, next_rebalance: d2 });
  });

  it('calendar sessions and early-closes print one line per date', async () => {
    const sessions = await runCli(['calendar', 'sessions', '--from', '2025-12-22', '--to', '2026-01-02']);
    expect(sessions).toMatchObject({ code: 0, stderr: '' });
    expect(sessions.stdout).toBe(['2025-12-22', '2025-12-23', '2025-12-24', '2025-12-26', '2025-12-29', '2025-12-30', '2025-12-31', '2026-01-02', ''].join('\n'));
    const early = await runCli(['calendar', 'early-closes', '--from', '2025-01-01', '--to', '2025-12-31']);
    expect(early).toMatchObject({ code: 0, stderr: '', stdout: '2025-07-03,13:00\n2025-11-28,13:00\n2025-12-24,13:00\n' });
  });

  it('schedule prints the next dates and writes schedule.json named for K', async () => {
    const out = join(tmp(), 'schedule');
    const result = await runCli(['schedule', '--from', '2025-12-01', '--next', '3', '--output-dir', out]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const dates = result.stdout.trimEnd().split('\n');
    expect(dates).toEqual(['2025-12-02', '2025-12-09', '2025-12-16']);
    expect(await readdir(out)).toEqual(['schedule.json']);
    const schedule = JSON.parse(await readFile(join(out, 'schedule.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(schedule)).toEqual(['generated_at', 'anchor_date', 'frequency_days', 'next_3_rebalances']);
    expect(schedule).toMatchObject({ anchor_date: '2015-01-02', frequency_days: 5, next_3_rebalances: dates });

    const custom = await runCli(['schedule', '--from', '2025-12-22', '--next', '2', '--anchor', '2025-12-22', '--every', '3']);
    expect(custom).toMatchObject({ code: 0, stdout: '2025-12-22\n2025-12-26\n' });
    expect(existsSync(join(tmp(), 'schedule', 'schedule.json'))).toBe(true);
  });
});

describe('the kairos binary', () => {
  beforeAll(async () => {
    await ensureBuilt();
  });

  it('lists every subcommand in --help', async () => {
    const help = await runBinary(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['calendar', 'schedule', 'data', 'check', 'rebalance', 'run', 'validate', 'demo']) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it('writes the same artifacts as the in-process run', async () => {
    const viaBinary = join(tmp(), 'binary');
    const inProcess = join(tmp(), 'in-process');
    const result = await runBinary(['rebalance', '--db', fx.path, '--date', d2, '--config', config, '--output-dir', viaBinary]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    await rebalance(d2, inProcess);
    expect(comparable(await readArtifacts(viaBinary))).toEqual(comparable(await readArtifacts(inProcess)));
  });

  it('demo builds its database from scratch, rebalances its last session and says where it wrote', async () => {
    const db = join(tmp(), 'demo.duckdb');
    const root = join(tmp(), 'out');
    const result = await runBinary(['demo', '--db', db, '--output-root', root]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(existsSync(db)).toBe(true);
    const dir = join(root, '2025-12-31');
    expect(result.stdout).toContain(`written to ${dir}`);
    expect((await readdir(dir)).sort()).toEqual(ARTIFACTS);
    const { picks, summary } = await readArtifacts(dir);
    expect(picks.header).toEqual(PICKS_HEADER);
    expect(picks.rows.length).toBeGreaterThan(0);
    expect(summary.date).toBe('2025-12-31');
    expect(summary.portfolio.total_weight).toBeLessThanOrEqual(1 + EPS);
  }, 120_000);
});
