import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/core/errors.js';
import { parseCsv, runCli, smallUniverseConfig, syntheticFixture, treeDigest, useTempDir, writeConfig, type SyntheticFixture } from './helpers/cli.js';

const tmp = useTempDir('kairos-approval-cli-');

const TRADES = 'ticker,action,shares,estimated_value,price,reason\nAAA,BUY,10,1234.50,123.45,new_position\nBBB,SELL,3,300.00,100,exit_position\n';

async function runDir(trades = TRADES): Promise<string> {
  const dir = join(tmp(), 'out');
  await mkdir(dir);
  await writeFile(join(dir, 'trades.csv'), trades);
  await writeFile(join(dir, 'portfolio_summary.json'), JSON.stringify({ date: '2025-12-31', portfolio_id: 'main' }));
  return dir;
}

describe('kairos approve / submit', () => {
  it('approve writes approval.json; submit sends once and prints the receipt', async () => {
    const dir = await runDir();
    const approved = await runCli(['approve', '--output-dir', dir, '--by', 'alice', '--note', 'checked sizes']);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/^Approved 2 trades \(gross 1534\.50\) of portfolio main on 2025-12-31 by alice: .*approval\.json/);
    expect(approved.stdout.split('\n')).toHaveLength(2);
    const approval = JSON.parse(await readFile(join(dir, 'approval.json'), 'utf8')) as Record<string, unknown>;
    expect(approval).toMatchObject({ approved_by: 'alice', note: 'checked sizes', n_trades: 2, gross_value: 1534.5 });
    expect(approval.trades_sha256).toMatch(/^[0-9a-f]{64}$/);

    const submitted = await runCli(['submit', '--output-dir', dir]);
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    expect(submitted.stdout).toMatch(/^Submitted 2 orders .* to paper: submission paper-[0-9a-f-]+ at .*approved by alice/);
    expect(parseCsv(await readFile(join(dir, 'submitted.csv'), 'utf8')).rows.map((r) => r.ticker)).toEqual(['AAA', 'BBB']);

    const again = await runCli(['submit', '--output-dir', dir, '--broker', 'paper']);
    expect(again.code).toBe(ExitCode.blocked);
    expect(again.stderr).toMatch(/submitted\.csv exists: these trades were already submitted/);
  });

  it('submit without approval exits 5 and writes nothing', async () => {
    const dir = await runDir();
    const result = await runCli(['submit', '--output-dir', dir]);
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stderr).toMatch(/approval\.json: no approval; run `kairos approve/);
    expect(existsSync(join(dir, 'submitted.csv'))).toBe(false);
  });

  it('submit after trades.csv was edited exits 5 naming the mismatch', async () => {
    const dir = await runDir();
    expect((await runCli(['approve', '--output-dir', dir, '--by', 'alice'])).code).toBe(0);
    await writeFile(join(dir, 'trades.csv'), `${TRADES}CCC,BUY,1,50.00,50,new_position\n`);
    const result = await runCli(['submit', '--output-dir', dir]);
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stderr).toMatch(/trades\.csv changed after approval: sha256 [0-9a-f]{12}… does not match the approved [0-9a-f]{12}…/);
    expect(existsSync(join(dir, 'submitted.csv'))).toBe(false);
  });

  it('usage errors exit 2: no --by, unknown broker, a directory that is not a run', async () => {
    const dir = await runDir();
    const noBy = await runCli(['approve', '--output-dir', dir]);
    expect(noBy.code).toBe(ExitCode.usage);
    expect(noBy.stderr).toMatch(/--by/);
    expect((await runCli(['submit', '--output-dir', dir, '--broker', 'ibkr'])).code).toBe(ExitCode.usage);
    const empty = tmp();
    const notRun = await runCli(['approve', '--output-dir', empty, '--by', 'alice']);
    expect(notRun.code).toBe(ExitCode.usage);
    expect(notRun.stderr).toMatch(/trades\.csv not found/);
    await writeFile(join(empty, 'trades.csv'), TRADES);
    const noSummary = await runCli(['approve', '--output-dir', empty, '--by', 'alice']);
    expect(noSummary.code).toBe(ExitCode.usage);
    expect(noSummary.stderr).toMatch(/portfolio_summary\.json not found/);
    expect(existsSync(join(empty, 'approval.json'))).toBe(false);
  });

  it('malformed trades.csv exits 4 with the line named', async () => {
    const dir = await runDir(TRADES.replace('BBB,SELL,3,', 'BBB,SELL,3.5,'));
    const result = await runCli(['approve', '--output-dir', dir, '--by', 'alice']);
    expect(result.code).toBe(ExitCode.data);
    expect(result.stderr).toMatch(/trades\.csv:3:3: shares "3\.5" of BBB is not a positive whole number/);
    expect(existsSync(join(dir, 'approval.json'))).toBe(false);
  });
});

describe('approve / submit on a real rebalance', () => {
  let shared: string;
  let fx: SyntheticFixture;
  let config: string;

  beforeAll(async () => {
    shared = await mkdtemp(join(tmpdir(), 'kairos-approval-shared-'));
    fx = await syntheticFixture(shared, { tickers: 80 });
    config = await writeConfig(join(shared, 'kairos.yaml'), smallUniverseConfig('approval'));
  });

  afterAll(async () => {
    if (shared !== undefined) await rm(shared, { recursive: true, force: true });
  });

  it('submits exactly the rebalance trades', async () => {
    const dir = join(tmp(), 'run');
    const run = await runCli(['rebalance', '--db', fx.path, '--date', fx.lastSession, '--config', config, '--output-dir', dir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await runCli(['approve', '--output-dir', dir, '--by', 'alice'])).code).toBe(0);
    const submit = await runCli(['submit', '--output-dir', dir]);
    expect(submit.stderr).toBe('');
    expect(submit.code).toBe(0);
    const trades = parseCsv(await readFile(join(dir, 'trades.csv'), 'utf8'));
    const submitted = parseCsv(await readFile(join(dir, 'submitted.csv'), 'utf8'));
    expect(trades.rows.length).toBeGreaterThan(0);
    expect(submitted.rows.map(({ broker: _b, submission_id: _s, ...order }) => order)).toEqual(trades.rows);

    // A re-run into the same directory would erase the record of what went to the broker.
    const before = await treeDigest(dir);
    const rerun = await runCli(['rebalance', '--db', fx.path, '--date', fx.lastSession, '--config', config, '--output-dir', dir]);
    expect(rerun.code).toBe(5);
    expect(rerun.stderr).toMatch(/already submitted to a broker \(submitted\.csv\)/);
    expect(await treeDigest(dir)).toEqual(before);
  });
});
