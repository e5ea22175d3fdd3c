import { z } from 'zod';
import type { TradingCalendar } from '../../src/calendar/calendar.js';
import { isIsoDate, type IsoDate } from '../../src/core/dates.js';
import { StateError } from '../../src/core/errors.js';
import type { JsonObject, JsonValue } from '../../src/core/json.js';
import { CHECK_NAMES, type ValidationReport } from './validation.js';

/** What a rebalance needs from the previous one. */
export interface ClusterMemory {
  /** Session each holding was first bought; kept while it is held. */
  readonly entryDates: Readonly<Record<string, IsoDate>>;
  /** Cluster id (smallest member ticker) of each holding at the last rebalance. */
  readonly clusters: Readonly<Record<string, string>>;
}

/** What the strategy leaves behind (StrategyOutput.state, read back as ctx.state next time). */
export interface ClusterState extends ClusterMemory {
  /** For people and monitoring; the next rebalance does not act on it, so its shape may grow. */
  readonly lastValidation: ValidationReport;
}

const isoDate = z.string().refine(isIsoDate, 'expected a YYYY-MM-DD date');
const stateSchema = z.strictObject({
  entryDates: z.record(z.string(), isoDate),
  clusters: z.record(z.string(), z.string()),
  lastValidation: z.unknown(),
});

/**
 * The state left by the previous rebalance, or null on the first one. A malformed state, or an
 * entry date that is not a session on or before D, is refused: guessing holding periods from
 * corrupt state would silently break the minimum-holding rule.
 */
export function readClusterState(raw: JsonValue | null, date: IsoDate, calendar: TradingCalendar): ClusterMemory | null {
  if (raw === null) return null;
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new StateError(`cluster state at ${date} is malformed: ${issues}`);
  }
  for (const [ticker, entry] of Object.entries(parsed.data.entryDates)) {
    if (entry > date || !isSessionInRange(calendar, entry)) {
      throw new StateError(`cluster state at ${date}: entry date ${entry} of ${ticker} is not a ${calendar.name} session on or before ${date}`);
    }
  }
  return { entryDates: parsed.data.entryDates, clusters: parsed.data.clusters };
}

function isSessionInRange(calendar: TradingCalendar, date: IsoDate): boolean {
  return date >= calendar.firstDate && date <= calendar.lastDate && calendar.isSession(date);
}

/** Plain JSON with keys in ticker order, so equal states serialise to equal bytes. */
export function writeClusterState(state: ClusterState): JsonObject {
  const sorted = (record: Readonly<Record<string, string>>): JsonObject =>
    Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]!]));
  const validation = state.lastValidation;
  return {
    entryDates: sorted(state.entryDates),
    clusters: sorted(state.clusters),
    lastValidation: {
      date: validation.date,
      passed: validation.passed,
      checks: Object.fromEntries(CHECK_NAMES.map((name) => [name, { passed: validation.checks[name].passed, detail: validation.checks[name].detail }])),
    },
  };
}
