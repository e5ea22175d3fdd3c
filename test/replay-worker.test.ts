import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsoDate } from '../src/core/dates.js';
import { ensureBuilt, runBinary, runCli, syntheticFixture, treeDigest, writeConfig, type SyntheticFixture } from './helpers/cli.js';

/**
 * The built CLI runs the replay's strategies ahead on a worker thread (strategy-prefetch.ts); the
 * in-process CLI under vitest cannot (TypeScript sources) and computes them on the main thread.
 * Both must write the same bytes — including when the combined book is blocked by a strategy's
 * CRITICAL failure, so its states part from the worker's and the worker is restarted.
 */

const FROM: IsoDate = '2024-08-01';
const TO: IsoDate = '2024-11-29';
/** Days the `flaky` sleeve throws: it is on_error critical, so the combined book is blocked there. */
const FAILS_ON: readonly IsoDate[] = ['2024-08-14', '2024-09-20', '2024-09-23', '2024-10-31'];

/** A fixed two-name sleeve that fails on the listed days; plain JavaScript so the worker can load it. */
const FLAKY_PLUGIN = `
const failsOn = new Set(${JSON.stringify(FAILS_ON)});
export default {
  name: 'flaky',
  description: 'fixed sleeve that fails on chosen days',
  paramsSchema: { safeParse: (value) => ({ success: true, data: value ?? {} }) },
  warmupSessions: () => 1,
  rebalance: ({ date, market, state }) => {
    if (failsOn.has(date)) throw new Error('flaky failed on ' + date);
    const runs = (state?.runs ?? 0) + 1;
    return { targets: [{ ticker: market.tickers[runs % 7], weight: 0.5 }, { ticker: market.tickers[7 + (runs % 5)], weight: 0.5 }], state: { runs } };
  },
};
`;

let root: string;
let fx: SyntheticFixture;
let config: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kairos-replay-worker-'));
  fx = await syntheticFixture(root, { tickers: 80, from: '2023-06-01', to: '2024-12-31', seed: 7 });
  await writeFile(join(root, 'flaky.mjs'), FLAKY_PLUGIN);
  config = await writeConfig(join(root, 'five.yaml'), {
    portfolio: 'replay-worker',
    strategies: [
      { id: 'risk4', module: 'risk4', allocation: 0.3, schedule: { type: 'every_n_sessions', every: 5 }, params: { top_n: 15, min_adv: 0 } },
      { id: 'volatility', module: 'volatility', allocation: 0.15, schedule: { type: 'daily' }, on_error: 'warning', params: { min_adv: 0 } },
      { id: 'durbin-watson', module: 'durbin-watson', allocation: 0.15, schedule: { type: 'weekly', weekday: 'monday' }, on_error: 'warning', params: { min_adv: 0 } },
      { id: 'cluster', module: 'cluster', allocation: 0.3, schedule: { type: 'weekly', weekday: 'friday' }, on_error: 'warning', params: { min_adv: 0, candidates: 40, n_clusters: 5 } },
      { id: 'flaky', module: './flaky.mjs', allocation: 0.1, schedule: { type: 'daily' }, on_error: 'critical' },
    ],
    risk: { max_position: 0.2 },
    validation: { min_universe: 10, healthy_universe: 20 },
    replay: { positions: 'daily', checkpoint_every: 25 },
  });
  await ensureBuilt();
}, 180_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('replay with the strategies on a worker thread', () => {
  it('writes exactly what the single-threaded replay writes, through blocked days', async () => {
    const args = (out: string) => ['replay', '--db', fx.path, '--config', config, '--from', FROM, '--to', TO, '--output-dir', out];
    const single = await runCli(args(join(root, 'single')));
    expect(single.code).toBe(0);
    const threaded = await runBinary(args(join(root, 'threaded')), { env: { KAIROS_LOG_LEVEL: 'debug' } });
    expect(threaded.code).toBe(0);
    expect(threaded.stderr).toContain('strategies run ahead on a worker thread');
    expect(threaded.stderr).toContain('strategy worker restarted from the combined book');
    expect(threaded.stderr).not.toContain('strategy worker stopped');

    const metrics = JSON.parse(await readFile(join(root, 'single', 'metrics.json'), 'utf8')) as { notes: string[] };
    expect(metrics.notes.join('\n')).toMatch(new RegExp(`${FAILS_ON.length} session\\(s\\) blocked`));
    expect(await treeDigest(join(root, 'threaded'))).toEqual(await treeDigest(join(root, 'single')));
  }, 180_000);

  it('exits with the error, and writes nothing, when the replay fails after the worker has started', async () => {
    // The worker starts before the panel loads; a range the database cannot serve fails after that.
    const out = join(root, 'after-the-data');
    const failed = await runBinary(['replay', '--db', fx.path, '--config', config, '--from', '2025-03-03', '--to', '2025-03-31', '--output-dir', out]);
    expect(failed.code).toBe(4);
    expect(failed.stderr).toMatch(/the database ends 2024-12-31, before the replay starts/);
    await expect(readFile(join(out, 'metrics.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  }, 60_000);
});
