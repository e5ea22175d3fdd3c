import { z } from 'zod';
import type { IsoDate } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import type { MarketPanel } from '../data/panel.js';
import type { TradeRow } from '../trading/trades.js';
import { tickerPositions } from '../data/ticker-index.js';

/**
 * How and at what cost the replay turns the orders decided after the close of D into trades.
 * Cost arithmetic lives in costs.ts (`orderCosts`); unknown keys are rejected so a typo cannot
 * silently fall back to a default.
 */
export const fillConfigSchema = z.strictObject({
  /**
   * Which price fills an order decided after the close of D: `next_open` = open of the next
   * session (the realistic default), `next_close` = close of the next session, `same_close` = the
   * close of D itself. same_close trades at the very price that produced the signal, which no
   * live book can do: research only.
   */
  timing: z.enum(['next_open', 'next_close', 'same_close']).default('next_open'),
  /** Dollars per share traded. */
  commission_per_share: z.number().min(0).default(0.005),
  /** Commission as basis points of the order's notional, added to the per-share part. */
  commission_bps: z.number().min(0).default(0),
  /** Floor on one order's commission. */
  min_commission: z.number().min(0).default(0),
  /** Half the bid/ask spread in bps of the reference price: what crossing the spread costs. */
  half_spread_bps: z.number().min(0).default(5),
  /** Impact in bps at 100 % participation, scaled by sqrt(notional / adv20); 0 turns impact off. */
  impact_bps: z.number().min(0).default(0),
  /** Starting cash of every book. */
  initial_capital: z.number().positive().default(1_000_000),
});
export type FillConfig = z.infer<typeof fillConfigSchema>;
export type FillTiming = FillConfig['timing'];

/** One name to trade: whole shares, signed (+ buy, − sell or short). */
export interface Order {
  readonly tickerIndex: number;
  readonly shares: number;
}

/** `rebalance` = an order from the pipeline; `delisted` = a forced close when the price series ends. */
export type FillReason = 'rebalance' | 'delisted';

/** One executed order, a row of the replay's trades.csv. All money in dollars, costs ≥ 0. */
export interface Fill {
  readonly date: IsoDate;
  readonly book: string;
  readonly ticker: string;
  readonly side: 'BUY' | 'SELL';
  /** Whole shares, > 0. */
  readonly shares: number;
  /** The market price the order fills against (open or close, per the timing). */
  readonly reference_price: number;
  /** reference_price moved half a spread against the order; reported, not used for cash. */
  readonly fill_price: number;
  /** shares × reference_price. */
  readonly notional: number;
  readonly commission: number;
  readonly spread_cost: number;
  readonly impact_cost: number;
  /** commission + spread_cost + impact_cost. */
  readonly total_cost: number;
  readonly reason: FillReason;
}

/**
 * Signed orders from trade rows (BUY → +shares, SELL → −shares), sorted by ticker index so fills
 * come out in ticker order whatever order the rows arrive in.
 */
export function ordersFromTrades(trades: readonly TradeRow[], tickers: readonly string[]): Order[] {
  const indexOf = tickerPositions(tickers);
  const orders = trades.map((trade): Order => {
    const tickerIndex = indexOf.get(trade.ticker);
    if (tickerIndex === undefined) throw new DataError(`trade for ${trade.ticker}, which is not in the replay's tickers`);
    if (!Number.isInteger(trade.shares) || trade.shares <= 0) {
      throw new DataError(`trade for ${trade.ticker}: shares must be a whole number > 0, got ${trade.shares}`);
    }
    return { tickerIndex, shares: trade.action === 'BUY' ? trade.shares : -trade.shares };
  });
  return orders.sort((a, b) => a.tickerIndex - b.tickerIndex);
}

export interface FillReference {
  /** Panel session whose prices fill the orders. */
  readonly sessionIndex: number;
  /** Per ticker, the reference price; NaN where the name cannot trade. Read-only (may view the panel). */
  readonly prices: Float64Array;
  /** next_open only: tickers with no open that fall back to that session's close. */
  readonly openFallback: string[];
}

/**
 * The prices that fill orders decided after the close of session `decisionIndex`.
 * The panel holds sessions only, so "next" is the next trading session: a decision on the early
 * close of 2024-07-03 fills at the open of 2024-07-05, one on 2024-12-24 at the open of 2024-12-26.
 * Returns null when the timing needs a session after the last one in the panel (the replay's last
 * decision has nothing to fill against).
 *
 * next_open falls back to the same session's close where an open is missing but the close is not
 * (vendors drop opens more often than closes); those names are listed in `openFallback`.
 */
export function fillPriceReference(timing: FillTiming, panel: MarketPanel, decisionIndex: number): FillReference | null {
  const sessions = panel.dates.length;
  if (!Number.isInteger(decisionIndex) || decisionIndex < 0 || decisionIndex >= sessions) {
    throw new RangeError(`decision session index ${decisionIndex} is outside the panel's ${sessions} sessions`);
  }
  const sessionIndex = timing === 'same_close' ? decisionIndex : decisionIndex + 1;
  if (sessionIndex >= sessions) return null;
  const nTickers = panel.tickers.length;
  const start = sessionIndex * nTickers;
  const closes = panel.fields.close.subarray(start, start + nTickers);
  if (timing !== 'next_open') return { sessionIndex, prices: closes, openFallback: [] };

  const opens = panel.fields.open.subarray(start, start + nTickers);
  const openFallback: string[] = [];
  let prices = opens;
  for (let i = 0; i < nTickers; i++) {
    if (Number.isNaN(opens[i]!) && !Number.isNaN(closes[i]!)) {
      // Copy on first use: the common case of complete opens stays a zero-copy view of the panel.
      if (prices === opens) prices = opens.slice();
      prices[i] = closes[i]!;
      openFallback.push(panel.tickers[i]!);
    }
  }
  return { sessionIndex, prices, openFallback };
}
