/**
 * Static SVG line charts for the report: time on x, one polyline per series, gridlines and tick
 * labels, no script. Output depends only on the input, so identical runs give identical bytes.
 */
import { fromEpochDay, toEpochDay, type IsoDate } from '../core/dates.js';
import { fixed } from '../artifacts/csv.js';
import { escapeHtml } from './format.js';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly dates: readonly IsoDate[];
  readonly values: ArrayLike<number>;
  /** Stroke width in SVG units (the combined book is drawn heavier). */
  readonly width: number;
}

export interface LineChartOptions {
  /** Accessible name of the chart (SVG <title>). */
  readonly title: string;
  /** Rotated label of the value axis, e.g. "Equity (log scale)". */
  readonly axisLabel: string;
  readonly scale: 'linear' | 'log';
  readonly height: number;
  /** Formats a value tick; `resolution` is the tick spacing, for choosing decimals. */
  readonly formatTick: (value: number, resolution: number) => string;
  /** Values the value axis must include (0 for drawdowns, so the top edge means "at the high"). */
  readonly include?: readonly number[];
  /** Shade between each line and 0 (drawdown charts). */
  readonly fillToZero?: boolean;
}

/** Points per line kept in the SVG: a 10-year daily curve (~2,520 points) is halved, a 2-year one kept whole. */
export const MAX_POINTS_PER_LINE = 1_000;

const WIDTH = 960;
const MARGIN = { top: 10, right: 16, bottom: 26, left: 72 };
const AXIS_PADDING = 0.03;
const MAX_DATE_TICKS = 9;
const TARGET_VALUE_TICKS = 5;
const MONTH_STEPS = [1, 2, 3, 6, 12, 24, 60, 120];
const DAY_STEPS = [1, 2, 7, 14];

export function renderLineChart(series: readonly ChartSeries[], options: LineChartOptions): string {
  const plot = { left: MARGIN.left, right: WIDTH - MARGIN.right, top: MARGIN.top, bottom: options.height - MARGIN.bottom };
  const days = series.flatMap((s) => (s.dates.length === 0 ? [] : [toEpochDay(s.dates[0]!), toEpochDay(s.dates[s.dates.length - 1]!)]));
  let [firstDay, lastDay] = [Math.min(...days), Math.max(...days)];
  // A single session still gets a visible span, centred on it.
  if (firstDay === lastDay) [firstDay, lastDay] = [firstDay - 1, lastDay + 1];

  let [low, high] = valueRange(series, options.include ?? []);
  if (low === high) [low, high] = options.scale === 'log' ? [low / 1.1, high * 1.1] : [low - 1, high + 1];
  const toAxis = options.scale === 'log' ? Math.log : (v: number) => v;
  const fromAxis = options.scale === 'log' ? Math.exp : (v: number) => v;
  // A little headroom so extremes do not sit on the frame.
  const padding = (toAxis(high) - toAxis(low)) * AXIS_PADDING;
  const [axisLow, axisHigh] = [toAxis(low) - padding, toAxis(high) + padding];
  [low, high] = [fromAxis(axisLow), fromAxis(axisHigh)];

  const x = (day: number): number => plot.left + ((day - firstDay) / (lastDay - firstDay)) * (plot.right - plot.left);
  const y = (value: number): number => plot.bottom - ((toAxis(value) - axisLow) / (axisHigh - axisLow)) * (plot.bottom - plot.top);

  const parts: string[] = [];
  parts.push(
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${options.height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(options.title)}</title>`,
  );

  const valueTicks = options.scale === 'log' ? logTicks(low, high) : linearTicks(low, high);
  for (const tick of valueTicks) {
    const ty = fixed(y(tick.value), 1);
    parts.push(`<line class="grid" x1="${plot.left}" x2="${plot.right}" y1="${ty}" y2="${ty}"/>`);
    parts.push(`<text class="tick" x="${plot.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${escapeHtml(options.formatTick(tick.value, tick.resolution))}</text>`);
  }
  for (const tick of dateTicks(firstDay, lastDay)) {
    const tx = fixed(x(tick.day), 1);
    parts.push(`<line class="grid" x1="${tx}" x2="${tx}" y1="${plot.top}" y2="${plot.bottom}"/>`);
    parts.push(`<text class="tick" x="${tx}" y="${plot.bottom + 16}" text-anchor="middle">${escapeHtml(tick.label)}</text>`);
  }
  parts.push(`<rect class="frame" x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}"/>`);
  parts.push(
    `<text class="axis-label" transform="translate(14 ${fixed((plot.top + plot.bottom) / 2, 1)}) rotate(-90)" text-anchor="middle">${escapeHtml(options.axisLabel)}</text>`,
  );

  for (const s of series) {
    if (s.dates.length === 0) continue;
    const kept = downsampleIndices(s.values, MAX_POINTS_PER_LINE);
    const points = kept.map((i) => `${fixed(x(toEpochDay(s.dates[i]!)), 1)},${fixed(y(s.values[i]!), 1)}`);
    const line = `M${points.join('L')}`;
    if (options.fillToZero === true) {
      const zero = fixed(y(0), 1);
      const firstX = points[0]!.split(',')[0]!;
      const lastX = points[points.length - 1]!.split(',')[0]!;
      parts.push(`<path class="area" d="M${firstX},${zero}L${points.join('L')}L${lastX},${zero}Z" fill="${s.color}"/>`);
    }
    parts.push(`<path class="series" d="${line}" stroke="${s.color}" stroke-width="${s.width}"><title>${escapeHtml(s.label)}</title></path>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Indices of at most `maxPoints` values that keep the line's shape: the first and last, and the
 * lowest and highest of each of (maxPoints − 2) / 2 equal buckets in between, in index order. So
 * every peak and trough that matters for equity or drawdown survives, unlike plain striding.
 */
export function downsampleIndices(values: ArrayLike<number>, maxPoints: number): number[] {
  const n = values.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2));
  const interior = n - 2;
  const kept = [0];
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor((b * interior) / buckets);
    const to = 1 + Math.floor(((b + 1) * interior) / buckets);
    if (from >= to) continue;
    let lowest = from;
    let highest = from;
    for (let i = from + 1; i < to; i++) {
      if (values[i]! < values[lowest]!) lowest = i;
      if (values[i]! > values[highest]!) highest = i;
    }
    kept.push(Math.min(lowest, highest));
    if (lowest !== highest) kept.push(Math.max(lowest, highest));
  }
  kept.push(n - 1);
  return kept;
}

function valueRange(series: readonly ChartSeries[], include: readonly number[]): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const v of include) [low, high] = [Math.min(low, v), Math.max(high, v)];
  for (const s of series) {
    for (let i = 0; i < s.values.length; i++) [low, high] = [Math.min(low, s.values[i]!), Math.max(high, s.values[i]!)];
  }
  return Number.isFinite(low) ? [low, high] : [0, 1];
}

interface ValueTick {
  readonly value: number;
  readonly resolution: number;
}

/** Multiples of the 1-2-5 step that gives about TARGET_VALUE_TICKS ticks inside [low, high]. */
function linearTicks(low: number, high: number): ValueTick[] {
  const rough = (high - low) / TARGET_VALUE_TICKS;
  const decade = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * decade).find((s) => s >= rough) ?? 10 * decade;
  const ticks: ValueTick[] = [];
  for (let k = Math.ceil(low / step - 1e-9); k * step <= high + step * 1e-9; k++) ticks.push({ value: k * step, resolution: step });
  return ticks;
}

/**
 * Log-axis ticks: 1-2-5 × 10ᵏ when the range spans at least a decade (powers of ten alone when
 * that would crowd the axis), otherwise evenly spaced values, which read better over a narrow range.
 */
function logTicks(low: number, high: number): ValueTick[] {
  if (high / low < 10) return linearTicks(low, high);
  const ticks: ValueTick[] = [];
  for (const mantissas of [[1, 2, 5], [1]]) {
    ticks.length = 0;
    for (let exponent = Math.floor(Math.log10(low)); exponent <= Math.ceil(Math.log10(high)); exponent++) {
      for (const m of mantissas) {
        const value = m * 10 ** exponent;
        if (value >= low * (1 - 1e-9) && value <= high * (1 + 1e-9)) ticks.push({ value, resolution: 10 ** exponent });
      }
    }
    if (ticks.length <= 2 * TARGET_VALUE_TICKS) break;
  }
  return ticks;
}

interface DateTick {
  readonly day: number;
  readonly label: string;
}

/** Month or year starts (days for spans under a few months), the finest step with at most MAX_DATE_TICKS ticks. */
function dateTicks(firstDay: number, lastDay: number): DateTick[] {
  for (const step of MONTH_STEPS) {
    const ticks = monthTicks(firstDay, lastDay, step);
    if (ticks.length >= 2 && ticks.length <= MAX_DATE_TICKS) return ticks;
  }
  for (const step of DAY_STEPS) {
    const ticks: DateTick[] = [];
    for (let day = firstDay; day <= lastDay; day += step) ticks.push({ day, label: fromEpochDay(day) });
    if (ticks.length <= MAX_DATE_TICKS) return ticks;
  }
  return monthTicks(firstDay, lastDay, MONTH_STEPS[MONTH_STEPS.length - 1]!);
}

function monthTicks(firstDay: number, lastDay: number, stepMonths: number): DateTick[] {
  const first = fromEpochDay(firstDay);
  let monthIndex = Number(first.slice(0, 4)) * 12 + Number(first.slice(5, 7)) - 1;
  monthIndex = Math.ceil(monthIndex / stepMonths) * stepMonths;
  const ticks: DateTick[] = [];
  for (; ; monthIndex += stepMonths) {
    const year = Math.floor(monthIndex / 12);
    const month = (monthIndex % 12) + 1;
    const date = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-01`;
    const day = toEpochDay(date);
    if (day > lastDay) break;
    if (day >= firstDay) ticks.push({ day, label: stepMonths >= 12 ? date.slice(0, 4) : date.slice(0, 7) });
  }
  return ticks;
}
