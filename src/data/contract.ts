import { DataError } from '../core/errors.js';
import type { KairosDatabase } from './database.js';

/**
 * The tables Kairos reads, named as in an existing Kairos database so one works as is.
 * Created only when missing: a user's table with extra columns (or wider types) is left alone,
 * and only the columns below are ever required of it.
 */
const CONTRACT_DDL = {
  tickers: `CREATE TABLE IF NOT EXISTS tickers (ticker VARCHAR NOT NULL, name VARCHAR, sector VARCHAR)`,
  sep_base: `CREATE TABLE IF NOT EXISTS sep_base (
    ticker VARCHAR NOT NULL, date DATE NOT NULL,
    open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE)`,
  feat_matrix_v2: `CREATE TABLE IF NOT EXISTS feat_matrix_v2 (
    ticker VARCHAR NOT NULL, date DATE NOT NULL,
    alpha_composite_v8 DOUBLE, vol_blend DOUBLE, adv_20 DOUBLE)`,
  regime: `CREATE TABLE IF NOT EXISTS regime (date DATE NOT NULL, vol_regime VARCHAR, trend_regime VARCHAR)`,
} as const;

export type ContractTable = keyof typeof CONTRACT_DDL;

/** Columns each contract table must have for Kairos to read it. */
export const CONTRACT_COLUMNS: Readonly<Record<ContractTable, readonly string[]>> = {
  tickers: ['ticker', 'name', 'sector'],
  sep_base: ['ticker', 'date', 'open', 'high', 'low', 'close', 'volume'],
  feat_matrix_v2: ['ticker', 'date', 'alpha_composite_v8', 'vol_blend', 'adv_20'],
  regime: ['date', 'vol_regime', 'trend_regime'],
};

/** Table name → columns a caller needs from it (any table, including user columns of feat_matrix_v2). */
export type ContractRequirements = Readonly<Record<string, readonly string[]>>;

/** Creates whichever of the named contract tables are missing. */
export async function ensureContractTables(db: KairosDatabase, tables: readonly ContractTable[]): Promise<void> {
  for (const table of tables) await db.run(CONTRACT_DDL[table]);
}

/**
 * Fails with a DataError naming the first missing table or `table.column`, so a user whose
 * database predates a column learns exactly what to add.
 */
export async function assertContract(db: KairosDatabase, requirements: ContractRequirements): Promise<void> {
  for (const [table, columns] of Object.entries(requirements)) {
    const present = await db.tableColumns(table);
    if (present === null) throw new DataError(`database ${db.path}: missing table ${table}`);
    const missing = columns.filter((column) => !present.includes(column.toLowerCase()));
    if (missing.length > 0) {
      throw new DataError(`database ${db.path}: missing column ${missing.map((column) => `${table}.${column}`).join(', ')}`);
    }
  }
}
