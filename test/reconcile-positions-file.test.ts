import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { parsePositionsCsv, readPositionsFile } from '../src/reconcile/positions-file.js';

describe('parsePositionsCsv', () => {
  it('reads shares, shorts, unknown tickers, the CASH row and every price given (zero rows included)', () => {
    const parsed = parsePositionsCsv('Ticker,Shares,Price\nMSFT,10,440\n\nZZZQ, -5 ,12.5\nCASH,-250.75,\nNVDA,0,125\nAAPL,3,\n', 'broker.csv');
    expect(parsed.book).toEqual({
      cash: -250.75,
      positions: [
        { ticker: 'MSFT', shares: 10 },
        { ticker: 'ZZZQ', shares: -5 },
        { ticker: 'AAPL', shares: 3 },
      ],
    });
    expect([...parsed.prices]).toEqual([
      ['MSFT', 440],
      ['ZZZQ', 12.5],
      ['NVDA', 125],
    ]);
  });

  it('accepts a file without a price column or a CASH row (cash 0)', () => {
    expect(parsePositionsCsv('ticker,shares\nNVDA,4\n', 'broker.csv')).toEqual({ book: { cash: 0, positions: [{ ticker: 'NVDA', shares: 4 }] }, prices: new Map() });
  });

  it.each([
    ['ticker,shares\nAAPL,"5\n', /^broker\.csv:2:\d+: malformed CSV/],
    ['ticker,shares\nAAPL,5,7\n', /^broker\.csv:2:3: expected 2 fields, found 3$/],
    ['ticker,qty\nAAPL,5\n', /^broker\.csv:1:1: missing column "shares"/],
    ['ticker,shares\nAAPL,five\n', /^broker\.csv:2:2: shares "five" is not a number$/],
    ['ticker,shares\nCASH,lots\n', /^broker\.csv:2:2: shares "lots" is not a number$/],
    ['ticker,shares\nAAPL,2.5\n', /^broker\.csv:2:2: shares 2\.5 of AAPL is not a whole number of shares$/],
    ['ticker,shares\nAAPL,5\nMSFT,1\nAAPL,2\n', /^broker\.csv:4:1: duplicate ticker AAPL \(first on line 2\)$/],
    ['ticker,shares,price\nAAPL,5,0\n', /^broker\.csv:2:3: price "0" is not a positive number$/],
    ['ticker,shares\n,5\n', /^broker\.csv:2:1: empty ticker$/],
    ['', /^broker\.csv:1:1: empty file/],
  ])('reports %j as one DataError naming file, line and column', (text, message) => {
    expect(() => parsePositionsCsv(text, 'broker.csv')).toThrow(DataError);
    expect(() => parsePositionsCsv(text, 'broker.csv')).toThrow(message);
  });
});

describe('readPositionsFile', () => {
  it('reads a file and names it when it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kairos-reconcile-'));
    try {
      const path = join(dir, 'broker.csv');
      await writeFile(path, 'ticker,shares\nAAPL,1\nCASH,5\n');
      expect((await readPositionsFile(path)).book).toEqual({ cash: 5, positions: [{ ticker: 'AAPL', shares: 1 }] });
      await expect(readPositionsFile(join(dir, 'missing.csv'))).rejects.toThrow(/missing\.csv: cannot read positions file \(ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
