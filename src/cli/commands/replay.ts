import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { IsoDate } from '../../core/dates.js';
import { UsageError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/log.js';
import { replayFingerprint, runReplay } from '../../replay/replay.js';
import { isoDateArgument, printLines } from '../arguments.js';
import { withEngine } from '../with-engine.js';
import { percent, ratio } from '../../report/format.js';

interface ReplayFlags {
  config?: string;
  db: string;
  from: IsoDate;
  to: IsoDate;
  outputDir: string;
  state?: string;
  resume?: boolean;
}

export function registerReplayCommands(program: Command): void {
  program
    .command('replay')
    .description('Simulate FROM..TO session by session through the production pipeline: combined book and each strategy alone, with fills, costs, metrics and report.html.')
    .requiredOption('--db <file>', 'DuckDB database')
    .requiredOption('--from <date>', 'first session (YYYY-MM-DD)', isoDateArgument('--from'))
    .requiredOption('--to <date>', 'last session (YYYY-MM-DD)', isoDateArgument('--to'))
    .option('--config <file>', 'Kairos YAML config (strategies, risk, replay fill/cost model)')
    .option('--output-dir <dir>', 'where equity.csv, trades.csv, positions.csv, metrics.json and report.html go', 'outputs/replay')
    .option('--state <url>', 'state store for checkpoints: "memory" (default) or redis://host:port')
    .option('--resume', 'continue an interrupted replay from its last checkpoint')
    .action(async (flags: ReplayFlags) => {
      if (flags.from > flags.to) throw new UsageError(`--from ${flags.from} is after --to ${flags.to}`);
      const log = createLogger();
      const progress = progressReporter(log);
      const outcome = await withEngine(flags, log, (engine) =>
        runReplay({
          ...engine,
          from: flags.from,
          to: flags.to,
          outputDir: flags.outputDir,
          resume: flags.resume === true,
          fingerprint: replayFingerprint({ config: engine.config, db: resolve(flags.db), from: flags.from, to: flags.to, strategies: engine.strategies }),
          onSession: progress.update,
        }),
      );
      progress.stop();
      for (const note of outcome.notes) log.warn(note);
      printLines([
        `Replayed ${outcome.sessions} sessions from ${outcome.firstSession} into ${flags.outputDir}/`,
        ...outcome.metrics.map(
          (m) => `${m.book.padEnd(16)} CAGR ${percent(m.cagr, 2).padStart(7)}  vol ${percent(m.annual_vol, 2).padStart(7)}  Sharpe ${ratio(m.sharpe).padStart(5)}  max DD ${percent(m.max_drawdown, 2).padStart(7)}`,
        ),
      ]);
    });
}

/** A bar with ETA for people at a terminal; a log line every 5% for everyone else. */
function progressReporter(log: Logger): { update: (done: number, total: number, date: IsoDate) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({ format: 'replay [{bar}] {percentage}% | {value}/{total} sessions | {date} | ETA {eta_formatted}', stream: process.stderr }, Presets.shades_classic);
    let started = false;
    return {
      update: (done, total, date) => {
        if (!started) {
          bar.start(total, done, { date });
          started = true;
        } else bar.update(done, { date });
      },
      stop: () => bar.stop(),
    };
  }
  let nextReport = 0;
  return {
    update: (done, total, date) => {
      if (done / total >= nextReport) {
        log.info({ done, total, date }, 'replay progress');
        nextReport = Math.floor((done / total) * 20 + 1) / 20;
      }
    },
    stop: () => undefined,
  };
}
