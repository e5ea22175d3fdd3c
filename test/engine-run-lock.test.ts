import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IsoDate } from '../src/core/dates.js';
import { ExitCode } from '../src/core/errors.js';
import { RedisStateStore } from '../src/state/redis-store.js';
import { ensureBuilt, redisDump, runBinary, runCli, smallUniverseConfig, syntheticFixture, writeConfig, type CliResult, type SyntheticFixture } from './helpers/cli.js';
import { deleteKeysUnder, redisUrlForTests } from './helpers/redis.js';

/**
 * The run lock in the state store (issue 3, "Engine"): a second concurrent `kairos run` for the
 * same portfolio refuses with exit 7 and says why; the lock is released however a run ends.
 */

/**
 * A plugin that can fail on purpose, wait for a file (to keep its run, and so its lock, alive while
 * a test starts a second one), and call a probe the test installs in this process.
 */
const PROBE_PLUGIN = `import { existsSync } from 'node:fs';
export default {
  name: 'probe',
  description: 'engine-run-lock test plugin',
  paramsSchema: { safeParse: (value) => ({ success: true, data: value ?? {} }) },
  warmupSessions: () => 1,
  async rebalance(context) {
    const params = context.params;
    const probe = globalThis.__kairosEngineRunProbe;
    if (typeof probe === 'function') await probe(context);
    if (typeof params.wait_for === 'string') {
      const deadline = Date.now() + 60000;
      while (!existsSync(params.wait_for)) {
        if (Date.now() > deadline) throw new Error('timed out waiting for ' + params.wait_for);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    if (params.fail === true) throw new Error('probe strategy failed on purpose');
    return { targets: [] };
  },
};
`;

type Probe = (context: { date: IsoDate }) => Promise<void>;
const probeSlot = globalThis as { __kairosEngineRunProbe?: Probe };

let shared: string;
let fx: SyntheticFixture;
let redisUrl: string;
let client: Redis;
let store: RedisStateStore;
let date: IsoDate;
const portfolios: string[] = [];

beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'kairos-engine-run-lock-'));
  fx = await syntheticFixture(shared, { seed: 11 });
  date = fx.lastSession;
  await writeFile(join(shared, 'probe.mjs'), PROBE_PLUGIN);
  redisUrl = redisUrlForTests();
  client = new Redis(redisUrl, { lazyConnect: true });
  await client.connect();
  store = await RedisStateStore.connect(redisUrl);
});

afterEach(() => {
  delete probeSlot.__kairosEngineRunProbe;
});

afterAll(async () => {
  if (client !== undefined) {
    for (const portfolio of portfolios) await deleteKeysUnder(client, `kairos:${portfolio}`);
    await client.quit();
  }
  if (store !== undefined) await store.close();
  if (shared !== undefined) await rm(shared, { recursive: true, force: true });
});

/** A portfolio id of its own (lowercase: config ids are) and a config for it. */
async function portfolioConfig(label: string, probe?: Record<string, unknown>): Promise<{ portfolio: string; config: string }> {
  const portfolio = `engine-lock-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
  portfolios.push(portfolio);
  const strategies = [
    { id: 'risk4', module: 'risk4', allocation: 1, params: { top_n: 40 } },
    ...(probe ? [{ id: 'probe', module: './probe.mjs', schedule: { type: 'daily' }, allocation: 0, on_error: 'critical', params: probe }] : []),
  ];
  const config = await writeConfig(join(shared, `${portfolio}.yaml`), smallUniverseConfig(portfolio, { strategies }));
  return { portfolio, config };
}

function runArgs(config: string, outputDir: string, day: IsoDate = date): string[] {
  return ['run', '--db', fx.path, '--date', day, '--config', config, '--state', redisUrl, '--output-dir', outputDir];
}

const lockKey = (portfolio: string): string => `kairos:${portfolio}:lock`;

function expectLockedOut(result: CliResult, portfolio: string): void {
  expect(result.code).toBe(ExitCode.locked);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(`kairos: portfolio "${portfolio}" is locked by another run in progress; try again when it finishes\n`);
}

describe('a run while another run holds the portfolio lock', () => {
  it('refuses with exit 7 naming the portfolio, writes nothing and leaves the other run’s lock alone; runs once it is released', async () => {
    const { portfolio, config } = await portfolioConfig('held');
    expect(await store.acquireLock(portfolio, 'other-owner', 60_000)).toBe(true);
    const out = join(shared, `${portfolio}-out`);

    expectLockedOut(await runCli(runArgs(config, out)), portfolio);
    expect(existsSync(out)).toBe(false);
    expect(await store.listDates(portfolio)).toEqual([]);
    expect(await client.get(lockKey(portfolio))).toBe('other-owner');
    expect(await client.pttl(lockKey(portfolio))).toBeGreaterThan(50_000);
    // The lock is per portfolio: another portfolio runs meanwhile.
    const other = await portfolioConfig('neighbour');
    expect(await runCli(runArgs(other.config, join(shared, `${other.portfolio}-out`)))).toMatchObject({ code: 0, stderr: '' });

    await store.releaseLock(portfolio, 'other-owner');
    expect(await runCli(runArgs(config, out))).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(out, 'portfolio_summary.json'))).toBe(true);
    expect(await store.listDates(portfolio)).toEqual([date]);
    // …and released it when done.
    expect(await client.exists(lockKey(portfolio))).toBe(0);
  });

  it('refuses while another process’s run is in progress, with real processes', async () => {
    await ensureBuilt();
    const release = join(shared, `release-${randomBytes(4).toString('hex')}`);
    const { portfolio, config } = await portfolioConfig('concurrent', { wait_for: release });
    let firstEnded = false;
    const first = runBinary(runArgs(config, join(shared, `${portfolio}-first`))).finally(() => (firstEnded = true));
    try {
      // The first run holds the lock while its probe strategy waits for the release file.
      const owner = await waitForLock(portfolio, () => firstEnded);
      const second = await runBinary(runArgs(config, join(shared, `${portfolio}-second`)));
      expectLockedOut(second, portfolio);
      expect(existsSync(join(shared, `${portfolio}-second`))).toBe(false);
      expect(await client.get(lockKey(portfolio))).toBe(owner);
    } finally {
      await writeFile(release, '');
    }
    expect(await first).toMatchObject({ code: 0, stderr: '' });
    expect(await store.listDates(portfolio)).toEqual([date]);
    expect(await client.exists(lockKey(portfolio))).toBe(0);
  });

  it('runs once a lock left by a crashed run has expired', async () => {
    const { portfolio, config } = await portfolioConfig('expired');
    // Long enough for the first run to meet the lock even when the suite loads both cores.
    const lockMs = 2000;
    const acquired = Date.now();
    expect(await store.acquireLock(portfolio, 'crashed-run', lockMs)).toBe(true);
    expectLockedOut(await runCli(runArgs(config, join(shared, `${portfolio}-early`))), portfolio);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, acquired + lockMs + 150 - Date.now())));
    expect(await runCli(runArgs(config, join(shared, `${portfolio}-out`)))).toMatchObject({ code: 0, stderr: '' });
    expect(await client.exists(lockKey(portfolio))).toBe(0);
  });
});

describe('the lock is released however the run ends', () => {
  it('after a successful run, having been held during it', async () => {
    const { portfolio, config } = await portfolioConfig('success', {});
    const seen: (string | null)[] = [];
    probeSlot.__kairosEngineRunProbe = async () => void seen.push(await client.get(lockKey(portfolio)));
    expect(await runCli(runArgs(config, join(shared, `${portfolio}-out`)))).toMatchObject({ code: 0, stderr: '' });
    expect(seen).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    expect(await client.exists(lockKey(portfolio))).toBe(0);
  });

  it('after a run blocked midway (a critical strategy failed after the lock was taken), leaving the state as it was', async () => {
    const { portfolio, config } = await portfolioConfig('blocked', { fail: false });
    expect(await runCli(runArgs(config, join(shared, `${portfolio}-d0`), fx.sessions.at(-2)!))).toMatchObject({ code: 0, stderr: '' });
    const before = await redisDump(client, `kairos:${portfolio}`);

    const failing = await writeConfig(
      join(shared, `${portfolio}-failing.yaml`),
      smallUniverseConfig(portfolio, {
        strategies: [
          { id: 'risk4', module: 'risk4', allocation: 1, params: { top_n: 40 } },
          { id: 'probe', module: './probe.mjs', schedule: { type: 'daily' }, allocation: 0, on_error: 'critical', params: { fail: true } },
        ],
      }),
    );
    const seen: (string | null)[] = [];
    probeSlot.__kairosEngineRunProbe = async () => void seen.push(await client.get(lockKey(portfolio)));
    const out = join(shared, `${portfolio}-d1`);
    const result = await runCli(runArgs(failing, out));
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stderr).toMatch(/^kairos: rebalance for \S+ blocked: strategy probe failed and its previous signal is held: probe strategy failed on purpose\n$/);
    expect(seen).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    expect(await client.exists(lockKey(portfolio))).toBe(0);
    expect(existsSync(out)).toBe(false);
    expect(await redisDump(client, `kairos:${portfolio}`)).toEqual(before);

    // Nothing is left behind that would stop the next run.
    expect(await runCli(runArgs(config, out))).toMatchObject({ code: 0, stderr: '' });
    expect(await store.listDates(portfolio)).toEqual([fx.sessions.at(-2)!, date]);
  });

  it('after a run blocked by the pre-rebalance checks', async () => {
    const { portfolio } = await portfolioConfig('prechecks');
    const huge = await writeConfig(
      join(shared, `${portfolio}-huge.yaml`),
      smallUniverseConfig(portfolio, { validation: { healthy_universe: 50, min_universe: 100_000 } }),
    );
    const result = await runCli(runArgs(huge, join(shared, `${portfolio}-out`)));
    expect(result.code).toBe(ExitCode.blocked);
    expect(result.stderr).toMatch(/at least 100000 required/);
    expect(await client.exists(lockKey(portfolio))).toBe(0);
    expect(await redisDump(client, `kairos:${portfolio}`)).toEqual({});
  });
});

/** Waits until a run holds `portfolio`'s lock and returns its owner token. */
async function waitForLock(portfolio: string, holderEnded: () => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const owner = await client.get(lockKey(portfolio));
    if (owner !== null) return owner;
    if (holderEnded()) throw new Error(`the run expected to hold the lock of ${portfolio} ended without it`);
    if (Date.now() > deadline) throw new Error(`no run took the lock of ${portfolio} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
