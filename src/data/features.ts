import type { IsoDate } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import { assertContract, CONTRACT_COLUMNS } from './contract.js';
import type { KairosDatabase } from './database.js';

export interface FeatureBuildSummary {
  /** Rows written to feat_matrix_v2: one per sep_base row that has a close. */
  readonly featureRows: number;
  /** Rows of feat_matrix_v2 whose alpha_composite_v8 is not NULL. */
  readonly alphaRows: number;
  readonly regimeRows: number;
  readonly firstDate: IsoDate | null;
  readonly lastDate: IsoDate | null;
}

/**
 * Default feature pipeline for users without their own: (re)builds `feat_matrix_v2` and `regime`
 * from `sep_base`. Every value at session D uses rows dated ≤ D only, so a database truncated at D
 * yields the same values at D as the full one.
 *
 * "Last k sessions" means the name's last k rows in sep_base up to and including D (a name that
 * missed a session spans it with one return). Per name, with r_t = ln(close_t / close_{t-1}):
 *
 * - `vol_20` = √252 · sample std of r over the last 20 sessions; NULL with fewer than 15 returns.
 * - `vol_60` = √252 · sample std of r over the last 60 sessions; NULL with fewer than 40 returns.
 * - `vol_blend` = 0.5 · vol_20 + 0.5 · vol_60; NULL if either is NULL, or if it is 0 (a price that
 *   did not move has no usable volatility, and Risk4 divides by it).
 * - `adv_20` = mean of close · volume over the last 20 sessions; NULL with fewer than 15 rows.
 * - `mom_12_1` = close_{t-21} / close_{t-252} − 1 (12-month momentum skipping the last month).
 * - `rev_5` = −(close_t / close_{t-5} − 1) (short-term reversal).
 * - `alpha_composite_v8` = (z(mom_12_1) + z(rev_5) + z(−vol_60)) / 3, where z is the cross-sectional
 *   z-score (sample std) among the names that have all three components on that date; NULL when a
 *   component is missing or a component has zero or undefined dispersion that day.
 *
 * Regime, from an equal-weight index whose daily return R_D is the mean of the simple close-to-close
 * returns of all names with a return on D, and whose level is ∏(1 + R) (1 on the first session):
 * - `index_vol_20` = √252 · sample std of R over the last 20 sessions (at least 15).
 * - `vol_regime` = `low_vol` below the lower tercile of index_vol_20 over the previous 252 sessions
 *   (excluding D; at least 126 values), `high_vol` above the upper tercile, else `normal_vol`.
 * - `trend_regime` = `bull` if the level exceeds its 200-session moving average (D included), else `bear`.
 * Only sessions where both labels are defined get a row; the level, moving average, index_vol_20 and
 * the two tercile bounds are stored beside the labels so a label can be explained.
 */
export async function buildFeatures(db: KairosDatabase): Promise<FeatureBuildSummary> {
  await assertContract(db, { sep_base: CONTRACT_COLUMNS.sep_base });
  await assertPositiveCloses(db);
  return db.transaction(async () => {
    for (const macro of EXACT_MOMENT_MACROS) await db.run(macro);
    await db.run(COMPONENTS_SQL);
    const duplicate = await db.queryOne(`SELECT ticker, date FROM feature_components WHERE repeats_date ORDER BY ticker, date LIMIT 1`);
    if (duplicate) throw new DataError(`sep_base: ticker ${duplicate.ticker} on ${duplicate.date} appears more than once; (ticker, date) must be unique`);
    await db.run(FEATURES_SQL);
    await db.run(REGIME_SQL);
    await db.run('DROP TABLE feature_components');
    const features = await db.queryOne(
      `SELECT count(*) AS rows, count(alpha_composite_v8) AS alpha_rows, min(date) AS first_date, max(date) AS last_date FROM feat_matrix_v2`,
    );
    const regime = await db.queryOne(`SELECT count(*) AS rows FROM regime`);
    return {
      featureRows: Number(features?.rows ?? 0),
      alphaRows: Number(features?.alpha_rows ?? 0),
      regimeRows: Number(regime?.rows ?? 0),
      firstDate: (features?.first_date as IsoDate | null) ?? null,
      lastDate: (features?.last_date as IsoDate | null) ?? null,
    };
  });
}

/** Log returns need positive closes (NULL closes are skipped as missing). */
async function assertPositiveCloses(db: KairosDatabase): Promise<void> {
  const bad = await db.queryOne(`SELECT ticker, date, close FROM sep_base WHERE NOT isfinite(close) OR close <= 0 ORDER BY ticker, date LIMIT 1`);
  if (bad) throw new DataError(`sep_base: ticker ${bad.ticker} on ${bad.date}: close must be a positive number, got ${bad.close}`);
}

const ANNUALISE = 'sqrt(252)';

/**
 * Per-name components first, into a temp table, so the cross-sectional step joins against a
 * small per-date table instead of joining two 10M-row relations. Closes are non-null here, so
 * the only missing return is a name's first row and the return count is row_in_name − 1.
 * `repeats_date` flags duplicate (ticker, date) rows, which would silently shift every lag.
 */
const COMPONENTS_SQL = `
CREATE OR REPLACE TEMP TABLE feature_components AS
WITH priced AS (
  SELECT ticker, date, close, close * volume AS dollar_volume,
         row_number() OVER by_name AS row_in_name,
         date = lag(date) OVER by_name AS repeats_date,
         ln(close / lag(close) OVER by_name) AS log_return,
         close / lag(close) OVER by_name - 1 AS simple_return,
         lag(close, 5) OVER by_name AS close_5,
         lag(close, 21) OVER by_name AS close_21,
         lag(close, 252) OVER by_name AS close_252
  FROM sep_base
  WHERE close IS NOT NULL
  WINDOW by_name AS (PARTITION BY ticker ORDER BY date)
)
SELECT ticker, date, repeats_date, simple_return,
       close_21 / close_252 - 1 AS mom_12_1,
       -(close / close_5 - 1) AS rev_5,
       CASE WHEN row_in_name - 1 >= 15 THEN stddev_samp(log_return) OVER last_20 * ${ANNUALISE} END AS vol_20,
       CASE WHEN row_in_name - 1 >= 40 THEN stddev_samp(log_return) OVER last_60 * ${ANNUALISE} END AS vol_60,
       CASE WHEN count(dollar_volume) OVER last_20 >= 15 THEN avg(dollar_volume) OVER last_20 END AS adv_20
FROM priced
WINDOW last_20 AS (PARTITION BY ticker ORDER BY date ROWS BETWEEN 19 PRECEDING AND CURRENT ROW),
       last_60 AS (PARTITION BY ticker ORDER BY date ROWS BETWEEN 59 PRECEDING AND CURRENT ROW)`;

/**
 * Cross-sectional mean and sample std that do not depend on the order rows are aggregated in:
 * DuckDB aggregates in parallel, and a floating-point sum in a different order differs in the last
 * bits, which would break "same input ⇒ identical tables". Each value (and its square) is summed
 * exactly as DECIMAL(38, 18); only the final moments are computed in DOUBLE. A cross-section with
 * no dispersion (all values equal, or fewer than two) has no std.
 */
const EXACT_MOMENT_MACROS = [
  `CREATE OR REPLACE TEMP MACRO exact_sum(x) AS CAST(sum(CAST(x AS DECIMAL(38, 18))) AS DOUBLE)`,
  `CREATE OR REPLACE TEMP MACRO exact_mean(x) AS exact_sum(x) / count(x)`,
  `CREATE OR REPLACE TEMP MACRO exact_sd(x) AS
     CASE WHEN count(x) < 2 OR min(x) = max(x) THEN NULL
          ELSE sqrt(greatest((exact_sum(x * x) - exact_sum(x) ^ 2 / count(x)) / (count(x) - 1), 0)) END`,
];

/** Stored in date order so a panel loading a date range reads only the row groups it needs. */
const FEATURES_SQL = `
CREATE OR REPLACE TABLE feat_matrix_v2 AS
WITH cross_section AS (
  SELECT date,
         exact_mean(mom_12_1) AS mom_mean, exact_sd(mom_12_1) AS mom_sd,
         exact_mean(rev_5) AS rev_mean, exact_sd(rev_5) AS rev_sd,
         exact_mean(-vol_60) AS low_vol_mean, exact_sd(-vol_60) AS low_vol_sd
  FROM feature_components
  WHERE mom_12_1 IS NOT NULL AND rev_5 IS NOT NULL AND vol_60 IS NOT NULL
  GROUP BY date
)
SELECT f.ticker, f.date,
       ((f.mom_12_1 - c.mom_mean) / c.mom_sd
        + (f.rev_5 - c.rev_mean) / c.rev_sd
        + (-f.vol_60 - c.low_vol_mean) / c.low_vol_sd) / 3 AS alpha_composite_v8,
       nullif(0.5 * f.vol_20 + 0.5 * f.vol_60, 0) AS vol_blend,
       f.adv_20, f.vol_20, f.vol_60, f.mom_12_1, f.rev_5
FROM feature_components f LEFT JOIN cross_section c USING (date)
ORDER BY f.date, f.ticker`;

const REGIME_SQL = `
CREATE OR REPLACE TABLE regime AS
WITH index_returns AS (
  SELECT date, exact_mean(simple_return) AS index_return FROM feature_components GROUP BY date
),
index_levels AS (
  SELECT date, index_return,
         exp(sum(coalesce(ln(1 + index_return), 0)) OVER (ORDER BY date)) AS index_level,
         CASE WHEN count(index_return) OVER last_20 >= 15 THEN stddev_samp(index_return) OVER last_20 * ${ANNUALISE} END AS index_vol_20
  FROM index_returns
  WINDOW last_20 AS (ORDER BY date ROWS BETWEEN 19 PRECEDING AND CURRENT ROW)
),
labelled AS (
  SELECT date, index_level, index_vol_20,
         count(index_vol_20) OVER past_252 AS past_vol_count,
         quantile_cont(index_vol_20, [1 / 3, 2 / 3]) OVER past_252 AS past_vol_terciles,
         count(index_level) OVER last_200 AS level_count,
         avg(index_level) OVER last_200 AS index_ma_200
  FROM index_levels
  WINDOW past_252 AS (ORDER BY date ROWS BETWEEN 252 PRECEDING AND 1 PRECEDING),
         last_200 AS (ORDER BY date ROWS BETWEEN 199 PRECEDING AND CURRENT ROW)
)
SELECT date,
       CASE WHEN index_vol_20 < past_vol_terciles[1] THEN 'low_vol'
            WHEN index_vol_20 > past_vol_terciles[2] THEN 'high_vol'
            ELSE 'normal_vol' END AS vol_regime,
       CASE WHEN index_level > index_ma_200 THEN 'bull' ELSE 'bear' END AS trend_regime,
       index_level, index_ma_200, index_vol_20,
       past_vol_terciles[1] AS index_vol_lower_tercile, past_vol_terciles[2] AS index_vol_upper_tercile
FROM labelled
WHERE index_vol_20 IS NOT NULL AND past_vol_count >= 126 AND level_count >= 200
ORDER BY date`;
