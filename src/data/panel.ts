import type { IsoDate } from '../core/dates.js';

/**
 * The columnar market data every stage reads: one typed array per field, row-major by session
 * (`[sessionIndex * tickers.length + tickerIndex]`), NaN where a value is missing.
 * Row-major by session keeps "the window of sessions ending at D" one contiguous subarray.
 */
export const PANEL_FIELDS = ['open', 'close', 'volume', 'alpha', 'volBlend', 'adv20'] as const;
export type PanelField = (typeof PANEL_FIELDS)[number];

export interface RegimeLabel {
  readonly volRegime: string;
  readonly trendRegime: string;
}

export interface MarketPanel {
  /** Sorted ascending (plain code-unit order); every dense weight vector is aligned with it. */
  readonly tickers: readonly string[];
  readonly sectors: readonly (string | null)[];
  /** Sessions covered, ascending, without gaps in the XNYS calendar. */
  readonly dates: readonly IsoDate[];
  readonly fields: Readonly<Record<PanelField, Float64Array>>;
  /** Optional extra `feat_matrix_v2` columns a strategy asked for, same layout. */
  readonly extraFeatures: ReadonlyMap<string, Float64Array>;
  /** One entry per date; null where the regime table has no row. */
  readonly regime: readonly (RegimeLabel | null)[];
  tickerIndex(ticker: string): number;
  dateIndex(date: IsoDate): number;
}

/**
 * What a strategy or stage deciding for session D may see: the panel up to and including D,
 * nothing after. Windows are zero-copy views that end at D.
 */
export interface PointInTimeMarket {
  readonly date: IsoDate;
  readonly tickers: readonly string[];
  readonly sectors: readonly (string | null)[];
  /** Sessions available up to and including D (D itself counts). */
  readonly history: number;
  /** Cross-section of a field at D - lag (lag ≥ 0 sessions). */
  field(name: PanelField, lag?: number): Float64Array;
  /** Extra feature column cross-section at D - lag. Throws if the panel was not loaded with it. */
  feature(column: string, lag?: number): Float64Array;
  /** `length` sessions of a field ending at D, row-major (row 0 oldest). Throws if history is short. */
  window(name: PanelField, length: number): Float64Array;
  /**
   * `length` daily simple close-to-close returns ending at D, row-major (row 0 oldest);
   * NaN where either close is missing. Computed once per (D, length) and shared.
   */
  returns(length: number): Float64Array;
  /** Regime label at D - lag (lag ≥ 0 sessions), if any. */
  regime(lag?: number): RegimeLabel | null;
}
