import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { DATE, DOUBLE, INTEGER, VARCHAR, dateValue } from '@duckdb/node-api';
import { isIsoDate, toEpochDay, type IsoDate } from '../core/dates.js';
import { ensureContractTables } from './contract.js';
import { KairosDatabase } from './database.js';
import { buildFeatures } from './features.js';
import { SeededRandom } from './random.js';

/** The eleven GICS sectors (2023 taxonomy). */
export const GICS_SECTORS: readonly string[] = [
  'Communication Services',
  'Consumer Discretionary',
  'Consumer Staples',
  'Energy',
  'Financials',
  'Health Care',
  'Industrials',
  'Information Technology',
  'Materials',
  'Real Estate',
  'Utilities',
];

export interface SyntheticOptions {
  /** Session dates, ascending; one sep_base row per listed name per session. */
  readonly sessions: readonly IsoDate[];
  readonly tickers: number;
  readonly sectors?: readonly string[];
  readonly seed: number;
}

const TRADING_DAYS = 252;
/** Dollar ADV is lognormal around ~$25M and clipped to [$0.3M, $2B], so a $2M ADV filter removes a few percent. */
const DOLLAR_ADV = { median: 25e6, logSd: 1.45, min: 3e5, max: 2e9 };
/** Market volatility is a slow AR(1) in log space, so there are calm and stressed stretches for the regime labels. */
const MARKET = { drift: 0.0003, dailyVol: 0.009, persistence: 0.97, volOfVol: 0.08 };
const SECTOR_DAILY_VOL = 0.005;
const LATE_LISTING_SHARE = 0.04;
const DELISTING_SHARE = 0.03;
/** Late listings and delistings need this many sessions to leave room for a realistic lifetime. */
const MIN_SESSIONS_FOR_LISTING_CHANGES = 120;

interface SyntheticName {
  readonly ticker: string;
  readonly sector: number;
  readonly marketBeta: number;
  readonly sectorBeta: number;
  readonly idiosyncraticVol: number;
  /** Typical daily volatility, which scales the overnight gap and the intraday range. */
  readonly typicalDailyVol: number;
  readonly drift: number;
  readonly startPrice: number;
  readonly dollarAdv: number;
  readonly firstSession: number;
  readonly lastSession: number;
}

/**
 * Writes a demo database at `path`: tickers, sep_base and the features built from them.
 * Returns follow a factor model — market (with volatility clustering) + sector factors +
 * idiosyncratic noise with per-name betas and volatilities — as a random walk in log price.
 * Everything comes from one seeded stream consumed in a fixed order, so the same options give
 * identical table contents. The file is built beside `path` and renamed into place, so a
 * failed run never leaves a half-written database.
 */
export async function generateSyntheticDatabase(path: string, options: SyntheticOptions): Promise<void> {
  const sectors = options.sectors ?? GICS_SECTORS;
  validateOptions(options, sectors);
  const random = new SeededRandom(options.seed);
  const names = drawNames(random, options.tickers, sectors.length, options.sessions.length);
  const marketReturns = drawMarketReturns(random, options.sessions.length);
  const sectorReturns = drawSectorReturns(random, options.sessions.length, sectors.length);

  const staging = `${path}.${process.pid}.building`;
  await removeDatabaseFiles(staging);
  const db = await KairosDatabase.open(staging);
  try {
    await ensureContractTables(db, ['tickers', 'sep_base']);
    const tickerRows = await db.createChunkAppender('tickers', [VARCHAR, VARCHAR, VARCHAR]);
    names.forEach((name, i) => {
      tickerRows.set(0, name.ticker);
      tickerRows.set(1, `Synthetic Company ${i + 1}`);
      tickerRows.set(2, sectors[name.sector] ?? null);
      tickerRows.endRow();
    });
    tickerRows.close();
    await writePrices(db, random, names, options.sessions, marketReturns, sectorReturns);
    await buildFeatures(db);
  } catch (err) {
    db.close();
    await removeDatabaseFiles(staging);
    throw err;
  }
  db.close();
  await rm(`${path}.wal`, { force: true });
  await rename(staging, path);
}

function validateOptions(options: SyntheticOptions, sectors: readonly string[]): void {
  if (!Number.isInteger(options.tickers) || options.tickers < 1) throw new RangeError(`tickers must be a positive integer, got ${options.tickers}`);
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
  if (sectors.length === 0) throw new RangeError('at least one sector is needed');
  if (options.sessions.length < 2) throw new RangeError('at least two sessions are needed');
  options.sessions.forEach((date, i) => {
    if (!isIsoDate(date)) throw new RangeError(`session ${i} is not a YYYY-MM-DD date: ${date}`);
    const previous = options.sessions[i - 1];
    if (previous !== undefined && previous >= date) throw new RangeError(`sessions must be strictly ascending: ${previous} then ${date}`);
  });
}

function drawNames(random: SeededRandom, count: number, sectorCount: number, sessionCount: number): SyntheticName[] {
  const width = Math.max(4, String(count).length);
  const listingChangesPossible = sessionCount >= MIN_SESSIONS_FOR_LISTING_CHANGES;
  const names: SyntheticName[] = [];
  for (let i = 0; i < count; i++) {
    // Draw every variable for every name, used or not, so one name's branch never shifts the stream for the next.
    const sector = random.integer(sectorCount);
    const marketBeta = clamp(random.normal(1, 0.3), 0.2, 2.2);
    const sectorBeta = clamp(random.normal(1, 0.35), 0.2, 2);
    const idiosyncraticVol = clamp(Math.exp(random.normal(Math.log(0.2), 0.35)), 0.08, 0.9) / Math.sqrt(TRADING_DAYS);
    const drift = random.normal(0.04, 0.1) / TRADING_DAYS;
    const startPrice = clamp(Math.exp(random.normal(Math.log(40), 0.8)), 2, 2000);
    const dollarAdv = clamp(Math.exp(random.normal(Math.log(DOLLAR_ADV.median), DOLLAR_ADV.logSd)), DOLLAR_ADV.min, DOLLAR_ADV.max);
    const listsLate = random.uniform() < LATE_LISTING_SHARE;
    const lateStart = Math.floor(sessionCount * (0.05 + 0.65 * random.uniform()));
    const delists = random.uniform() < DELISTING_SHARE;
    const earlyEnd = Math.floor(sessionCount * (0.4 + 0.55 * random.uniform()));
    const firstSession = listingChangesPossible && listsLate ? lateStart : 0;
    const lastSession = listingChangesPossible && delists && earlyEnd - firstSession >= 60 ? earlyEnd : sessionCount - 1;
    names.push({
      ticker: `T${String(i + 1).padStart(width, '0')}`,
      sector,
      marketBeta,
      sectorBeta,
      idiosyncraticVol,
      typicalDailyVol: Math.hypot(marketBeta * MARKET.dailyVol, idiosyncraticVol),
      drift,
      startPrice,
      dollarAdv,
      firstSession,
      lastSession,
    });
  }
  return names;
}

function drawMarketReturns(random: SeededRandom, sessionCount: number): Float64Array {
  const returns = new Float64Array(sessionCount);
  const meanLogVol = Math.log(MARKET.dailyVol);
  let logVol = meanLogVol;
  for (let t = 0; t < sessionCount; t++) {
    logVol = meanLogVol + MARKET.persistence * (logVol - meanLogVol) + MARKET.volOfVol * random.normal();
    returns[t] = MARKET.drift + Math.exp(logVol) * random.normal();
  }
  return returns;
}

/** Row-major by session: `[t * sectorCount + sector]`. */
function drawSectorReturns(random: SeededRandom, sessionCount: number, sectorCount: number): Float64Array {
  const returns = new Float64Array(sessionCount * sectorCount);
  for (let i = 0; i < returns.length; i++) returns[i] = random.normal(0, SECTOR_DAILY_VOL);
  return returns;
}

/**
 * Appends rows session by session (then by ticker) so sep_base is stored (almost) in date order, which
 * lets DuckDB skip row groups when a panel loads a date range. Tickers go in as integer ids to
 * a temp table and are joined to their names once, because appending millions of strings one by
 * one is the slow part of bulk loading.
 */
async function writePrices(
  db: KairosDatabase,
  random: SeededRandom,
  names: readonly SyntheticName[],
  sessions: readonly IsoDate[],
  marketReturns: Float64Array,
  sectorReturns: Float64Array,
): Promise<void> {
  await db.run(`CREATE TEMP TABLE synthetic_prices (ticker_id INTEGER, date DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE)`);
  await db.run(`CREATE TEMP TABLE synthetic_tickers (ticker_id INTEGER, ticker VARCHAR)`);
  const tickerIds = await db.createChunkAppender('synthetic_tickers', [INTEGER, VARCHAR], { temporary: true });
  names.forEach((name, i) => {
    tickerIds.set(0, i);
    tickerIds.set(1, name.ticker);
    tickerIds.endRow();
  });
  tickerIds.close();

  const rows = await db.createChunkAppender('synthetic_prices', [INTEGER, DATE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE], { temporary: true });
  const sectorCount = sectorReturns.length / sessions.length;
  const logClose = Float64Array.from(names, (name) => Math.log(name.startPrice));
  for (let t = 0; t < sessions.length; t++) {
    const date = dateValue(toEpochDay(sessions[t]!));
    const market = marketReturns[t]!;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const noise = random.normal();
      const gapNoise = random.normal();
      const highNoise = Math.abs(random.normal());
      const lowNoise = Math.abs(random.normal());
      const volumeNoise = random.normal();
      if (t < name.firstSession || t > name.lastSession) continue;
      const dayReturn =
        name.drift + name.marketBeta * market + name.sectorBeta * sectorReturns[t * sectorCount + name.sector]! + name.idiosyncraticVol * noise;
      const previousClose = Math.exp(logClose[i]!);
      const dayVol = name.typicalDailyVol;
      // A listing day has no previous close: it opens near its first close.
      const open = t === name.firstSession ? previousClose * Math.exp(0.3 * dayVol * gapNoise) : previousClose * Math.exp(0.35 * dayReturn + 0.2 * dayVol * gapNoise);
      logClose[i] = logClose[i]! + (t === name.firstSession ? 0 : dayReturn);
      const close = Math.exp(logClose[i]!);
      const high = Math.max(open, close) * Math.exp(0.3 * dayVol * highNoise);
      const low = Math.min(open, close) * Math.exp(-0.3 * dayVol * lowNoise);
      const dollarVolume = name.dollarAdv * Math.exp(0.4 * volumeNoise - 0.08);
      rows.set(0, i);
      rows.set(1, date);
      rows.set(2, roundPrice(open));
      rows.set(3, roundPrice(high));
      rows.set(4, roundPrice(low));
      rows.set(5, roundPrice(close));
      rows.set(6, Math.max(1, Math.round(dollarVolume / close)));
      rows.endRow();
    }
  }
  rows.close();
  await db.run(`INSERT INTO sep_base (ticker, date, open, high, low, close, volume)
    SELECT t.ticker, p.date, p.open, p.high, p.low, p.close, p.volume
    FROM synthetic_prices p JOIN synthetic_tickers t USING (ticker_id)`);
  await db.run('DROP TABLE synthetic_prices');
  await db.run('DROP TABLE synthetic_tickers');
}

/** Prices as a data vendor would quote them: four decimals. */
function roundPrice(price: number): number {
  return Math.max(1e-4, Math.round(price * 1e4) / 1e4);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

async function removeDatabaseFiles(path: string): Promise<void> {
  if (existsSync(path)) await rm(path);
  await rm(`${path}.wal`, { force: true });
}
