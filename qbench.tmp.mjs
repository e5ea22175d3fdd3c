import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create('/work/main/.bench/synthetic-3000x11y.duckdb', { access_mode: 'READ_ONLY' });
const con = await inst.connect();
const t0 = performance.now();
const dates = (await con.runAndReadAll(`SELECT DISTINCT date FROM sep_base WHERE date BETWEEN DATE '2015-06-01' AND DATE '2025-12-31' ORDER BY date`)).getRows().map(r => String(r[0]));
const tick = (await con.runAndReadAll(`SELECT DISTINCT ticker FROM sep_base WHERE date BETWEEN DATE '2015-06-01' AND DATE '2025-12-31'`)).getRows().map(r => String(r[0])).sort();
console.log('keys', (performance.now()-t0).toFixed(0), dates.length, tick.length);
const mode = process.argv[2];
const sql = (cols, table) => `WITH sessions AS (SELECT CAST(unnest($1::VARCHAR[]) AS DATE) AS date, CAST(unnest(range(len($1::VARCHAR[]))) AS INTEGER) AS session),
          names AS (SELECT unnest($2::VARCHAR[]) AS ticker, CAST(unnest(range(len($2::VARCHAR[]))) AS INTEGER) AS name)
     SELECT CAST(sessions.session * ${tick.length} + names.name AS INTEGER) AS cell, ${cols}
     FROM ${table} t JOIN sessions USING (date) JOIN names USING (ticker)
     WHERE t.date BETWEEN CAST($3 AS DATE) AND CAST($4 AS DATE)`;
import { listValue } from '@duckdb/node-api';
const params = [listValue(dates), listValue(tick), '2015-06-01', '2025-12-31'];
for (const [table, cols] of [['sep_base', 'CAST(t.open AS DOUBLE), CAST(t.close AS DOUBLE), CAST(t.volume AS DOUBLE)'], ['feat_matrix_v2', 'CAST(t.alpha_composite_v8 AS DOUBLE), CAST(t.vol_blend AS DOUBLE), CAST(t.adv_20 AS DOUBLE)']]) {
  const t = performance.now(); let rows = 0;
  if (mode === 'stream') { const r = await con.stream(sql(cols, table), params); for (;;) { const c = await r.fetchChunk(); if (!c || c.rowCount === 0) break; rows += c.rowCount; } }
  else if (mode === 'run') { const r = await con.run(sql(cols, table), params); for (;;) { const c = await r.fetchChunk(); if (!c || c.rowCount === 0) break; rows += c.rowCount; } }
  else if (mode === 'sync') { const r = await con.run(sql(cols, table), params); console.log('materialized', (performance.now()-t).toFixed(0)); const n = r.chunkCount; for (let i = 0; i < n; i++) { const c = r.getChunk(i); rows += c.rowCount; } }
  else if (mode === 'count') { const r = await con.runAndReadAll(`SELECT count(*), sum(cell) FROM (${sql(cols, table)})`, params); rows = r.getRows()[0][0]; }
  else if (mode === 'plain') { const r = await con.run(`SELECT ${cols.replaceAll('t.', '')} FROM ${table} WHERE date BETWEEN DATE '2015-06-01' AND DATE '2025-12-31'`); for (;;) { const c = await r.fetchChunk(); if (!c || c.rowCount === 0) break; rows += c.rowCount; } }
  console.log(mode, table, rows, (performance.now()-t).toFixed(0), 'ms');
}
if (mode === 'list' || mode === 'liststream') {
  const { default: b } = await import('@duckdb/node-bindings');
  for (const [table, cols] of [['sep_base', 'CAST(t.open AS DOUBLE), CAST(t.close AS DOUBLE), CAST(t.volume AS DOUBLE)'], ['feat_matrix_v2', 'CAST(t.alpha_composite_v8 AS DOUBLE), CAST(t.vol_blend AS DOUBLE), CAST(t.adv_20 AS DOUBLE)']]) {
    const t = performance.now(); let rows = 0, vals = 0;
    const inner = sql(cols, table).replace('AS cell,', 'AS cell, sessions.session AS s,');
    const q = `SELECT s, list(struct_pack(cell, ${cols.split(', ').map((c,i)=>`v${i} := ${c.replace('t.', '')}`).join(', ')})) AS l FROM (${inner.replace(/CAST\(t\.(\w+) AS DOUBLE\)/g, 'CAST(t.$1 AS DOUBLE) AS $1')}) GROUP BY s`;
    const r = mode === 'list' ? await con.run(q, params) : await con.stream(q, params);
    for (;;) { const c = await r.fetchChunk(); if (!c || c.rowCount === 0) break; rows += c.rowCount; const v = b.data_chunk_get_vector(c.chunk, 1); vals += b.list_vector_get_size(v); }
    console.log(mode, table, rows, vals, (performance.now()-t).toFixed(0), 'ms');
  }
}
