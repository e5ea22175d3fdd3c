import type { IsoDate } from '../core/dates.js';
import type { KairosDatabase } from './database.js';

/** Latest date per contract table, for the pre-rebalance freshness check; null where a table is missing or empty. */
export interface LatestDates {
  readonly feat_matrix_latest: IsoDate | null;
  readonly sep_base_latest: IsoDate | null;
  readonly regime_latest: IsoDate | null;
}

export async function latestDates(db: KairosDatabase): Promise<LatestDates> {
  return {
    feat_matrix_latest: await latestDate(db, 'feat_matrix_v2'),
    sep_base_latest: await latestDate(db, 'sep_base'),
    regime_latest: await latestDate(db, 'regime'),
  };
}

async function latestDate(db: KairosDatabase, table: string): Promise<IsoDate | null> {
  const columns = await db.tableColumns(table);
  if (columns === null || !columns.includes('date')) return null;
  const row = await db.queryOne(`SELECT CAST(max(date) AS DATE) AS latest FROM ${table}`);
  return (row?.latest as IsoDate | null | undefined) ?? null;
}
