import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError, ExitCode } from '../src/core/errors.js';
import { assertContract, CONTRACT_COLUMNS, ensureContractTables } from '../src/data/contract.js';
import { isValid, KairosDatabase } from '../src/data/database.js';
import { latestDates } from '../src/data/freshness.js';
import { makeTempDir, makeTinyDatabase } from './helpers/data-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(async () => cleanup());

describe('KairosDatabase', () => {
  it('refuses to open a missing file read-only, naming the path', async () => {
    const path = join(dir, 'nope.duckdb');
    const error = await KairosDatabase.open(path, { readOnly: true }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).exitCode).toBe(ExitCode.data);
    expect((error as DataError).message).toContain(path);
  });

  it('reads dates as YYYY-MM-DD strings and integers as numbers', async () => {
    const db = await KairosDatabase.open(':memory:');
    try {
      const row = await db.queryOne(`SELECT DATE '2018-02-07' AS d, 42::BIGINT AS n, 1.5::DOUBLE AS x, NULL AS missing, 'a' AS s`);
      expect(row).toEqual({ d: '2018-02-07', n: 42, x: 1.5, missing: null, s: 'a' });
      expect(await db.query('SELECT unnest($1::VARCHAR[]) AS t ORDER BY t', [['b', 'a']])).toEqual([{ t: 'a' }, { t: 'b' }]);
    } finally {
      db.close();
    }
  });

  it('rolls a failed transaction back', async () => {
    const db = await KairosDatabase.open(join(dir, 'tx.duckdb'));
    try {
      await db.run('CREATE TABLE t (x INTEGER)');
      await expect(
        db.transaction(async () => {
          await db.run('INSERT INTO t VALUES (1)');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await db.queryOne('SELECT count(*) AS n FROM t'))?.n).toBe(0);
    } finally {
      db.close();
    }
  });

  it('scans INTEGER and DOUBLE columns chunk by chunk as typed arrays, NULLs by their validity bits', async () => {
    const db = await KairosDatabase.open(join(dir, 'scan.duckdb'));
    try {
      // 5,000 rows span several 2,048-row chunks; every 7th x and every 11th k is NULL.
      await db.run(`CREATE TABLE t AS SELECT CAST(i AS INTEGER) AS i, CASE WHEN i % 11 = 0 THEN NULL ELSE CAST(-i AS INTEGER) END AS k,
        CASE WHEN i % 7 = 0 THEN NULL ELSE i / 4.0 END AS x FROM range(5000) r(i)`);
      const seen: { i: number; k: number | null; x: number | null }[] = [];
      let chunks = 0;
      await db.scanNumericChunks('SELECT i, k, CAST(x AS DOUBLE) AS x FROM t ORDER BY i', [[]], (columns, rows) => {
        chunks++;
        expect(columns[0]!.values).toBeInstanceOf(Int32Array);
        expect(columns[2]!.values).toBeInstanceOf(Float64Array);
        for (let r = 0; r < rows; r++) {
          seen.push({ i: columns[0]!.values[r]!, k: isValid(columns[1]!, r) ? columns[1]!.values[r]! : null, x: isValid(columns[2]!, r) ? columns[2]!.values[r]! : null });
        }
      });
      expect(chunks).toBeGreaterThan(2);
      expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => ({ i, k: i % 11 === 0 ? null : -i, x: i % 7 === 0 ? null : i / 4 })));
      await expect(db.scanNumericChunks(`SELECT 'a' AS s`, [[]], () => undefined)).rejects.toThrow(/column s is VARCHAR, not INTEGER or DOUBLE/);
    } finally {
      db.close();
    }
  });

  it('runs a scan once per parameter set, in order, and fails with the part that fails', async () => {
    const db = await KairosDatabase.open(join(dir, 'parts.duckdb'));
    try {
      await db.run(`CREATE TABLE t AS SELECT CAST(i AS INTEGER) AS i FROM range(6000) r(i)`);
      const seen: number[] = [];
      const sql = 'SELECT i FROM t WHERE i BETWEEN $1 AND $2 ORDER BY i';
      await db.scanNumericChunks(sql, [[0, 2499], [2500, 2500], [2501, 5999]], (columns, rows) => {
        for (let r = 0; r < rows; r++) seen.push(columns[0]!.values[r]!);
      });
      expect(seen).toEqual(Array.from({ length: 6000 }, (_, i) => i));
      // The second part cannot cast its bound; the third, already started, must not surface on its own.
      await expect(db.scanNumericChunks('SELECT CAST($1 AS INTEGER) AS i', [[1], ['x'], [3]], () => undefined)).rejects.toThrow(/Could not convert string 'x'/);
      await expect(db.scanNumericChunks('SELECT CAST($1 AS INTEGER) AS i', [[1], [2]], () => { throw new Error('visit failed'); })).rejects.toThrow('visit failed');
    } finally {
      db.close();
    }
  });

  it('opens read-only and rejects writes', async () => {
    const path = await makeTinyDatabase(dir, {});
    const db = await KairosDatabase.open(path, { readOnly: true });
    try {
      await expect(db.run('CREATE TABLE t (x INTEGER)')).rejects.toThrow();
      expect(await db.tableColumns('sep_base')).toEqual(CONTRACT_COLUMNS.sep_base);
      expect(await db.tableColumns('missing_table')).toBeNull();
    } finally {
      db.close();
    }
  });
});

describe('assertContract', () => {
  it('names the missing table', async () => {
    const db = await KairosDatabase.open(':memory:');
    try {
      await expect(assertContract(db, { feat_matrix_v2: CONTRACT_COLUMNS.feat_matrix_v2 })).rejects.toThrow(/missing table feat_matrix_v2/);
    } finally {
      db.close();
    }
  });

  it('names the missing table.column and accepts extra user columns', async () => {
    const db = await KairosDatabase.open(':memory:');
    try {
      await db.run(`CREATE TABLE feat_matrix_v2 (ticker VARCHAR, date DATE, alpha_composite_v8 DOUBLE, adv_20 DOUBLE, my_signal DOUBLE)`);
      const error = await assertContract(db, { feat_matrix_v2: CONTRACT_COLUMNS.feat_matrix_v2 }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(DataError);
      expect((error as Error).message).toContain('feat_matrix_v2.vol_blend');
      await db.run('ALTER TABLE feat_matrix_v2 ADD COLUMN vol_blend DOUBLE');
      await expect(assertContract(db, { feat_matrix_v2: [...CONTRACT_COLUMNS.feat_matrix_v2, 'my_signal'] })).resolves.toBeUndefined();
    } finally {
      db.close();
    }
  });

  it('leaves an existing table with extra columns as it is', async () => {
    const db = await KairosDatabase.open(':memory:');
    try {
      await db.run(`CREATE TABLE tickers (ticker VARCHAR, name VARCHAR, sector VARCHAR, exchange VARCHAR)`);
      await ensureContractTables(db, ['tickers', 'sep_base', 'feat_matrix_v2', 'regime']);
      expect(await db.tableColumns('tickers')).toEqual(['ticker', 'name', 'sector', 'exchange']);
      await expect(assertContract(db, CONTRACT_COLUMNS)).resolves.toBeUndefined();
    } finally {
      db.close();
    }
  });
});

describe('latestDates', () => {
  it('gives the latest date per table and null for a missing or empty one', async () => {
    const path = await makeTinyDatabase(dir, {
      prices: [
        { ticker: 'A', date: '2020-01-02', close: 1 },
        { ticker: 'A', date: '2020-01-03', close: 1 },
      ],
      features: [{ ticker: 'A', date: '2020-01-02', alpha: 1, volBlend: 0.2, adv20: 1e6 }],
    });
    const db = await KairosDatabase.open(path, { readOnly: true });
    try {
      expect(await latestDates(db)).toEqual({ feat_matrix_latest: '2020-01-02', sep_base_latest: '2020-01-03', regime_latest: null });
    } finally {
      db.close();
    }
    const empty = await KairosDatabase.open(':memory:');
    try {
      await ensureContractTables(empty, ['sep_base']);
      expect(await latestDates(empty)).toEqual({ feat_matrix_latest: null, sep_base_latest: null, regime_latest: null });
    } finally {
      empty.close();
    }
  });
});
