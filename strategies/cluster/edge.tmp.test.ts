import { it } from 'vitest';
import { XnysCalendar } from '../../src/calendar/xnys.js';
import { silentLogger } from '../../src/core/log.js';
import { buildPanel } from '../../src/data/panel-builder.js';
import { pointInTime } from '../../src/data/point-in-time.js';
import { SeededRandom } from '../../src/data/random.js';
import strategy, { clusterParamsSchema } from './index.js';

it('edges', async () => {
  const calendar = new XnysCalendar();
  const dates = calendar.sessions('2021-01-01', '2021-12-31');
  const random = new SeededRandom(1);
  const tickers = Array.from({ length: 30 }, (_, i) => `X${i}`);
  let p = tickers.map(() => 100);
  const close = dates.map((_, t) => (p = p.map((x, i) => (t === 0 ? x : x * (1 + random.normal(0.0005, 0.01) + (i % 2) * 0.0)))));
  const panel = buildPanel({ tickers, dates, fields: { close, adv20: dates.map(() => tickers.map(() => 1e7)) } });
  const date = dates.at(-1)!;
  for (const over of [{ min_adv: 1e9 }, { candidates: 2 }, { n_clusters: 1 }, { cut_distance: 0.01 }, { names_per_cluster: 5, n_clusters: 3 }, { linkage: 'single', n_clusters: 50 }]) {
    const params = clusterParamsSchema.parse(over);
    const out = await strategy.rebalance({ strategyId: 'c', date, params, market: pointInTime(panel, date), state: null, priorSleeve: new Map(), calendar, log: silentLogger() });
    const sum = out.targets.reduce((s, x) => s + x.weight, 0);
    console.log(JSON.stringify(over), out.targets.length, sum.toFixed(4), (out.state as any).lastValidation.passed, out.notes?.join(' | ').slice(0, 400));
    const prior = new Map(out.targets.map((t) => [t.ticker, t.weight]));
    const out2 = await strategy.rebalance({ strategyId: 'c', date, params: clusterParamsSchema.parse({ ...over, min_adv: 1e9 }), market: pointInTime(panel, date), state: out.state ?? null, priorSleeve: prior, calendar, log: silentLogger() });
    console.log('  then universe gone:', out2.targets.length, out2.targets.reduce((s, x) => s + x.weight, 0).toFixed(4), (out2.state as any).lastValidation.passed, out2.notes?.join(' | ').slice(0, 300));
  }
});
