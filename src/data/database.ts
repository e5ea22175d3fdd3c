import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { collectGarbage } from '../core/gc.js';
import duckdbBindings from '@duckdb/node-bindings';
import {
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBTypeId,
  DuckDBInstance,
  DuckDBVector,
  listValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBMaterializedResult,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { DataError } from '../core/errors.js';

/** A bound query parameter. Arrays bind as DuckDB lists (e.g. `unnest($1::VARCHAR[])`). */
export type SqlParam = string | number | boolean | bigint | null | readonly string[] | readonly number[];

/** A value read back: DATE becomes an IsoDate string, integers become numbers. */
export type SqlValue = string | number | boolean | null;
export type SqlRow = Record<string, SqlValue>;

export interface OpenOptions {
  readOnly?: boolean;
  /** Fail instead of creating a new database file (implied by readOnly). */
  mustExist?: boolean;
}

/**
 * One DuckDB file with one connection: the only place Kairos touches the DuckDB client, so the
 * conversions (dates as IsoDate strings, BIGINT as number) are decided once.
 */
/** Scans of at least this many rows release their chunks' native memory at once (see `collectGarbage`). */
const LARGE_SCAN_ROWS = 500_000;

/** One column of a result chunk (`scanNumericChunks`). */
export interface NumericColumn {
  readonly values: Int32Array | Float64Array;
  /** Bit r (little-endian) set when row r is not NULL; null when no row is NULL. */
  readonly validity: Uint8Array | null;
}

/** Whether row `row` of the column holds a value (is not NULL). */
export function isValid(column: NumericColumn, row: number): boolean {
  return column.validity === null || (column.validity[row >>> 3]! & (1 << (row & 7))) !== 0;
}

function numericColumn(chunk: DuckDBDataChunk, c: number, kind: DuckDBTypeId, rowCount: number): NumericColumn {
  const vector = duckdbBindings.data_chunk_get_vector(chunk.chunk, c);
  const width = kind === DuckDBTypeId.INTEGER ? Int32Array.BYTES_PER_ELEMENT : Float64Array.BYTES_PER_ELEMENT;
  let bytes = duckdbBindings.vector_get_data(vector, rowCount * width);
  if (bytes.byteOffset % width !== 0) bytes = bytes.slice();
  const values = kind === DuckDBTypeId.INTEGER ? new Int32Array(bytes.buffer, bytes.byteOffset, rowCount) : new Float64Array(bytes.buffer, bytes.byteOffset, rowCount);
  const validity = duckdbBindings.vector_get_validity(vector, Math.ceil(rowCount / 64) * 8) as Uint8Array | null;
  return { values, validity };
}

/** Hands every chunk of a materialized all-numeric result to `visit`; returns its row count. */
function visitResult(result: DuckDBMaterializedResult, visit: (columns: readonly NumericColumn[], rowCount: number) => void): number {
  const kinds = Array.from({ length: result.columnCount }, (_, c) => {
    const id = result.columnTypeId(c);
    if (id !== DuckDBTypeId.INTEGER && id !== DuckDBTypeId.DOUBLE) throw new TypeError(`scanNumericChunks: column ${result.columnName(c)} is ${result.columnType(c).toString()}, not INTEGER or DOUBLE`);
    return id;
  });
  let rows = 0;
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    const rowCount = chunk.rowCount;
    if (rowCount > 0) visit(kinds.map((kind, k) => numericColumn(chunk, k, kind, rowCount)), rowCount);
    rows += rowCount;
  }
  return rows;
}

export class KairosDatabase {
  private closed = false;

  private constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /** Opens (or, unless read-only or mustExist, creates) the database at `path`; `:memory:` gives a scratch database. */
  static async open(path: string, options: OpenOptions = {}): Promise<KairosDatabase> {
    const readOnly = options.readOnly ?? false;
    if ((readOnly || options.mustExist) && path !== ':memory:' && !existsSync(path)) {
      throw new DataError(`database not found: ${path}`);
    }
    if (!readOnly && path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, readOnly ? { access_mode: 'READ_ONLY' } : {});
    } catch (err) {
      throw new DataError(`cannot open database ${path}: ${firstLine(err)}`);
    }
    return new KairosDatabase(path, readOnly, instance, await instance.connect());
  }

  /** Idempotent: a command may let go of the database early (replay, once its panel is loaded). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** Runs a statement; returns the number of rows it changed (0 for DDL). */
  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    const result = await this.connection.run(sql, bind(params));
    return result.rowsChanged;
  }

  async query(sql: string, params: readonly SqlParam[] = []): Promise<SqlRow[]> {
    const reader = await this.connection.runAndReadAll(sql, bind(params));
    const names = reader.deduplicatedColumnNames();
    return reader.getRows().map((values) => {
      const row: SqlRow = {};
      names.forEach((name, i) => (row[name] = toSqlValue(values[i] ?? null)));
      return row;
    });
  }

  /** The first row of a query, or undefined when it returns none. */
  async queryOne(sql: string, params: readonly SqlParam[] = []): Promise<SqlRow | undefined> {
    return (await this.query(sql, params))[0];
  }

  /**
   * Columnar read of a query whose columns are all INTEGER or DOUBLE, run once per parameter set
   * in `parts`: hands each result chunk's columns to `visit` as typed views of DuckDB's own
   * buffers (valid during the call only), with their validity bitmaps. No value is boxed: a panel
   * load reads tens of millions of them, and the client's per-item `getItem` tests validity with
   * BigInt arithmetic. Each part is materialized and its chunks read synchronously, while DuckDB's
   * threads already compute the next part: a streamed result makes one round trip to a DuckDB
   * thread per 2,048 rows and computes nothing ahead, which tripled a replay's panel load.
   */
  async scanNumericChunks(sql: string, parts: readonly (readonly SqlParam[])[], visit: (columns: readonly NumericColumn[], rowCount: number) => void): Promise<void> {
    if (parts.length === 0) return;
    // One native call per part, so it runs on while this thread visits the previous part (a
    // connection's run() prepares and binds first, steps that would wait for this thread).
    const statement = await this.connection.prepare(sql);
    const execute = (params: readonly SqlParam[]): Promise<DuckDBMaterializedResult> => {
      statement.bind(bind(params));
      return statement.run();
    };
    let rows = 0;
    let next: Promise<DuckDBMaterializedResult> | null = execute(parts[0]!);
    try {
      for (let part = 0; next !== null; part++) {
        const result = await next;
        next = part + 1 < parts.length ? execute(parts[part + 1]!) : null;
        rows += visitResult(result, visit);
        // The part's native result is freed when its wrapper is collected, and V8 does not count it.
        if (rows >= LARGE_SCAN_ROWS) collectGarbage('minor');
      }
    } finally {
      // A part already started when an earlier one failed runs out (its error, if any, is not
      // this scan's) before the statement it executes is destroyed.
      if (next !== null) await next.catch(() => undefined);
      statement.destroySync();
    }
    // A replay's panel scan leaves ~0.3 GB of dead chunks that V8 does not know to collect.
    if (rows >= LARGE_SCAN_ROWS) collectGarbage();
  }

  /**
   * Runs `work` in one transaction: all of its writes land, or none do. A transaction opened
   * inside another joins it, so steps that are atomic alone stay atomic together.
   */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.transactionDepth > 0) {
      this.transactionDepth++;
      try {
        return await work();
      } finally {
        this.transactionDepth--;
      }
    }
    await this.connection.run('BEGIN TRANSACTION');
    this.transactionDepth = 1;
    try {
      const value = await work();
      await this.connection.run('COMMIT');
      return value;
    } catch (err) {
      await this.connection.run('ROLLBACK');
      throw err;
    } finally {
      this.transactionDepth = 0;
    }
  }

  private transactionDepth = 0;

  /**
   * Bulk-load path for generators: rows go in whole data chunks, not one statement each.
   * `temporary` targets a `CREATE TEMP TABLE`, which lives outside the database file.
   */
  async createChunkAppender(table: string, types: readonly DuckDBType[], options: { temporary?: boolean } = {}): Promise<ChunkAppender> {
    const appender = options.temporary
      ? await this.connection.createAppender(table, 'main', 'temp')
      : await this.connection.createAppender(table);
    return new ChunkAppender(appender, types);
  }

  /** Column names of a table in the main schema (lower case), or null when the table does not exist. */
  async tableColumns(table: string): Promise<string[] | null> {
    const rows = await this.query(
      `SELECT lower(column_name) AS name FROM duckdb_columns()
       WHERE database_name = current_database() AND schema_name = 'main' AND lower(table_name) = lower($1)
       ORDER BY column_index`,
      [table],
    );
    if (rows.length > 0) return rows.map((row) => String(row.name));
    return (await this.tableExists(table)) ? [] : null;
  }

  async tableExists(table: string): Promise<boolean> {
    const row = await this.queryOne(
      `SELECT count(*) AS n FROM duckdb_tables()
       WHERE database_name = current_database() AND schema_name = 'main' AND lower(table_name) = lower($1)`,
      [table],
    );
    return Number(row?.n ?? 0) > 0;
  }
}

/**
 * Fills one data chunk row by row and hands it to the appender when full. Every column must be
 * set for every row: the chunk is reused, so an unset cell would keep the previous row's value.
 */
export class ChunkAppender {
  private readonly chunk: DuckDBDataChunk;
  private readonly vectors: DuckDBVector[] = [];
  private readonly capacity = DuckDBVector.standardSize();
  private rowsFilled = 0;

  constructor(
    private readonly appender: DuckDBAppender,
    types: readonly DuckDBType[],
  ) {
    this.chunk = DuckDBDataChunk.create(types, this.capacity);
    for (let column = 0; column < types.length; column++) this.vectors.push(this.chunk.getColumnVector(column));
  }

  set(column: number, value: DuckDBValue): void {
    this.vectors[column]!.setItem(this.rowsFilled, value);
  }

  endRow(): void {
    this.rowsFilled += 1;
    if (this.rowsFilled === this.capacity) this.flush();
  }

  /** Appends the partial last chunk and closes the appender, which commits its rows. */
  close(): void {
    if (this.rowsFilled > 0) this.flush();
    this.appender.closeSync();
  }

  private flush(): void {
    for (const vector of this.vectors) vector.flush();
    // Shrinking the chunk drops its cached vectors, so only the final partial chunk does it.
    if (this.rowsFilled < this.capacity) this.chunk.rowCount = this.rowsFilled;
    this.appender.appendDataChunk(this.chunk);
    this.rowsFilled = 0;
  }
}

/** Quotes an identifier for SQL, so user-named feature columns cannot break a statement. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function bind(params: readonly SqlParam[]): DuckDBValue[] {
  return params.map((param) => (Array.isArray(param) ? listValue([...(param as readonly (string | number)[])]) : (param as DuckDBValue)));
}

function toSqlValue(value: DuckDBValue): SqlValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  // DuckDBDateValue prints as YYYY-MM-DD, which is exactly an IsoDate.
  if (value instanceof DuckDBDateValue) return value.toString();
  return String(value);
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
