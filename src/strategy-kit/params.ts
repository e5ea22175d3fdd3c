import { z } from 'zod';

/** Share of the window a name must have observed when `min_observations` is left out. */
export const DEFAULT_OBSERVATION_SHARE = 0.8;

export interface FactorParamsDefaults {
  /** Default trailing window, in sessions of daily returns. */
  readonly window: number;
  /** Fewest returns the factor's formula is defined on (sample kurtosis needs 4); a floor for both `window` and `min_observations`. */
  readonly fewestObservations: number;
}

export type LegWeighting = 'equal' | 'score';

/** The parameters every cross-sectional factor strategy shares, after parsing. */
export interface FactorParams {
  readonly window: number;
  readonly min_observations: number;
  readonly quantile: number;
  readonly long_only: boolean;
  readonly gross: number;
  readonly min_adv: number;
  readonly weighting: LegWeighting;
}

function commonShape(defaults: FactorParamsDefaults) {
  return {
    /** Trailing sessions of daily close-to-close returns. */
    window: z.number().int().min(defaults.fewestObservations).default(defaults.window),
    /** Names with fewer finite returns in the window are skipped; default ⌈0.8 × window⌉ (never below the formula's floor). */
    min_observations: z.number().int().min(defaults.fewestObservations).optional(),
    /** Fraction of the eligible universe in each leg; at most half so the legs never overlap. */
    quantile: z.number().gt(0).max(0.5).default(0.2),
    long_only: z.boolean().default(false),
    /** Σ|w| of the sleeve: gross/2 per leg when long/short, all of it in the long leg when long-only. */
    gross: z.number().positive().default(1),
    /** adv_20 floor ($); names with no adv_20 are skipped. */
    min_adv: z.number().min(0).default(2_000_000),
    weighting: z.enum(['equal', 'score']).default('equal'),
  };
}

type CommonShape = ReturnType<typeof commonShape>;

/**
 * A strict params schema with the common factor parameters plus a strategy's own (`extra`).
 * `min_observations` defaults from the window actually configured, so changing only `window`
 * keeps a sensible observation rule instead of failing validation.
 */
export function factorParamsSchema<Extra extends z.ZodRawShape = Record<never, never>>(defaults: FactorParamsDefaults, extra?: Extra) {
  const shape = { ...commonShape(defaults), ...extra } as CommonShape & Extra;
  return z
    .strictObject(shape)
    .superRefine((parsed, ctx) => {
      const { window, min_observations } = parsed as z.output<z.ZodObject<CommonShape>>;
      if (min_observations !== undefined && min_observations > window) {
        ctx.addIssue({ code: 'custom', path: ['min_observations'], message: `${min_observations} exceeds window (${window})` });
      }
    })
    .transform((parsed) => {
      const { window, min_observations } = parsed as z.output<z.ZodObject<CommonShape>>;
      return { ...parsed, min_observations: min_observations ?? Math.max(defaults.fewestObservations, Math.ceil(DEFAULT_OBSERVATION_SHARE * window)) };
    });
}

/** Closes needed before D: `window` returns span `window + 1` sessions. */
export function factorWarmupSessions<P extends Pick<FactorParams, 'window'>>(params: P): number {
  return params.window + 1;
}
