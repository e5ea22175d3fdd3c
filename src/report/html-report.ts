/**
 * The replay's `report.html`: one self-contained page (inline CSS and SVG, no script, no external
 * resource — a Content-Security-Policy forbids any) comparing the combined book with each strategy
 * alone, after the seed's comparison table and Sharpe-weighted combination.
 */
import type { IsoDate } from '../core/dates.js';
import { sharpeAllocations } from '../engine/aggregator.js';
import { drawdownSeries, monthlyReturns, type BookMetrics, type EquityPoint } from '../analytics/performance.js';
import { UNDEFINED_VALUE, compactNumber, escapeHtml, money, percent, percentTick, ratio } from './format.js';
import { renderLineChart, type ChartSeries } from './svg-chart.js';

export interface ReportBook {
  name: string;
  curve: readonly EquityPoint[];
  metrics: BookMetrics;
}

export interface ReportInput {
  title: string;
  generatedFor: { from: IsoDate; to: IsoDate; config: string };
  /** books[0] is the combined (netted) book; the rest are the strategies, each run alone. */
  books: ReportBook[];
  /** Free-text remarks shown under the run parameters (warnings, flags from the replay). */
  notes?: string[];
}

/** Okabe–Ito colours (distinguishable with colour-blindness), led by a dark blue for the combined book. */
export const SERIES_COLORS = ['#1f3a93', '#e69f00', '#009e73', '#d55e00', '#cc79a7', '#56b4e9', '#7f6000', '#6b6b6b'] as const;

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// Monthly cells reach full colour at ±10 %: typical months stay readable, extreme ones stand out.
const HEAT_SATURATION_RETURN = 0.1;

const STYLE = `
*{box-sizing:border-box}
body{margin:0 auto;max-width:1180px;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 8px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.params{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 8px}
.params dt{color:#555}
.params dd{margin:0}
.notes{color:#7a4b00;background:#fff7e6;border:1px solid #f0d9a8;padding:8px 8px 8px 28px;margin:8px 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;width:100%}
th,td{padding:4px 7px;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
.when{display:block;color:#666;font-size:11.5px;font-weight:400}
thead th{background:#f6f6f6;font-weight:600;vertical-align:bottom;white-space:normal}
.comparison{font-size:13px}
.scroll{overflow-x:auto}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.combined td{font-weight:600}
.legend{list-style:none;padding:0;margin:4px 0 0;display:flex;flex-wrap:wrap;gap:4px 18px}
.explain{color:#555;font-size:12.5px;margin:6px 0 0}
.chart{display:block;height:auto;font-size:11px}
.chart .grid{stroke:#ececec;stroke-width:1}
.chart .frame{fill:none;stroke:#bbb;stroke-width:1}
.chart .tick{fill:#555}
.chart .axis-label{fill:#333;font-size:12px}
.chart .series{fill:none;stroke-linejoin:round;stroke-linecap:round}
.chart .area{fill-opacity:.18;stroke:none}
details.book{margin:14px 0;border:1px solid #e2e2e2;border-radius:6px;padding:4px 12px 12px}
details.book>summary{cursor:pointer;font-weight:600;font-size:15px;padding:6px 0}
.monthly td{font-size:12.5px}
`;

/** The whole page as one string; identical input gives identical bytes (nothing time- or locale-dependent). */
export function renderReport(input: ReportInput): string {
  if (input.books.length === 0) throw new RangeError('a report needs at least one book');
  const books = input.books.map((book, index) => ({ ...book, color: SERIES_COLORS[index % SERIES_COLORS.length]!, index }));
  const body = [
    `<h1>${escapeHtml(input.title)}</h1>`,
    renderParameters(input),
    renderNotes(input.notes ?? []),
    '<h2>Comparison</h2>',
    renderComparisonTable(books),
    '<h2>Equity</h2>',
    renderEquityChart(books),
    '<h2>Books</h2>',
    ...books.map(renderBookSection),
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // The page must work offline and from file://: forbid every fetch so nothing external can creep in.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(input.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

type ColoredBook = ReportBook & { color: string; index: number };

function renderParameters(input: ReportInput): string {
  const rows: [string, string][] = [
    ['Period', `${input.generatedFor.from} to ${input.generatedFor.to}`],
    ['Config', input.generatedFor.config],
    ['Books', input.books.map((b) => b.name).join(', ')],
  ];
  return `<dl class="params">${rows.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`;
}

function renderNotes(notes: readonly string[]): string {
  if (notes.length === 0) return '';
  return `<ul class="notes">${notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>`;
}

function renderComparisonTable(books: readonly ColoredBook[]): string {
  // The seed's "Sharpe-weighted portfolio": each strategy's share ∝ max(Sharpe, 0), the rule of the aggregator's `sharpe` scheme.
  const strategies = books.slice(1);
  const weights = new Map(sharpeAllocations(strategies.map((b) => ({ id: String(b.index), sharpe: b.metrics.sharpe ?? Number.NaN }))).map((a) => [a.strategyId, a.allocation]));
  const headers = ['Book', 'CAGR', 'Total return', 'Annual vol', 'Sharpe', 'Sortino', 'Max drawdown', 'Hit rate', 'Turnover / yr', 'Costs (drag / yr)'];
  if (strategies.length > 0) headers.push('Sharpe weight');

  const rows = books.map((book) => {
    const m = book.metrics;
    const weight = weights.get(String(book.index));
    const cells = [
      `<span class="swatch" style="background:${book.color}"></span>${escapeHtml(book.name)}`,
      percent(m.cagr),
      percent(m.total_return),
      percent(m.annual_vol),
      ratio(m.sharpe),
      ratio(m.sortino),
      `${percent(m.max_drawdown)}${drawdownDates(m)}`,
      percent(m.hit_rate),
      percent(m.annual_turnover, 0),
      `${money(m.total_costs)} (${percent(m.cost_drag, 2)})`,
    ];
    if (strategies.length > 0) cells.push(weight === undefined ? '' : percent(weight));
    return `<tr${book.index === 0 ? ' class="combined"' : ''}>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });

  const explain =
    `Daily returns from equity; annualised with 252 sessions, risk-free rate 0; CAGR over calendar time. ` +
    `Turnover is one-way: (buys + sells) / 2 over equity. ${UNDEFINED_VALUE} = undefined for the data (e.g. Sortino with no down day).` +
    (strategies.length > 0 ? ' Sharpe weight: each strategy’s in-sample Sharpe-weighted share, max(Sharpe, 0) / Σ, equal if none is positive.' : '');
  return `<div class="scroll"><table class="comparison"><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div><p class="explain">${escapeHtml(explain)}</p>`;
}

function drawdownDates(m: BookMetrics): string {
  if (m.max_drawdown === 0) return '';
  const recovery = m.max_drawdown_recovery === null ? 'not recovered' : `recovered ${m.max_drawdown_recovery}`;
  return `<span class="when">${escapeHtml(`${m.max_drawdown_peak} → ${m.max_drawdown_trough}`)}</span><span class="when">${escapeHtml(recovery)}</span>`;
}

function renderEquityChart(books: readonly ColoredBook[]): string {
  const series: ChartSeries[] = books.map((book) => ({
    label: book.name,
    color: book.color,
    dates: book.curve.map((p) => p.date),
    values: book.curve.map((p) => p.equity),
    width: book.index === 0 ? 2.25 : 1.5,
  }));
  const largest = books.reduce((top, b) => b.curve.reduce((t, p) => Math.max(t, p.equity), top), 0);
  const chart = renderLineChart(series, {
    title: 'Equity of every book (log scale)',
    axisLabel: 'Equity (log scale)',
    scale: 'log',
    height: 360,
    formatTick: (value, resolution) => compactNumber(value, resolution, largest),
  });
  return chart + renderLegend(books);
}

function renderLegend(books: readonly ColoredBook[]): string {
  return `<ul class="legend">${books.map((b) => `<li><span class="swatch" style="background:${b.color}"></span>${escapeHtml(b.name)}</li>`).join('')}</ul>`;
}

function renderBookSection(book: ColoredBook): string {
  const drawdowns = drawdownSeries(book.curve);
  const chart = renderLineChart(
    [{ label: book.name, color: book.color, dates: book.curve.map((p) => p.date), values: drawdowns, width: 1.5 }],
    {
      title: `Drawdown of ${book.name}`,
      axisLabel: 'Drawdown',
      scale: 'linear',
      height: 200,
      formatTick: percentTick,
      include: [0],
      fillToZero: true,
    },
  );
  const m = book.metrics;
  const summary =
    `${book.name} — ${m.start} to ${m.end}, ${m.sessions} sessions, equity ${money(m.start_equity)} → ${money(m.end_equity)}`;
  return [
    `<details class="book" open>`,
    `<summary><span class="swatch" style="background:${book.color}"></span>${escapeHtml(summary)}</summary>`,
    `<h3>Drawdown</h3>`,
    chart,
    `<h3>Monthly returns</h3>`,
    renderMonthlyTable(book.curve),
    `</details>`,
  ].join('\n');
}

function renderMonthlyTable(curve: readonly EquityPoint[]): string {
  const byYear = new Map<number, (number | undefined)[]>();
  for (const entry of monthlyReturns(curve)) {
    const months = byYear.get(entry.year) ?? new Array<number | undefined>(12).fill(undefined);
    months[entry.month - 1] = entry.return;
    byYear.set(entry.year, months);
  }
  if (byYear.size === 0) return `<p class="explain">No complete session return yet.</p>`;

  const header = `<tr><th>Year</th>${MONTH_NAMES.map((name) => `<th>${name}</th>`).join('')}<th>Year</th></tr>`;
  const rows = [...byYear.entries()].map(([year, months]) => {
    // Compounding the months gives the year's return over the sessions the curve covers.
    const yearReturn = months.reduce<number>((growth, r) => growth * (1 + (r ?? 0)), 1) - 1;
    const cells = months.map((r) => (r === undefined ? '<td></td>' : heatCell(r)));
    return `<tr><td>${year}</td>${cells.join('')}${heatCell(yearReturn, '<strong>', '</strong>')}</tr>`;
  });
  return `<div class="scroll"><table class="monthly"><thead>${header}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function heatCell(value: number, open = '', close = ''): string {
  const strength = Math.min(Math.abs(value) / HEAT_SATURATION_RETURN, 1) * 0.55;
  const rgb = value >= 0 ? '0,158,115' : '213,94,0';
  return `<td style="background:rgba(${rgb},${strength.toFixed(2)})">${open}${percent(value)}${close}</td>`;
}
