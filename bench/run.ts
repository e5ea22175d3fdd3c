/**
 * `npm run bench`: whole-process wall time and peak RSS of the CLI on cached synthetic databases.
 * Figures are printed as a Markdown table to paste into BENCHMARKS.md. Not a test: nothing asserts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { XnysCalendar } from '../src/calendar/xnys.js';
import { generateSyntheticDatabase } from '../src/data/synthetic.js';

const root = resolve(import.meta.dirname, '..', '..');
const benchDir = join(root, '.bench');
const kairos = join(root, 'bin', 'kairos.js');
const calendar = new XnysCalendar();

interface Measurement {
  readonly wallSeconds: number;
  readonly peakRssMb: number;
}

/** A cached synthetic database of `tickers` names over the `years` calendar years ending 2025-12-31. */
async function database(tickers: number, years: number): Promise<string> {
  const path = join(benchDir, `synthetic-${tickers}x${years}y.duckdb`);
  if (existsSync(path)) return path;
  mkdirSync(benchDir, { recursive: true });
  const to = '2025-12-31';
  const from = `${2025 - years + 1}-01-01`;
  const started = performance.now();
  await generateSyntheticDatabase(`${path}.building`, { sessions: calendar.sessions(from, to), tickers, seed: 42 });
  copyFileSync(`${path}.building`, path);
  rmSync(`${path}.building`, { force: true });
  console.error(`built ${path} in ${((performance.now() - started) / 1000).toFixed(1)} s (cached for later runs)`);
  return path;
}

/** Peak RSS from GNU time when present, else by polling /proc/<pid>/status VmHWM. */
async function measure(args: readonly string[]): Promise<Measurement> {
  const started = performance.now();
  if (existsSync('/usr/bin/time')) {
    const run = spawnSync('/usr/bin/time', ['-f', 'KAIROS_BENCH_RSS_KB=%M', process.execPath, kairos, ...args], { encoding: 'utf8', env: { ...process.env, KAIROS_LOG_LEVEL: 'warn' } });
    const wallSeconds = (performance.now() - started) / 1000;
    if (run.status !== 0) throw new Error(`kairos ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
    const kb = Number(/KAIROS_BENCH_RSS_KB=(\d+)/.exec(run.stderr)?.[1]);
    return { wallSeconds, peakRssMb: kb / 1024 };
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [kairos, ...args], { stdio: 'ignore', env: { ...process.env, KAIROS_LOG_LEVEL: 'warn' } });
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        /* the process has exited between polls */
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`kairos ${args.join(' ')} failed (${code})`));
      else resolvePromise({ wallSeconds: (performance.now() - started) / 1000, peakRssMb: peakKb / 1024 });
    });
  });
}

async function median(times: number, args: readonly string[]): Promise<Measurement> {
  const runs: Measurement[] = [];
  for (let i = 0; i < times; i++) runs.push(await measure(args));
  runs.sort((a, b) => a.wallSeconds - b.wallSeconds);
  return runs[Math.floor(runs.length / 2)]!;
}

interface Row {
  readonly scenario: string;
  readonly target: string;
  readonly result: Measurement;
}

const multiConfig = join(root, 'config', 'multi.yaml');
/** Replays start after a year of history (12-1 momentum needs 252 sessions), so their databases span 11 years. */
const REPLAY_YEARS = [1, 5, 10] as const;
const REPLAY_TICKERS = [500, 1500, 3000] as const;

function replayArgs(db: string, years: number, out: string): string[] {
  return ['replay', '--db', db, '--config', multiConfig, '--from', `${2026 - years}-01-01`, '--to', '2025-12-31', '--output-dir', out];
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const rows: Row[] = [];
  if (only === 'replay') {
    await replayGrid(rows);
    printRows(rows);
    return;
  }
  const big = await database(5000, 10);
  const lastSession = calendar.previousSession('2025-12-31');
  rows.push({
    scenario: 'rebalance, 5,000 tickers × 10 y, last session (median of 3)',
    target: '≤ 1.5 s, ≤ 500 MB',
    result: await median(3, ['rebalance', '--db', big, '--date', lastSession, '--output-dir', join(benchDir, 'out', 'rebalance')]),
  });
  const featuresCopy = join(benchDir, 'features-copy.duckdb');
  copyFileSync(big, featuresCopy);
  rows.push({ scenario: 'data features, 5,000 tickers × 10 y', target: '—', result: await measure(['data', 'features', '--db', featuresCopy]) });
  rmSync(featuresCopy, { force: true });

  const multi = await database(3000, 11);
  rows.push({
    scenario: 'run, five strategies (config/multi.yaml), 3,000 tickers × 10 y, last session (median of 3)',
    target: '≤ 3 s, ≤ 800 MB',
    result: await median(3, ['run', '--db', multi, '--config', multiConfig, '--date', lastSession, '--output-dir', join(benchDir, 'out', 'run')]),
  });
  await replayGrid(rows);
  printRows(rows);
}

async function replayGrid(rows: Row[]): Promise<void> {
  for (const tickers of REPLAY_TICKERS) {
    const db = await database(tickers, 11);
    for (const years of REPLAY_YEARS) {
      const headline = tickers === 3000 && years === 10;
      rows.push({
        scenario: `replay, five strategies, ${tickers.toLocaleString('en-US')} tickers × ${years} y`,
        target: headline ? '≤ 20 s, ≤ 1.5 GB' : '—',
        result: await measure(replayArgs(db, years, join(benchDir, 'out', `replay-${tickers}-${years}`))),
      });
    }
  }
}

function printRows(rows: readonly Row[]): void {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  console.log('| scenario | wall (s) | peak RSS (MB) | target |');
  console.log('|---|---:|---:|---|');
  for (const r of rows) console.log(`| ${r.scenario} | ${r.result.wallSeconds.toFixed(2)} | ${r.result.peakRssMb.toFixed(0)} | ${r.target} |`);
}

await main();
