import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isRebalanceDay } from '../src/calendar/schedule.js';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { kairosConfigSchema } from '../src/config/schema.js';
import type { IsoDate } from '../src/core/dates.js';
import { ExitCode } from '../src/core/errors.js';
import { ensureBuilt, parseCsv, redisDump, REPO_ROOT, runBinary, syntheticFixture, treeDigest, writeConfig, type SyntheticFixture } from './helpers/cli.js';
import { deleteKeysUnder, redisUrlForTests } from './helpers/redis.js';

/**
 * Restart continuity on Redis (issue 3, "Engine": "run D, restart the process, run the next
 * session: held strategies continue from Redis exactly"), with every run a separate
 * `node bin/kairos.js run` process and config/multi.yaml's five strategies.
 *
 * D = Tue 2025-12-09, a risk4 session (every 5th from 2015-01-02); on D every strategy rebalances
 * (scheduled, or first run). D+1 = Wed 2025-12-10: only the daily `volatility` is due — risk4's
 * next is 12-16, durbin-watson Mon 12-15, kurtosis Mon 12-22 (biweekly from 2015-01-05), cluster
 * Fri 12-12 — so the other four hold D's signals. D+2 = Thu 2025-12-11 is the same again.
 */
const D: IsoDate = '2025-12-09';
const D1: IsoDate = '2025-12-10';
const D2: IsoDate = '2025-12-11';
const HELD = ['risk4', 'durbin-watson', 'kurtosis', 'cluster'] as const;
const IDS = ['risk4', 'volatility', 'durbin-watson', 'kurtosis', 'cluster'] as const;

/** A strategy that always throws: swapped in for `volatility` to make a run fail after it took the lock. */
const FAILING_PLUGIN = `export default {
  name: 'failing',
  description: 'engine-run-redis test plugin: always throws',
  paramsSchema: { safeParse: (value) => ({ success: true, data: value ?? {} }) },
  warmupSessions: () => 1,
  rebalance() {
    throw new Error('volatility feed unavailable');
  },
};
`;

const calendar = new XnysCalendar();
const portfolio = `engine-redis-${process.pid}-${randomBytes(4).toString('hex')}`;
const prefix = `kairos:${portfolio}`;
let shared: string;
let fx: SyntheticFixture;
let redisUrl: string;
let client: Redis;
/** config/multi.yaml as parsed, with this test's portfolio id. */
let multi: Record<string, unknown>;
let configPath: string;
const out = (name: string): string => join(shared, 'out', name);

interface StoredState {
  readonly lastRebalance: IsoDate | null;
  readonly signal: Record<string, number>;
  readonly custom: unknown;
  readonly sleeveReturns?: number[];
}

async function stateKey(key: string): Promise<{ raw: string; value: StoredState }> {
  const raw = await client.get(key);
  expect(raw, key).not.toBeNull();
  return { raw: raw!, value: JSON.parse(raw!) as StoredState };
}
const runStateKey = (date: IsoDate, id: string): string => `${prefix}:run:${date}:strategies:${id}:state`;

function run(date: IsoDate, outputDir: string, config = configPath): ReturnType<typeof runBinary> {
  return runBinary(['run', '--db', fx.path, '--date', date, '--config', config, '--state', redisUrl, '--output-dir', outputDir]);
}

async function summaryOf(dir: string): Promise<{ strategies: { id: string; status: string; reason: string; last_rebalance: IsoDate | null; next_rebalance: IsoDate; positions: number }[]; portfolio_id: string; date: IsoDate }> {
  return JSON.parse(await readFile(join(dir, 'portfolio_summary.json'), 'utf8')) as Awaited<ReturnType<typeof summaryOf>>;
}

async function sleeveRows(dir: string, id: string): Promise<Record<string, string>[]> {
  return parseCsv(await readFile(join(dir, 'sleeves.csv'), 'utf8')).rows.filter((r) => r.strategy === id);
}

/** Every artifact's bytes, with schedule.json's generated_at (the wall clock) blanked. */
async function artifacts(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const text = await readFile(join(dir, name), 'utf8');
    files[name] = name === 'schedule.json' ? text.replace(/"generated_at": "[^"]*"/, '"generated_at": "<now>"') : text;
  }
  return files;
}

beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'kairos-engine-run-redis-'));
  // 200 names × 2024-10-01..2025-12-31: ≈ 300 sessions, past cluster's 121 and the risk stage's 127.
  [fx] = await Promise.all([syntheticFixture(shared), ensureBuilt()]);
  redisUrl = redisUrlForTests();
  client = new Redis(redisUrl, { lazyConnect: true });
  await client.connect();
  multi = { ...(parse(await readFile(join(REPO_ROOT, 'config', 'multi.yaml'), 'utf8')) as Record<string, unknown>), portfolio };
  configPath = await writeConfig(join(shared, 'multi.yaml'), multi);
  await writeFile(join(shared, 'failing.mjs'), FAILING_PLUGIN);

  expect(await run(D, out(D))).toMatchObject({ code: 0, stderr: '' });
  // A new process for the next session: nothing carries over but Redis.
  expect(await run(D1, out(D1))).toMatchObject({ code: 0, stderr: '' });
});

afterAll(async () => {
  if (client !== undefined) {
    await deleteKeysUnder(client, prefix);
    await client.quit();
  }
  if (shared !== undefined) await rm(shared, { recursive: true, force: true });
});

describe('restart: run D, then D+1 in a new process', () => {
  it('uses dates where, on D+1 and D+2, only the daily strategy is due', () => {
    const config = kairosConfigSchema.parse(multi);
    expect(config.strategies.map((s) => s.id)).toEqual(IDS);
    for (const date of [D1, D2]) {
      const due = config.strategies.filter((s) => isRebalanceDay(s.schedule, calendar, date)).map((s) => s.id);
      expect(due, date).toEqual(['volatility']);
    }
    expect(calendar.nextSession(D, true)).toBe(D1);
    expect(calendar.nextSession(D1, true)).toBe(D2);
    expect(fx.sessions.indexOf(D)).toBeGreaterThan(130);
  });

  it('D stored a fresh signal for every strategy', async () => {
    for (const id of IDS) {
      const { value } = await stateKey(runStateKey(D, id));
      expect(value.lastRebalance, id).toBe(D);
      expect(Object.keys(value.signal).length, id).toBeGreaterThan(0);
    }
  });

  it('each held strategy’s signal, last rebalance and own state in Redis are exactly what run D stored', async () => {
    for (const id of HELD) {
      const before = (await stateKey(runStateKey(D, id))).value;
      const after = (await stateKey(runStateKey(D1, id))).value;
      expect(after.signal, id).toStrictEqual(before.signal);
      expect(after.lastRebalance, id).toBe(D);
      expect(after.custom, id).toStrictEqual(before.custom);
      // Only the sleeve's return history moves on: one more interval, D → D+1.
      expect(after.sleeveReturns!.slice(0, -1), id).toStrictEqual(before.sleeveReturns);
      expect(after.sleeveReturns, id).toHaveLength(before.sleeveReturns!.length + 1);
    }
    const volatility = (await stateKey(runStateKey(D1, 'volatility'))).value;
    expect(volatility.lastRebalance).toBe(D1);
  });

  it('keeps the latest-state keys and the run meta in step with D+1', async () => {
    for (const id of IDS) {
      expect((await stateKey(`${prefix}:strategies:${id}:state`)).raw, id).toBe((await stateKey(runStateKey(D1, id))).raw);
    }
    const meta = JSON.parse((await client.get(`${prefix}:run:${D1}:meta`))!) as { date: string; runId: string; strategies: string[] };
    const metaD = JSON.parse((await client.get(`${prefix}:run:${D}:meta`))!) as { runId: string };
    expect(meta).toMatchObject({ date: D1, strategies: [...IDS].sort() });
    expect(meta.runId).not.toBe(metaD.runId);
    expect(await client.zrange(`${prefix}:runs`, '0', '-1')).toEqual([D, D1]);
    expect(await client.exists(`${prefix}:lock`)).toBe(0);
  });

  it('portfolio_summary.json of D+1 lists the four as held since D and volatility as rebalanced', async () => {
    const summary = await summaryOf(out(D1));
    expect(summary).toMatchObject({ date: D1, portfolio_id: portfolio });
    const byId = Object.fromEntries(summary.strategies.map((s) => [s.id, s]));
    expect(Object.keys(byId)).toEqual([...IDS]);
    for (const id of HELD) expect(byId[id], id).toMatchObject({ status: 'held', reason: 'not_due', last_rebalance: D });
    expect(byId.volatility).toMatchObject({ status: 'rebalanced', reason: 'scheduled', last_rebalance: D1, next_rebalance: D2 });
    expect(byId.risk4!.next_rebalance).toBe('2025-12-16');
    expect(byId['durbin-watson']!.next_rebalance).toBe('2025-12-15');
    expect(byId.kurtosis!.next_rebalance).toBe('2025-12-22');
    expect(byId.cluster!.next_rebalance).toBe('2025-12-12');
    // A held sleeve has the positions it had on D.
    const onD = Object.fromEntries((await summaryOf(out(D))).strategies.map((s) => [s.id, s]));
    for (const id of HELD) expect(byId[id]!.positions, id).toBe(onD[id]!.positions);
  });

  it('sleeves.csv of D+1 shows each held strategy wanting exactly what it wanted on D', async () => {
    for (const id of HELD) {
      const rows = await sleeveRows(out(D1), id);
      expect(rows.length, id).toBeGreaterThan(0);
      expect(rows, id).toEqual(await sleeveRows(out(D), id));
    }
  });
});

describe('re-running D+1 in another new process', () => {
  it('writes byte-identical artifacts (schedule.json’s generated_at aside) and the same state', async () => {
    const stateBefore = await redisDump(client, prefix);
    expect(await run(D1, out(`${D1}-again`))).toMatchObject({ code: 0, stderr: '' });
    const first = await artifacts(out(D1));
    expect(Object.keys(first)).toEqual(['picks.csv', 'portfolio_summary.json', 'schedule.json', 'sleeves.csv', 'trades.csv']);
    expect(await artifacts(out(`${D1}-again`))).toEqual(first);

    // Same snapshot: only the run's meta (its run id and commit time) is new.
    const stateAfter = await redisDump(client, prefix);
    const metaKey = `${prefix}:run:${D1}:meta`;
    expect(Object.keys(stateAfter)).toEqual(Object.keys(stateBefore));
    for (const key of Object.keys(stateBefore).filter((k) => k !== metaKey)) expect(stateAfter[key], key).toEqual(stateBefore[key]);
  });
});

describe('a run of D+2 that fails leaves the state exactly as it was', () => {
  let before: Record<string, unknown>;
  let goodDigest: Record<string, string> | null;
  beforeAll(async () => {
    before = await redisDump(client, prefix);
    goodDigest = await treeDigest(out(D1));
  });

  async function expectUntouched(fresh: string): Promise<void> {
    expect(await redisDump(client, prefix)).toEqual(before);
    expect(existsSync(fresh)).toBe(false);
    expect(await treeDigest(out(D1))).toEqual(goodDigest);
    expect(await client.exists(`${prefix}:lock`)).toBe(0);
  }

  it('blocked by a CRITICAL pre-rebalance check (a second config, same portfolio, min_universe huge)', async () => {
    const huge = await writeConfig(join(shared, 'huge.yaml'), { ...multi, validation: { min_universe: 100_000, healthy_universe: 150 } });
    const fresh = out(`${D2}-huge`);
    const result = await run(D2, fresh, huge);
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stderr).toMatch(/^kairos: rebalance for 2025-12-11 blocked: .*at least 100000 required\n$/);
    await expectUntouched(fresh);
  });

  it('blocked midway: a strategy with on_error critical fails after the session ran under the lock', async () => {
    const strategies = (multi.strategies as Record<string, unknown>[]).map((s) => (s.id === 'volatility' ? { ...s, module: './failing.mjs', params: {}, on_error: 'critical' } : s));
    const failing = await writeConfig(join(shared, 'failing.yaml'), { ...multi, strategies });
    const fresh = out(`${D2}-failing`);
    const result = await run(D2, fresh, failing);
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stderr).toMatch(/^kairos: rebalance for 2025-12-11 blocked: strategy volatility failed and its previous signal is held: volatility feed unavailable\n$/);
    await expectUntouched(fresh);
    // Over the previous output directory too: it is left as it was.
    expect((await run(D2, out(D1), failing)).code).toBe(ExitCode.blocked);
    await expectUntouched(fresh);
  });

  it('failing at the last step: the artifacts cannot be written (output directory under a file)', async () => {
    const blocker = join(shared, 'not-a-directory');
    await writeFile(blocker, '');
    const result = await run(D2, join(blocker, 'out'));
    expect(result.code).not.toBe(ExitCode.ok);
    expect(result.stderr).toMatch(/not-a-directory/);
    await expectUntouched(join(blocker, 'out'));
  });

  it('after which D+2 runs from D+1’s state: the held strategies still carry D’s signals', async () => {
    expect(await run(D2, out(D2))).toMatchObject({ code: 0, stderr: '' });
    for (const id of HELD) {
      const onD = (await stateKey(runStateKey(D, id))).value;
      const onD2 = (await stateKey(runStateKey(D2, id))).value;
      expect(onD2.signal, id).toStrictEqual(onD.signal);
      expect(onD2.lastRebalance, id).toBe(D);
      expect(onD2.sleeveReturns, id).toHaveLength(onD.sleeveReturns!.length + 2);
    }
    const summary = await summaryOf(out(D2));
    expect(summary.strategies.map((s) => [s.id, s.status, s.last_rebalance])).toEqual([
      ['risk4', 'held', D],
      ['volatility', 'rebalanced', D2],
      ['durbin-watson', 'held', D],
      ['kurtosis', 'held', D],
      ['cluster', 'held', D],
    ]);
    expect(await client.zrange(`${prefix}:runs`, '0', '-1')).toEqual([D, D1, D2]);
  });
});
