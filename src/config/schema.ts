import { z } from 'zod';
import { scheduleRuleSchema } from '../calendar/schedule.js';
import { riskConfigSchema } from '../risk/config.js';
import { replayConfigSchema } from '../replay/config.js';

const strategyIdPattern = /^[a-z0-9][a-z0-9_-]*$/;

export const strategyEntrySchema = z.strictObject({
  /** Unique within the config; names the sleeve in artifacts and the state keys. */
  id: z.string().regex(strategyIdPattern, 'lowercase letters, digits, "-" or "_"'),
  /** A built-in name (folder in strategies/), a path to a plugin module, or a package name. */
  module: z.string().min(1),
  schedule: scheduleRuleSchema.prefault({ type: 'every_n_sessions' }),
  /** Fraction of capital; required by the `fixed` scheme, ignored by `equal` and `sharpe`. */
  allocation: z.number().min(0).max(1).optional(),
  params: z.record(z.string(), z.unknown()).prefault({}),
  /** How a failing strategy is reported; its previous signal is held either way. */
  on_error: z.enum(['critical', 'warning']).default('critical'),
});
export type StrategyEntry = z.infer<typeof strategyEntrySchema>;

export const allocationConfigSchema = z.strictObject({
  scheme: z.enum(['fixed', 'equal', 'sharpe']).default('fixed'),
  /** With `fixed`, rescale allocations that do not add up to 1 instead of refusing them. */
  normalize: z.boolean().default(false),
  /** Sessions of trailing sleeve returns the `sharpe` scheme looks at. */
  sharpe_window: z.number().int().min(20).default(252),
});

export const tradingConfigSchema = z.strictObject({
  /** Orders worth less than this (in currency) are dropped, except exits. */
  min_trade_value: z.number().min(0).default(0),
});

export const validationConfigSchema = z.strictObject({
  /** Fewer names passing the liquidity filter than this blocks the rebalance (seed: 50). */
  min_universe: z.number().int().min(1).default(50),
  /** Fewer than this is a WARNING (seed: 500; lower it for small universes). */
  healthy_universe: z.number().int().min(1).default(500),
  /** Sectors expected in the universe (seed: all 11 GICS sectors). */
  expected_sectors: z.number().int().min(1).default(11),
  max_sector_share: z.number().gt(0).max(1).default(0.4),
  /** Cross-sectional std of alpha below this is a WARNING; exactly 0 is CRITICAL. */
  min_alpha_std: z.number().min(0).default(0.1),
  /** (90th − 10th percentile of alpha) / std below this is a WARNING. */
  min_alpha_spread: z.number().min(0).default(1.0),
  /** Share of names with price and liquidity but no alpha above this is a WARNING. */
  max_alpha_null_share: z.number().min(0).max(1).default(0.2),
  warn_turnover: z.number().min(0).default(0.5),
  warn_position: z.number().min(0).default(0.05),
  /** The liquidity filter the universe checks use. */
  min_adv: z.number().min(0).default(2_000_000),
});
export type ValidationConfig = z.infer<typeof validationConfigSchema>;

export const kairosConfigSchema = z.strictObject({
  /** Namespace of the state store: one book per portfolio id. */
  portfolio: z.string().regex(strategyIdPattern).default('default'),
  portfolio_value: z.number().positive().default(1_000_000),
  /** `memory` (default) or a redis:// URL; `--state` overrides. */
  state: z.string().optional(),
  strategies: z
    .array(strategyEntrySchema)
    .min(1)
    .prefault([{ id: 'risk4', module: 'risk4', allocation: 1 }]),
  allocation: allocationConfigSchema.prefault({}),
  risk: riskConfigSchema.prefault({}),
  trading: tradingConfigSchema.prefault({}),
  validation: validationConfigSchema.prefault({}),
  replay: replayConfigSchema.prefault({}),
});
export type KairosConfig = z.infer<typeof kairosConfigSchema>;
