import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { stableStringify } from '../../core/json.js';
import { createLogger } from '../../core/log.js';
import { KairosDatabase } from '../../data/database.js';
import { buildFeatures } from '../../data/features.js';
import { stagePrices, stageSectors, type PriceImportSummary, type SectorImportSummary } from '../../data/import.js';
import { printLines } from '../arguments.js';

interface ImportFlags {
  prices?: string;
  sectors?: string;
  db: string;
}

interface FeatureFlags {
  db: string;
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('Bring your own data: import prices and sectors from CSV, build the default feature tables.');

  data
    .command('import')
    .description(
      'Import CSV files into the DuckDB database (created if missing), then print a JSON summary. ' +
        'New (ticker, date) rows are added, identical ones skipped; a conflicting row aborts the import with nothing written.',
    )
    .option('--prices <file>', 'prices CSV (.csv or .csv.gz) with header ticker,date,open,high,low,close,volume')
    .option('--sectors <file>', 'sectors CSV with header ticker,name,sector')
    .requiredOption('--db <file>', 'DuckDB database file')
    .action(async (flags: ImportFlags) => {
      await importCommand(flags);
    });

  data
    .command('features')
    .description('Rebuild feat_matrix_v2 and regime from sep_base with the documented default formulas; print rows written and date range as JSON.')
    .requiredOption('--db <file>', 'DuckDB database file')
    .action(async (flags: FeatureFlags) => {
      await featuresCommand(flags);
    });
}

async function importCommand(flags: ImportFlags): Promise<void> {
  if (flags.prices === undefined && flags.sectors === undefined) throw new UsageError('data import: give --prices, --sectors or both');
  const log = createLogger();
  const created = !existsSync(flags.db);
  const db = await KairosDatabase.open(flags.db);
  let failed = true;
  try {
    const summary: { sectors?: SectorImportSummary; prices?: PriceImportSummary } = {};
    // Both files or neither: each is validated first, then both merge in one transaction, so a
    // bad prices file cannot leave its sectors imported.
    log.info({ sectors: flags.sectors, prices: flags.prices, db: flags.db }, 'importing');
    const sectors = flags.sectors === undefined ? null : await stageSectors(db, flags.sectors);
    try {
      const prices = flags.prices === undefined ? null : await stagePrices(db, flags.prices);
      try {
        await db.transaction(async () => {
          if (sectors) summary.sectors = await sectors.commit();
          if (prices) summary.prices = await prices.commit();
        });
      } finally {
        await prices?.discard();
      }
    } finally {
      await sectors?.discard();
    }
    printLines([stableStringify(summary)]);
    failed = false;
  } finally {
    db.close();
    // A failed import into a database it just created leaves no empty database behind.
    if (failed && created) await Promise.all([rm(flags.db, { force: true }), rm(`${flags.db}.wal`, { force: true })]);
  }
}

async function featuresCommand(flags: FeatureFlags): Promise<void> {
  const log = createLogger();
  const db = await KairosDatabase.open(flags.db, { mustExist: true });
  try {
    const started = performance.now();
    const summary = await buildFeatures(db);
    log.info({ db: flags.db, seconds: Math.round(performance.now() - started) / 1000 }, 'features built');
    printLines([stableStringify(summary)]);
  } finally {
    db.close();
  }
}
