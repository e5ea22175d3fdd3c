/** RFC 4180 CSV with a header row and a trailing newline; fields quoted only when they must be. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  return csvLine(header) + rows.map(csvLine).join('');
}

/** One CSV record with its newline. */
export function csvLine(cells: readonly (string | number | null)[]): string {
  // Concatenated in place: replay writes millions of records, and map + join allocates an array per record.
  let line = cells.length > 0 ? formatCell(cells[0]!) : '';
  for (let k = 1; k < cells.length; k++) line += `,${formatCell(cells[k]!)}`;
  return `${line}\n`;
}

function formatCell(value: string | number | null): string {
  if (value === null) return '';
  // A number's text never holds a quote, comma or line break.
  if (typeof value === 'number') return String(value);
  return csvCell(value);
}

/** A text cell as a CSV field: quoted, with its quotes doubled, only when it must be. */
export function csvCell(value: string): string {
  return needsQuotes(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A scan instead of a regex test: replay formats tens of millions of short cells. */
function needsQuotes(value: string): boolean {
  for (let k = 0; k < value.length; k++) if (forcesQuotes(value.charCodeAt(k))) return true;
  return false;
}

/** Whether a cell holding this UTF-16 code unit must be quoted: a quote, comma or line break. */
export function forcesQuotes(code: number): boolean {
  return code === QUOTE || code === COMMA || code === NEWLINE || code === RETURN;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const RETURN = 0x0d;

/** Fixed decimals without "-0.000" noise, so artifacts compare byte for byte. */
export function fixed(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return '';
  const text = value.toFixed(decimals);
  // Only a negative value that rounds to zero needs the pattern test; it is rare among fills.
  return text.startsWith('-0') && /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

/** Round for JSON output (deterministic, no float tails like 0.30000000000000004). */
export function round(value: number, decimals = 6): number {
  const f = 10 ** decimals;
  const r = Math.round(value * f) / f;
  return Object.is(r, -0) ? 0 : r;
}
