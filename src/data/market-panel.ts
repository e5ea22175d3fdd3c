import type { IsoDate } from '../core/dates.js';
import { PANEL_FIELDS, type MarketPanel, type PanelField, type RegimeLabel } from './panel.js';

export interface MarketPanelParts {
  readonly tickers: readonly string[];
  readonly sectors: readonly (string | null)[];
  readonly dates: readonly IsoDate[];
  readonly fields: Readonly<Record<PanelField, Float64Array>>;
  readonly extraFeatures?: ReadonlyMap<string, Float64Array>;
  readonly regime?: readonly (RegimeLabel | null)[];
}

/**
 * Assembles a MarketPanel from arrays already laid out row-major by session, checking the
 * layout so a mis-sized array fails here rather than as a silent misalignment later. Used by
 * the DuckDB loader and by tests or tools that build panels in memory.
 */
export function createMarketPanel(parts: MarketPanelParts): MarketPanel {
  const { tickers, sectors, dates } = parts;
  const cells = tickers.length * dates.length;
  if (sectors.length !== tickers.length) throw new RangeError(`sectors has ${sectors.length} entries for ${tickers.length} tickers`);
  for (let i = 1; i < tickers.length; i++) {
    if (!(tickers[i - 1]! < tickers[i]!)) throw new RangeError(`tickers must be sorted and unique: ${tickers[i - 1]} before ${tickers[i]}`);
  }
  for (let i = 1; i < dates.length; i++) {
    if (!(dates[i - 1]! < dates[i]!)) throw new RangeError(`dates must be ascending and unique: ${dates[i - 1]} before ${dates[i]}`);
  }
  for (const field of PANEL_FIELDS) {
    if (parts.fields[field].length !== cells) throw new RangeError(`field ${field} has ${parts.fields[field].length} cells, expected ${cells}`);
  }
  const extraFeatures = parts.extraFeatures ?? new Map<string, Float64Array>();
  for (const [column, values] of extraFeatures) {
    if (values.length !== cells) throw new RangeError(`feature ${column} has ${values.length} cells, expected ${cells}`);
  }
  const regime = parts.regime ?? dates.map(() => null);
  if (regime.length !== dates.length) throw new RangeError(`regime has ${regime.length} entries for ${dates.length} dates`);

  const tickerPositions = new Map(tickers.map((ticker, i) => [ticker, i]));
  const datePositions = new Map(dates.map((date, i) => [date, i]));
  return {
    tickers,
    sectors,
    dates,
    fields: parts.fields,
    extraFeatures,
    regime,
    tickerIndex: (ticker) => tickerPositions.get(ticker) ?? -1,
    dateIndex: (date) => datePositions.get(date) ?? -1,
  };
}
