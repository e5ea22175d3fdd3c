/** Seed §7.2 severities: CRITICAL blocks the rebalance, WARNING proceeds and is reported, INFO is context. */
export type Severity = 'CRITICAL' | 'WARNING' | 'INFO';

export interface Alert {
  readonly severity: Severity;
  /** Stable identifier, e.g. `data_freshness.feat_matrix_v2`. */
  readonly check: string;
  readonly message: string;
}

const severityOrder: Record<Severity, number> = { CRITICAL: 0, WARNING: 1, INFO: 2 };

/** Most severe first, then by check name, so reports are stable. */
export function sortAlerts(alerts: readonly Alert[]): Alert[] {
  return [...alerts].sort((a, b) => severityOrder[a.severity] - severityOrder[b.severity] || a.check.localeCompare(b.check));
}

export function hasCritical(alerts: readonly Alert[]): boolean {
  return alerts.some((a) => a.severity === 'CRITICAL');
}

/** The seed's alert table as aligned text: Condition | Severity | Action. */
export function formatAlertTable(alerts: readonly Alert[]): string {
  const rows = sortAlerts(alerts).map((a) => [a.severity, a.check, actionFor(a.severity), a.message]);
  const header = ['SEVERITY', 'CHECK', 'ACTION', 'DETAIL'];
  if (rows.length === 0) return 'All pre-rebalance checks passed.';
  const widths = header.slice(0, 3).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function actionFor(severity: Severity): string {
  if (severity === 'CRITICAL') return 'block rebalance';
  if (severity === 'WARNING') return 'review before proceeding';
  return 'logged for context';
}
