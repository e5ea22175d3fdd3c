import { z } from 'zod';

const fraction = z.number().min(0).max(1);

/**
 * Book-level risk limits (seed §1.2, §10). Unknown keys are rejected so a typo cannot silently
 * fall back to a default; every problem is reported at once by zod.
 */
export const riskConfigSchema = z
  .object({
    /** Largest |weight| of one name, as a fraction of the book. */
    max_position: fraction.positive().default(0.03),
    /** Sector cap = this × the sector's count share of the universe. */
    max_sector_mult: z.number().positive().default(2.0),
    /** adv_20 floor of the universe whose sector shares set the sector caps. */
    sector_universe_min_adv: z.number().min(0).default(2_000_000),
    /** Turnover smoothing: 0 = jump to the target, 1 = keep the prior book. */
    lambda_tc: fraction.default(0.5),
    /** Largest one-way turnover ½Σ|Δw| per rebalance from smoothing. */
    max_turnover: fraction.default(0.3),
    /** Annualised volatility target. */
    target_vol: z.number().positive().default(0.2),
    /** Sessions of daily returns behind the covariance estimate. */
    vol_window: z.number().int().min(2).default(126),
    /** Shrinkage intensity δ of the sample covariance toward its diagonal. */
    shrinkage: fraction.default(0.3),
    /** Whether volatility targeting may scale the book up. */
    allow_leverage: z.boolean().default(false),
    /** Largest volatility-targeting scale when leverage is allowed. */
    max_leverage: z.number().min(1).default(1.0),
    /** Bound on Σ|w|. */
    max_gross: z.number().positive().default(1.0),
    /** Upper bound on Σw; ≥ 0 so scaling the book down can always reach it. */
    max_net: z.number().min(0).default(1.0),
    /** Lower bound on Σw; ≤ 0 for the same reason. */
    min_net: z.number().max(0).default(-1.0),
  })
  .strict();

export type RiskConfig = z.infer<typeof riskConfigSchema>;

export const defaultRiskConfig: RiskConfig = riskConfigSchema.parse({});
