import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { REPO_ROOT, runCli, useTempDir, writeConfig } from './helpers/cli.js';

const MULTI = join(REPO_ROOT, 'config', 'multi.yaml');

interface ListedStrategy {
  id: string;
  module: string;
  plugin: string;
  schedule: Record<string, unknown>;
  schedule_description: string;
  allocation: number;
  configured_allocation: number | null;
  on_error: string;
  warmup_sessions: number;
  next_rebalances: string[];
  params: Record<string, unknown>;
}

async function listJson(args: readonly string[]): Promise<{ date: string; allocation: Record<string, unknown>; strategies: ListedStrategy[] }> {
  const result = await runCli(['strategies', 'list', '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as { date: string; allocation: Record<string, unknown>; strategies: ListedStrategy[] };
}

describe('kairos strategies list on config/multi.yaml', () => {
  // 2026-01-02 is a Friday; Monday 2026-01-19 is Martin Luther King Jr. Day, so Monday rules roll to Tuesday the 20th.
  const args = ['--config', MULTI, '--date', '2026-01-02'];

  it('prints one table row per strategy: module, plugin, allocation, schedule, next three rebalances, params', async () => {
    const result = await runCli(['strategies', 'list', ...args]);
    expect(result.code).toBe(0);
    const [headline, blank, header, ...rows] = result.stdout.trimEnd().split('\n');
    expect(headline).toBe(`5 strategies in ${MULTI} (allocation fixed); rebalances on or after 2026-01-02 (XNYS)`);
    expect(blank).toBe('');
    expect(header!.split(/\s{2,}/)).toEqual(['ID', 'MODULE', 'PLUGIN', 'ALLOCATION', 'SCHEDULE', 'NEXT 3 REBALANCES', 'PARAMS']);
    const cells = rows.map((row) => row.split(/\s{2,}/));
    expect(cells.map((row) => row.slice(0, 4))).toEqual([
      ['risk4', 'risk4', 'risk4', '0.4'],
      ['volatility', 'volatility', 'volatility', '0.15'],
      ['durbin-watson', 'durbin-watson', 'durbin-watson', '0.15'],
      ['kurtosis', 'kurtosis', 'kurtosis', '0.15'],
      ['cluster', 'cluster', 'cluster', '0.15'],
    ]);
    expect(cells.map((row) => row[4])).toEqual([
      'every 5 sessions, counted from the first session on or after 2015-01-02',
      'every session',
      'weekly on Monday (next session if that day is closed)',
      'every other Monday, on alternate weeks counted from the week of 2015-01-05 (next session if that day is closed)',
      'weekly on Friday (next session if that day is closed)',
    ]);
    expect(cells.map((row) => row[5])).toEqual([
      '2026-01-08 2026-01-15 2026-01-23',
      '2026-01-02 2026-01-05 2026-01-06',
      '2026-01-05 2026-01-12 2026-01-20',
      '2026-01-05 2026-01-20 2026-02-02',
      '2026-01-02 2026-01-09 2026-01-16',
    ]);
    // Params are printed validated, with every default filled in.
    expect(JSON.parse(cells[1]![6]!)).toEqual({ window: 60, min_observations: 48, quantile: 0.2, long_only: false, gross: 1, min_adv: 2_000_000, weighting: 'equal' });
    // Columns line up: every cell of a column starts at the same offset.
    const scheduleColumn = header!.indexOf('SCHEDULE');
    for (const row of rows) expect(row.slice(scheduleColumn)).toMatch(/^(every|weekly)/);
  });

  it('prints the same facts as JSON with --json', async () => {
    const listing = await listJson(args);
    expect(listing.date).toBe('2026-01-02');
    expect(listing.allocation).toEqual({ scheme: 'fixed', normalize: false, sharpe_window: 252 });
    expect(listing.strategies.map((s) => [s.id, s.allocation, s.on_error, s.warmup_sessions])).toEqual([
      ['risk4', 0.4, 'critical', 1],
      ['volatility', 0.15, 'warning', 61],
      ['durbin-watson', 0.15, 'warning', 61],
      ['kurtosis', 0.15, 'warning', 121],
      ['cluster', 0.15, 'warning', 121],
    ]);
    const cluster = listing.strategies[4]!;
    expect(cluster.schedule).toEqual({ type: 'weekly', weekday: 'friday' });
    expect(cluster.next_rebalances).toEqual(['2026-01-02', '2026-01-09', '2026-01-16']);
    expect(cluster.params).toMatchObject({ window: 120, names_per_cluster: 2, min_observations: 100, cut: { by: 'count', count: 20 } });
  });
});

describe('kairos strategies list defaults and allocation schemes', () => {
  const tempDir = useTempDir('kairos-strategies-list-');

  it('lists Risk4 alone without --config, from the next session on or after today in New York', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date());
    const listing = await listJson([]);
    expect(listing.date).toBe(new XnysCalendar().nextSession(today));
    expect(listing.strategies).toHaveLength(1);
    expect(listing.strategies[0]).toMatchObject({ id: 'risk4', module: 'risk4', allocation: 1, configured_allocation: 1 });
    expect(listing.strategies[0]!.params).toEqual({ top_n: 75, min_adv: 2_000_000, max_position: 0.03, max_sector_mult: 2 });
  });

  it('shows the allocations a first run uses: normalized fixed, equal, and sharpe (equal until enough history)', async () => {
    const two = (allocation: Record<string, unknown>) => ({
      allocation,
      strategies: [
        { id: 'a', module: 'volatility', allocation: 0.6 },
        { id: 'b', module: 'kurtosis', allocation: 0.2 },
      ],
    });
    const normalized = await writeConfig(join(tempDir(), 'normalized.yaml'), two({ normalize: true }));
    expect((await listJson(['--config', normalized, '--date', '2026-01-02'])).strategies.map((s) => [s.allocation, s.configured_allocation])).toEqual([
      [0.75, 0.6],
      [0.25, 0.2],
    ]);
    for (const scheme of ['equal', 'sharpe']) {
      const path = await writeConfig(join(tempDir(), `${scheme}.yaml`), two({ scheme }));
      expect((await listJson(['--config', path, '--date', '2026-01-02'])).strategies.map((s) => s.allocation)).toEqual([0.5, 0.5]);
    }
    const sharpe = await runCli(['strategies', 'list', '--config', join(tempDir(), 'sharpe.yaml'), '--date', '2026-01-02']);
    expect(sharpe.stdout.split('\n')[0]).toBe(
      `2 strategies in ${join(tempDir(), 'sharpe.yaml')} (allocation sharpe: equal until every sleeve has 20 returns, then ∝ trailing 252-session Sharpe); rebalances on or after 2026-01-02 (XNYS)`,
    );
  });
});

describe('kairos strategies list errors', () => {
  const tempDir = useTempDir('kairos-strategies-list-');

  it('exits 3 with one line for config errors: unknown key, allocations that do not add up', async () => {
    const typo = await writeConfig(join(tempDir(), 'typo.yaml'), { strategies: [{ id: 'risk4', module: 'risk4', allocation: 1, schedul: { type: 'daily' } }] });
    const unknownKey = await runCli(['strategies', 'list', '--config', typo]);
    expect(unknownKey.code).toBe(3);
    expect(unknownKey.stderr).toBe(`kairos: ${typo}: unknown key "strategies[0].schedul" (did you mean "schedule"?)\n`);

    const uneven = await writeConfig(join(tempDir(), 'uneven.yaml'), {
      strategies: [
        { id: 'risk4', module: 'risk4', allocation: 0.5 },
        { id: 'volatility', module: 'volatility', allocation: 0.3 },
      ],
    });
    const sum = await runCli(['strategies', 'list', '--config', uneven]);
    expect(sum.code).toBe(3);
    expect(sum.stderr).toBe('kairos: allocations add up to 0.8, not 1 (risk4=0.5, volatility=0.3); fix them or set allocation.normalize: true\n');
  });

  it('exits 3 when the config file is missing, and 2 for a date outside the calendar', async () => {
    const missing = await runCli(['strategies', 'list', '--config', join(tempDir(), 'nope.yaml')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(`kairos: ${join(tempDir(), 'nope.yaml')}: cannot read config (ENOENT)\n`);

    const outside = await runCli(['strategies', 'list', '--date', '2031-01-02']);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toBe('kairos: --date 2031-01-02 is outside the XNYS calendar, which covers 1990-01-01..2030-12-31\n');

    const tooLate = await runCli(['strategies', 'list', '--date', '2030-12-30']);
    expect(tooLate.code).toBe(2);
    expect(tooLate.stderr).toMatch(/^kairos: strategy risk4: only 1 of 3 rebalance dates from 2030-12-30 fall within the XNYS calendar, which ends 2030-12-31\n$/);
  });
});
