import { it } from 'vitest';
import { XnysCalendar } from '../../src/calendar/xnys.js';
import { silentLogger } from '../../src/core/log.js';
import type { JsonValue } from '../../src/core/json.js';
import { buildPanel } from '../../src/data/panel-builder.js';
import { pointInTime } from '../../src/data/point-in-time.js';
import { SeededRandom } from '../../src/data/random.js';
import strategy, { clusterParamsSchema } from './index.js';

it('soak', async () => {
  const calendar = new XnysCalendar();
  const dates = calendar.sessions('2020-01-01', '2022-06-30');
  const random = new SeededRandom(42);
  const N = 450;
  const tickers = Array.from({ length: N }, (_, i) => `N${String(i).padStart(3, '0')}`);
  const groupA = tickers.map(() => random.integer(30));
  const groupB = tickers.map(() => random.integer(30));
  const drift = tickers.map(() => random.normal(0, 0.0008));
  const start = tickers.map(() => (random.uniform() < 0.1 ? random.integer(dates.length) : 0));
  const stop = tickers.map(() => (random.uniform() < 0.05 ? random.integer(dates.length) : dates.length));
  const baseAdv = tickers.map(() => Math.exp(random.normal(17, 1.2)));
  const close: (number | null)[][] = [];
  const adv: (number | null)[][] = [];
  let prev = tickers.map(() => 50 + random.uniform() * 100);
  for (let t = 0; t < dates.length; t++) {
    const f = Array.from({ length: 30 }, () => random.normal(0, 0.01));
    const row: (number | null)[] = [];
    const advRow: (number | null)[] = [];
    prev = prev.map((p, i) => {
      const g = t < dates.length / 2 ? groupA[i]! : groupB[i]!;
      const r = drift[i]! + f[g]! * (0.5 + (i % 3) * 0.4) + random.normal(0, 0.012);
      return t === 0 ? p : p * (1 + r);
    });
    for (let i = 0; i < N; i++) {
      const live = t >= start[i]! && t < stop[i]! && random.uniform() > 0.003;
      row.push(live ? prev[i]! : null);
      advRow.push(live ? baseAdv[i]! * Math.exp(random.normal(0, 0.3)) : null);
    }
    close.push(row);
    adv.push(advRow);
  }
  const panel = buildPanel({ tickers, dates, fields: { close, adv20: adv } });
  const params = clusterParamsSchema.parse({});
  let prior = new Map<string, number>();
  let state: JsonValue | null = null;
  let failures = 0;
  let runs = 0;
  let maxTime = 0;
  let totalTime = 0;
  const failuresByCheck: Record<string, number> = {};
  for (let d = 121; d < dates.length; d += 5) {
    const date = dates[d]!;
    const t0 = performance.now();
    const out = await strategy.rebalance({ strategyId: 'c', date, params, market: pointInTime(panel, date), state, priorSleeve: prior, calendar, log: silentLogger() });
    const dt = performance.now() - t0;
    maxTime = Math.max(maxTime, dt);
    totalTime += dt;
    runs++;
    const st = out.state as { lastValidation: { passed: boolean; checks: Record<string, { passed: boolean; detail: string }> } };
    if (!st.lastValidation.passed) {
      failures++;
      for (const [k, v] of Object.entries(st.lastValidation.checks)) if (!v.passed) { failuresByCheck[k] = (failuresByCheck[k] ?? 0) + 1; if ((failuresByCheck[k] ?? 0) <= 3) console.log(date, k, v.detail); }
    }
    const sum = out.targets.reduce((s, x) => s + x.weight, 0);
    if (runs % 20 === 1 || (sum < 0.995 && runs < 30)) console.log(date, out.targets.length, sum.toFixed(4), out.notes?.join(' | ').replace(/re-split cluster \w+ equally; /g, '').slice(0, 1500));
    prior = new Map(out.targets.map((x) => [x.ticker, x.weight]));
    state = out.state ?? null;
  }
  console.log({ runs, failures, failuresByCheck, maxTime, avg: totalTime / runs });
}, 120000);
