import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fixed, toCsv } from '../src/artifacts/csv.js';
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

/** A cell as the journal is told to write it. */
type Cell = { text: string } | { shortest: number } | { fixed: number; decimals: number };

function write(journal: CsvJournal, row: readonly Cell[]): void {
  for (const cell of row) {
    if ('text' in cell) journal.text(cell.text);
    else if ('shortest' in cell) journal.shortestNumber(cell.shortest);
    else journal.fixedNumber(cell.fixed, cell.decimals);
  }
  journal.endRow();
}

/** The same cell as toCsv takes it. */
function csvValue(cell: Cell): string | number {
  if ('text' in cell) return cell.text;
  if ('shortest' in cell) return cell.shortest;
  return fixed(cell.fixed, cell.decimals);
}

async function journalText(header: readonly string[], rows: readonly (readonly Cell[])[]): Promise<string> {
  const path = journalPath();
  const journal = new CsvJournal(path, header, null);
  for (const row of rows) write(journal, row);
  await journal.close();
  return readFileSync(path, 'utf8');
}

async function expectLikeToCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): Promise<void> {
  expect(await journalText(header, rows)).toBe(toCsv(header, rows.map((row) => row.map(csvValue))));
}

/** The double `ulps` steps from x, away from zero for ulps > 0. */
function ulpsAway(x: number, ulps: number): number {
  const bits = new Float64Array([Math.abs(x)]);
  new BigInt64Array(bits.buffer)[0]! += BigInt(ulps);
  return Math.sign(x) * bits[0]!;
}

/** Decimals the replay writes, the edges of the exact powers of ten, and a few past them. */
const decimals = fc.oneof(fc.constantFrom(2, 6, 8), fc.integer({ min: 0, max: 22 }), fc.constantFrom(23, 30, 100));

/** Doubles of every kind, and the amounts a replay computes: cents, 4-decimal prices and their products, halves and their neighbours. */
const double = fc.oneof(
  fc.double(),
  fc.double({ min: -1e7, max: 1e7 }),
  fc.double({ min: -1e-3, max: 1e-3 }),
  fc.integer({ min: -1e11, max: 1e11 }).map((n) => n / 100),
  fc.tuple(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000_000 }), fc.constantFrom(0.005, 5 / 1e4, 1)).map(([shares, price, rate]) => shares * (price / 1e4) * rate),
  fc
    .tuple(fc.integer({ min: -1e8, max: 1e8 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: -3, max: 3 }))
    .map(([n, places, ulps]) => ulpsAway((n + 0.5) / Number(`1e${places}`), ulps)),
);

describe('CsvJournal', () => {
  it('writes exactly what toCsv formats: quoting, non-ASCII, numbers, empty cells', async () => {
    await expectLikeToCsv(
      ['date', 'book', 'ticker', 'value', 'cost'],
      [
        [{ text: '2024-01-02' }, { text: 'combined' }, { text: 'AAPL' }, { shortest: 1.5 }, { fixed: 0.125, decimals: 2 }],
        [{ text: '2024-01-02' }, { text: 'a "quoted" book' }, { text: 'BRK,B' }, { shortest: -0 }, { fixed: -0.004, decimals: 2 }],
        [{ text: '2024-01-03' }, { text: 'ünïcødé 📈' }, { text: 'line\nbreak' }, { shortest: 1e-7 }, { fixed: Number.NaN, decimals: 2 }],
        [{ text: '2024-01-03' }, { text: '' }, { text: 'cr\rhere' }, { shortest: Number.POSITIVE_INFINITY }, { fixed: 1e21, decimals: 2 }],
      ],
    );
  });

  it('agrees with toCsv on any cells, across buffer boundaries and for a cell longer than the buffer', async () => {
    const long = fc.constantFrom('a', 'é', ',').map((unit) => unit.repeat(300_000));
    const cell: fc.Arbitrary<Cell> = fc.oneof(
      { arbitrary: fc.string({ unit: 'binary' }).map((text) => ({ text })), weight: 10 },
      { arbitrary: double.map((shortest) => ({ shortest })), weight: 10 },
      { arbitrary: fc.tuple(double, decimals).map(([value, places]) => ({ fixed: value, decimals: places })), weight: 10 },
      { arbitrary: long.map((text) => ({ text })), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(cell, { minLength: 1, maxLength: 5 }), { maxLength: 40 }), (rows) => expectLikeToCsv(['x'], rows)),
      { numRuns: 60 },
    );
  });

  it('agrees with toCsv when columns repeat their text from row to row, quoted, non-ASCII and longer than the buffer included', async () => {
    const long = 'é,'.repeat(200_000);
    const repeated = fc.constantFrom('2024-01-02', 'combined', 'a "q", b', 'ünï 📈', '', long, 'line\nbreak');
    const cell: fc.Arbitrary<Cell> = fc.oneof(
      { arbitrary: repeated.map((text) => ({ text })), weight: 10 },
      { arbitrary: double.map((shortest) => ({ shortest })), weight: 2 },
    );
    const row = fc.array(cell, { minLength: 1, maxLength: 4 });
    // Rows repeated whole make every column repeat; shuffled ones mix hits and misses per column.
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(row, fc.integer({ min: 1, max: 4 })), { maxLength: 12 }), (runs) =>
        expectLikeToCsv(['x'], runs.flatMap(([r, times]) => Array.from({ length: times }, () => r))),
      ),
      { numRuns: 40 },
    );
  });

  it('writes fixedNumber as fixed() does at ties, near ties and at the edges', async () => {
    const values = [
      0.125, 0.375, 1.005, 2.675, 8.345, 1.45, 0.5, 2.5, 0.015, 0.315, 1357.305, 1368.185, 0.9550000000000001, -0.004, -0.005, -0.0049999, -0, 0, 1e-7,
      -1e-7, 5e-324, 123456.789, 2 ** 39 / 100, 549755813887.5, 2 ** 53 / 10, 2 ** 53 / 10 - 0.5, 9007199254740.5, 1e21, -1e21, Number.MAX_VALUE,
      0.1 + 0.2, 1 / 3, 2 / 3, 999.9999995, -999.9999995, 0.49999999999999994, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
    ];
    const places = [0, 1, 2, 3, 6, 8, 9, 12, 15, 20, 22, 23, 50, 100];
    await expectLikeToCsv(['x'], values.flatMap((value) => places.flatMap((d) => [[{ fixed: value, decimals: d }], [{ fixed: -value, decimals: d }]])));
  });

  it('writes fixedNumber as fixed() does on any double', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(double, decimals), { minLength: 1, maxLength: 2_000 }), (cells) =>
        expectLikeToCsv(['x'], cells.map(([value, places]) => [{ fixed: value, decimals: places }])),
      ),
      { numRuns: 150 },
    );
  });

  it('writes shortestNumber as String() does on any double, prices above all', async () => {
    const price = fc.tuple(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 10 })).map(([n, places]) => n / Number(`1e${places}`));
    const edges = [0, -0, 1e-6, ulpsAway(1e-6, -1), 1e-7, 0.1 + 0.2, 2 ** 53, 2 ** 53 / 10, 1e21, 123e-20, Number.MIN_VALUE, Number.MAX_VALUE, Number.NaN, Number.NEGATIVE_INFINITY];
    await expectLikeToCsv(['x'], edges.map((value) => [{ shortest: value }]));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(double, price), { minLength: 1, maxLength: 2_000 }), (values) => expectLikeToCsv(['x'], values.map((value) => [{ shortest: value }]))),
      { numRuns: 150 },
    );
  });

  it('resumes at a flushed length, dropping what was written after it', async () => {
    const numbered = Array.from({ length: 50_000 }, (_, i): Cell[] => [{ shortest: i }, { fixed: i / 7, decimals: 6 }]);
    const path = journalPath();
    const first = new CsvJournal(path, ['n', 'seventh'], null);
    for (const row of numbered) write(first, row);
    const pinned = await first.flush();
    for (let i = 0; i < 10; i++) write(first, [{ text: 'after the checkpoint' }, { shortest: i }]);
    await first.close();
    const resumed = new CsvJournal(path, ['n', 'seventh'], pinned);
    write(resumed, [{ text: 'resumed' }, { fixed: 0.5, decimals: 2 }]);
    await resumed.close();
    const rows = numbered.map((row) => row.map(csvValue));
    expect(readFileSync(path, 'utf8')).toBe(toCsv(['n', 'seventh'], [...rows, ['resumed', '0.50']]));
    expect(pinned).toBe(Buffer.byteLength(toCsv(['n', 'seventh'], rows)));
  });

  it('pins a mark() taken while rows go on, and flush() makes it durable with rows written meanwhile', async () => {
    const numbered = Array.from({ length: 30_000 }, (_, i): Cell[] => [{ shortest: i }, { fixed: i / 3, decimals: 4 }]);
    const path = journalPath();
    const journal = new CsvJournal(path, ['n', 'third'], null);
    for (const row of numbered) write(journal, row);
    const pinned = journal.mark();
    const durable = journal.flush();
    // Both flushes wait for the writes in flight, and both resolve.
    for (const row of numbered) write(journal, row);
    const [first, second] = await Promise.all([durable, journal.flush()]);
    const rows = numbered.map((row) => row.map(csvValue));
    expect(pinned).toBe(Buffer.byteLength(toCsv(['n', 'third'], rows)));
    expect(first).toBeGreaterThanOrEqual(pinned);
    expect(second).toBe(Buffer.byteLength(toCsv(['n', 'third'], [...rows, ...rows])));
    await journal.close();
    const resumed = new CsvJournal(path, ['n', 'third'], pinned);
    await resumed.close();
    expect(readFileSync(path, 'utf8')).toBe(toCsv(['n', 'third'], rows));
  });

  it('raises a write that failed on the thread pool from close(), and still closes the file', async () => {
    // /dev/full takes every write with ENOSPC, as a full disk would.
    const journal = new CsvJournal('/dev/full', ['x'], null);
    for (let i = 0; i < 30_000; i++) write(journal, [{ text: 'a row long enough to fill buffers' }, { shortest: i }]);
    await expect(journal.close()).rejects.toThrow(/ENOSPC/);
  });
});
