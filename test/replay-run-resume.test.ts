import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsoDate } from '../src/core/dates.js';
import { ensureBuilt, REPO_ROOT, runBinary, runCli, treeDigest } from './helpers/cli.js';
import {
  FIXED_WEIGHTS_MODULE,
  looseRisk,
  looseValidation,
  makeMarketDatabase,
  REPLAY_FILES,
  wavyBar,
  writeReplayConfig,
  writeReplayProject,
  xnysSessions,
} from './helpers/replay-fixtures.js';

/**
 * Resume: a replay killed with SIGKILL after a checkpoint and continued with --resume ends with
 * the same bytes in every output as one that ran straight through.
 */

const BIN = join(REPO_ROOT, 'bin', 'kairos.js');
const FROM: IsoDate = '2024-02-01';
const TO: IsoDate = '2024-08-30';
const SESSIONS = xnysSessions(FROM, TO);
const TICKERS = ['A', 'B', 'C'];
/** No alpha for any name: the pre-rebalance checks block the day (before the first checkpoint). */
const BLOCKED: IsoDate = '2024-02-09';
/** A has no row (a held name without a close: carried at its last price), between checkpoints 20 and 40. */
const A_MISSING: IsoDate = '2024-03-20';
/** C's last row: held, then delisted. */
const C_LAST: IsoDate = '2024-06-28';
/** The killed run stalls on the 50th session, after the checkpoint written at the 40th. */
const STALL_AT = SESSIONS[49]!;

let root: string;
let db: string;
let config: string;

function replayConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    portfolio: 'replay-resume',
    strategies: [
      { id: 'even', module: FIXED_WEIGHTS_MODULE, schedule: { type: 'daily' }, allocation: 0.5, params: { weights: { A: 0.5, B: 0.5 } } },
      { id: 'tilt', module: FIXED_WEIGHTS_MODULE, schedule: { type: 'weekly', weekday: 'wednesday' }, allocation: 0.5, params: { weights: { B: 0.2, C: 0.8 } } },
    ],
    risk: looseRisk,
    validation: looseValidation,
    replay: { checkpoint_every: 20, positions: 'daily', impact_bps: 10, ...overrides },
  };
}

const args = (out: string, configPath = config): string[] => ['replay', '--db', db, '--config', configPath, '--from', FROM, '--to', TO, '--output-dir', out];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kairos-replay-resume-'));
  await writeReplayProject(root);
  db = await makeMarketDatabase(root, {
    tickers: [
      { ticker: 'A', sector: 'Tech' },
      { ticker: 'B', sector: 'Energy' },
      { ticker: 'C', sector: 'Utilities' },
    ],
    sessions: xnysSessions('2024-01-02', TO),
    bar: (ticker, date, index) => {
      if (ticker === 'A' && date === A_MISSING) return null;
      if (ticker === 'C' && date > C_LAST) return null;
      return wavyBar(TICKERS.indexOf(ticker), index);
    },
    alpha: (_ticker, date) => (date === BLOCKED ? null : undefined),
  });
  config = await writeReplayConfig(root, 'resume.yaml', replayConfig());
  await ensureBuilt();
}, 180_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

async function outputsOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of REPLAY_FILES) files[name] = await readFile(join(dir, name), 'utf8');
  return files;
}

/**
 * Spawns the built binary with the plugin set to stall on STALL_AT, waits until it gets there and
 * the replay has written the checkpoint of the 40th session (the strategy worker reaches STALL_AT
 * up to its look-ahead before the books do, and the books go on until they need that session),
 * and kills it with SIGKILL.
 */
async function replayKilledAtStall(out: string): Promise<void> {
  const marker = join(root, `stalled-${Date.now()}`);
  const child = spawn(process.execPath, [BIN, ...args(out)], {
    cwd: REPO_ROOT,
    env: { ...process.env, KAIROS_LOG_LEVEL: 'silent', KAIROS_TEST_STALL_AT: STALL_AT, KAIROS_TEST_STALL_MARKER: marker },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let finished: { code: number | null } | null = null;
  void exited.then((e) => (finished = e));
  const checkpoint = join(`${out}.partial`, 'checkpoint.json');
  const deadline = Date.now() + 60_000;
  let sawCheckpoint = false;
  // The journals are flushed before checkpoint.json is renamed into place: wait for both.
  const checkpointedAt40 = async (): Promise<boolean> => {
    if (!existsSync(checkpoint)) return false;
    const written = JSON.parse(await readFile(checkpoint, 'utf8')) as { offsets: { equity: number } };
    const equity = await readFile(join(`${out}.partial`, 'equity.csv'), 'utf8');
    return Buffer.byteLength(equity) === written.offsets.equity && equity.split('\n').filter(Boolean).at(-1)?.startsWith(`${SESSIONS[39]},`) === true;
  };
  while (!existsSync(marker) || !(await checkpointedAt40())) {
    sawCheckpoint ||= existsSync(checkpoint);
    if (finished !== null) throw new Error(`replay exited (${JSON.stringify(finished)}) before stalling: ${stderr}`);
    if (Date.now() > deadline) throw new Error('replay did not reach the stall point within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(sawCheckpoint || existsSync(checkpoint)).toBe(true);
  child.kill('SIGKILL');
  expect((await exited).signal).toBe('SIGKILL');
}

describe('replay --resume after kill -9', () => {
  let uninterrupted: Record<string, string>;
  const killed = (): string => join(root, 'killed');

  beforeAll(async () => {
    const out = join(root, 'straight');
    const result = await runCli(args(out));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    uninterrupted = await outputsOf(out);
    await replayKilledAtStall(killed());
  }, 120_000);

  it('the uninterrupted replay covers what resuming must reproduce: a blocked day, a carried price, a delisting, three books', () => {
    const metrics = JSON.parse(uninterrupted['metrics.json']!) as { sessions: number; books: { book: string }[]; notes: string[] };
    expect(metrics.sessions).toBe(SESSIONS.length);
    expect(SESSIONS.length).toBeGreaterThanOrEqual(140);
    expect(metrics.books.map((b) => b.book)).toEqual(['combined', 'even', 'tilt']);
    expect(metrics.notes.join('\n')).toContain(`1 session(s) blocked by CRITICAL checks (no orders): ${BLOCKED}`);
    expect(uninterrupted['flags.csv']).toContain(`${A_MISSING},combined,A,carried_price`);
    expect(uninterrupted['trades.csv']).toMatch(/,combined,C,SELL,\d+,[\d.]+,[\d.]+,[\d.]+,0\.00,0\.00,0\.00,0\.00,delisted\n/);
  });

  it('a killed replay publishes nothing: only <dir>.partial with its last checkpoint', async () => {
    expect(existsSync(killed())).toBe(false);
    const checkpoint = JSON.parse(await readFile(join(`${killed()}.partial`, 'checkpoint.json'), 'utf8')) as { nextIndex: number; offsets: Record<string, number> };
    // The checkpoint of the 40th session: the next session to replay is the 41st.
    const equity = await readFile(join(`${killed()}.partial`, 'equity.csv'), 'utf8');
    expect(equity.split('\n').filter(Boolean).at(-1)).toMatch(new RegExp(`^${SESSIONS[39]},`));
    expect(Buffer.byteLength(equity)).toBe(checkpoint.offsets.equity);
    for (const name of REPLAY_FILES.filter((f) => f.endsWith('.json') || f.endsWith('.html'))) expect(existsSync(join(`${killed()}.partial`, name))).toBe(false);
  });

  it('--resume with a changed config is refused and leaves the checkpoint alone', async () => {
    const changed = await writeReplayConfig(root, 'changed.yaml', replayConfig({ half_spread_bps: 7 }));
    const before = await treeDigest(`${killed()}.partial`);
    const result = await runCli([...args(killed(), changed), '--resume']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--resume: .*checkpoint\.json was written by a replay with other inputs/);
    expect(await treeDigest(`${killed()}.partial`)).toEqual(before);
    expect(existsSync(killed())).toBe(false);
  });

  it('--resume continues from the checkpoint and ends byte-identical to the uninterrupted replay', async () => {
    // A kill during a checkpoint's writes can leave bytes past the recorded offsets: resuming cuts them.
    for (const name of ['equity.csv', 'trades.csv', 'positions.csv', 'flags.csv']) await appendFile(join(`${killed()}.partial`, name), 'torn,row\n');
    const calls = join(root, 'resumed-calls.log');
    const result = await runBinary([...args(killed()), '--resume'], { env: { KAIROS_TEST_REBALANCE_LOG: calls } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // It continued from the checkpoint of the 40th session rather than starting over.
    const decided = (await readFile(calls, 'utf8')).split('\n').filter(Boolean).map((line) => line.split(' ')[0]);
    expect(decided[0]).toBe(SESSIONS[40]);
    expect(existsSync(`${killed()}.partial`)).toBe(false);
    const resumed = await outputsOf(killed());
    for (const name of REPLAY_FILES) expect(resumed[name], name).toBe(uninterrupted[name]);
  });

  it('--resume with no checkpoint is a usage error (exit 2) that says so', async () => {
    const result = await runCli([...args(join(root, 'never-started')), '--resume']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--resume: no checkpoint at .*never-started\.partial\/checkpoint\.json \(nothing to resume; run without --resume\)/);
    expect(existsSync(join(root, 'never-started'))).toBe(false);
  });
});
