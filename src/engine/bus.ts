import { Subject, filter, type Observable } from 'rxjs';
import type { IsoDate } from '../core/dates.js';
import type { JsonValue } from '../core/json.js';
import type { SleeveTarget } from './strategy.js';

/** Why a sleeve carries the weights it does this session. */
export type SignalStatus = 'rebalanced' | 'held' | 'failed';

/** A strategy's sleeve for one session, as published on the bus (topic `signals.<strategyId>`). */
export interface SignalEvent {
  readonly topic: `signals.${string}`;
  readonly strategyId: string;
  readonly date: IsoDate;
  readonly status: SignalStatus;
  /** Sleeve weights aligned with the session's market tickers. */
  readonly weights: Float64Array;
  /** The strategy's per-name detail when it rebalanced (empty when held). */
  readonly targets: readonly SleeveTarget[];
  readonly notes: readonly string[];
  /** The strategy's own state to persist, when it rebalanced. */
  readonly strategyState?: JsonValue;
  readonly error?: string;
}

/**
 * The signal bus: one RxJS Subject, streams filtered by hierarchical topic prefix
 * (NestJS CQRS style). Publishers never know who listens.
 */
export class EventBus {
  private readonly events = new Subject<SignalEvent>();

  publish(event: SignalEvent): void {
    this.events.next(event);
  }

  /** Events whose topic equals `prefix` or starts with `prefix.`. */
  topic(prefix: string): Observable<SignalEvent> {
    return this.events.pipe(filter((e) => e.topic === prefix || e.topic.startsWith(`${prefix}.`)));
  }
}
