import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRebalanceDay, scheduleRuleSchema } from '../src/calendar/schedule.js';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { toEpochDay, type IsoDate } from '../src/core/dates.js';
import { parseCsv, runCli, syntheticFixture, writeConfig, type SyntheticFixture } from './helpers/cli.js';
import { deleteKeysUnder, redisUrlForTests } from './helpers/redis.js';
import { holdingsCsvFromPositions, pick, readReplayOutputs, type ReplayOutputs } from './helpers/replay-fixtures.js';

/**
 * Parity: for a day D inside a replay, `kairos run --date D` from the same prior state (the
 * replay's snapshot of D−1 in Redis, its holdings entering D as --holdings) orders exactly what
 * the replay filled for book `combined` at the next open.
 */

const FROM: IsoDate = '2024-08-01';
const TO: IsoDate = '2024-09-30';
const calendar = new XnysCalendar();
const risk4Schedule = scheduleRuleSchema.parse({ type: 'every_n_sessions', every: 5 });
const momentumSchedule = scheduleRuleSchema.parse({ type: 'weekly', weekday: 'monday' });

let root: string;
let fx: SyntheticFixture;
let config: string;
let portfolio: string;
let redisUrl: string;
let client: Redis;
let replay: ReplayOutputs;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kairos-replay-parity-'));
  fx = await syntheticFixture(root, { tickers: 60, from: '2023-06-01', to: '2024-10-31', seed: 11 });
  portfolio = `replay-parity-${process.pid}-${randomBytes(4).toString('hex')}`;
  redisUrl = redisUrlForTests();
  client = new Redis(redisUrl, { lazyConnect: true });
  await client.connect();
  // Two strategies on different schedules, so on most days one of them holds the signal kept in
  // its state: the run must read that state from Redis to agree with the replay.
  config = await writeConfig(join(root, 'parity.yaml'), {
    portfolio,
    strategies: [
      { id: 'risk4', module: 'risk4', allocation: 0.6, schedule: { type: 'every_n_sessions', every: 5 }, params: { top_n: 15, min_adv: 0 } },
      { id: 'momentum', module: 'example-momentum', allocation: 0.4, schedule: { type: 'weekly', weekday: 'monday' }, params: { top_n: 8, window: 20, min_adv: 0 } },
    ],
    risk: { max_position: 0.2 },
    validation: { min_universe: 10, healthy_universe: 20 },
    replay: { positions: 'daily', checkpoint_every: 1 },
  });
  const out = join(root, 'replay');
  const result = await runCli(['replay', '--db', fx.path, '--config', config, '--from', FROM, '--to', TO, '--output-dir', out, '--state', redisUrl]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  replay = await readReplayOutputs(out);
}, 120_000);

afterAll(async () => {
  if (client !== undefined) {
    await deleteKeysUnder(client, `kairos:${portfolio}`);
    await client.quit();
  }
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

/** `kairos run --date D` on the replay's holdings entering D; its trades as ticker,action,shares. */
async function runOn(date: IsoDate): Promise<string[]> {
  const holdings = join(root, `holdings-${date}.csv`);
  await writeFile(holdings, holdingsCsvFromPositions(replay.positions, 'combined', date));
  const out = join(root, `run-${date}`);
  const result = await runCli(['run', '--date', date, '--config', config, '--db', fx.path, '--state', redisUrl, '--holdings', holdings, '--output-dir', out]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return pick(parseCsv(await readFile(join(out, 'trades.csv'), 'utf8')).rows, ['ticker', 'action', 'shares']);
}

/** The replay's combined-book fills of the orders decided on D: dated the next session (next_open). */
function replayOrdersOf(date: IsoDate): string[] {
  const next = calendar.nextSession(date, true);
  return pick(
    replay.trades.filter((t) => t.book === 'combined' && t.date === next && t.reason === 'rebalance'),
    ['ticker', 'side', 'shares'],
  );
}

const sessions = (): IsoDate[] => calendar.sessions(FROM, TO).slice(5, -1);
/** A Monday on which Risk4 is not due: momentum rebalances, Risk4's signal comes from its state. */
const mondayOnly = (): IsoDate => sessions().find((d) => isRebalanceDay(momentumSchedule, calendar, d) && !isRebalanceDay(risk4Schedule, calendar, d))!;
/** A Risk4 day that is not a Monday: momentum's signal comes from its state. */
const risk4Only = (): IsoDate => sessions().find((d) => isRebalanceDay(risk4Schedule, calendar, d) && !isRebalanceDay(momentumSchedule, calendar, d))!;

describe('replay ↔ kairos run parity', () => {
  it('the replay committed one snapshot per session to Redis (checkpoint_every: 1)', async () => {
    const dates = await client.zrange(`kairos:${portfolio}:runs`, '0', '-1');
    expect(dates).toEqual(calendar.sessions(FROM, TO));
  });

  // Each run commits its own snapshot of D over the replay's; with parity it holds the same state.
  it.each([
    ['a Risk4 day (momentum held from state)', risk4Only],
    ['a Monday (momentum rebalances, Risk4 held from state)', mondayOnly],
  ])('on %s, kairos run orders what the replay filled the next session', async (_label, choose) => {
    const date = choose();
    expect(date).toBeDefined();
    const replayed = replayOrdersOf(date);
    expect(replayed.length).toBeGreaterThan(0);
    // loadBefore(D) is the replay's snapshot of the session before D.
    const prior = (await client.zrevrangebyscore(`kairos:${portfolio}:runs`, `(${toEpochDay(date)}`, '-inf', 'LIMIT', 0, 1))[0];
    expect(prior).toBe(calendar.previousSession(date, true));
    expect(await runOn(date)).toEqual(replayed);
    // Teeth: the same run without the replay's prior state (a first run) orders something else.
    const holdings = join(root, `holdings-${date}.csv`);
    const out = join(root, `run-nostate-${date}`);
    const fresh = await runCli(['run', '--date', date, '--config', config, '--db', fx.path, '--holdings', holdings, '--output-dir', out]);
    expect(fresh.code).toBe(0);
    expect(pick(parseCsv(await readFile(join(out, 'trades.csv'), 'utf8')).rows, ['ticker', 'action', 'shares'])).not.toEqual(replayed);
  });

  it('on a day no strategy is due, neither trades', async () => {
    const date = sessions().find((d) => !isRebalanceDay(momentumSchedule, calendar, d) && !isRebalanceDay(risk4Schedule, calendar, d) && d > risk4Only() && d > mondayOnly())!;
    expect(replayOrdersOf(date)).toEqual([]);
    expect(await runOn(date)).toEqual([]);
  });
});
