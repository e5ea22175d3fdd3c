import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixed, toCsv } from '../artifacts/csv.js';
import { writeFileAtomic } from '../core/atomic.js';
import { BlockedError, OutputError } from '../core/errors.js';
import { approvalFor, SUBMITTED_FILE, type ApprovalRecord } from './approval.js';
import { readRunDirectory, TRADES_HEADER, type ApprovedOrder } from './run-directory.js';

export type { ApprovedOrder } from './run-directory.js';

export interface SubmissionContext {
  readonly date: string;
  readonly portfolioId: string;
}

export interface SubmissionReceipt {
  readonly broker: string;
  readonly submissionId: string;
  /** ISO timestamp. */
  readonly submittedAt: string;
  readonly nOrders: number;
}

/** Where approved orders go. Only submitApproved calls it, and only with approved orders. */
export interface BrokerAdapter {
  readonly name: string;
  submit(orders: readonly ApprovedOrder[], context: SubmissionContext): Promise<SubmissionReceipt>;
}

/** Sends nothing: accepts the orders and issues a receipt (the submission record is submitted.csv). */
export class PaperBroker implements BrokerAdapter {
  readonly name = 'paper';

  constructor(private readonly now: () => Date = () => new Date()) {}

  submit(orders: readonly ApprovedOrder[], _context: SubmissionContext): Promise<SubmissionReceipt> {
    return Promise.resolve({ broker: this.name, submissionId: `paper-${randomUUID()}`, submittedAt: this.now().toISOString(), nOrders: orders.length });
  }
}

export interface SubmissionResult {
  readonly receipt: SubmissionReceipt;
  readonly approval: ApprovalRecord;
  readonly orders: readonly ApprovedOrder[];
}

/** Held (O_EXCL) while an adapter call is in flight; left behind if the call fails. */
export const CLAIM_FILE = '.submission.claim';

/**
 * Passes DIR's trades to `adapter` only when approval.json covers the exact trades.csv bytes the
 * orders are parsed from, and only once: DIR/submitted.csv records a submission, and a claim file
 * stops a concurrent submit. Any refusal is a BlockedError (exit 5) and the adapter is not called.
 */
export async function submitApproved(dir: string, adapter: BrokerAdapter): Promise<SubmissionResult> {
  const submittedPath = join(dir, SUBMITTED_FILE);
  const claimPath = join(dir, CLAIM_FILE);
  if (existsSync(submittedPath)) throw alreadySubmitted(submittedPath);
  const run = await readRunDirectory(dir);
  const approval = await approvalFor(run);
  await claim(claimPath);
  // Re-checked under the claim: a submit that finished since the first check must not repeat.
  if (existsSync(submittedPath)) {
    await rm(claimPath, { force: true });
    throw alreadySubmitted(submittedPath);
  }
  // If the adapter throws, orders may have reached the broker: the claim stays so nothing resubmits blindly.
  const receipt = await adapter.submit(run.orders, { date: run.date, portfolioId: run.portfolioId });
  await writeFileAtomic(submittedPath, submittedCsv(run.orders, receipt));
  await rm(claimPath, { force: true });
  return { receipt, approval, orders: run.orders };
}

function submittedCsv(orders: readonly ApprovedOrder[], receipt: SubmissionReceipt): string {
  const rows = orders.map((o) => [o.ticker, o.action, o.shares, fixed(o.estimated_value, 2), String(o.price), o.reason, receipt.broker, receipt.submissionId]);
  return toCsv([...TRADES_HEADER, 'broker', 'submission_id'], rows);
}

async function claim(path: string): Promise<void> {
  try {
    await writeFile(path, `${process.pid} ${new Date().toISOString()}\n`, { flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new BlockedError(
        `${path} exists: another submit is in progress, or one was interrupted after reaching the broker; check the broker's orders before removing it`,
      );
    }
    throw new OutputError(`cannot write ${path}: ${code ?? (error as Error).message}`);
  }
}

function alreadySubmitted(path: string): BlockedError {
  return new BlockedError(`${path} exists: these trades were already submitted; nothing sent again`);
}
