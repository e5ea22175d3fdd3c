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
  if (alerts.length === 0) return 'All pre-rebalance checks passed.';
  return alignedTable(
    ['SEVERITY', 'CHECK', 'ACTION', 'DETAIL'],
    sortAlerts(alerts).map((a) => [a.severity, a.check, actionFor(a.severity), a.message]),
  );
}

/** Columns padded to their widest cell; the last column (free text) is left as is. */
function alignedTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const fixedColumns = header.length - 1;
  const widths = header.slice(0, fixedColumns).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < fixedColumns ? c.padEnd(widths[i]!) : c)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function actionFor(severity: Severity): string {
  if (severity === 'CRITICAL') return 'block rebalance';
  if (severity === 'WARNING') return 'review before proceeding';
  return 'logged for context';
}

/**
 * Every check that ran with its outcome — OK, or its most severe alert — so `kairos validate`
 * shows what was tested, not only what failed.
 */
export function formatCheckTable(checks: readonly { check: string; condition: string }[], alerts: readonly Alert[]): string {
  const rows = checks.map(({ check, condition }) => {
    const found = sortAlerts(alerts.filter((a) => a.check === check));
    const worst = found[0];
    return [worst ? worst.severity : 'OK', check, worst ? actionFor(worst.severity) : '—', found.length > 0 ? found.map((a) => a.message).join('; ') : condition];
  });
  return alignedTable(['STATUS', 'CHECK', 'ACTION', 'DETAIL'], rows);
}
