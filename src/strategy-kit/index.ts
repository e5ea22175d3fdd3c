/** Building blocks for cross-sectional factor strategies over trailing daily returns. */
export { eligibleScores, type EligibleScores, type Exclusions } from './eligibility.js';
export { rebalanceFactor, type FactorSpec } from './factor-strategy.js';
export { DEFAULT_OBSERVATION_SHARE, factorParamsSchema, factorWarmupSessions, type FactorParams, type FactorParamsDefaults, type LegWeighting } from './params.js';
export { rankLongShort, type LegParams, type LongEnd, type LongShortBook } from './rank.js';
export { columnMoments, trailingReturnsWindow, type ColumnMoments, type ReturnsWindow } from './returns-window.js';
