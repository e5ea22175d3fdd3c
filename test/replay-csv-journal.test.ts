import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { toCsv } from '../src/artifacts/csv.js';
import { CsvJournal } from '../src/replay/csv-journal.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function journalPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-journal-'));
  dirs.push(dir);
  return join(dir, 'rows.csv');
}

type Cell = string | number | null;

describe('CsvJournal', () => {
  it('writes exactly what toCsv formats: quoting, non-ASCII, numbers, empty cells', () => {
    const header = ['date', 'book', 'ticker', 'value'];
    const rows: Cell[][] = [
      ['2024-01-02', 'combined', 'AAPL', 1.5],
      ['2024-01-02', 'a "quoted" book', 'BRK,B', -0],
      ['2024-01-03', 'ünïcødé 📈', 'line\nbreak', null],
      ['2024-01-03', '', 'cr\rhere', 1e-7],
    ];
    const path = journalPath();
    const journal = new CsvJournal(path, header, null);
    for (const row of rows) journal.append(row);
    journal.close();
    expect(readFileSync(path, 'utf8')).toBe(toCsv(header, rows));
  });

  it('agrees with toCsv on any cells, across buffer boundaries and for a cell longer than the buffer', () => {
    const long = fc.constantFrom('a', 'é', ',').map((unit) => unit.repeat(300_000));
    const cell = fc.oneof({ arbitrary: fc.string({ unit: 'binary' }), weight: 10 }, { arbitrary: fc.double(), weight: 10 }, { arbitrary: fc.constant(null), weight: 2 }, { arbitrary: long, weight: 1 });
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 1, maxLength: 5 }), { maxLength: 40 }), (rows) => {
        const path = journalPath();
        const journal = new CsvJournal(path, ['x'], null);
        for (const row of rows) journal.append(row);
        journal.close();
        expect(readFileSync(path, 'utf8')).toBe(toCsv(['x'], rows));
      }),
      { numRuns: 60 },
    );
  });

  it('resumes at a flushed length, dropping what was appended after it', () => {
    const path = journalPath();
    const first = new CsvJournal(path, ['n'], null);
    for (let i = 0; i < 50_000; i++) first.append([i]);
    const pinned = first.flush();
    for (let i = 0; i < 10; i++) first.append(['after the checkpoint']);
    first.close();
    const resumed = new CsvJournal(path, ['n'], pinned);
    resumed.append(['resumed']);
    resumed.close();
    const expected = toCsv(['n'], [...Array.from({ length: 50_000 }, (_, i) => [i]), ['resumed']]);
    expect(readFileSync(path, 'utf8')).toBe(expected);
    expect(pinned).toBe(Buffer.byteLength(toCsv(['n'], Array.from({ length: 50_000 }, (_, i) => [i]))));
  });
});
