import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { approveTrades } from '../src/approval/approval.js';
import { PaperBroker, submitApproved, type ApprovedOrder, type BrokerAdapter, type SubmissionContext, type SubmissionReceipt } from '../src/approval/broker.js';
import { BlockedError, DataError } from '../src/core/errors.js';
import { parseCsv, useTempDir } from './helpers/cli.js';

const tmp = useTempDir('kairos-approval-submit-');

const TRADES =
  'ticker,action,shares,estimated_value,price,reason\n' +
  'AAA,BUY,10,1234.50,123.45,new_position\n' +
  'BBB,SELL,3,300.00,100,exit_position\n';

const ORDERS: ApprovedOrder[] = [
  { ticker: 'AAA', action: 'BUY', shares: 10, estimated_value: 1234.5, price: 123.45, reason: 'new_position' },
  { ticker: 'BBB', action: 'SELL', shares: 3, estimated_value: 300, price: 100, reason: 'exit_position' },
];

/** A rebalance output directory written by hand: trades.csv and a minimal summary. */
async function runDir(trades = TRADES): Promise<string> {
  const dir = tmp();
  await writeFile(join(dir, 'trades.csv'), trades);
  await writeFile(join(dir, 'portfolio_summary.json'), JSON.stringify({ date: '2025-12-31', portfolio_id: 'main' }));
  return dir;
}

/** Records every call; the invariant is checked on what it saw. */
class RecordingBroker implements BrokerAdapter {
  readonly name = 'recording';
  readonly calls: { orders: readonly ApprovedOrder[]; context: SubmissionContext }[] = [];
  submit(orders: readonly ApprovedOrder[], context: SubmissionContext): Promise<SubmissionReceipt> {
    this.calls.push({ orders: structuredClone(orders), context });
    return Promise.resolve({ broker: this.name, submissionId: `rec-${this.calls.length}`, submittedAt: '2026-01-02T14:30:00.000Z', nOrders: orders.length });
  }
}

const approve = (dir: string) => approveTrades(dir, { by: 'alice', note: 'ok', now: () => new Date('2026-01-02T14:00:00Z') });

describe('submitApproved', () => {
  it('hands the adapter exactly the approved trades, once, and records the submission', async () => {
    const dir = await runDir();
    const approval = await approve(dir);
    expect(approval).toMatchObject({ date: '2025-12-31', portfolio_id: 'main', approved_by: 'alice', approved_at: '2026-01-02T14:00:00.000Z', note: 'ok', n_trades: 2, gross_value: 1534.5 });
    const broker = new RecordingBroker();
    const { receipt } = await submitApproved(dir, broker);
    expect(broker.calls).toEqual([{ orders: ORDERS, context: { date: '2025-12-31', portfolioId: 'main' } }]);
    expect(receipt.submissionId).toBe('rec-1');
    const submitted = parseCsv(await readFile(join(dir, 'submitted.csv'), 'utf8'));
    expect(submitted.header).toEqual(['ticker', 'action', 'shares', 'estimated_value', 'price', 'reason', 'broker', 'submission_id']);
    expect(submitted.rows.map((r) => [r.ticker, r.shares, r.estimated_value, r.submission_id])).toEqual([
      ['AAA', '10', '1234.50', 'rec-1'],
      ['BBB', '3', '300.00', 'rec-1'],
    ]);
    expect(existsSync(join(dir, '.submission.claim'))).toBe(false);
  });

  it('refuses without approval.json and never calls the adapter', async () => {
    const dir = await runDir();
    const broker = new RecordingBroker();
    await expect(submitApproved(dir, broker)).rejects.toThrow(BlockedError);
    await expect(submitApproved(dir, broker)).rejects.toThrow(/no approval/);
    expect(broker.calls).toEqual([]);
    expect(existsSync(join(dir, 'submitted.csv'))).toBe(false);
  });

  it('refuses when trades.csv changed after approval, even by one byte', async () => {
    const dir = await runDir();
    await approve(dir);
    await writeFile(join(dir, 'trades.csv'), TRADES.replace('10,1234.50', '11,1357.95'));
    const broker = new RecordingBroker();
    await expect(submitApproved(dir, broker)).rejects.toThrow(/trades\.csv changed after approval: sha256 .* does not match the approved/);
    expect(broker.calls).toEqual([]);
  });

  it('refuses an unreadable or tampered approval', async () => {
    const dir = await runDir();
    const broker = new RecordingBroker();
    await writeFile(join(dir, 'approval.json'), '{not json');
    await expect(submitApproved(dir, broker)).rejects.toThrow(/approval\.json: not valid JSON/);
    await approve(dir);
    const approval = JSON.parse(await readFile(join(dir, 'approval.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'approval.json'), JSON.stringify({ ...approval, approved_by: undefined }));
    await expect(submitApproved(dir, broker)).rejects.toThrow(/not a valid approval \(approved_by/);
    await writeFile(join(dir, 'approval.json'), JSON.stringify({ ...approval, portfolio_id: 'other' }));
    await expect(submitApproved(dir, broker)).rejects.toThrow(/approves portfolio other on 2025-12-31, but the directory holds portfolio main/);
    expect(broker.calls).toEqual([]);
  });

  it('refuses a second submit, and a concurrent one', async () => {
    const dir = await runDir();
    await approve(dir);
    const broker = new RecordingBroker();
    const [first, second] = await Promise.allSettled([submitApproved(dir, broker), submitApproved(dir, broker)]);
    expect([first.status, second.status].sort()).toEqual(['fulfilled', 'rejected']);
    await expect(submitApproved(dir, broker)).rejects.toThrow(/already submitted/);
    expect(broker.calls).toHaveLength(1);
  });

  it('keeps the claim when the adapter fails, so nothing resubmits blindly', async () => {
    const dir = await runDir();
    await approve(dir);
    const failing: BrokerAdapter = { name: 'down', submit: () => Promise.reject(new Error('connection reset')) };
    await expect(submitApproved(dir, failing)).rejects.toThrow('connection reset');
    const broker = new RecordingBroker();
    await expect(submitApproved(dir, broker)).rejects.toThrow(/interrupted after reaching the broker/);
    expect(broker.calls).toEqual([]);
    await rm(join(dir, '.submission.claim'));
    await submitApproved(dir, broker);
    expect(broker.calls).toHaveLength(1);
  });

  it('PaperBroker issues a receipt for the orders', async () => {
    const dir = await runDir();
    await approve(dir);
    const { receipt } = await submitApproved(dir, new PaperBroker(() => new Date('2026-01-02T15:00:00Z')));
    expect(receipt).toMatchObject({ broker: 'paper', nOrders: 2, submittedAt: '2026-01-02T15:00:00.000Z' });
    expect(receipt.submissionId).toMatch(/^paper-[0-9a-f-]{36}$/);
  });

  it('refuses malformed trades with the line named (data error), before approval', async () => {
    const dir = await runDir(TRADES.replace('BBB,SELL,3', 'BBB,HOLD,3'));
    await expect(approve(dir)).rejects.toThrow(DataError);
    await expect(approve(dir)).rejects.toThrow(/trades\.csv:3:2: action "HOLD" of BBB is not BUY or SELL/);
    expect(existsSync(join(dir, 'approval.json'))).toBe(false);
  });
});
