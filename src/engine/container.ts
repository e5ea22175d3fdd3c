import { Container } from 'inversify';
import type { Logger } from '../core/log.js';
import type { TradingCalendar } from '../calendar/calendar.js';
import { XnysCalendar } from '../calendar/xnys.js';
import type { KairosConfig } from '../config/schema.js';
import type { KairosDatabase } from '../data/database.js';
import type { StateStore } from '../state/store.js';
import { applyRiskStage } from '../risk/risk-stage.js';
import { generateTrades } from '../trading/trades.js';
import type { PipelineStages, RiskStage, TradeGenerator } from './stages.js';
import type { LoadedStrategy } from './strategy-loader.js';

/** Service identifiers. `strategy` is multi-bound: one binding per configured strategy, in config order. */
export const TOKENS = {
  config: Symbol.for('kairos.Config'),
  logger: Symbol.for('kairos.Logger'),
  calendar: Symbol.for('kairos.Calendar'),
  stateStore: Symbol.for('kairos.StateStore'),
  database: Symbol.for('kairos.Database'),
  strategy: Symbol.for('kairos.Strategy'),
  riskStage: Symbol.for('kairos.RiskStage'),
  tradeGenerator: Symbol.for('kairos.TradeGenerator'),
  stages: Symbol.for('kairos.PipelineStages'),
} as const;

export interface EngineParts {
  readonly config: KairosConfig;
  readonly log: Logger;
  readonly store: StateStore;
  readonly db: KairosDatabase;
  readonly strategies: readonly LoadedStrategy[];
}

/**
 * The one place Kairos is wired. Tests and embedders rebind a token (a stage, the store, the
 * calendar) before resolving; nothing else in the engine constructs its collaborators.
 */
export function createEngineContainer(parts: EngineParts): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind<KairosConfig>(TOKENS.config).toConstantValue(parts.config);
  container.bind<Logger>(TOKENS.logger).toConstantValue(parts.log);
  container.bind<StateStore>(TOKENS.stateStore).toConstantValue(parts.store);
  container.bind<KairosDatabase>(TOKENS.database).toConstantValue(parts.db);
  container.bind<TradingCalendar>(TOKENS.calendar).toDynamicValue(() => new XnysCalendar());
  for (const strategy of parts.strategies) container.bind<LoadedStrategy>(TOKENS.strategy).toConstantValue(strategy);
  container.bind<RiskStage>(TOKENS.riskStage).toConstantValue(applyRiskStage);
  container.bind<TradeGenerator>(TOKENS.tradeGenerator).toConstantValue(generateTrades);
  container
    .bind<PipelineStages>(TOKENS.stages)
    .toDynamicValue((context) => ({ riskStage: context.get<RiskStage>(TOKENS.riskStage), tradeGenerator: context.get<TradeGenerator>(TOKENS.tradeGenerator) }));
  return container;
}

/** What a production run or a replay resolves from the container. */
export interface EngineServices {
  readonly config: KairosConfig;
  readonly log: Logger;
  readonly calendar: TradingCalendar;
  readonly store: StateStore;
  readonly db: KairosDatabase;
  readonly strategies: readonly LoadedStrategy[];
  readonly stages: PipelineStages;
}

export function resolveEngine(container: Container): EngineServices {
  return {
    config: container.get<KairosConfig>(TOKENS.config),
    log: container.get<Logger>(TOKENS.logger),
    calendar: container.get<TradingCalendar>(TOKENS.calendar),
    store: container.get<StateStore>(TOKENS.stateStore),
    db: container.get<KairosDatabase>(TOKENS.database),
    strategies: container.getAll<LoadedStrategy>(TOKENS.strategy),
    stages: container.get<PipelineStages>(TOKENS.stages),
  };
}
