import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../core/errors.js';
import { describeIssues } from '../config/load.js';
import type { ScheduleRule } from '../calendar/schedule.js';
import type { StrategyEntry } from '../config/schema.js';
import type { StrategyDefinition } from './strategy.js';

/** A strategy ready to run: its plugin, validated params, schedule and allocation from config. */
export interface LoadedStrategy {
  readonly id: string;
  readonly module: string;
  /** What `module` resolved to, as an import specifier (file URL or package name). */
  readonly source: string;
  readonly definition: StrategyDefinition<unknown>;
  readonly params: unknown;
  readonly schedule: ScheduleRule;
  readonly allocation: number | undefined;
  readonly onError: 'critical' | 'warning';
}

/** `strategies/` next to `src/` — in the source tree under vitest, or under dist/ once built. */
const builtInRoot = fileURLToPath(new URL('../../strategies/', import.meta.url));

/** Built-ins by folder name, then file paths (relative to `baseDir`), then package names. */
export async function loadStrategies(entries: readonly StrategyEntry[], baseDir: string): Promise<LoadedStrategy[]> {
  const seen = new Set<string>();
  const loaded: LoadedStrategy[] = [];
  for (const [index, entry] of entries.entries()) {
    if (seen.has(entry.id)) throw new ConfigError(`strategies[${index}].id: "${entry.id}" is used by two strategies; ids must be unique`);
    seen.add(entry.id);
    const source = resolveModule(entry.module, baseDir);
    const definition = await importDefinition(source, entry.module, `strategies[${index}].module`);
    const parsed = definition.paramsSchema.safeParse(entry.params);
    if (!parsed.success) throw new ConfigError(`strategies[${index}] (${entry.id}) params: ${describeIssues(parsed.error.issues, definition.paramsSchema).replace(/unknown key "/g, 'unknown param "')}`);
    loaded.push({
      id: entry.id,
      module: entry.module,
      source,
      definition,
      params: parsed.data,
      schedule: entry.schedule,
      allocation: entry.allocation,
      onError: entry.on_error,
    });
  }
  return loaded;
}

/** The default export of `source` (resolved from `specifier`), checked to be a strategy. */
export async function importDefinition(source: string, specifier: string, where: string): Promise<StrategyDefinition<unknown>> {
  let mod: { default?: unknown };
  try {
    mod = (await import(source)) as { default?: unknown };
  } catch (err) {
    throw new ConfigError(`${where}: cannot load strategy module "${specifier}" (${(err as Error).message.split('\n')[0]})`);
  }
  const definition = mod.default;
  if (!isStrategyDefinition(definition)) {
    throw new ConfigError(`${where}: "${specifier}" does not default-export a strategy (defineStrategy({ name, paramsSchema, warmupSessions, rebalance, … }))`);
  }
  return definition;
}

function resolveModule(specifier: string, baseDir: string): string {
  const looksLikePath = specifier.startsWith('.') || isAbsolute(specifier) || (specifier.includes('/') && !specifier.startsWith('@'));
  if (!looksLikePath) {
    const builtIn = moduleFile(join(builtInRoot, specifier));
    if (builtIn) return pathToFileURL(builtIn).href;
    return specifier;
  }
  const base = resolve(baseDir, specifier);
  const file = moduleFile(base);
  if (!file) throw new ConfigError(`strategy module not found: ${specifier} (looked for ${base}{,.js,.mjs,.ts,/index.js,/index.ts})`);
  return pathToFileURL(file).href;
}

/** The compiled file when there is one; TypeScript sources load only under a TS-aware runner. */
function moduleFile(base: string): string | null {
  const candidates = [base, `${base}.js`, `${base}.mjs`, join(base, 'index.js'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find(isFile) ?? null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isStrategyDefinition(value: unknown): value is StrategyDefinition<unknown> {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && typeof v.rebalance === 'function' && typeof v.warmupSessions === 'function' && typeof v.paramsSchema === 'object';
}
