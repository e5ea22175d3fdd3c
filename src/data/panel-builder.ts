import type { IsoDate } from '../core/dates.js';
import { createMarketPanel } from './market-panel.js';
import { PANEL_FIELDS, type MarketPanel, type PanelField, type RegimeLabel } from './panel.js';

export interface PanelSpec {
  readonly tickers: readonly string[];
  readonly sectors?: readonly (string | null)[];
  readonly dates: readonly IsoDate[];
  /** Per field, one row per date, one column per ticker (NaN or null = missing). */
  readonly fields: Partial<Record<PanelField, readonly (readonly (number | null)[])[]>>;
  readonly extraFeatures?: Readonly<Record<string, readonly (readonly (number | null)[])[]>>;
  readonly regime?: readonly (RegimeLabel | null)[];
}

/**
 * A MarketPanel from plain rows: the in-memory twin of `loadPanel`, for tests, examples and
 * plugins fed from sources other than DuckDB. Tickers are sorted and columns follow them.
 */
export function buildPanel(spec: PanelSpec): MarketPanel {
  const order = spec.tickers.map((t, i) => [t, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const tickers = order.map(([t]) => t);
  const sectors = order.map(([, i]) => spec.sectors?.[i] ?? null);
  const nT = tickers.length;
  const dense = (rows: readonly (readonly (number | null)[])[] | undefined, name: string): Float64Array => {
    const out = new Float64Array(spec.dates.length * nT).fill(Number.NaN);
    if (!rows) return out;
    if (rows.length !== spec.dates.length) throw new RangeError(`${name}: ${rows.length} rows for ${spec.dates.length} dates`);
    rows.forEach((row, d) => {
      if (row.length !== nT) throw new RangeError(`${name} row ${d}: ${row.length} values for ${nT} tickers`);
      order.forEach(([, source], t) => {
        const v = row[source];
        out[d * nT + t] = v ?? Number.NaN;
      });
    });
    return out;
  };
  const fields = Object.fromEntries(PANEL_FIELDS.map((f) => [f, dense(spec.fields[f], f)])) as Record<PanelField, Float64Array>;
  const extraFeatures = new Map(Object.entries(spec.extraFeatures ?? {}).map(([name, rows]) => [name, dense(rows, name)]));
  return createMarketPanel({
    tickers,
    sectors,
    dates: [...spec.dates],
    fields,
    extraFeatures,
    regime: spec.regime ? [...spec.regime] : undefined,
  });
}
