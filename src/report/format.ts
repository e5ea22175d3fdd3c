/**
 * Text helpers for the HTML report. Every number goes through toFixed with explicit digits (never
 * toLocaleString), so the page is byte-identical on any machine and locale.
 */

import { fixed } from '../artifacts/csv.js';

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

/** Shown for a metric that is undefined for the data (a null in BookMetrics). */
export const UNDEFINED_VALUE = '—';

export function percent(value: number | null, digits = 1): string {
  return value === null ? UNDEFINED_VALUE : `${fixed(value * 100, digits)}%`;
}

export function ratio(value: number | null): string {
  return value === null ? UNDEFINED_VALUE : fixed(value, 2);
}

/** Whole currency units with thousands separators: 1234567.8 → "1,234,568". */
export function money(value: number): string {
  const [integer = '', ...rest] = fixed(value, 0).split('.');
  return integer.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + rest.join('.');
}

const MAGNITUDES = [
  { unit: 1e9, suffix: 'B' },
  { unit: 1e6, suffix: 'M' },
  { unit: 1e3, suffix: 'k' },
];

/**
 * Axis label for a value on a scale whose ticks are `resolution` apart: 1.12M, 250k, 0.5. The unit
 * follows `magnitude` (the largest value on the axis) so one axis never mixes 900k and 1.1M.
 */
export function compactNumber(value: number, resolution: number, magnitude: number): string {
  const scale = MAGNITUDES.find((m) => Math.abs(magnitude) >= m.unit) ?? { unit: 1, suffix: '' };
  return `${fixed(value / scale.unit, decimalsFor(resolution / scale.unit))}${scale.suffix}`;
}

/** Axis label for a fraction on a scale whose ticks are `resolution` apart: −12.5%. */
export function percentTick(value: number, resolution: number): string {
  return `${fixed(value * 100, decimalsFor(resolution * 100))}%`;
}

/** Decimals that show a step of `resolution` (0.25 → 2, 5 → 0). */
function decimalsFor(resolution: number): number {
  if (!(resolution > 0)) return 0;
  for (let digits = 0; digits < 6; digits++) {
    const scaled = resolution * 10 ** digits;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * scaled) return digits;
  }
  return 6;
}
