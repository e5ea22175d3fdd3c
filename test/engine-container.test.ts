import { describe, expect, it } from 'vitest';
import { kairosConfigSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/core/log.js';
import type { KairosDatabase } from '../src/data/database.js';
import { createEngineContainer, resolveEngine, TOKENS } from '../src/engine/container.js';
import { runSession } from '../src/engine/session.js';
import type { RiskStage } from '../src/engine/stages.js';
import type { LoadedStrategy } from '../src/engine/strategy-loader.js';
import { loadStrategies } from '../src/engine/strategy-loader.js';
import { applyRiskStage } from '../src/risk/risk-stage.js';
import { MemoryStateStore } from '../src/state/memory-store.js';
import { fakeMarket } from './helpers/fake-market.js';

const config = kairosConfigSchema.parse({
  strategies: [
    { id: 'low-vol', module: 'volatility', allocation: 0.5, schedule: { type: 'daily' } },
    { id: 'main', module: 'risk4', allocation: 0.5 },
  ],
  risk: { vol_window: 2 },
});

async function container() {
  const strategies = await loadStrategies(config.strategies, process.cwd());
  return createEngineContainer({ config, log: silentLogger(), store: new MemoryStateStore(), db: {} as KairosDatabase, strategies });
}

describe('engine container', () => {
  it('wires the default stages, the XNYS calendar and every strategy in config order', async () => {
    const engine = resolveEngine(await container());
    expect(engine.stages.riskStage).toBe(applyRiskStage);
    expect(engine.calendar.name).toBe('XNYS');
    expect(engine.strategies.map((s: LoadedStrategy) => [s.id, s.definition.name])).toEqual([
      ['low-vol', 'volatility'],
      ['main', 'risk4'],
    ]);
  });

  it('lets a stage be swapped by rebinding its token, and the session uses the swap', async () => {
    const c = await container();
    const seen: Float64Array[] = [];
    const recordingRisk: RiskStage = (input) => {
      seen.push(input.target);
      return applyRiskStage(input);
    };
    await c.unbind(TOKENS.riskStage);
    c.bind<RiskStage>(TOKENS.riskStage).toConstantValue(recordingRisk);
    const engine = resolveEngine(c);
    expect(engine.stages.riskStage).toBe(recordingRisk);

    const market = fakeMarket({
      date: '2025-12-30',
      names: [
        { ticker: 'A', sector: 'Tech', close: 10, adv20: 1e9, volBlend: 0.2, alpha: 1, returns: [0.01, -0.01, 0.02] },
        { ticker: 'B', sector: 'Tech', close: 10, adv20: 1e9, volBlend: 0.2, alpha: 0, returns: [0.0, 0.01, -0.02] },
      ],
    });
    const fixed: LoadedStrategy = {
      ...engine.strategies[1]!,
      id: 'fixed',
      definition: { ...engine.strategies[1]!.definition, rebalance: () => ({ targets: [{ ticker: 'A', weight: 0.02 }] }) },
      allocation: 1,
    };
    await runSession(
      {
        date: '2025-12-30',
        runId: 'r',
        market,
        calendar: engine.calendar,
        strategies: [fixed],
        prior: null,
        holdings: { asOf: '2025-12-30', cash: 1000, positions: [] },
        portfolioValue: 1000,
        forced: new Set(),
        config,
        log: engine.log,
      },
      engine.stages,
    );
    expect(seen).toHaveLength(1);
    expect(Array.from(seen[0]!)).toEqual([0.02, 0]);
  });
});
