import type { IsoDate } from '../core/dates.js';
import type { JsonValue } from '../core/json.js';

/** What one strategy carries from one run to the next. */
export interface StrategyState {
  readonly lastRebalance: IsoDate | null;
  /** The sleeve it last emitted, ticker → weight (sorted by ticker when serialised). */
  readonly signal: Readonly<Record<string, number>>;
  /** The strategy's own JSON state (StrategyOutput.state). */
  readonly custom: JsonValue;
  /**
   * The sleeve's realised return over each run interval, oldest first, at most
   * `allocation.sharpe_window` long: what Sharpe-weighted allocation looks at.
   */
  readonly sleeveReturns?: readonly number[];
}

export interface Position {
  readonly ticker: string;
  readonly shares: number;
}

export interface Holdings {
  readonly asOf: IsoDate;
  readonly cash: number;
  readonly positions: readonly Position[];
}

/** Everything one run for session `date` leaves behind; committed as a unit. */
export interface RunSnapshot {
  readonly runId: string;
  readonly date: IsoDate;
  readonly strategies: Readonly<Record<string, StrategyState>>;
  readonly holdings: Holdings;
}

/**
 * Per-portfolio state, versioned by session date. A run for D reads the latest snapshot strictly
 * before D, so re-running D starts from the same state (idempotent) and never double-counts.
 */
export interface StateStore {
  /** Latest snapshot with date < `date`, or null if none. */
  loadBefore(portfolio: string, date: IsoDate): Promise<RunSnapshot | null>;
  /** Latest snapshot of all, or null. */
  loadLatest(portfolio: string): Promise<RunSnapshot | null>;
  /** Store a snapshot atomically (all keys or none), replacing any snapshot for the same date. */
  commit(portfolio: string, snapshot: RunSnapshot): Promise<void>;
  /** Dates with a committed snapshot, ascending. */
  listDates(portfolio: string): Promise<IsoDate[]>;
  /** Take the portfolio's run lock; false if another owner holds it. The lock expires after ttlMs. */
  acquireLock(portfolio: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Release the lock if `owner` still holds it. */
  releaseLock(portfolio: string, owner: string): Promise<void>;
  close(): Promise<void>;
}
