import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsoDate } from '../src/core/dates.js';
import { copyDatabase, runCli, syntheticFixture, writeConfig, type SyntheticFixture } from './helpers/cli.js';
import { readReplayOutputs, type CsvRows, type ReplayOutputs } from './helpers/replay-fixtures.js';

/**
 * Point in time: a replay decides on session D with data dated ≤ D only. A copy of the database
 * gets a tenfold spike in the close of one held name on a late session S; replaying the same range on
 * both databases must give identical decisions before S and different ones after it.
 */

const FROM: IsoDate = '2024-08-01';
const TO: IsoDate = '2024-09-30';
const SPIKE: IsoDate = '2024-09-16';

let root: string;
let fx: SyntheticFixture;
let config: string;
let clean: ReplayOutputs;
let spiked: ReplayOutputs;
let spikedTicker: string;

async function replay(db: string, out: string): Promise<ReplayOutputs> {
  const result = await runCli(['replay', '--db', db, '--config', config, '--from', FROM, '--to', TO, '--output-dir', out]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return readReplayOutputs(out);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kairos-replay-pit-'));
  fx = await syntheticFixture(root, { tickers: 60, from: '2023-06-01', to: '2024-10-31', seed: 7 });
  // Risk4's alpha needs 252 sessions of history (12-month momentum), so the data starts in 2023.
  // Two strategies that read different data: Risk4 ranks precomputed features, the momentum plugin
  // reads closes over a 20-session window. The risk stage estimates covariance over 126 sessions.
  config = await writeConfig(join(root, 'pit.yaml'), {
    portfolio: 'replay-pit',
    strategies: [
      { id: 'risk4', module: 'risk4', allocation: 0.5, schedule: { type: 'every_n_sessions', every: 5 }, params: { top_n: 15, min_adv: 0 } },
      { id: 'momentum', module: 'example-momentum', allocation: 0.5, schedule: { type: 'daily' }, params: { top_n: 5, window: 20, min_adv: 0 } },
    ],
    risk: { max_position: 0.2 },
    validation: { min_universe: 10, healthy_universe: 20 },
    replay: { positions: 'daily', checkpoint_every: 10 },
  });
  clean = await replay(fx.path, join(root, 'clean'));
  // Spike a name the combined book holds going into S, so S's mark moves too.
  const held = clean.positions.filter((r) => r.book === 'combined' && r.date === SPIKE && r.ticker !== 'CASH');
  expect(held.length).toBeGreaterThan(0);
  spikedTicker = held[0]!.ticker!;
  const spikedDb = await copyDatabase(fx.path, join(root, 'spiked.duckdb'), [
    // The close (and so the high) of S only: fills dated S execute at S's open, decided before it.
    `UPDATE sep_base SET high = close * 10, close = close * 10 WHERE ticker = '${spikedTicker}' AND date = DATE '${SPIKE}'`,
  ]);
  spiked = await replay(spikedDb, join(root, 'spiked'));
}, 120_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

const before = (rows: CsvRows, last: IsoDate, inclusive: boolean): CsvRows => rows.filter((r) => (inclusive ? r.date! <= last : r.date! < last));
const after = (rows: CsvRows, first: IsoDate): CsvRows => rows.filter((r) => r.date! > first);

describe('replay is point in time', () => {
  it('covers the range with three books and a spike that lies inside it', () => {
    expect(clean.metrics.from).toBe(FROM);
    expect(clean.metrics.books.map((b) => b.book)).toEqual(['combined', 'risk4', 'momentum']);
    expect(fx.sessions).toContain(SPIKE);
    expect(clean.trades.some((t) => t.date! > SPIKE)).toBe(true);
  });

  it('every decision before S is identical: fills dated ≤ S, equity before S, holdings up to S', () => {
    // A fill dated ≤ S was decided at a close < S; the holdings entering S's decision are the
    // result of those fills. None may see S's prices.
    expect(before(spiked.trades, SPIKE, true)).toEqual(before(clean.trades, SPIKE, true));
    expect(before(spiked.equity, SPIKE, false)).toEqual(before(clean.equity, SPIKE, false));
    const shares = (rows: CsvRows) => before(rows, SPIKE, true).filter((r) => r.ticker !== 'CASH').map((r) => `${r.date},${r.book},${r.ticker},${r.shares}`);
    expect(shares(spiked.positions)).toEqual(shares(clean.positions));
    expect(before(clean.trades, SPIKE, true).length).toBeGreaterThan(0);
  });

  it('the spike does change what happens from S on (so the comparison can fail)', () => {
    // S is marked at the spiked close of a held name...
    const onS = (o: ReplayOutputs) => o.equity.filter((r) => r.date === SPIKE && r.book === 'combined')[0]!.equity;
    expect(Number(onS(spiked))).toBeGreaterThan(Number(onS(clean)));
    // ...and S's decision (filled the next session) sees it: the momentum sleeve chases the spike.
    expect(after(spiked.trades, SPIKE)).not.toEqual(after(clean.trades, SPIKE));
    const nextSession = fx.sessions[fx.sessions.indexOf(SPIKE) + 1]!;
    const fillsAfterS = (o: ReplayOutputs) => o.trades.filter((t) => t.date === nextSession && t.book === 'momentum').map((t) => `${t.ticker},${t.side},${t.shares}`);
    expect(fillsAfterS(spiked)).not.toEqual(fillsAfterS(clean));
  });
});
