import type { IsoDate } from '../../src/core/dates.js';
import type { PanelField, PointInTimeMarket } from '../../src/data/panel.js';

/** One ticker of a fake market: its cross-section at D and, optionally, its daily returns up to D. */
export interface FakeName {
  readonly ticker: string;
  readonly sector?: string | null;
  readonly alpha?: number;
  readonly volBlend?: number;
  readonly adv20?: number;
  readonly close?: number;
  /** Daily returns, oldest first, the last one ending at D; NaN = missing. Same length for every name. */
  readonly returns?: readonly number[];
}

export interface FakeMarketOptions {
  readonly names: readonly FakeName[];
  readonly date?: IsoDate;
  /** Sessions available up to D; defaults to one more than the returns supplied. */
  readonly history?: number;
}

/**
 * An in-memory PointInTimeMarket for unit tests: the cross-section at D plus a returns matrix.
 * Names are sorted by ticker as the real panel does, so the order they are listed in is irrelevant.
 * Lagged fields and windows longer than one session are not modelled and throw.
 */
export function fakeMarket({ names, date = '2025-12-30', history }: FakeMarketOptions): PointInTimeMarket {
  const sorted = [...names].sort((a, b) => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0));
  const tickers = sorted.map((name) => name.ticker);
  if (new Set(tickers).size !== tickers.length) throw new Error('fakeMarket: duplicate ticker');
  const sessions = sorted[0]?.returns?.length ?? 0;
  if (sorted.some((name) => (name.returns?.length ?? 0) !== sessions)) throw new Error('fakeMarket: every name needs the same number of returns');
  const available = history ?? sessions + 1;
  const n = tickers.length;

  const crossSection = (pick: (name: FakeName) => number | undefined): Float64Array =>
    Float64Array.from(sorted, (name) => pick(name) ?? Number.NaN);
  const fields: Record<PanelField, Float64Array> = {
    open: crossSection((name) => name.close),
    close: crossSection((name) => name.close),
    volume: crossSection(() => undefined),
    alpha: crossSection((name) => name.alpha),
    volBlend: crossSection((name) => name.volBlend),
    adv20: crossSection((name) => name.adv20),
  };
  const allReturns = new Float64Array(sessions * n);
  sorted.forEach((name, i) => name.returns?.forEach((r, t) => (allReturns[t * n + i] = r)));

  return {
    date,
    tickers,
    sectors: sorted.map((name) => name.sector ?? null),
    history: available,
    field(name: PanelField, lag = 0): Float64Array {
      if (lag !== 0) throw new Error('fakeMarket: only the cross-section at D is modelled');
      return fields[name];
    },
    feature(column: string): Float64Array {
      throw new Error(`fakeMarket: no extra feature ${column}`);
    },
    window(name: PanelField, length: number): Float64Array {
      if (length !== 1) throw new Error('fakeMarket: only one-session windows are modelled');
      return fields[name];
    },
    returns(length: number): Float64Array {
      if (length > sessions || length + 1 > available) throw new Error(`fakeMarket: ${length} returns requested, ${sessions} supplied`);
      return allReturns.subarray((sessions - length) * n);
    },
    regime: () => null,
  };
}
