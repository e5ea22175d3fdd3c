import { jsonEqual } from '../core/json.js';
import type { PointInTimeMarket } from '../data/panel.js';
import type { StrategyState } from '../state/store.js';
import { sameSleeve } from './sleeve-vectors.js';
import type { StrategyOutput } from './strategy.js';

/**
 * Strategy outputs shared between books run over the same sessions (replay's combined and solo
 * books). A strategy sees the session's market, its params and what its book hands it — its own
 * state and prior sleeve — so two books may share one computation only when they hand it the
 * same state: its custom state and prior sleeve equal in value. The pipeline mostly keeps them the
 * same objects from book to book (see sleeve-vectors.ts), which settles the comparison at once;
 * a book whose state really diverged (the combined book on a day a CRITICAL alert blocked it)
 * gets its own computation instead of another book's answer.
 */
/** Whether a book handing a strategy this state (its custom state and prior sleeve) hands it what an output was computed from. */
export type StateMatch = (state: StrategyState | null) => boolean;

export class SharedStrategyOutputs {
  private market: PointInTimeMarket | null = null;
  private entries: { strategyId: string; matches: StateMatch; output: Promise<StrategyOutput> }[] = [];

  output(strategyId: string, market: PointInTimeMarket, state: StrategyState | null, compute: () => StrategyOutput | Promise<StrategyOutput>): Promise<StrategyOutput> {
    const shared = this.entriesFor(market).find((e) => e.strategyId === strategyId && e.matches(state));
    if (shared) return shared.output;
    const output = Promise.resolve().then(compute);
    const custom = state?.custom ?? null;
    this.entries.push({ strategyId, matches: (other) => jsonEqual(custom, other?.custom ?? null) && sameSleeve(state, other, market.tickers), output });
    return output;
  }

  /** An output computed elsewhere (replay's strategy worker), for the books whose state `matches` what it was computed from. */
  offer(market: PointInTimeMarket, strategyId: string, matches: StateMatch, output: Promise<StrategyOutput>): void {
    this.entriesFor(market).push({ strategyId, matches, output });
  }

  private entriesFor(market: PointInTimeMarket): SharedStrategyOutputs['entries'] {
    if (market !== this.market) {
      this.market = market;
      this.entries = [];
    }
    return this.entries;
  }
}
