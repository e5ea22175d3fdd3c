import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/core/errors.js';
import { holdingsValue, parseHoldingsCsv, parsePriorPicksCsv, readHoldingsFile, sharesVector, type HoldingsContext } from '../src/trading/holdings.js';
import { fakeMarket } from './helpers/fake-market.js';

const context: HoldingsContext = {
  source: 'holdings.csv',
  date: '2025-12-30',
  tickers: ['AAPL', 'HALT', 'MSFT', 'NVDA'],
  closes: Float64Array.from([195, Number.NaN, 445, 125]),
};

describe('parseHoldingsCsv', () => {
  it('reads positions, the CASH row and falls back to the file price where the market has none', () => {
    const holdings = parseHoldingsCsv('Ticker,Shares,Price\nMSFT,10,440\n\nAAPL, 5 ,\nHALT,3,12.5\nCASH,1000.5,\nNVDA,0,\n', context);
    expect(holdings).toEqual({
      positions: [
        { ticker: 'AAPL', shares: 5, price: 195 },
        { ticker: 'HALT', shares: 3, price: 12.5 },
        { ticker: 'MSFT', shares: 10, price: 445 },
      ],
      cash: 1000.5,
    });
    expect(holdingsValue(holdings)).toBeCloseTo(1000.5 + 975 + 37.5 + 4450, 9);
    expect([...sharesVector(holdings.positions, context.tickers)]).toEqual([5, 3, 10, 0]);
  });

  it('accepts a file without a price column', () => {
    expect(parseHoldingsCsv('ticker,shares\nNVDA,4\n', context).positions).toEqual([{ ticker: 'NVDA', shares: 4, price: 125 }]);
  });

  it.each([
    ['ticker,shares\nAAPL,"5\n', /^holdings\.csv:2:\d+: malformed CSV/],
    ['ticker,shares\nAAPL,5,7\n', /^holdings\.csv:2:3: expected 2 fields, found 3$/],
    ['ticker,shares\nAAPL\n', /^holdings\.csv:2:2: expected 2 fields, found 1$/],
    ['ticker,qty\nAAPL,5\n', /^holdings\.csv:1:1: missing column "shares"/],
    ['ticker,shares\nAAPL,five\n', /^holdings\.csv:2:2: shares "five" is not a number$/],
    ['ticker,shares\nAAPL,\n', /^holdings\.csv:2:2: shares "" is not a number$/],
    ['ticker,shares\nAAPL,-5\n', /^holdings\.csv:2:2: negative shares -5 of AAPL in a long-only holdings file$/],
    ['ticker,shares\nAAPL,2.5\n', /^holdings\.csv:2:2: shares 2\.5 of AAPL is not a whole number of shares$/],
    ['ticker,shares\nAAPL,5\nMSFT,1\nAAPL,2\n', /^holdings\.csv:4:1: duplicate ticker AAPL \(first on line 2\)$/],
    ['ticker,shares\nTSLA,5\n', /^holdings\.csv:2:1: unknown ticker TSLA \(not in the market data\)$/],
    ['ticker,shares\nHALT,5\n', /^holdings\.csv:2:1: HALT has no price at 2025-12-30 in the market data$/],
    ['ticker,shares,price\nHALT,5,\n', /^holdings\.csv:2:3: HALT has no price at 2025-12-30 in the market data or in the file$/],
    ['ticker,shares,price\nAAPL,5,-1\n', /^holdings\.csv:2:3: price "-1" is not a positive number$/],
    ['ticker,shares\n,5\n', /^holdings\.csv:2:1: empty ticker$/],
    ['ticker,shares,ticker\nAAPL,5,AAPL\n', /^holdings\.csv:1:3: duplicate column "ticker"$/],
    ['', /^holdings\.csv:1:1: empty file/],
  ])('reports %j as one line naming file, line and column', (text, message) => {
    expect(() => parseHoldingsCsv(text, context)).toThrow(DataError);
    expect(() => parseHoldingsCsv(text, context)).toThrow(message);
  });
});

describe('parsePriorPicksCsv', () => {
  it('takes shares from target_shares, ignores other columns and accepts shorts', () => {
    const picks = 'ticker,weight,target_shares,sector,alpha_z,vol_blend,adv_20,rank\nMSFT,0.0274,890,Technology,2.21,0.16,98000000,1\nAAPL,-0.01,-50,Technology,-2.1,0.18,125000000,2\n';
    expect(parsePriorPicksCsv(picks, { ...context, source: 'picks.csv' })).toEqual({
      positions: [
        { ticker: 'AAPL', shares: -50, price: 195 },
        { ticker: 'MSFT', shares: 890, price: 445 },
      ],
      cash: 0,
    });
  });

  it('does not treat CASH as a cash row', () => {
    expect(() => parsePriorPicksCsv('ticker,target_shares\nCASH,10\n', { ...context, source: 'picks.csv' })).toThrow(/^picks\.csv:2:1: unknown ticker CASH/);
  });
});

describe('readHoldingsFile', () => {
  it('reads a file against the market at D and reports unreadable files as data errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-holdings-'));
    const path = join(dir, 'holdings.csv');
    writeFileSync(path, 'ticker,shares\nB,3\nCASH,50\n');
    const market = fakeMarket({ names: [{ ticker: 'A', close: 10 }, { ticker: 'B', close: 20 }] });
    await expect(readHoldingsFile(path, 'holdings', market)).resolves.toEqual({
      asOf: market.date,
      cash: 50,
      positions: [{ ticker: 'B', shares: 3, price: 20 }],
    });
    await expect(readHoldingsFile(join(dir, 'missing.csv'), 'picks', market)).rejects.toThrow(/missing\.csv: cannot read picks file/);
  });
});
