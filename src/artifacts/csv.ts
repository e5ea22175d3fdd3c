/** RFC 4180 CSV with a header row and a trailing newline; fields quoted only when they must be. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  return csvLine(header) + rows.map(csvLine).join('');
}

/** One CSV record with its newline. */
export function csvLine(cells: readonly (string | number | null)[]): string {
  return `${cells.map(formatCell).join(',')}\n`;
}

function formatCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Fixed decimals without "-0.000" noise, so artifacts compare byte for byte. */
export function fixed(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return '';
  const text = value.toFixed(decimals);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

/** Round for JSON output (deterministic, no float tails like 0.30000000000000004). */
export function round(value: number, decimals = 6): number {
  const f = 10 ** decimals;
  const r = Math.round(value * f) / f;
  return Object.is(r, -0) ? 0 : r;
}
