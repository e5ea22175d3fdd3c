import type { FillConfig } from './fills.js';

const BPS = 1e4;

export interface OrderCosts {
  /** |shares| × reference. */
  readonly notional: number;
  readonly fill_price: number;
  readonly commission: number;
  readonly spread_cost: number;
  readonly impact_cost: number;
  /** commission + spread_cost + impact_cost, added in that order. */
  readonly total_cost: number;
  /** The signed cash change: −(side·notional + total_cost). */
  readonly cash_change: number;
  /** False when impact is on but adv20 is missing or zero, so impact could not be estimated (charged 0). */
  readonly impactEstimated: boolean;
}

/**
 * What one order costs, with side = +1 for a buy and −1 for a sell and every product evaluated
 * left to right as written (so whole-number inputs give exact results):
 *
 *   notional    = |shares| · reference
 *   fill_price  = reference · (1 + side · half_spread_bps / 1e4)
 *   spread_cost = notional · half_spread_bps / 1e4
 *   commission  = max(min_commission, |shares| · commission_per_share + notional · commission_bps / 1e4)
 *   impact_cost = notional · impact_bps / 1e4 · sqrt(notional / adv20)   (0 when impact_bps = 0;
 *                 0 and flagged when adv20 is NaN or ≤ 0)
 *   total_cost  = commission + spread_cost + impact_cost
 *   cash       −= side · notional + total_cost
 *
 * Cash moves by the reference price plus the costs rather than by fill_price × shares: the two
 * agree on the spread (side · shares · fill_price = side · notional + spread_cost) but the
 * reference form keeps every cost a separate, exactly testable term.
 * Impact is the square-root law: cost in bps grows with the square root of the order's share of a
 * day's dollar volume (adv20 is the 20-session average dollar volume known at the decision).
 */
export function orderCosts(signedShares: number, reference: number, adv20: number, config: FillConfig): OrderCosts {
  const side = Math.sign(signedShares);
  const quantity = Math.abs(signedShares);
  const notional = quantity * reference;
  const spread_cost = (notional * config.half_spread_bps) / BPS;
  const commission = Math.max(config.min_commission, quantity * config.commission_per_share + (notional * config.commission_bps) / BPS);
  const impactOn = config.impact_bps > 0;
  const impactEstimated = !impactOn || (Number.isFinite(adv20) && adv20 > 0);
  const impact_cost = impactOn && impactEstimated ? ((notional * config.impact_bps) / BPS) * Math.sqrt(notional / adv20) : 0;
  const total_cost = commission + spread_cost + impact_cost;
  return {
    notional,
    fill_price: reference * (1 + (side * config.half_spread_bps) / BPS),
    commission,
    spread_cost,
    impact_cost,
    total_cost,
    cash_change: -(side * notional + total_cost),
    impactEstimated,
  };
}
