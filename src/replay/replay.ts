import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { IsoDate } from '../core/dates.js';
import { DataError, StateError, UsageError } from '../core/errors.js';
import { stableStringify } from '../core/json.js';
import { replaceDirectory, writeFileAtomic } from '../core/atomic.js';
import { round } from '../artifacts/csv.js';
import { pointInTime } from '../data/point-in-time.js';
import type { MarketPanel } from '../data/panel.js';
import type { KairosConfig } from '../config/schema.js';
import type { RunSnapshot } from '../state/store.js';
import { hasCritical } from '../validation/alerts.js';
import { replaySessionBlocked } from '../validation/checks.js';
import { bookMetrics, type BookMetrics, type EquityPoint } from '../analytics/performance.js';
import { renderReport } from '../report/html-report.js';
import { sharpeAllocations } from '../engine/aggregator.js';
import type { EngineServices } from '../engine/container.js';
import { runSession } from '../engine/session.js';
import { loadPipelinePanel, requiredHistory } from '../engine/pipeline-panel.js';
import { SharedStrategyOutputs } from '../engine/shared-outputs.js';
import type { LoadedStrategy } from '../engine/strategy-loader.js';
import { CsvJournal } from './csv-journal.js';
import { StrategyPrefetch } from './strategy-prefetch.js';
import { fillPriceReference, ordersFromTrades, type Fill, type Order } from './fills.js';
import { BookLedger, Delistings, lastListedIndex, type LedgerSnapshot } from './ledger.js';
import { BackgroundCheckpoint } from './background-checkpoint.js';

export interface ReplayOptions extends EngineServices {
  readonly from: IsoDate;
  readonly to: IsoDate;
  readonly outputDir: string;
  readonly resume: boolean;
  /** Called after every session (progress bars, logs). */
  readonly onSession?: (done: number, total: number, date: IsoDate) => void;
  /** Identifies the inputs so a checkpoint is only resumed by the same replay. */
  readonly fingerprint: string;
}

export interface ReplayOutcome {
  readonly sessions: number;
  readonly firstSession: IsoDate;
  readonly metrics: readonly BookMetrics[];
  readonly notes: readonly string[];
}

/** One simulated book: its ledger, the engine state it carries, and orders awaiting their fill. */
interface Book {
  readonly name: string;
  readonly strategies: readonly LoadedStrategy[];
  readonly config: KairosConfig;
  readonly ledger: BookLedger;
  snapshot: RunSnapshot | null;
  pending: Order[];
  curve: EquityPoint[];
}

const COMBINED = 'combined';
const EQUITY_HEADER = ['date', 'book', 'equity', 'return', 'gross', 'net', 'turnover', 'costs'];
const TRADES_HEADER = ['date', 'book', 'ticker', 'side', 'shares', 'reference_price', 'fill_price', 'notional', 'commission', 'spread_cost', 'impact_cost', 'total_cost', 'reason'];
const POSITIONS_HEADER = ['date', 'book', 'ticker', 'shares', 'price', 'value', 'weight'];
/** carried_price: held, no close, valued at its last close; order_skipped: no price to fill at;
 * open_missing: filled at the close instead of the open; impact_unavailable: no ADV to size impact. */
const FLAGS_HEADER = ['date', 'book', 'ticker', 'flag'];

/**
 * Replays sessions from..to through exactly the production session pipeline, for the combined
 * book and (optionally) each strategy alone. Each session D: fill the orders decided at D−1 (at
 * D's open by default), close delisted names, mark to D's close, then decide with data ≤ D only.
 * Outputs are built in `<outputDir>.partial/` and renamed into place only when complete.
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayOutcome> {
  const requested = options.calendar.sessions(options.from, options.to);
  if (requested.length === 0) throw new UsageError(`no XNYS sessions between ${options.from} and ${options.to}`);
  // Started before the panel loads, so the worker imports its modules and strategies meanwhile.
  const prefetch = StrategyPrefetch.launch(options.strategies, options.config.validation, options.calendar, options.log);
  try {
    return await replaySessions(options, requested, prefetch);
  } finally {
    await prefetch?.close();
  }
}

async function replaySessions(options: ReplayOptions, requested: readonly IsoDate[], launched: StrategyPrefetch | null): Promise<ReplayOutcome> {
  const { config, calendar, log } = options;
  const warmup = requiredHistory(options);
  const panel = await loadReplayPanel(options, requested);
  // Everything the replay reads is in the panel now; DuckDB keeps ~0.5 GB of buffers until closed.
  options.db.close();
  const firstIndex = firstReplayableIndex(panel, requested[0]!, warmup);
  const lastIndex = panel.dateIndex(requested.at(-1)!) >= 0 ? panel.dateIndex(requested.at(-1)!) : panel.dates.length - 1;
  if (firstIndex > lastIndex) {
    throw new DataError(`no session in ${options.from}..${options.to} has the ${warmup} sessions of history the strategies and risk stage need (data starts ${panel.dates[0]})`);
  }
  const notes: string[] = [];
  if (panel.dates[firstIndex]! > requested[0]!) {
    notes.push(`replay starts ${panel.dates[firstIndex]} instead of ${requested[0]}: the first session with ${warmup} sessions of history`);
    log.warn(notes.at(-1));
  }
  if (panel.dates[lastIndex]! < requested.at(-1)!) {
    notes.push(`replay ends ${panel.dates[lastIndex]} instead of ${requested.at(-1)}: the database has no later session`);
    log.warn(notes.at(-1));
  }

  const partial = `${options.outputDir}.partial`;
  const checkpointPath = join(partial, 'checkpoint.json');
  const checkpoint = options.resume ? readCheckpoint(checkpointPath, options.fingerprint) : null;
  if (!options.resume) {
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
  }
  const books = createBooks(options, panel, checkpoint);
  if (checkpoint) notes.push(...checkpoint.notes.filter((n) => !notes.includes(n)));
  const journals = {
    equity: new CsvJournal(join(partial, 'equity.csv'), EQUITY_HEADER, checkpoint?.offsets.equity ?? null),
    trades: new CsvJournal(join(partial, 'trades.csv'), TRADES_HEADER, checkpoint?.offsets.trades ?? null),
    positions: new CsvJournal(join(partial, 'positions.csv'), POSITIONS_HEADER, checkpoint?.offsets.positions ?? null),
    flags: new CsvJournal(join(partial, 'flags.csv'), FLAGS_HEADER, checkpoint?.offsets.flags ?? null),
  };
  const flag = (date: IsoDate, book: string, tickers: readonly string[], what: string) => {
    for (const ticker of tickers) journals.flags.text(date).text(book).text(ticker).text(what).endRow();
  };
  const delistings = new Delistings(lastListedIndex(panel.fields.close, panel.tickers.length, panel.dates.length));
  const sharedOutputs = new SharedStrategyOutputs();
  // Carried through checkpoints: a resumed replay reports the days blocked before it was stopped too.
  const blockedDays = new Set<IsoDate>(checkpoint?.blocked ?? []);
  const startIndex = checkpoint?.nextIndex ?? firstIndex;
  const total = lastIndex - firstIndex + 1;

  const checkpointing = new BackgroundCheckpoint();
  const prefetch = launched?.attach(panel, config.risk.vol_window) ? launched : null;
  prefetch?.handing(startIndex, books[0]!.snapshot?.strategies);
  try {
    for (let d = startIndex; d <= lastIndex; d++) {
      const date = panel.dates[d]!;
      const market = pointInTime(panel, date);
      const critical = (await prefetch?.offer(d, market, sharedOutputs)) ?? replaySessionBlocked(market, config.validation);
      const delistedNames = delistings.before(d);
      const unpriced = unpricedNames(market.field('close'));
      for (const book of books) {
        const filled = fillPending(book, panel, d, config, flag);
        const delisted = delistedHoldings(book.ledger, delistedNames);
        const closed = book.ledger.closeDelisted(delisted, date);
        const mark = book.ledger.mark(market.field('close'), date);
        flag(date, book.name, mark.carried, 'carried_price');
        const fills = [...filled, ...closed];
        for (const f of fills) writeTrade(journals.trades, f);
        if (wantsPositions(config.replay.positions, panel, d, lastIndex)) writePositions(journals.positions, book, market.field('close'), date, mark.equity);
        let marked = mark;
        if (critical) {
          blockedDays.add(date); // a blocked day: production would not trade, so neither does the replay
        } else {
          const result = await runSession(
            {
              date,
              runId: `replay-${date}`,
              market,
              calendar,
              strategies: book.strategies,
              prior: book.snapshot,
              // `shares` below is what the session reads; the position list is built only if asked for.
              holdings: {
                asOf: date,
                cash: book.ledger.cash,
                get positions() {
                  return book.ledger.positions();
                },
              },
              shares: book.ledger.shares,
              portfolioValue: mark.equity,
              prices: carriedPrices(market.field('close'), unpriced, book.ledger),
              forced: new Set(),
              config: book.config,
              log,
              sharedOutputs,
            },
            options.stages,
          );
          if (hasCritical(result.alerts)) {
            blockedDays.add(date); // production would block this run: no orders, and the state stays as it was
          } else {
            book.snapshot = result.snapshot;
            book.pending = ordersFromTrades(result.trades, panel.tickers);
            if (config.replay.timing === 'same_close') {
              // Filled at D's close after the decision: they are D's trades and costs, so D's row is
              // marked again after them.
              const atClose = fillPending(book, panel, d, config, flag, true);
              for (const f of atClose) writeTrade(journals.trades, f);
              if (atClose.length > 0) {
                fills.push(...atClose);
                marked = book.ledger.mark(market.field('close'), date);
              }
            }
          }
        }
        const previous = book.curve.at(-1)?.equity ?? config.replay.initial_capital;
        let traded = 0;
        let costs = 0;
        for (const f of fills) {
          traded += f.notional;
          costs += f.total_cost;
        }
        const point: EquityPoint = { date, equity: marked.equity, turnover: traded / (2 * marked.equity), costs, gross: marked.gross, net: marked.net };
        book.curve.push(point);
        journals.equity.text(date).text(book.name).fixedNumber(point.equity, 2).fixedNumber(point.equity / previous - 1, 8).fixedNumber(point.gross, 6).fixedNumber(point.net, 6).fixedNumber(point.turnover, 6).fixedNumber(point.costs, 2).endRow();
        // The combined book holds every strategy: its state now is what they are handed next session.
        if (book === books[0] && d < lastIndex) prefetch?.handing(d + 1, book.snapshot?.strategies);
      }
      const done = d - firstIndex + 1;
      options.onSession?.(done, total, date);
      if ((done % config.replay.checkpoint_every === 0 || d === lastIndex) && d < lastIndex) {
        await checkpointing.settled();
        const offsets = { equity: journals.equity.mark(), trades: journals.trades.mark(), positions: journals.positions.mark(), flags: journals.flags.mark() };
        // The state at D is taken now; making it durable goes on while the next sessions run. Only a
        // resume reads it, through the schema: plain JSON, its keys in no canonical order (sorting took ~45 ms).
        const text = JSON.stringify({ fingerprint: options.fingerprint, nextIndex: d + 1, notes, blocked: [...blockedDays], offsets, books: books.map(bookCheckpoint) } satisfies Checkpoint);
        const committed = books[0]!.snapshot;
        checkpointing.start(async () => {
          for (const journal of Object.values(journals)) await journal.flush();
          await writeFileAtomic(checkpointPath, text);
          if (committed) await options.store.commit(config.portfolio, committed);
        });
      }
    }
    await checkpointing.settled();
  } finally {
    await checkpointing.abandoned();
    await prefetch?.close();
  }
  if (blockedDays.size > 0) notes.push(`${blockedDays.size} session(s) blocked by CRITICAL checks (no orders): ${[...blockedDays].slice(0, 5).join(', ')}${blockedDays.size > 5 ? ', …' : ''}`);
  for (const journal of Object.values(journals)) await journal.close();

  if (config.replay.timing !== 'same_close' && books.some((b) => b.pending.length > 0)) notes.push(`orders decided on ${panel.dates[lastIndex]} are not filled: the replay ends before their fill`);
  const metrics = books.map((b) => bookMetrics(b.name, b.curve));
  const soloSharpes = metrics.filter((m) => m.book !== COMBINED).map((m) => ({ id: m.book, sharpe: m.sharpe ?? Number.NaN }));
  const summary = {
    from: panel.dates[firstIndex],
    to: panel.dates[lastIndex],
    sessions: total,
    fill: config.replay,
    books: metrics,
    sharpe_weights: soloSharpes.length > 0 ? Object.fromEntries(sharpeAllocations(soloSharpes).map((a) => [a.strategyId, round(a.allocation)])) : null,
    notes,
  };
  await writeFileAtomic(join(partial, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFileAtomic(
    join(partial, 'report.html'),
    renderReport({
      title: `Kairos replay ${panel.dates[firstIndex]} – ${panel.dates[lastIndex]}`,
      generatedFor: { from: panel.dates[firstIndex]!, to: panel.dates[lastIndex]!, config: options.strategies.map((s) => s.id).join(', ') },
      books: books.map((b, i) => ({ name: b.name, curve: b.curve, metrics: metrics[i]! })),
      notes,
    }),
  );
  rmSync(checkpointPath, { force: true });
  await replaceDirectory(partial, options.outputDir);
  const finalState = books[0]?.snapshot;
  if (finalState) await options.store.commit(config.portfolio, finalState);
  return { sessions: total, firstSession: panel.dates[firstIndex]!, metrics, notes };
}

/** The pipeline's panel for the requested range; a range entirely after the data is an error. */
async function loadReplayPanel(options: ReplayOptions, requested: readonly IsoDate[]): Promise<MarketPanel> {
  const panel = await loadPipelinePanel(options, requested[0]!, requested.at(-1)!);
  if (panel.dates.at(-1)! < requested[0]!) throw new DataError(`the database ends ${panel.dates.at(-1)}, before the replay starts (${requested[0]})`);
  return panel;
}

/** Index of the first session ≥ `from` with `warmup` sessions of data before it. */
function firstReplayableIndex(panel: MarketPanel, from: IsoDate, warmup: number): number {
  let i = panel.dates.findIndex((d) => d >= from);
  if (i < 0) i = panel.dates.length;
  return Math.max(i, warmup);
}

function createBooks(options: ReplayOptions, panel: MarketPanel, checkpoint: Checkpoint | null): Book[] {
  const { config, strategies } = options;
  const specs: { name: string; strategies: readonly LoadedStrategy[]; config: KairosConfig }[] = [{ name: COMBINED, strategies, config }];
  if (config.replay.solo_books && strategies.length > 1) {
    const solo = { ...config, allocation: { ...config.allocation, scheme: 'fixed' as const, normalize: false } };
    for (const s of strategies) specs.push({ name: s.id, strategies: [{ ...s, allocation: 1 }], config: solo });
  }
  return specs.map((spec) => {
    const saved = checkpoint?.books.find((b) => b.name === spec.name);
    if (checkpoint && !saved) throw new StateError(`checkpoint has no book "${spec.name}": the config changed since it was written; start without --resume`);
    return {
      ...spec,
      ledger: saved ? BookLedger.restore(saved.ledger, panel.tickers) : new BookLedger(spec.name, panel.tickers, config.replay.initial_capital),
      snapshot: (saved?.snapshot as RunSnapshot | null | undefined) ?? null,
      pending: saved?.pending ?? [],
      curve: saved?.curve ?? [],
    };
  });
}

type Flagger = (date: IsoDate, book: string, tickers: readonly string[], what: string) => void;

function fillPending(book: Book, panel: MarketPanel, d: number, config: KairosConfig, flag: Flagger, sameClose = false): Fill[] {
  if (book.pending.length === 0) return [];
  if ((config.replay.timing === 'same_close') !== sameClose) return [];
  const decision = sameClose ? d : d - 1;
  const reference = fillPriceReference(config.replay.timing, panel, decision);
  if (!reference) return [];
  const n = panel.tickers.length;
  const adv = panel.fields.adv20.subarray(decision * n, (decision + 1) * n);
  const date = panel.dates[reference.sessionIndex]!;
  const { fills, skipped, impactUnavailable } = book.ledger.fill(book.pending, reference.prices, adv, date, config.replay);
  flag(date, book.name, skipped.map((s) => s.ticker), 'order_skipped');
  flag(date, book.name, reference.openFallback.filter((t) => fills.some((f) => f.ticker === t)), 'open_missing');
  if (config.replay.impact_bps > 0) flag(date, book.name, impactUnavailable, 'impact_unavailable');
  book.pending = [];
  return fills;
}

/** D's closes, with each held name that has none (`unpriced`, ascending) valued at its last price (flagged as carried). */
function carriedPrices(closes: Float64Array, unpriced: readonly number[], ledger: BookLedger): Float64Array {
  let prices = closes;
  for (const i of unpriced) {
    if (ledger.shares[i] !== 0) {
      if (prices === closes) prices = closes.slice();
      prices[i] = ledger.lastPrice[i]!;
    }
  }
  return prices;
}

/** The names without a finite close at D, ascending: few on most sessions, asked by every book. */
function unpricedNames(closes: Float64Array): number[] {
  const names: number[] = [];
  for (let i = 0; i < closes.length; i++) if (!Number.isFinite(closes[i]!)) names.push(i);
  return names;
}

function delistedHoldings(ledger: BookLedger, delisted: readonly number[]): number[] {
  const out: number[] = [];
  for (const i of delisted) if (ledger.shares[i] !== 0) out.push(i);
  return out;
}

function wantsPositions(mode: KairosConfig['replay']['positions'], panel: MarketPanel, d: number, last: number): boolean {
  if (d === last || mode === 'daily') return true;
  if (mode === 'final') return false;
  return panel.dates[d]!.slice(0, 7) !== panel.dates[d + 1]!.slice(0, 7);
}

/** Holdings entering the session's decision (after its fills), valued at its close, plus cash. */
function writePositions(journal: CsvJournal, book: Book, closes: Float64Array, date: IsoDate, equity: number): void {
  const { ledger } = book;
  for (let i = 0; i < ledger.shares.length; i++) {
    const shares = ledger.shares[i]!;
    if (shares === 0) continue;
    const price = Number.isFinite(closes[i]!) ? closes[i]! : ledger.lastPrice[i]!;
    const value = shares * price;
    journal.text(date).text(book.name).text(ledger.tickers[i]!).shortestNumber(shares).shortestNumber(price).fixedNumber(value, 2).fixedNumber(value / equity, 6).endRow();
  }
  journal.text(date).text(book.name).text('CASH').fixedNumber(ledger.cash, 2).text('1').fixedNumber(ledger.cash, 2).fixedNumber(ledger.cash / equity, 6).endRow();
}

function writeTrade(journal: CsvJournal, f: Fill): void {
  journal
    .text(f.date)
    .text(f.book)
    .text(f.ticker)
    .text(f.side)
    .shortestNumber(f.shares)
    .shortestNumber(f.reference_price)
    .fixedNumber(f.fill_price, 6)
    .fixedNumber(f.notional, 2)
    .fixedNumber(f.commission, 2)
    .fixedNumber(f.spread_cost, 2)
    .fixedNumber(f.impact_cost, 2)
    .fixedNumber(f.total_cost, 2)
    .text(f.reason)
    .endRow();
}

const checkpointSchema = z.object({
  fingerprint: z.string(),
  nextIndex: z.number().int().min(0),
  notes: z.array(z.string()),
  /** Sessions blocked by CRITICAL checks so far (for the end-of-replay note). */
  blocked: z.array(z.string()),
  offsets: z.object({ equity: z.number().int(), trades: z.number().int(), positions: z.number().int(), flags: z.number().int() }),
  books: z.array(
    z.object({
      name: z.string(),
      ledger: z.custom<LedgerSnapshot>(),
      snapshot: z.unknown(),
      pending: z.array(z.object({ tickerIndex: z.number().int(), shares: z.number() })),
      curve: z.array(z.object({ date: z.string(), equity: z.number(), turnover: z.number(), costs: z.number(), gross: z.number(), net: z.number() })),
    }),
  ),
});
type Checkpoint = z.infer<typeof checkpointSchema>;

function bookCheckpoint(book: Book): Checkpoint['books'][number] {
  return { name: book.name, ledger: book.ledger.snapshot(), snapshot: book.snapshot, pending: book.pending, curve: book.curve };
}

function readCheckpoint(path: string, fingerprint: string): Checkpoint {
  if (!existsSync(path)) throw new UsageError(`--resume: no checkpoint at ${path} (nothing to resume; run without --resume)`);
  const parsed = checkpointSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new StateError(`${path}: unreadable checkpoint (${parsed.error.issues[0]?.message}); run without --resume`);
  if (parsed.data.fingerprint !== fingerprint) throw new UsageError(`--resume: ${path} was written by a replay with other inputs (config, database or dates); run without --resume`);
  return parsed.data;
}

/** What identifies a replay's inputs for `--resume`. */
export function replayFingerprint(parts: { config: KairosConfig; db: string; from: IsoDate; to: IsoDate; strategies: readonly LoadedStrategy[] }): string {
  const text = stableStringify({ config: parts.config, db: parts.db, from: parts.from, to: parts.to, modules: parts.strategies.map((s) => s.module) }, 0);
  return createHash('sha256').update(text).digest('hex');
}
