import { applyRiskStage } from '../risk/risk-stage.js';
import { generateTrades } from '../trading/trades.js';

/** Book-level risk: net target (and prior book) in, final weights and what each step did out. */
export type RiskStage = typeof applyRiskStage;
/** Final weights and current shares in, orders out. */
export type TradeGenerator = typeof generateTrades;

/** The swappable stages of a session, resolved from the container. */
export interface PipelineStages {
  readonly riskStage: RiskStage;
  readonly tradeGenerator: TradeGenerator;
}

export const defaultStages: PipelineStages = { riskStage: applyRiskStage, tradeGenerator: generateTrades };
