import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { fixedAllocations } from '../src/engine/aggregator.js';
import { loadStrategies } from '../src/engine/strategy-loader.js';
import { ensureBuilt, parseCsv, REPO_ROOT, runBinary, runCli, syntheticFixture, useTempDir, type SyntheticFixture } from './helpers/cli.js';

const CONFIG_DIR = join(REPO_ROOT, 'config');
const MULTI = join(CONFIG_DIR, 'multi.yaml');
const EXAMPLE = join(CONFIG_DIR, 'example.yaml');

async function loadAll(path: string) {
  const config = await loadConfig(path);
  const strategies = await loadStrategies(config.strategies, CONFIG_DIR);
  const allocations = fixedAllocations(strategies.map((s) => ({ id: s.id, allocation: s.allocation })), config.allocation.normalize);
  return { config, strategies, allocations };
}

describe('config/multi.yaml', () => {
  it('loads the five strategies of issue 3 on their schedules, allocations adding up to 1 without normalizing', async () => {
    const { config, strategies, allocations } = await loadAll(MULTI);
    expect(strategies.map((s) => [s.id, s.definition.name, s.schedule, s.onError])).toEqual([
      ['risk4', 'risk4', { type: 'every_n_sessions', anchor: '2015-01-02', every: 5 }, 'critical'],
      ['volatility', 'volatility', { type: 'daily' }, 'warning'],
      ['durbin-watson', 'durbin-watson', { type: 'weekly', weekday: 'monday' }, 'warning'],
      ['kurtosis', 'kurtosis', { type: 'biweekly', weekday: 'monday', anchor: '2015-01-05' }, 'warning'],
      ['cluster', 'cluster', { type: 'weekly', weekday: 'friday' }, 'warning'],
    ]);
    expect(allocations.map((a) => a.allocation)).toEqual([0.4, 0.15, 0.15, 0.15, 0.15]);
    expect(config.allocation).toEqual({ scheme: 'fixed', normalize: false, sharpe_window: 252 });
    // Small synthetic universes pass without a universe-size warning; the rest is the seed's.
    expect(config.validation).toMatchObject({ min_universe: 50, healthy_universe: 150, expected_sectors: 11, min_adv: 2_000_000 });
  });
});

describe('config/example.yaml', () => {
  it('runs Risk4 and the example momentum plugin 70/30', async () => {
    const { strategies, allocations } = await loadAll(EXAMPLE);
    expect(strategies.map((s) => [s.id, s.module, s.definition.name])).toEqual([
      ['risk4', 'risk4', 'risk4'],
      ['momentum', 'example-momentum', 'example-momentum'],
    ]);
    expect(allocations.map((a) => a.allocation)).toEqual([0.7, 0.3]);
    expect(strategies[1]!.params).toEqual({ top_n: 20, window: 60, min_adv: 2_000_000 });
    expect(strategies[1]!.schedule).toEqual({ type: 'weekly', weekday: 'monday' });
  });
});

describe('the configs trading on a synthetic database', () => {
  const tempDir = useTempDir('kairos-strategies-run-');
  let fixture: SyntheticFixture;
  let fixtureDir: string;

  beforeAll(async () => {
    fixtureDir = await mkdtemp(join(tmpdir(), 'kairos-strategies-db-'));
    fixture = await syntheticFixture(fixtureDir);
  });
  afterAll(async () => {
    await rm(fixtureDir, { recursive: true, force: true });
  });

  async function sleeves(outputDir: string): Promise<Record<string, string>[]> {
    const { header, rows } = parseCsv(await readFile(join(outputDir, 'sleeves.csv'), 'utf8'));
    expect(header).toEqual(['strategy', 'ticker', 'sleeve_weight', 'allocation', 'contribution']);
    return rows;
  }

  it('config/example.yaml: the momentum sleeve trades on the first run, 20 names at 1/20 of its 30%', async () => {
    const outputDir = join(tempDir(), 'out');
    const result = await runCli(['run', '--db', fixture.path, '--date', fixture.lastSession, '--config', EXAMPLE, '--output-dir', outputDir]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const momentum = (await sleeves(outputDir)).filter((row) => row.strategy === 'momentum');
    expect(momentum).toHaveLength(20);
    for (const row of momentum) expect([row.sleeve_weight, row.allocation, row.contribution]).toEqual(['0.050000', '0.300000', '0.015000']);
    const summary = JSON.parse(await readFile(join(outputDir, 'portfolio_summary.json'), 'utf8')) as { strategies: { id: string; status: string; positions: number }[] };
    expect(summary.strategies.map(({ id, status, positions }) => ({ id, status, positions }))).toEqual([
      { id: 'risk4', status: 'rebalanced', positions: 75 },
      { id: 'momentum', status: 'rebalanced', positions: 20 },
    ]);
  });

  it('config/multi.yaml: all five sleeves trade on the first run, without alerts', async () => {
    const outputDir = join(tempDir(), 'out');
    const result = await runCli(['run', '--db', fixture.path, '--date', fixture.lastSession, '--config', MULTI, '--output-dir', outputDir]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(await readFile(join(outputDir, 'portfolio_summary.json'), 'utf8')) as { alerts: unknown[]; strategies: { id: string; status: string }[] };
    expect(summary.alerts).toEqual([]);
    expect(summary.strategies.every((s) => s.status === 'rebalanced')).toBe(true);
    const rows = await sleeves(outputDir);
    expect([...new Set(rows.map((row) => row.strategy))].sort()).toEqual(['cluster', 'durbin-watson', 'kurtosis', 'risk4', 'volatility']);
    const allocationOf = Object.fromEntries(rows.map((row) => [row.strategy, row.allocation]));
    expect(allocationOf).toEqual({ risk4: '0.400000', volatility: '0.150000', 'durbin-watson': '0.150000', kurtosis: '0.150000', cluster: '0.150000' });
  });

  it('the built CLI (npm run build, then npx kairos) lists and runs config/example.yaml', async () => {
    await ensureBuilt();
    const list = await runBinary(['strategies', 'list', '--config', 'config/example.yaml', '--date', fixture.lastSession]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^momentum\s+example-momentum\s+example-momentum\s+0\.3\s+weekly on Monday/m);

    const outputDir = join(tempDir(), 'out');
    const run = await runBinary(['run', '--db', fixture.path, '--date', fixture.lastSession, '--config', 'config/example.yaml', '--output-dir', outputDir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await sleeves(outputDir)).filter((row) => row.strategy === 'momentum')).toHaveLength(20);
  });
});
