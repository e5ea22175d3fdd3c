import type { IsoDate } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import { markImmutable } from '../kernels/kernels.js';
import { PANEL_FIELDS, type MarketPanel, type PanelField, type PointInTimeMarket, type RegimeLabel } from './panel.js';

/**
 * Daily simple close-to-close returns for a whole panel, same layout as its fields (row 0 is NaN:
 * it has no previous close). Built once per panel on first use, so every view's `returns(length)`
 * is a zero-copy window into it rather than a fresh allocation per day of a replay. In shared
 * memory when the panel's closes are, so another thread over the same panel can adopt it; marked
 * immutable, so the numeric kernels keep one copy of it (src/kernels).
 */
const panelReturns = new WeakMap<MarketPanel, Float64Array>();

export function returnsOf(panel: MarketPanel): Float64Array {
  let returns = panelReturns.get(panel);
  if (returns === undefined) {
    const close = panel.fields.close;
    const width = panel.tickers.length;
    const bytes = close.length * Float64Array.BYTES_PER_ELEMENT;
    returns = new Float64Array(close.buffer instanceof SharedArrayBuffer ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)).fill(Number.NaN);
    // NaN closes propagate to NaN returns, which is the panel's "missing".
    for (let cell = width; cell < close.length; cell++) returns[cell] = close[cell]! / close[cell - width]! - 1;
    markImmutable(returns);
    panelReturns.set(panel, returns);
  }
  return returns;
}

/** Uses `returns` — `returnsOf` of the same panel data, computed by another thread — for `panel`. */
export function adoptReturns(panel: MarketPanel, returns: Float64Array): void {
  if (returns.length !== panel.fields.close.length) throw new RangeError(`returns hold ${returns.length} cells, the panel ${panel.fields.close.length}`);
  markImmutable(returns);
  panelReturns.set(panel, returns);
}

/**
 * The market as it stood at the close of `date`: every accessor returns a zero-copy view that
 * ends at `date`, so nothing after it is reachable. The views share the panel's memory; treat
 * them as read-only.
 */
export function pointInTime(panel: MarketPanel, date: IsoDate): PointInTimeMarket {
  const session = panel.dateIndex(date);
  if (session < 0) {
    const span = panel.dates.length > 0 ? `${panel.dates[0]}..${panel.dates.at(-1)}` : 'no sessions';
    throw new DataError(`no market data for ${date} (the loaded panel covers ${span})`);
  }
  const width = panel.tickers.length;
  const history = session + 1;

  const row = (values: Float64Array, lag: number, what: string): Float64Array => {
    if (!Number.isInteger(lag) || lag < 0) throw new RangeError(`${what}: lag must be a whole number of sessions ≥ 0, got ${lag}`);
    if (lag >= history) throw new DataError(`${what} at ${date} with lag ${lag} needs ${lag + 1} sessions of history; ${history} loaded`);
    const start = (session - lag) * width;
    return values.subarray(start, start + width);
  };
  const rows = (values: Float64Array, length: number, needed: number, what: string): Float64Array => {
    if (!Number.isInteger(length) || length < 1) throw new RangeError(`${what}: length must be a positive whole number, got ${length}`);
    if (needed > history) throw new DataError(`${what} at ${date} needs ${needed} sessions of history; ${history} loaded`);
    return values.subarray((session - length + 1) * width, (session + 1) * width);
  };
  const fieldValues = (name: PanelField): Float64Array => {
    if (!PANEL_FIELDS.includes(name)) throw new RangeError(`unknown panel field ${name}`);
    return panel.fields[name];
  };

  return {
    date,
    tickers: panel.tickers,
    sectors: panel.sectors,
    history,
    field: (name: PanelField, lag = 0) => row(fieldValues(name), lag, name),
    feature: (column: string, lag = 0) => {
      const values = panel.extraFeatures.get(column);
      if (values === undefined) throw new RangeError(`feature column ${column} was not loaded; declare it in the strategy's featureColumns`);
      return row(values, lag, column);
    },
    window: (name: PanelField, length: number) => rows(fieldValues(name), length, length, `${name} window of ${length}`),
    // `length` returns need length + 1 closes.
    returns: (length: number) => rows(returnsOf(panel), length, length + 1, `${length} returns`),
    regime: (): RegimeLabel | null => panel.regime[session] ?? null,
  };
}
