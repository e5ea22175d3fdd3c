import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDirectoryAtomic } from '../core/atomic.js';
import { UsageError } from '../core/errors.js';

/**
 * `kairos strategies new <name>`: writes `<parent>/<name>/` with a working plugin (index.ts), its
 * README.md and a vitest test that passes as generated. The plugin is a short-term reversal
 * long/short sleeve: small enough to read in a minute, yet it exercises every part of the plugin
 * contract (strict params with defaults, warm-up, the point-in-time market, shorts, notes).
 */

/** Kebab-case starting with a letter: the name is the folder, the plugin name and the config `module`. */
const STRATEGY_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const MAX_NAME_LENGTH = 64;

export interface ScaffoldOptions {
  readonly name: string;
  /** Folder the plugin folder is created in; `strategies` of the Kairos tree makes it a built-in. */
  readonly parentDir: string;
  /** The Kairos source tree (holding src/ and strategies/); found from this file when not given. */
  readonly sourceRoot?: string;
}

export interface ScaffoldResult {
  readonly folder: string;
  /** Absolute paths of the files written. */
  readonly files: readonly string[];
  /** The generated vitest file (one of `files`). */
  readonly testFile: string;
  /** What to write as `module:` in a config under the tree's config/ folder. */
  readonly moduleSpecifier: string;
}

export function assertStrategyName(name: string): void {
  if (name.length > MAX_NAME_LENGTH || !STRATEGY_NAME.test(name)) {
    throw new UsageError(
      `strategies new: "${name}" is not a valid strategy name; use lowercase letters and digits in words joined by single hyphens, starting with a letter (e.g. "mean-reversion", at most ${MAX_NAME_LENGTH} characters)`,
    );
  }
}

export async function scaffoldStrategy(options: ScaffoldOptions): Promise<ScaffoldResult> {
  assertStrategyName(options.name);
  const sourceRoot = options.sourceRoot ?? kairosSourceRoot();
  const folder = resolve(options.parentDir, options.name);
  if (existsSync(folder)) throw new UsageError(`strategies new: ${folder} already exists; pick another name or remove it first`);

  const builtIn = resolve(options.parentDir) === resolve(sourceRoot, 'strategies');
  const moduleSpecifier = builtIn ? options.name : importPath(join(sourceRoot, 'config'), folder);
  const names = templateNames(options.name, importPath(folder, join(sourceRoot, 'src')), moduleSpecifier);
  const testFile = `${options.name}.test.ts`;
  const files = new Map([
    ['index.ts', pluginSource(names)],
    ['README.md', readmeSource(names)],
    [testFile, testSource(names)],
  ]);
  // Staged and renamed in one step, so a failure never leaves half a plugin behind.
  await writeDirectoryAtomic(folder, files);
  return { folder, files: [...files.keys()].map((file) => join(folder, file)), testFile: join(folder, testFile), moduleSpecifier };
}

/**
 * The directory holding package.json above this file: the repository both when running from
 * src/ (vitest) and from dist/src/ (the built CLI). Generated plugins import the TypeScript
 * sources under its src/, so a tree without them cannot scaffold.
 */
function kairosSourceRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new UsageError('strategies new: cannot find the Kairos package root (package.json) above the CLI');
    dir = parent;
  }
  if (!existsSync(join(dir, 'src', 'engine', 'strategy.ts'))) {
    throw new UsageError(`strategies new: ${dir} has no TypeScript sources (src/engine/strategy.ts); scaffold from a Kairos checkout`);
  }
  return dir;
}

/** A relative ESM specifier from `fromDir` to `to`, with forward slashes and a leading "./" or "../". */
function importPath(fromDir: string, to: string): string {
  const path = relative(fromDir, to).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

interface TemplateNames {
  /** kebab-case, as given */
  readonly name: string;
  readonly camel: string;
  readonly pascal: string;
  /** Import prefix of the Kairos src/ folder from the plugin folder. */
  readonly src: string;
  readonly moduleSpecifier: string;
}

function templateNames(name: string, src: string, moduleSpecifier: string): TemplateNames {
  const camel = name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
  return { name, camel, pascal: camel.charAt(0).toUpperCase() + camel.slice(1), src, moduleSpecifier };
}

function pluginSource({ name, camel, pascal, src }: TemplateNames): string {
  return `import { z } from 'zod';
import type { PointInTimeMarket } from '${src}/data/panel.js';
import { defineStrategy, type SleeveTarget, type StrategyOutput } from '${src}/engine/strategy.js';

/**
 * ${name}: short-term reversal, as written by \`kairos strategies new\`. Names that fell most over
 * the last few sessions tend to bounce back, so the sleeve buys the biggest losers and shorts the
 * biggest winners. Replace \`reversalScores\` with your own formula; README.md explains the rest.
 */
export const ${camel}ParamsSchema = z.strictObject({
  /** Trailing sessions of daily close-to-close returns. */
  window: z.number().int().min(1).default(5),
  /** Names in each leg. */
  top_n: z.number().int().min(1).default(10),
  /** adv_20 floor ($); names without adv_20 are skipped. */
  min_adv: z.number().min(0).default(2_000_000),
});
export type ${pascal}Params = z.output<typeof ${camel}ParamsSchema>;

/** Minus each name's mean daily return over the last \`window\` sessions; NaN when any return is missing. */
export function reversalScores(market: PointInTimeMarket, window: number): Float64Array {
  // Row-major, row 0 oldest; throws a DataError when fewer than window + 1 sessions are loaded.
  const returns = market.returns(window);
  const width = market.tickers.length;
  const scores = new Float64Array(width);
  for (let row = 0; row < window; row++) {
    for (let i = 0; i < width; i++) scores[i]! -= returns[row * width + i]! / window;
  }
  return scores;
}

export function rebalance${pascal}(market: PointInTimeMarket, params: ${pascal}Params): StrategyOutput {
  const scores = reversalScores(market, params.window);
  const adv = market.field('adv20');
  // market.tickers is sorted and the sort is stable, so ties rank by ticker.
  const ranked = market.tickers
    .map((ticker, i) => ({ ticker, score: scores[i]!, adv: adv[i]! }))
    .filter((candidate) => Number.isFinite(candidate.score) && candidate.adv >= params.min_adv)
    .sort((a, b) => b.score - a.score);
  const perLeg = Math.min(params.top_n, Math.floor(ranked.length / 2));
  const targets: SleeveTarget[] = [
    ...ranked.slice(0, perLeg).map(({ ticker, score }) => ({ ticker, weight: 0.5 / perLeg, score })),
    ...ranked.slice(ranked.length - perLeg).map(({ ticker, score }) => ({ ticker, weight: -0.5 / perLeg, score })),
  ];
  const notes = perLeg < params.top_n ? [\`\${ranked.length} eligible names: \${perLeg} per leg instead of \${params.top_n}\`] : [];
  return { targets, notes };
}

export default defineStrategy({
  name: '${name}',
  description: 'Short-term reversal: long the biggest losers of the last few sessions, short the biggest winners.',
  paramsSchema: ${camel}ParamsSchema,
  // \`window\` returns need \`window + 1\` closes.
  warmupSessions: (params) => params.window + 1,
  rebalance: ({ market, params }) => rebalance${pascal}(market, params),
});
`;
}

function testSource({ name, camel, src }: TemplateNames): string {
  return `import { describe, expect, it } from 'vitest';
import { XnysCalendar } from '${src}/calendar/xnys.js';
import { silentLogger } from '${src}/core/log.js';
import { buildPanel } from '${src}/data/panel-builder.js';
import { pointInTime } from '${src}/data/point-in-time.js';
import plugin, { ${camel}ParamsSchema } from './index.js';

const DATES = ['2025-01-02', '2025-01-03', '2025-01-06', '2025-01-07'];
const LIQUID = 5_000_000;
const THIN = 100_000;

// Over the last three returns A falls most and D rises most; E falls further but is too thin to trade.
const panel = buildPanel({
  tickers: ['A', 'B', 'C', 'D', 'E'],
  dates: DATES,
  fields: {
    close: [
      [100, 100, 100, 100, 100],
      [95, 99, 101, 104, 80],
      [92, 99, 101, 108, 70],
      [90, 98, 102, 110, 60],
    ],
    adv20: DATES.map(() => [LIQUID, LIQUID, LIQUID, LIQUID, THIN]),
  },
});

// async, so a strategy that throws surfaces as a rejected promise the assertions can inspect.
async function rebalanceAt(date: string, params: Record<string, unknown>) {
  return plugin.rebalance({
    strategyId: '${name}',
    date,
    params: ${camel}ParamsSchema.parse(params),
    market: pointInTime(panel, date),
    state: null,
    priorSleeve: new Map(),
    calendar: new XnysCalendar(),
    log: silentLogger(),
  });
}

describe('${name}', () => {
  it('fills params with defaults and rejects unknown keys', () => {
    expect(${camel}ParamsSchema.parse({})).toEqual({ window: 5, top_n: 10, min_adv: 2_000_000 });
    expect(${camel}ParamsSchema.safeParse({ windw: 3 }).success).toBe(false);
    expect(plugin.warmupSessions(${camel}ParamsSchema.parse({ window: 3 }))).toBe(4);
  });

  it('longs the biggest liquid loser and shorts the biggest winner, half the sleeve each', async () => {
    const output = await rebalanceAt('2025-01-07', { window: 3, top_n: 1 });
    expect(output.targets.map(({ ticker, weight }) => ({ ticker, weight }))).toEqual([
      { ticker: 'A', weight: 0.5 },
      { ticker: 'D', weight: -0.5 },
    ]);
    // A: −(−5% − 3.158% − 2.174%) / 3
    expect(output.targets[0]!.score).toBeCloseTo((0.05 + 3 / 95 + 2 / 92) / 3, 12);
  });

  it('shrinks both legs when too few names are eligible, and says so', async () => {
    const output = await rebalanceAt('2025-01-07', { window: 3, top_n: 3 });
    expect(output.targets.map((target) => target.ticker)).toEqual(['A', 'B', 'C', 'D']);
    expect(output.notes).toEqual(['4 eligible names: 2 per leg instead of 3']);
  });

  it('cannot rebalance before it has window + 1 sessions of history', async () => {
    await expect(rebalanceAt('2025-01-06', { window: 3 })).rejects.toThrow(/needs 4 sessions of history; 3 loaded/);
  });
});
`;
}

function readmeSource({ name, camel, moduleSpecifier }: TemplateNames): string {
  return `# ${name} — short-term reversal

Written by \`kairos strategies new ${name}\`: a working plugin to start from. Change the formula in
\`reversalScores\`, the params in \`${camel}ParamsSchema\`, this README and the test together.
[docs/write-a-strategy.md](../../docs/write-a-strategy.md) explains the plugin contract.

| File | What it is |
|---|---|
| \`index.ts\` | params schema, the formula (\`reversalScores\`), the plugin (default export) |
| \`${name}.test.ts\` | a hand-checked five-name panel: legs, eligibility, params, warm-up |

## Formula (session D)

Over the last \`window\` daily returns r_t = close_t / close_{t−1} − 1 ending at D:

    score = −(1 / window) × Σ r_t

**Direction:** long the \`top_n\` highest scores (the biggest losers), short the \`top_n\` lowest
(the biggest winners); each leg is half the sleeve in equal weights (+0.5 / −0.5). Eligible: every
return in the window present and adv_20 ≥ \`min_adv\`. With fewer than 2 × \`top_n\` eligible names
both legs shrink to half of them and a note says so. \`warmupSessions = window + 1\`.

## Params

| Key | Default | Meaning |
|---|---|---|
| \`window\` | 5 | trailing sessions of daily returns (≥ 1) |
| \`top_n\` | 10 | names per leg (≥ 1) |
| \`min_adv\` | 2,000,000 | adv_20 floor ($) |

Unknown keys are rejected.

## Register it in a config

\`\`\`yaml
strategies:
  - id: ${name}
    module: ${moduleSpecifier}
    schedule: { type: daily }
    allocation: 0.2
    params: { window: 5, top_n: 10 }
\`\`\`

\`module\` is the folder name for plugins in \`strategies/\`; a plugin elsewhere is a path relative to
the config file's folder. Allocations of all strategies must add up to 1 (or set
\`allocation.normalize: true\`).

## Try it

\`\`\`bash
npx vitest run ${name}                         # this plugin's test
npm run build                                   # compiles strategies/ into dist/ for the CLI
npx kairos strategies list --config config/my.yaml
npx kairos run --db data/demo.duckdb --date 2025-12-31 --config config/my.yaml --output-dir outputs/run   # npm run demo creates the database
\`\`\`

\`sleeves.csv\` in the output directory lists this sleeve's names with their weights and
contributions to the net book.
`;
}
