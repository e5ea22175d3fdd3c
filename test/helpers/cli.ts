import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { XnysCalendar } from '../../src/calendar/xnys.js';
import type { IsoDate } from '../../src/core/dates.js';
import { generateSyntheticDatabase } from '../../src/data/synthetic.js';
import { KairosDatabase } from '../../src/data/database.js';
import { keysUnder } from './redis.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(REPO_ROOT, 'bin', 'kairos.js');
const DIST_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time of the call. */
  readonly ms: number;
}

export interface CliOptions {
  /** Extra environment for the call; KAIROS_LOG_LEVEL defaults to `silent` so logs never mix into stderr. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

type Write = typeof process.stdout.write;

/**
 * Runs `kairos …args` in this process through main(), capturing everything written to
 * process.stdout / process.stderr. Logs are silenced (pino writes straight to fd 2 otherwise).
 */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const env = { KAIROS_LOG_LEVEL: 'silent', ...options.env };
  const saved = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
  for (const [key, value] of Object.entries(env)) setEnv(key, value);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture = (sink: string[]): Write =>
    ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') (done as () => void)();
      return true;
    }) as Write;
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture(stdout));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture(stderr));
  const started = performance.now();
  try {
    const code = await main(['node', 'kairos', ...args]);
    return { code, stdout: stdout.join(''), stderr: stderr.join(''), ms: performance.now() - started };
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const [key, value] of saved) setEnv(key, value);
  }
}

function setEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

/** Runs `node bin/kairos.js …args` as a real process (call ensureBuilt() first). */
export async function runBinary(args: readonly string[], options: CliOptions & { readonly cwd?: string } = {}): Promise<CliResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, KAIROS_LOG_LEVEL: 'silent', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
  });
  return { code, stdout, stderr, ms: performance.now() - started };
}

/**
 * Builds dist/ (what bin/kairos.js runs) when any source file is newer than it. Test files run in
 * parallel, so the build is serialised by a lock directory and re-checked under it.
 */
export async function ensureBuilt(): Promise<void> {
  if (!distIsStale()) return;
  const lock = join(tmpdir(), `kairos-cli-build-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 12)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a killed run must not block forever.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 120_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    if (!distIsStale()) return;
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function distIsStale(): boolean {
  if (!existsSync(DIST_MAIN)) return true;
  const built = statSync(DIST_MAIN).mtimeMs;
  const newest = Math.max(
    ...['src', 'strategies', 'bench'].map((dir) => newestSourceMtime(join(REPO_ROOT, dir))),
    statSync(join(REPO_ROOT, 'tsconfig.json')).mtimeMs,
    statSync(join(REPO_ROOT, 'tsconfig.build.json')).mtimeMs,
  );
  return newest > built;
}

function newestSourceMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** A fresh temp directory per test (removed afterwards); call at the top of a describe or file. */
export function useTempDir(prefix = 'kairos-cli-'): () => string {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (dir === undefined) throw new Error('useTempDir: only available inside a test');
    return dir;
  };
}

export interface SyntheticFixture {
  readonly path: string;
  /** The database's sessions, ascending. */
  readonly sessions: readonly IsoDate[];
  readonly lastSession: IsoDate;
}

/**
 * A small synthetic database (default 200 tickers × the XNYS sessions of 2024-10-01..2025-12-31,
 * ≈ 314 sessions: enough for the 126-session covariance window). About a second to build.
 */
export async function syntheticFixture(
  dir: string,
  options: { tickers?: number; from?: IsoDate; to?: IsoDate; seed?: number; fileName?: string } = {},
): Promise<SyntheticFixture> {
  const sessions = new XnysCalendar().sessions(options.from ?? '2024-10-01', options.to ?? '2025-12-31');
  const path = join(dir, options.fileName ?? 'synthetic.duckdb');
  await generateSyntheticDatabase(path, { sessions, tickers: options.tickers ?? 200, seed: options.seed ?? 20_250_101 });
  return { path, sessions, lastSession: sessions.at(-1)! };
}

/** Copies a database file (for destructive cases) and optionally runs SQL on the copy. */
export async function copyDatabase(source: string, target: string, statements: readonly string[] = []): Promise<string> {
  await copyFile(source, target);
  if (statements.length > 0) {
    const db = await KairosDatabase.open(target);
    try {
      for (const sql of statements) await db.run(sql);
    } finally {
      db.close();
    }
  }
  return target;
}

/** Config tuned for a small synthetic universe: no universe-size warnings, a short book. */
export function smallUniverseConfig(portfolio: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    portfolio,
    validation: { healthy_universe: 50, min_universe: 20 },
    strategies: [{ id: 'risk4', module: 'risk4', allocation: 1, params: { top_n: 40 } }],
    ...overrides,
  };
}

/** Writes a config file (JSON is valid YAML) and returns its path. */
export async function writeConfig(path: string, config: unknown): Promise<string> {
  await writeFile(path, typeof config === 'string' ? config : `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** Every file under `dir` (relative path → sha256), for "left untouched" checks; null when `dir` does not exist. */
export async function treeDigest(dir: string): Promise<Record<string, string> | null> {
  if (!existsSync(dir)) return null;
  const digest: Record<string, string> = {};
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else digest[relative(dir, path)] = createHash('sha256').update(await readFile(path)).digest('hex');
    }
  };
  await walk(dir);
  return digest;
}

/** Every key under `prefix` with its type, TTL presence and content, for "state untouched" checks. */
export async function redisDump(client: Redis, prefix: string): Promise<Record<string, unknown>> {
  const dump: Record<string, unknown> = {};
  for (const key of await keysUnder(client, prefix)) {
    const type = await client.type(key);
    const value =
      type === 'string' ? await client.get(key) : type === 'zset' ? await client.zrange(key, '0', '-1', 'WITHSCORES') : `<${type}>`;
    dump[key] = { type, value, expires: (await client.pttl(key)) >= 0 };
  }
  return dump;
}

/** Parses an artifact CSV into its header and rows keyed by column. */
export function parseCsv(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [header = [], ...records] = parse(text) as string[][];
  const rows = records.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i] ?? ''])));
  return { header, rows };
}
