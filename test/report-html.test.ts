import { describe, expect, it } from 'vitest';
import { bookMetrics, type EquityPoint } from '../src/analytics/performance.js';
import { addDays, weekday } from '../src/core/dates.js';
import { sharpeAllocations } from '../src/engine/aggregator.js';
import { fixed } from '../src/artifacts/csv.js';
import { compactNumber, escapeHtml, money, percentTick } from '../src/report/format.js';
import { renderReport, type ReportInput } from '../src/report/html-report.js';
import { MAX_POINTS_PER_LINE, downsampleIndices } from '../src/report/svg-chart.js';

/** Weekday sessions from `from`, equity following a deterministic wobbly drift per book. */
function syntheticCurve(from: string, sessions: number, drift: number, wobble: number): EquityPoint[] {
  const points: EquityPoint[] = [];
  let equity = 1_000_000;
  for (let date = from; points.length < sessions; date = addDays(date, 1)) {
    if (weekday(date) === 0 || weekday(date) === 6) continue;
    const i = points.length;
    if (i > 0) equity *= 1 + drift + wobble * Math.sin(i * 0.37) * Math.cos(i * 0.11);
    points.push({ date, equity, turnover: i % 5 === 0 ? 0.3 : 0, costs: i % 5 === 0 ? 120 : 0, gross: 1.4, net: 0.2 });
  }
  return points;
}

function reportInput(sessions: number, names = ['combined', 'risk4', 'momentum']): ReportInput {
  return {
    title: 'Replay 2019–2023',
    generatedFor: { from: '2019-01-02', to: '2023-12-29', config: 'config/multi.yaml' },
    books: names.map((name, k) => {
      const curve = syntheticCurve('2019-01-02', sessions, 0.0002 * (k + 1), 0.012 + 0.002 * k);
      return { name, curve, metrics: bookMetrics(name, curve) };
    }),
    notes: ['2 held names carried at their last price'],
  };
}

/** The numeric pairs of every series path ("M x,y L x,y …"). */
function seriesPaths(html: string): string[][] {
  return [...html.matchAll(/<path class="series" d="M([^"]*)"/g)].map((m) => m[1]!.split('L'));
}

describe('renderReport', () => {
  it('renders byte-identical HTML for identical input', () => {
    const first = renderReport(reportInput(300));
    expect(renderReport(reportInput(300))).toBe(first);
    expect(first.startsWith('<!doctype html>')).toBe(true);
  });

  it('escapes every piece of caller text: title, config, notes and book names', () => {
    const hostile = '<script>alert("x")</script> & \'co\'';
    const input = reportInput(40, ['combined', hostile]);
    const html = renderReport({ ...input, title: `Title ${hostile}`, generatedFor: { ...input.generatedFor, config: `cfg ${hostile}` }, notes: [`note ${hostile}`] });
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;');
    expect(html.split('&lt;script&gt;').length - 1).toBeGreaterThanOrEqual(5);
  });

  it('is self-contained: no script, no external reference, and a CSP that forbids fetching anything', () => {
    const html = renderReport(reportInput(300));
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=|href=/i);
    expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it('puts the combined book first in the comparison table and the strategies after it with their Sharpe weights', () => {
    const input = reportInput(300);
    const html = renderReport(input);
    const table = /<table class="comparison">(.*?)<\/table>/s.exec(html)![1]!;
    const rows = [...table.matchAll(/<tr(?: class="combined")?>(.*?)<\/tr>/gs)].slice(1).map((m) => m[0]);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^<tr class="combined">.*combined/);
    expect(rows[1]).toContain('risk4');
    const weights = sharpeAllocations(input.books.slice(1).map((b, i) => ({ id: String(i), sharpe: b.metrics.sharpe! })));
    for (const [i, weight] of weights.entries()) expect(rows[i + 1]).toContain(`<td>${fixed(weight.allocation * 100, 1)}%</td>`);
    expect(table).toContain(`${fixed(input.books[0]!.metrics.max_drawdown * 100, 1)}%`);
    expect(table).toContain(`${input.books[0]!.metrics.max_drawdown_peak} → ${input.books[0]!.metrics.max_drawdown_trough}`);
  });

  it('draws one equity line per book plus one drawdown chart per book, and a monthly table per book', () => {
    const html = renderReport(reportInput(300));
    expect(html.match(/<svg class="chart"/g)).toHaveLength(1 + 3);
    expect(seriesPaths(html)).toHaveLength(3 + 3);
    expect(html.match(/<table class="monthly">/g)).toHaveLength(3);
    expect(html).toContain('Equity (log scale)');
  });

  it('shows each year compounded from its months in the monthly table', () => {
    const curve: EquityPoint[] = [
      ['2023-11-30', 100],
      ['2023-12-29', 110],
      ['2024-01-31', 99],
      ['2024-02-29', 108.9],
    ].map(([date, equity]) => ({ date: date as string, equity: equity as number, turnover: 0, costs: 0, gross: 1, net: 1 }));
    const html = renderReport({ title: 't', generatedFor: { from: '2023-11-30', to: '2024-02-29', config: 'c' }, books: [{ name: 'b', curve, metrics: bookMetrics('b', curve) }] });
    const monthly = /<table class="monthly">(.*?)<\/table>/s.exec(html)![1]!;
    // 2024: −10 % in January then +10 % in February compounds to −1 %.
    expect(monthly).toMatch(/<td>2024<\/td>.*-10\.0%.*10\.0%.*<strong>-1\.0%<\/strong>/s);
    expect(monthly).toMatch(/<td>2023<\/td>(<td><\/td>){11}.*<strong>10\.0%<\/strong>/s);
  });

  it('keeps a 10-year, 4-book report small by drawing at most MAX_POINTS_PER_LINE points per line', () => {
    const html = renderReport(reportInput(2_520, ['combined', 'a', 'b', 'c']));
    for (const path of seriesPaths(html)) expect(path.length).toBeLessThanOrEqual(MAX_POINTS_PER_LINE);
    expect(html.length).toBeLessThan(400_000);
  });

  it('refuses a report without books', () => {
    expect(() => renderReport({ ...reportInput(10), books: [] })).toThrow(/at least one book/);
  });
});

describe('downsampleIndices', () => {
  it('keeps the ends and every bucket extreme, in order, within the budget', () => {
    const values = Array.from({ length: 5_000 }, (_, i) => Math.sin(i / 50) + (i === 3_333 ? 10 : 0) - (i === 1_234 ? 10 : 0));
    const kept = downsampleIndices(values, 1_000);
    expect(kept.length).toBeLessThanOrEqual(1_000);
    expect(kept[0]).toBe(0);
    expect(kept[kept.length - 1]).toBe(4_999);
    expect(kept).toContain(3_333);
    expect(kept).toContain(1_234);
    expect(kept.every((index, k) => k === 0 || index > kept[k - 1]!)).toBe(true);
  });

  it('returns every index when the line is already short enough', () => {
    expect(downsampleIndices([3, 1, 2], 1_000)).toEqual([0, 1, 2]);
  });
});

describe('report formatting', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('prints numbers the same way on every machine', () => {
    expect(fixed(-0.0004, 2)).toBe('0.00');
    expect(money(1_234_567.8)).toBe('1,234,568');
    expect(money(-1_234.4)).toBe('-1,234');
    expect(compactNumber(1_120_000, 20_000, 1_500_000)).toBe('1.12M');
    expect(compactNumber(500_000, 100_000, 2_000_000)).toBe('0.5M');
    expect(percentTick(-0.125, 0.025)).toBe('-12.5%');
  });
});
