import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic.js';
import { BlockedError, UsageError } from '../core/errors.js';
import { grossValue, readRunDirectory, TRADES_FILE, type RunDirectory } from './run-directory.js';

export const APPROVAL_FILE = 'approval.json';
export const SUBMITTED_FILE = 'submitted.csv';

const ApprovalSchema = z.object({
  date: z.string(),
  portfolio_id: z.string(),
  approved_by: z.string().min(1),
  approved_at: z.iso.datetime(),
  note: z.string().nullable(),
  trades_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  n_trades: z.number().int().nonnegative(),
  gross_value: z.number().nonnegative(),
});

/** DIR/approval.json: who signed off which exact trades.csv (by its sha256). */
export type ApprovalRecord = z.infer<typeof ApprovalSchema>;

export interface ApproveOptions {
  readonly by: string;
  readonly note?: string;
  readonly now?: () => Date;
}

/** Signs off the trades of a rebalance output directory: writes DIR/approval.json atomically. */
export async function approveTrades(dir: string, options: ApproveOptions): Promise<ApprovalRecord> {
  const by = options.by.trim();
  if (by === '') throw new UsageError('--by: expected the approver\'s name, got an empty string');
  const run = await readRunDirectory(dir);
  if (existsSync(join(dir, SUBMITTED_FILE))) {
    throw new BlockedError(`${join(dir, SUBMITTED_FILE)} exists: these trades were already submitted; approving them again changes nothing`);
  }
  const record: ApprovalRecord = {
    date: run.date,
    portfolio_id: run.portfolioId,
    approved_by: by,
    approved_at: (options.now ?? (() => new Date()))().toISOString(),
    note: options.note ?? null,
    trades_sha256: run.tradesSha256,
    n_trades: run.orders.length,
    gross_value: grossValue(run.orders),
  };
  await writeFileAtomic(join(dir, APPROVAL_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/**
 * The approval that covers the directory's current trades.csv, or a BlockedError saying why
 * there is none: no approval, an unreadable one, or trades (or the run) changed since sign-off.
 */
export async function approvalFor(run: RunDirectory): Promise<ApprovalRecord> {
  const path = join(run.dir, APPROVAL_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no approval' : `cannot read the approval (${code ?? (error as Error).message})`;
    throw new BlockedError(`${path}: ${why}; run \`kairos approve --output-dir ${run.dir} --by NAME\` first`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BlockedError(`${path}: not valid JSON; approve the trades again`);
  }
  const result = ApprovalSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new BlockedError(`${path}: not a valid approval (${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'}); approve the trades again`);
  }
  const approval = result.data;
  if (approval.trades_sha256 !== run.tradesSha256) {
    throw new BlockedError(
      `${join(run.dir, TRADES_FILE)} changed after approval: sha256 ${run.tradesSha256.slice(0, 12)}… does not match the approved ${approval.trades_sha256.slice(0, 12)}… (approved by ${approval.approved_by} at ${approval.approved_at}); review and approve again`,
    );
  }
  if (approval.date !== run.date || approval.portfolio_id !== run.portfolioId) {
    throw new BlockedError(
      `${path}: approves portfolio ${approval.portfolio_id} on ${approval.date}, but the directory holds portfolio ${run.portfolioId} on ${run.date}; approve the trades again`,
    );
  }
  return approval;
}
