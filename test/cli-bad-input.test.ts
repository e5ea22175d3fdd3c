import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnysCalendar } from '../src/calendar/xnys.js';
import type { IsoDate } from '../src/core/dates.js';
import { ExitCode } from '../src/core/errors.js';
import { KairosDatabase } from '../src/data/database.js';
import {
  copyDatabase,
  ensureBuilt,
  redisDump,
  runBinary,
  runCli,
  smallUniverseConfig,
  syntheticFixture,
  treeDigest,
  useTempDir,
  writeConfig,
  type CliResult,
  type SyntheticFixture,
} from './helpers/cli.js';
import { deleteKeysUnder, redisUrlForTests, unreachableRedisUrl } from './helpers/redis.js';

const calendar = new XnysCalendar();
const portfolio = `cli-bad-${process.pid}-${randomBytes(4).toString('hex')}`;
const statePrefix = `kairos:${portfolio}`;
let shared: string;
let fx: SyntheticFixture;
let config: string;
let redisUrl: string;
let client: Redis;
/** D: the database's last session, on which the good run below was made. */
let date: IsoDate;
/** A ticker with every value present on D. */
let healthy: string;
/** A ticker with rows before D (inside the panel's history) but no price on D: delisted. */
let delisted: string;
/** Output of a good run on D, with its file digests and the Redis state it left. */
let goodDir: string;
let goodDigest: Record<string, string> | null;
let goodState: Record<string, unknown>;
const tmp = useTempDir('kairos-cli-bad-');

beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'kairos-cli-bad-shared-'));
  fx = await syntheticFixture(shared, { seed: 7 });
  date = fx.lastSession;
  config = await writeConfig(join(shared, 'kairos.yaml'), smallUniverseConfig(portfolio));
  redisUrl = redisUrlForTests();
  client = new Redis(redisUrl, { lazyConnect: true });
  await client.connect();

  const db = await KairosDatabase.open(fx.path, { readOnly: true });
  try {
    const onD = await db.query(`SELECT ticker FROM feat_matrix_v2 WHERE date = CAST($1 AS DATE) AND vol_blend > 0 ORDER BY ticker LIMIT 1`, [date]);
    healthy = String(onD[0]!.ticker);
    const gone = await db.query(
      `SELECT ticker FROM sep_base GROUP BY ticker
       HAVING max(date) < CAST($1 AS DATE) AND max(date) >= CAST($2 AS DATE) ORDER BY ticker LIMIT 1`,
      [date, calendar.sessions('2025-01-01', date).at(-60)!],
    );
    delisted = String(gone[0]!.ticker);
  } finally {
    db.close();
  }

  goodDir = join(shared, 'good');
  const previous = calendar.sessions('2025-01-01', date).at(-6)!;
  for (const [day, dir] of [[previous, join(shared, 'previous')], [date, goodDir]] as const) {
    const good = await runCli(['rebalance', '--db', fx.path, '--date', day, '--config', config, '--state', redisUrl, '--output-dir', dir]);
    expect(good).toMatchObject({ code: 0, stderr: '' });
  }
  goodDigest = await treeDigest(goodDir);
  goodState = await redisDump(client, statePrefix);
  expect(Object.keys(goodState).length).toBeGreaterThan(0);
});

afterAll(async () => {
  if (client !== undefined) {
    await deleteKeysUnder(client, statePrefix);
    await client.quit();
  }
  if (shared !== undefined) await rm(shared, { recursive: true, force: true });
});

interface Rejection {
  readonly code: number;
  /** Every pattern must match the one stderr line. */
  readonly message: readonly RegExp[];
}

function expectOneLineError(result: CliResult, expected: Rejection): void {
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^kairos: [^\n]+\n$/);
  for (const pattern of expected.message) expect(result.stderr).toMatch(pattern);
  expect(result.code).toBe(expected.code);
}

/**
 * Runs a rebalance that must fail twice: into a new directory (which must not appear, nor any
 * staging directory beside it) and over the good run's output (which must not change). The
 * Redis state of the portfolio must be exactly what the good runs left.
 */
async function expectRebalanceRejected(args: readonly string[], expected: Rejection, options: { config?: string } = {}): Promise<void> {
  const base = ['rebalance', '--config', options.config ?? config, '--state', redisUrl, ...args];
  const fresh = join(tmp(), 'out');
  const before = await readdir(tmp());
  expectOneLineError(await runCli([...base, '--output-dir', fresh]), expected);
  expect(existsSync(fresh)).toBe(false);
  expect(await readdir(tmp())).toEqual(before);

  const sharedBefore = await readdir(shared);
  expectOneLineError(await runCli([...base, '--output-dir', goodDir]), expected);
  expect(await treeDigest(goodDir)).toEqual(goodDigest);
  expect(await readdir(shared)).toEqual(sharedBefore);
  expect(await redisDump(client, statePrefix)).toEqual(goodState);
}

async function brokenDatabase(statements: readonly string[]): Promise<string> {
  return copyDatabase(fx.path, join(tmp(), 'broken.duckdb'), statements);
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('bad market data', () => {
  it('missing table', async () => {
    const db = await brokenDatabase(['DROP TABLE feat_matrix_v2']);
    await expectRebalanceRejected(['--db', db, '--date', date], { code: ExitCode.data, message: [/missing table feat_matrix_v2/, /broken\.duckdb/] });
  });

  it('missing column', async () => {
    const db = await brokenDatabase(['ALTER TABLE feat_matrix_v2 DROP COLUMN vol_blend']);
    await expectRebalanceRejected(['--db', db, '--date', date], { code: ExitCode.data, message: [/missing column feat_matrix_v2\.vol_blend/] });
  });

  it.each([
    ['NaN', `'NaN'::DOUBLE`, /got NaN/],
    ['+inf', `'Infinity'::DOUBLE`, /got Infinity/],
    ['-inf', `'-Infinity'::DOUBLE`, /got -Infinity/],
    ['negative', '-0.25', /got -0\.25/],
    ['zero', '0', /got 0\n/],
  ])('%s vol_blend on D', async (_label, value, got) => {
    const db = await brokenDatabase([`UPDATE feat_matrix_v2 SET vol_blend = ${value} WHERE ticker = '${healthy}' AND date = DATE '${date}'`]);
    await expectRebalanceRejected(['--db', db, '--date', date], {
      code: ExitCode.data,
      message: [new RegExp(`feat_matrix_v2: ticker ${healthy} on ${date}: vol_blend must be a positive finite number`), got],
    });
  });

  it('duplicate (ticker, date) row in sep_base', async () => {
    const db = await brokenDatabase([`INSERT INTO sep_base SELECT * FROM sep_base WHERE ticker = '${healthy}' AND date = DATE '${date}'`]);
    await expectRebalanceRejected(['--db', db, '--date', date], {
      code: ExitCode.data,
      message: [new RegExp(`sep_base: ticker ${healthy} on ${date} appears more than once`)],
    });
  });

  it('empty universe blocks the run', async () => {
    const strict = await writeConfig(join(tmp(), 'strict.yaml'), smallUniverseConfig(portfolio, { validation: { healthy_universe: 50, min_universe: 20, min_adv: 1e15 } }));
    await expectRebalanceRejected(
      ['--db', fx.path, '--date', date],
      { code: ExitCode.blocked, message: [new RegExp(`rebalance for ${date} blocked`), /0 stocks pass the ADV filter/] },
      { config: strict },
    );
  });

  it('data older than the requested date blocks the run as stale', async () => {
    const next = calendar.nextSession(date, true);
    await expectRebalanceRejected(['--db', fx.path, '--date', next], {
      code: ExitCode.blocked,
      message: [/blocked/, new RegExp(`sep_base ends ${date}, before the requested date ${next} \\(stale data\\)`)],
    });
  });

  it('a date that is not a session names the sessions around it', async () => {
    await expectRebalanceRejected(['--db', fx.path, '--date', '2025-12-25'], {
      code: ExitCode.usage,
      message: [/2025-12-25 is not an XNYS session/, /previous session 2025-12-24/, /next 2025-12-26/],
    });
  });
});

describe('bad holdings', () => {
  const holdings = async (lines: readonly string[]): Promise<string> => {
    const path = join(tmp(), 'holdings.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  };

  it('unknown ticker', async () => {
    const file = await holdings(['ticker,shares', `${healthy},100`, 'ZZZZ9,5']);
    await expectRebalanceRejected(['--db', fx.path, '--date', date, '--holdings', file], {
      code: ExitCode.data,
      message: [new RegExp(`${escape(file)}:3:1: unknown ticker ZZZZ9`)],
    });
  });

  it('negative shares', async () => {
    const file = await holdings(['ticker,shares', `${healthy},-100`]);
    await expectRebalanceRejected(['--db', fx.path, '--date', date, '--holdings', file], {
      code: ExitCode.data,
      message: [new RegExp(`${escape(file)}:2:2: negative shares -100 of ${healthy}`)],
    });
  });

  it('a ticker with no price on D', async () => {
    const file = await holdings(['ticker,shares', `${healthy},100`, `${delisted},50`]);
    await expectRebalanceRejected(['--db', fx.path, '--date', date, '--holdings', file], {
      code: ExitCode.data,
      message: [new RegExp(`${escape(file)}:3:1: ${delisted} has no price at ${date}`)],
    });
  });

  it('malformed CSV names the row and column', async () => {
    const notANumber = await holdings(['ticker,shares', `${healthy},10`, `${delisted},1x`]);
    await expectRebalanceRejected(['--db', fx.path, '--date', date, '--holdings', notANumber], {
      code: ExitCode.data,
      message: [new RegExp(`${escape(notANumber)}:3:2: shares "1x" is not a number`)],
    });
    const unterminated = await holdings(['ticker,shares', `${healthy},10`, `${delisted},"12`]);
    await expectRebalanceRejected(['--db', fx.path, '--date', date, '--holdings', unterminated], {
      code: ExitCode.data,
      message: [new RegExp(`${escape(unterminated)}:3:\\d+: malformed CSV`)],
    });
  });

  it('--prior-holdings together with --holdings', async () => {
    const file = await holdings(['ticker,shares', `${healthy},100`]);
    await expectRebalanceRejected(['--db', fx.path, '--date', date, '--holdings', file, '--prior-holdings', join(goodDir, 'picks.csv')], {
      code: ExitCode.usage,
      message: [/either --prior-holdings or --holdings, not both/],
    });
  });
});

describe('bad config', () => {
  it.each([
    ['unknown top-level key', { validaton: { min_universe: 20 } }, [/unknown key "validaton"/, /did you mean "validation"\?/]],
    ['mistyped nested key', { validation: { min_univers: 20 } }, [/unknown key "validation\.min_univers"/, /did you mean "min_universe"\?/]],
    ['mistyped risk key', { risk: { max_positon: 0.02 } }, [/unknown key "risk\.max_positon"/, /did you mean "max_position"\?/]],
    [
      'mistyped strategy param',
      { strategies: [{ id: 'risk4', module: 'risk4', allocation: 1, params: { top_nn: 40 } }] },
      [/strategies\[0\] \(risk4\) params/, /unknown param "top_nn"/, /did you mean "top_n"\?/],
    ],
    ['value of the wrong type', { validation: { min_universe: 'twenty' } }, [/validation\.min_universe/, /expected number/]],
  ] as const)('%s', async (_label, overrides, message) => {
    const file = await writeConfig(join(tmp(), 'bad.yaml'), { ...smallUniverseConfig(portfolio), ...overrides });
    await expectRebalanceRejected(['--db', fx.path, '--date', date], { code: ExitCode.config, message: [...message] }, { config: file });
    // Every command that reads a config rejects the same configs, strategy params included.
    expectOneLineError(await runCli(['check', '--date', date, '--config', file]), { code: ExitCode.config, message: [...message] });
    expectOneLineError(await runCli(['validate', '--db', fx.path, '--date', date, '--config', file]), { code: ExitCode.config, message: [...message] });
  });
});

describe('unreachable Redis', () => {
  it('fails fast with exit 6 naming the URL', async () => {
    const url = await unreachableRedisUrl();
    const fresh = join(tmp(), 'out');
    const result = await runCli(['rebalance', '--db', fx.path, '--date', date, '--config', config, '--state', url, '--output-dir', fresh]);
    expectOneLineError(result, { code: ExitCode.state, message: [new RegExp(`cannot reach Redis at ${escape(url)}`)] });
    expect(result.ms).toBeLessThan(2_000);
    expect(existsSync(fresh)).toBe(false);
    expect(await redisDump(client, statePrefix)).toEqual(goodState);
  });

  it('the process exits promptly too', async () => {
    await ensureBuilt();
    const url = await unreachableRedisUrl();
    const fresh = join(tmp(), 'out');
    const run = (state: string): Promise<CliResult> =>
      runBinary(['rebalance', '--db', fx.path, '--date', date, '--config', config, '--state', state, '--output-dir', fresh]);
    // The same failure point without any connection attempt: process start-up and module loading.
    const baseline = await run('bogus://nowhere');
    expectOneLineError(baseline, { code: ExitCode.state, message: [/unsupported state store "bogus:\/\/nowhere"/] });
    const result = await run(url);
    expectOneLineError(result, { code: ExitCode.state, message: [new RegExp(`cannot reach Redis at ${escape(url)}`)] });
    // Not held open afterwards by the Redis client's 2 s disconnect timer.
    expect(result.ms - baseline.ms).toBeLessThan(1_000);
    expect(existsSync(fresh)).toBe(false);
  });
});

describe('bad CSV for data import', () => {
  const HEADER = 'ticker,date,open,high,low,close,volume';
  const GOOD = ['AAA,2025-01-02,10,11,9,10.5,1000', 'BBB,2025-01-02,20,21,19,20.5,2000'];

  /** A database holding GOOD, and its table contents for "unchanged" checks. */
  async function importedDatabase(): Promise<{ db: string; contents: () => Promise<unknown> }> {
    const db = join(tmp(), 'import.duckdb');
    const prices = join(tmp(), 'good.csv');
    await writeFile(prices, [HEADER, ...GOOD, ''].join('\n'));
    expect(await runCli(['data', 'import', '--prices', prices, '--db', db])).toMatchObject({ code: 0, stderr: '' });
    const contents = async (): Promise<unknown> => {
      const handle = await KairosDatabase.open(db, { readOnly: true });
      try {
        return await handle.query('SELECT * FROM sep_base ORDER BY ticker, date');
      } finally {
        handle.close();
      }
    };
    return { db, contents };
  }

  it.each([
    ['a value that is not a number', ['AAA,2025-01-03,10,11,9,abc,1000'], [/line 3, column close: not a number \(got "abc"\)/]],
    ['an impossible date', ['AAA,2025-13-03,10,11,9,10,1000'], [/line 3, column date: expected a date as YYYY-MM-DD \(got "2025-13-03"\)/]],
    ['a negative volume', ['AAA,2025-01-03,10,11,9,10,-5'], [/line 3, column volume: must not be negative/]],
    ['a row with too few fields', ['AAA,2025-01-03,10,11,9'], [/line 3: malformed CSV row/]],
    ['an unterminated quote', ['AAA,"2025-01-03,10,11,9,10,1000'], [/line 3: malformed CSV row/]],
  ] as const)('%s: nothing imported, line and column named', async (_label, rows, message) => {
    const { db, contents } = await importedDatabase();
    const before = await contents();
    const bad = join(tmp(), 'bad.csv');
    await writeFile(bad, [HEADER, GOOD[0], ...rows, GOOD[1], ''].join('\n'));
    expectOneLineError(await runCli(['data', 'import', '--prices', bad, '--db', db]), {
      code: ExitCode.data,
      message: [new RegExp(`^kairos: ${escape(bad)} line`), ...message],
    });
    expect(await contents()).toEqual(before);

    // Into a database that does not exist yet: none is left behind.
    const fresh = join(tmp(), 'fresh.duckdb');
    expectOneLineError(await runCli(['data', 'import', '--prices', bad, '--db', fresh]), { code: ExitCode.data, message: [...message] });
    expect((await readdir(tmp())).filter((name) => name.startsWith('fresh'))).toEqual([]);
  });

  it('a sectors file with a wrong header names the expected one', async () => {
    const { db, contents } = await importedDatabase();
    const before = await contents();
    const sectors = join(tmp(), 'sectors.csv');
    await writeFile(sectors, 'ticker,sector\nAAA,Energy\n');
    expectOneLineError(await runCli(['data', 'import', '--sectors', sectors, '--db', db]), {
      code: ExitCode.data,
      message: [/line 1: header must be exactly "ticker,name,sector"/],
    });
    expect(await contents()).toEqual(before);
  });
});
