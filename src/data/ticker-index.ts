/**
 * Position of each ticker in a ticker list, built once per list (the panel's list is shared by
 * every view, book and session) instead of once per lookup site per session.
 */
const positionsByList = new WeakMap<readonly string[], ReadonlyMap<string, number>>();

export function tickerPositions(tickers: readonly string[]): ReadonlyMap<string, number> {
  let positions = positionsByList.get(tickers);
  if (!positions) {
    positions = new Map(tickers.map((ticker, i) => [ticker, i]));
    positionsByList.set(tickers, positions);
  }
  return positions;
}

/** Index of `ticker` in `tickers`, or −1. */
export function tickerIndexOf(tickers: readonly string[], ticker: string): number {
  return tickerPositions(tickers).get(ticker) ?? -1;
}
