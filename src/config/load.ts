import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { kairosConfigSchema, type KairosConfig } from './schema.js';

/** The config used when none is given: Risk4 alone at allocation 1.0 with the seed's defaults. */
export function defaultConfig(): KairosConfig {
  return kairosConfigSchema.parse({});
}

export async function loadConfig(path: string | undefined): Promise<KairosConfig> {
  if (path === undefined) return defaultConfig();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, source: string): KairosConfig {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const [yamlError] = doc.errors;
  if (yamlError) {
    const where = yamlError.linePos?.[0];
    throw new ConfigError(`${source}${where ? `:${where.line}:${where.col}` : ''}: invalid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = kairosConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${source}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/**
 * All problems at once, one per line, each naming its key path (nautilus-style config validation).
 * `schema` is the one the issues came from, for "did you mean" hints (default: the whole config).
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], schema: unknown = kairosConfigSchema): string {
  const lines = issues.map((issue) => {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys
        .map((key) => {
          const at = path ? `${path}.${key}` : key;
          const hint = suggestKey(key, knownKeysAt(schema, issue.path));
          return `unknown key "${at}"${hint ? ` (did you mean "${hint}"?)` : ''}`;
        })
        .join('; ');
    }
    return `${path || '(top level)'}: ${issue.message}`;
  });
  return lines.length === 1 ? lines[0]! : `${lines.length} problems:\n  ${lines.join('\n  ')}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

/** Keys the schema allows at a path, found by walking the zod schema's shape. */
function knownKeysAt(root: unknown, path: readonly PropertyKey[]): string[] {
  let schema: unknown = root;
  for (const part of path) {
    schema = unwrap(schema);
    if (typeof part === 'number') schema = (schema as { element?: unknown }).element;
    else schema = (schema as { shape?: Record<string, unknown> }).shape?.[String(part)];
    if (schema === undefined) return [];
  }
  const shape = (unwrap(schema) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema as { unwrap?: () => unknown; def?: { innerType?: unknown } } | undefined;
  while (current?.def?.innerType !== undefined) current = current.def.innerType as typeof current;
  return current;
}

function suggestKey(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
