import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { parseConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/log.js';
import { buildPanel } from '../src/data/panel-builder.js';
import { pointInTime } from '../src/data/point-in-time.js';
import { loadStrategies } from '../src/engine/strategy-loader.js';
import { REPO_ROOT, runCli, useTempDir, writeConfig } from './helpers/cli.js';

/**
 * A plugin outside strategies/: long the cheapest `count` names. Untyped ESM, so the same text is a
 * valid .js and .ts module.
 */
const cheapestPlugin = (name: string): string => `import { z } from 'zod';

export default {
  name: '${name}',
  description: 'long the lowest-priced names',
  paramsSchema: z.strictObject({ count: z.number().int().min(1).default(1) }),
  warmupSessions: () => 1,
  rebalance({ market, params }) {
    const close = market.field('close');
    const order = market.tickers.map((ticker, i) => ({ ticker, price: close[i] })).sort((a, b) => a.price - b.price);
    return { targets: order.slice(0, params.count).map(({ ticker }) => ({ ticker, weight: 1 / params.count })) };
  },
};
`;

/**
 * A project laid out the way a plugin author would: config/ and plugins/ side by side, so the
 * config names the plugin by a path relative to itself. node_modules links to Kairos's, so the
 * plugin's `import 'zod'` resolves from a temp directory.
 */
function usePluginProject() {
  const tempDir = useTempDir('kairos-plugin-path-');
  // Registered after useTempDir's hook, so the directory exists when this runs.
  beforeEach(async () => {
    const root = tempDir();
    await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    await mkdir(join(root, 'config'));
    await mkdir(join(root, 'plugins'));
    await writeFile(join(root, 'plugins', 'cheapest.js'), cheapestPlugin('cheapest'));
    await writeFile(join(root, 'plugins', 'cheapest-ts.ts'), cheapestPlugin('cheapest-ts'));
    await writeFile(join(root, 'plugins', 'not-a-strategy.js'), 'export const name = "not-a-strategy";\nexport default { name: "half a plugin" };\n');
  });
  return {
    root: tempDir,
    config: (name: string, strategies: unknown[]) => writeConfig(join(tempDir(), 'config', name), { allocation: { normalize: true }, strategies }),
  };
}

describe('plugin loading from a path', () => {
  const project = usePluginProject();

  it('resolves paths relative to the config file, with or without an extension, .js and .ts', async () => {
    const path = await project.config('paths.yaml', [
      { id: 'cheap-js', module: '../plugins/cheapest', allocation: 0.5, params: { count: 2 } },
      { id: 'cheap-ts', module: '../plugins/cheapest-ts.ts', allocation: 0.5 },
    ]);
    const result = await runCli(['strategies', 'list', '--json', '--config', path, '--date', '2026-01-02']);
    expect(result.code).toBe(0);
    const listing = JSON.parse(result.stdout) as { strategies: { id: string; module: string; plugin: string; params: unknown }[] };
    expect(listing.strategies.map(({ id, module, plugin, params }) => ({ id, module, plugin, params }))).toEqual([
      { id: 'cheap-js', module: '../plugins/cheapest', plugin: 'cheapest', params: { count: 2 } },
      { id: 'cheap-ts', module: '../plugins/cheapest-ts.ts', plugin: 'cheapest-ts', params: { count: 1 } },
    ]);

    // The loaded definition is the plugin itself: it rebalances on a point-in-time market.
    const [loaded] = await loadStrategies(parseConfig(`strategies: [{ id: c, module: ../plugins/cheapest.js, params: { count: 2 } }]`, 'inline').strategies, join(project.root(), 'config'));
    const panel = buildPanel({ tickers: ['X', 'Y', 'Z'], dates: ['2026-01-02'], fields: { close: [[30, 10, 20]] } });
    const output = await loaded!.definition.rebalance({
      strategyId: 'c',
      date: '2026-01-02',
      params: loaded!.params,
      market: pointInTime(panel, '2026-01-02'),
      state: null,
      priorSleeve: new Map(),
      calendar: new XnysCalendar(),
      log: silentLogger(),
    });
    expect(output.targets).toEqual([
      { ticker: 'Y', weight: 0.5 },
      { ticker: 'Z', weight: 0.5 },
    ]);
  });

  it('loads a built-in by folder name, whatever the config directory', async () => {
    const [loaded] = await loadStrategies(parseConfig('strategies: [{ id: m, module: example-momentum }]', 'inline').strategies, project.root());
    expect(loaded!.definition.name).toBe('example-momentum');
    expect(loaded!.params).toEqual({ top_n: 20, window: 60, min_adv: 2_000_000 });
  });
});

describe('strategy loader errors (exit 3, one line naming the culprit)', () => {
  const project = usePluginProject();

  async function listFails(strategies: unknown[]): Promise<string> {
    const result = await runCli(['strategies', 'list', '--config', await project.config('bad.yaml', strategies)]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr.endsWith('\n') && !result.stderr.trimEnd().includes('\n')).toBe(true);
    return result.stderr;
  }

  it('names an unknown module, whether a built-in/package name or a path', async () => {
    expect(await listFails([{ id: 'x', module: 'no-such-strategy' }])).toMatch(/^kairos: strategies\[0\]\.module: cannot load strategy module "no-such-strategy" \(/);
    expect(await listFails([{ id: 'x', module: './missing-plugin.ts' }])).toBe(
      `kairos: strategy module not found: ./missing-plugin.ts (looked for ${join(project.root(), 'config', 'missing-plugin.ts')}{,.js,.mjs,.ts,/index.js,/index.ts})\n`,
    );
  });

  it('names the param that fails the plugin schema, and suggests the key meant', async () => {
    expect(await listFails([{ id: 'momentum', module: 'example-momentum', params: { top_n: 0 } }])).toMatch(/^kairos: strategies\[0\] \(momentum\) params: top_n: /);
    expect(await listFails([{ id: 'momentum', module: 'example-momentum', params: { topn: 5 } }])).toBe(
      'kairos: strategies[0] (momentum) params: unknown param "topn" (did you mean "top_n"?)\n',
    );
  });

  it('refuses two strategies with the same id', async () => {
    expect(
      await listFails([
        { id: 'momentum', module: 'example-momentum' },
        { id: 'momentum', module: 'risk4' },
      ]),
    ).toBe('kairos: strategies[1].id: "momentum" is used by two strategies; ids must be unique\n');
  });

  it('refuses a module that does not default-export a strategy', async () => {
    expect(await listFails([{ id: 'half', module: '../plugins/not-a-strategy.js' }])).toBe(
      'kairos: strategies[0].module: "../plugins/not-a-strategy.js" does not default-export a strategy (defineStrategy({ name, paramsSchema, warmupSessions, rebalance, … }))\n',
    );
  });
});
