import { z } from 'zod';
import { isIsoDate, type IsoDate } from '../core/dates.js';
import { StateError } from '../core/errors.js';
import type { Holdings, RunSnapshot, StrategyState } from './store.js';

/**
 * Portfolio and strategy ids become segments of Redis keys, so they may not contain `:` (it would
 * let one id's keys alias another's) or glob characters (they would leak into SCAN patterns).
 * Both stores enforce it, so a portfolio that works in memory also works in Redis.
 */
const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function isKeySegment(value: string): boolean {
  return KEY_SEGMENT.test(value);
}

export const sessionDate = z.string().refine(isIsoDate, { message: 'expected a YYYY-MM-DD date' });
export const keySegment = z.string().regex(KEY_SEGMENT, { message: 'expected letters, digits, "_", "." or "-" (no ":")' });

export const strategyStateSchema = z.object({
  lastRebalance: sessionDate.nullable(),
  signal: z.record(z.string(), z.number()),
  custom: z.json(),
  sleeveReturns: z.array(z.number()).optional(),
}) satisfies z.ZodType<StrategyState>;

export const holdingsSchema = z.object({
  asOf: sessionDate,
  cash: z.number(),
  positions: z.array(z.object({ ticker: z.string().min(1), shares: z.number() })),
}) satisfies z.ZodType<Holdings>;

const runSnapshotSchema = z.object({
  runId: z.string().min(1),
  date: sessionDate,
  strategies: z.record(keySegment, strategyStateSchema),
  holdings: holdingsSchema,
}) satisfies z.ZodType<RunSnapshot>;

/** One line per problem, so the message fits a log line and still says where the data is wrong. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`).join('; ');
}

export function requirePortfolioId(portfolio: string): void {
  if (!isKeySegment(portfolio)) {
    throw new StateError(`invalid portfolio id ${JSON.stringify(portfolio)}: use letters, digits, "_", "." or "-" (no ":")`);
  }
}

export function requireSessionDate(date: IsoDate): void {
  if (!isIsoDate(date)) throw new StateError(`invalid session date ${JSON.stringify(date)}: expected YYYY-MM-DD`);
}

export function requireLockTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new StateError(`invalid lock ttl ${ttlMs}: expected a positive whole number of milliseconds`);
}

/**
 * Checks a snapshot before it is stored and returns a plain copy of it, so a store never persists
 * something it could not read back (NaN weights, an undefined in `custom`, a bad date).
 */
export function validSnapshotForCommit(portfolio: string, snapshot: RunSnapshot): RunSnapshot {
  const result = runSnapshotSchema.safeParse(snapshot);
  if (!result.success) {
    throw new StateError(`refusing to commit an invalid snapshot for portfolio ${portfolio}: ${describeIssues(result.error)}`);
  }
  return result.data;
}
