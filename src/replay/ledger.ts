import { z } from 'zod';
import type { IsoDate } from '../core/dates.js';
import { DataError, StateError } from '../core/errors.js';
import { describeIssues } from '../state/snapshot-schema.js';
import { positionsFromShares } from '../trading/holdings.js';
import { orderCosts } from './costs.js';
import type { Fill, FillConfig, Order } from './fills.js';

export interface SkippedOrder {
  readonly ticker: string;
  readonly reason: string;
}

export interface FillResult {
  /** In ticker order. */
  readonly fills: Fill[];
  /** Orders that could not trade (no reference price), in ticker order. */
  readonly skipped: SkippedOrder[];
  /** Tickers that filled with impact charged as 0 because adv20 was missing or zero. */
  readonly impactUnavailable: string[];
}

export interface Mark {
  /** cash + Σ shares · price. */
  readonly equity: number;
  /** Σ |shares · price| / equity. */
  readonly gross: number;
  /** Σ shares · price / equity. */
  readonly net: number;
  /** Held tickers with no close this session, valued at their last known price. */
  readonly carried: string[];
}

const ledgerSnapshotSchema = z.strictObject({
  version: z.literal(1),
  book: z.string().min(1),
  cash: z.number(),
  positions: z.array(z.strictObject({ ticker: z.string().min(1), shares: z.number().int().refine((s) => s !== 0, 'a position has non-zero shares') })),
  lastPrices: z.array(z.strictObject({ ticker: z.string().min(1), price: z.number() })),
});

/**
 * A ledger's state as plain JSON for replay checkpoints. Numbers are stored as JSON numbers,
 * which JavaScript writes in shortest round-trip form, so a restored ledger continues bit for bit.
 * Prices are stored for every name with one, not just holdings: a name bought later and then
 * missing a close is carried at that price, and a resumed run must carry it identically.
 */
export type LedgerSnapshot = z.infer<typeof ledgerSnapshotSchema>;

/**
 * Cash and whole-share positions of one book (a strategy alone, or the combined book) over a
 * replay. Orders fill against a reference price with the costs of costs.ts (`orderCosts`); cash
 * may go negative (leverage) and shorts credit cash: sizing orders to the book is the trade
 * generator's job, the ledger only records what happened.
 */
export class BookLedger {
  cash: number;
  /** Whole shares per ticker, signed (negative = short). */
  readonly shares: Float64Array;
  /**
   * Last finite close per name, for carrying a held name through a missing close and for
   * closing a delisted one. A name bought before any close was seen starts at its fill's
   * reference price, so every holding always has a price.
   */
  readonly lastPrice: Float64Array;

  constructor(
    readonly book: string,
    readonly tickers: readonly string[],
    initialCash: number,
  ) {
    if (!Number.isFinite(initialCash)) throw new RangeError(`${book}: initial cash must be a finite amount, got ${initialCash}`);
    this.cash = initialCash;
    this.shares = new Float64Array(tickers.length);
    this.lastPrice = new Float64Array(tickers.length).fill(Number.NaN);
  }

  /**
   * Fills `orders` against `reference` (one price per ticker, from `fillPriceReference`), in
   * ticker order. An order whose reference price is NaN (or not > 0) cannot trade: it is skipped
   * and reported, and the position stays as it was. `adv20` is the dollar volume that scales
   * impact (the decision session's, known when the order was made).
   */
  fill(orders: readonly Order[], reference: Float64Array, adv20: Float64Array, date: IsoDate, config: FillConfig): FillResult {
    this.checkAligned(reference, 'reference prices');
    this.checkAligned(adv20, 'adv20');
    const fills: Fill[] = [];
    const skipped: SkippedOrder[] = [];
    const impactUnavailable: string[] = [];
    for (const order of this.validOrdersInTickerOrder(orders)) {
      const i = order.tickerIndex;
      const ticker = this.tickers[i]!;
      const price = reference[i]!;
      if (!(price > 0 && Number.isFinite(price))) {
        skipped.push({ ticker, reason: `no reference price on ${date}` });
        continue;
      }
      const costs = orderCosts(order.shares, price, adv20[i]!, config);
      if (!costs.impactEstimated) impactUnavailable.push(ticker);
      this.cash += costs.cash_change;
      this.shares[i] = this.shares[i]! + order.shares;
      if (Number.isNaN(this.lastPrice[i]!)) this.lastPrice[i] = price;
      fills.push({
        date,
        book: this.book,
        ticker,
        side: order.shares > 0 ? 'BUY' : 'SELL',
        shares: Math.abs(order.shares),
        reference_price: price,
        fill_price: costs.fill_price,
        notional: costs.notional,
        commission: costs.commission,
        spread_cost: costs.spread_cost,
        impact_cost: costs.impact_cost,
        total_cost: costs.total_cost,
        reason: 'rebalance',
      });
    }
    return { fills, skipped, impactUnavailable };
  }

  /**
   * Marks the book to `closes` (one per ticker). Every finite close becomes the name's last
   * price, held or not; a held name with a NaN close is valued at its last price and listed in
   * `carried`. gross and net are fractions of equity.
   */
  mark(closes: Float64Array, date: IsoDate): Mark {
    this.checkAligned(closes, 'closes');
    let holdingsValue = 0;
    let grossValue = 0;
    const carried: string[] = [];
    for (let i = 0; i < closes.length; i++) {
      const close = closes[i]!;
      const hasClose = Number.isFinite(close);
      if (hasClose) this.lastPrice[i] = close;
      const held = this.shares[i]!;
      if (held === 0) continue;
      if (!hasClose) carried.push(this.tickers[i]!);
      const value = held * this.priceOf(i, date);
      holdingsValue += value;
      grossValue += Math.abs(value);
    }
    const equity = this.cash + holdingsValue;
    return { equity, gross: grossValue / equity, net: holdingsValue / equity, carried };
  }

  /**
   * Closes the positions in the given names (longs sold, shorts covered) at their last price,
   * with no costs: the series has ended, so there is no market to cross a spread in, and what a
   * holder actually got (a cash takeover, a bankruptcy) is not in the data; the last price is the
   * neutral assumption. Names not held are ignored. Fills come out in ticker order.
   */
  closeDelisted(indices: readonly number[], date: IsoDate): Fill[] {
    const fills: Fill[] = [];
    for (const i of [...new Set(indices)].sort((a, b) => a - b)) {
      this.checkTickerIndex(i);
      const held = this.shares[i]!;
      if (held === 0) continue;
      const price = this.priceOf(i, date);
      const notional = Math.abs(held) * price;
      this.cash += held * price;
      this.shares[i] = 0;
      fills.push({
        date,
        book: this.book,
        ticker: this.tickers[i]!,
        side: held > 0 ? 'SELL' : 'BUY',
        shares: Math.abs(held),
        reference_price: price,
        fill_price: price,
        notional,
        commission: 0,
        spread_cost: 0,
        impact_cost: 0,
        total_cost: 0,
        reason: 'delisted',
      });
    }
    return fills;
  }

  /** Non-zero positions in ticker order. */
  positions(): { ticker: string; shares: number }[] {
    return positionsFromShares(this.shares, this.tickers);
  }

  snapshot(): LedgerSnapshot {
    const lastPrices: { ticker: string; price: number }[] = [];
    for (let i = 0; i < this.lastPrice.length; i++) {
      if (!Number.isNaN(this.lastPrice[i]!)) lastPrices.push({ ticker: this.tickers[i]!, price: this.lastPrice[i]! });
    }
    return { version: 1, book: this.book, cash: this.cash, positions: this.positions(), lastPrices };
  }

  /**
   * A ledger from a snapshot (parsed JSON), over `tickers`. Throws StateError when the snapshot
   * is malformed or names a ticker the replay does not have, rather than dropping a position.
   */
  static restore(snapshot: LedgerSnapshot, tickers: readonly string[]): BookLedger {
    const parsed = ledgerSnapshotSchema.safeParse(snapshot);
    if (!parsed.success) throw new StateError(`invalid ledger snapshot: ${describeIssues(parsed.error)}`);
    const { book, cash, positions, lastPrices } = parsed.data;
    const ledger = new BookLedger(book, tickers, cash);
    const indexOf = new Map(tickers.map((ticker, i) => [ticker, i]));
    const locate = (ticker: string): number => {
      const i = indexOf.get(ticker);
      if (i === undefined) throw new StateError(`ledger snapshot of ${book} names ${ticker}, which is not in the replay's tickers`);
      return i;
    };
    for (const { ticker, shares } of positions) {
      const i = locate(ticker);
      if (ledger.shares[i] !== 0) throw new StateError(`ledger snapshot of ${book} lists ${ticker} twice`);
      ledger.shares[i] = shares;
    }
    for (const { ticker, price } of lastPrices) ledger.lastPrice[locate(ticker)] = price;
    return ledger;
  }

  private priceOf(i: number, date: IsoDate): number {
    const price = this.lastPrice[i]!;
    // fill() gives every new holding a price, so this only trips on a corrupted ledger.
    if (Number.isNaN(price)) throw new DataError(`${this.book}: ${this.tickers[i]} is held on ${date} but has no known price`);
    return price;
  }

  private validOrdersInTickerOrder(orders: readonly Order[]): Order[] {
    const sorted = [...orders].sort((a, b) => a.tickerIndex - b.tickerIndex);
    sorted.forEach((order, k) => {
      this.checkTickerIndex(order.tickerIndex);
      if (!Number.isInteger(order.shares) || order.shares === 0) {
        throw new RangeError(`${this.book}: order for ${this.tickers[order.tickerIndex]} must be a non-zero whole number of shares, got ${order.shares}`);
      }
      if (k > 0 && sorted[k - 1]!.tickerIndex === order.tickerIndex) {
        throw new RangeError(`${this.book}: two orders for ${this.tickers[order.tickerIndex]} in one fill`);
      }
    });
    return sorted;
  }

  private checkTickerIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.tickers.length) throw new RangeError(`${this.book}: ticker index ${i} is outside 0..${this.tickers.length - 1}`);
  }

  private checkAligned(values: Float64Array, what: string): void {
    if (values.length !== this.tickers.length) throw new RangeError(`${this.book}: ${values.length} ${what} for ${this.tickers.length} tickers`);
  }
}

/**
 * Per ticker, the last session index with a finite close (−1 if none). A held name whose series
 * ends before the replay does is delisted after that session: the replay closes it at session
 * `lastListed + 1` at this close (the ledger's last price).
 */
export function lastListedIndex(close: Float64Array, nTickers: number, nSessions: number): Int32Array {
  if (close.length !== nTickers * nSessions) throw new RangeError(`close has ${close.length} cells, expected ${nTickers} × ${nSessions}`);
  const lastListed = new Int32Array(nTickers).fill(-1);
  for (let s = 0; s < nSessions; s++) {
    const row = s * nTickers;
    for (let t = 0; t < nTickers; t++) {
      if (Number.isFinite(close[row + t]!)) lastListed[t] = s;
    }
  }
  return lastListed;
}

/**
 * Which names' series ended before a session (see `lastListedIndex`), asked by every book of a
 * replay every session. Names are kept in order of their last listed session, so a session's
 * delisted names are a prefix of that order, and its ascending list is rebuilt only when the
 * prefix grows: a replay delists a name on a few sessions of thousands.
 */
export class Delistings {
  private readonly byLastListed: Int32Array;
  private count = 0;
  private names: readonly number[] = [];

  constructor(private readonly lastListed: Int32Array) {
    this.byLastListed = Int32Array.from(lastListed.keys()).sort((a, b) => lastListed[a]! - lastListed[b]! || a - b);
  }

  /** The names with no finite close at or after session `d`, ascending. */
  before(d: number): readonly number[] {
    let low = 0;
    let high = this.byLastListed.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.lastListed[this.byLastListed[middle]!]! < d) low = middle + 1;
      else high = middle;
    }
    if (low !== this.count) {
      this.count = low;
      this.names = Array.from(this.byLastListed.subarray(0, low)).sort((a, b) => a - b);
    }
    return this.names;
  }
}
