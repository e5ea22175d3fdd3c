import type { IsoDate } from '../core/dates.js';
import { StateError } from '../core/errors.js';
import { stableStringify } from '../core/json.js';
import { requireLockTtl, requirePortfolioId, requireSessionDate, validSnapshotForCommit } from './snapshot-schema.js';
import type { RunSnapshot, StateStore } from './store.js';

interface HeldLock {
  readonly owner: string;
  readonly expiresAt: number;
}

/**
 * The embedded default store: state lives as long as the process. Snapshots are kept as the same
 * JSON the Redis store writes, so callers get a fresh copy on every load (they cannot mutate what
 * was committed) and both stores hand back exactly the same values.
 */
export class MemoryStateStore implements StateStore {
  readonly #snapshotsByPortfolio = new Map<string, Map<IsoDate, string>>();
  readonly #locks = new Map<string, HeldLock>();
  #closed = false;

  async loadBefore(portfolio: string, date: IsoDate): Promise<RunSnapshot | null> {
    this.#requireOpen();
    requireSessionDate(date);
    const earlier = this.#sortedDates(portfolio).filter((committed) => committed < date);
    return this.#load(portfolio, earlier.at(-1));
  }

  async loadLatest(portfolio: string): Promise<RunSnapshot | null> {
    this.#requireOpen();
    return this.#load(portfolio, this.#sortedDates(portfolio).at(-1));
  }

  async commit(portfolio: string, snapshot: RunSnapshot): Promise<void> {
    this.#requireOpen();
    requirePortfolioId(portfolio);
    const valid = validSnapshotForCommit(portfolio, snapshot);
    let snapshots = this.#snapshotsByPortfolio.get(portfolio);
    if (snapshots === undefined) {
      snapshots = new Map();
      this.#snapshotsByPortfolio.set(portfolio, snapshots);
    }
    snapshots.set(valid.date, stableStringify(valid, 0));
  }

  async listDates(portfolio: string): Promise<IsoDate[]> {
    this.#requireOpen();
    return this.#sortedDates(portfolio);
  }

  async acquireLock(portfolio: string, owner: string, ttlMs: number): Promise<boolean> {
    this.#requireOpen();
    requirePortfolioId(portfolio);
    requireLockTtl(ttlMs);
    const now = Date.now();
    const held = this.#locks.get(portfolio);
    if (held !== undefined && held.owner !== owner && held.expiresAt > now) return false;
    this.#locks.set(portfolio, { owner, expiresAt: now + ttlMs });
    return true;
  }

  async releaseLock(portfolio: string, owner: string): Promise<void> {
    this.#requireOpen();
    requirePortfolioId(portfolio);
    if (this.#locks.get(portfolio)?.owner === owner) this.#locks.delete(portfolio);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #sortedDates(portfolio: string): IsoDate[] {
    requirePortfolioId(portfolio);
    // YYYY-MM-DD strings sort chronologically.
    return [...(this.#snapshotsByPortfolio.get(portfolio)?.keys() ?? [])].sort();
  }

  #load(portfolio: string, date: IsoDate | undefined): RunSnapshot | null {
    if (date === undefined) return null;
    const stored = this.#snapshotsByPortfolio.get(portfolio)?.get(date);
    return stored === undefined ? null : (JSON.parse(stored) as RunSnapshot);
  }

  // Matches the Redis store, whose connection is gone after close(), so code that works against
  // memory in tests cannot rely on using a store after closing it.
  #requireOpen(): void {
    if (this.#closed) throw new StateError('the in-memory state store is closed');
  }
}
