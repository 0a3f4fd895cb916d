#!/usr/bin/env node
/**
 * Compare Parquet writers for pgscout's statement table.
 *
 *   node bench/parquet-writers.mjs [--rows 1000000] [--writers a,b,…] [--heap MB] [--dir /tmp/x] [--keep]
 *
 * Each writer runs in its own child process so peak RSS (VmHWM) is per writer.
 * Every file is read back with DuckDB and checked exactly: row count, per-column
 * non-null counts, sum/min/max of every INT64 column as BigInt, and every value
 * of a handful of sampled rows (including -2^63, 2^63-1 and 1.8e18+odd values).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { COLUMNS, row } from './lib/statement-rows.mjs';

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function vmHwmKb() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// ---- child: write one file, report timing and peak RSS on stdout

async function child() {
  const { WRITERS } = await import('./lib/writers.mjs');
  const name = flag('child');
  const t0 = performance.now();
  await WRITERS[name](flag('file'), Number(flag('rows')));
  const writeMs = performance.now() - t0;
  process.stdout.write(JSON.stringify({ writeMs, hwmKb: vmHwmKb() }) + '\n');
}

function runChild(name, file, rows, heapMb) {
  const nodeFlags = heapMb ? [`--max-old-space-size=${heapMb}`] : [];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), '--child', name, '--file', file, '--rows', String(rows)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${name} exited with ${code}`));
      resolve({ ...JSON.parse(out.trim().split('\n').pop()), wallMs });
    });
  });
}

// ---- verification

function expectedAggregates(rows) {
  const agg = COLUMNS.map(() => ({ count: 0n, sum: 0n, min: null, max: null }));
  for (let i = 0; i < rows; i++) {
    const r = row(i);
    COLUMNS.forEach((c, k) => {
      const v = r[c.name];
      if (v === null) return;
      const a = agg[k];
      a.count++;
      if (c.type === 'INT64') {
        a.sum += v;
        if (a.min === null || v < a.min) a.min = v;
        if (a.max === null || v > a.max) a.max = v;
      } else if (c.type === 'INT32') a.sum += BigInt(v);
      else if (c.type === 'BOOLEAN') a.sum += v ? 1n : 0n;
      else if (c.type === 'STRING') a.sum += BigInt(Buffer.byteLength(v));
      else if (c.type === 'DOUBLE') {
        if (a.min === null || v < a.min) a.min = v;
        if (a.max === null || v > a.max) a.max = v;
      }
    });
  }
  return agg;
}

function aggregateSql(file) {
  const parts = ['count(*) AS n'];
  COLUMNS.forEach((c, k) => {
    const q = `"${c.name}"`;
    parts.push(`count(${q}) AS c${k}`);
    if (c.type === 'INT64') parts.push(`sum(${q})::HUGEINT AS s${k}`, `min(${q}) AS lo${k}`, `max(${q}) AS hi${k}`);
    if (c.type === 'INT32') parts.push(`sum(${q})::HUGEINT AS s${k}`);
    if (c.type === 'BOOLEAN') parts.push(`count_if(${q})::HUGEINT AS s${k}`);
    if (c.type === 'STRING') parts.push(`sum(strlen(${q}))::HUGEINT AS s${k}`);
    if (c.type === 'DOUBLE') parts.push(`min(${q}) AS lo${k}`, `max(${q}) AS hi${k}`);
  });
  return `SELECT ${parts.join(', ')} FROM read_parquet('${file}')`;
}

async function verify(con, file, rows, expected) {
  const problems = [];
  const [got] = (await con.runAndReadAll(aggregateSql(file))).getRowObjectsJS();
  if (got.n !== BigInt(rows)) problems.push(`count ${got.n} != ${rows}`);
  COLUMNS.forEach((c, k) => {
    const e = expected[k];
    const check = (what, g, x) => { if (g !== x) problems.push(`${c.name} ${what}: got ${g}, want ${x}`); };
    check('count', got[`c${k}`], e.count);
    if (`s${k}` in got) check('sum', got[`s${k}`], e.sum);
    if (`lo${k}` in got) { check('min', got[`lo${k}`], e.min); check('max', got[`hi${k}`], e.max); }
  });
  const samples = [...new Set([0, 1, 7, 12_345, Math.floor(rows / 2), rows - 1].filter((i) => i < rows))];
  const got2 = (await con.runAndReadAll(
    `SELECT * FROM read_parquet('${file}') WHERE seq IN (${samples.join(',')}) ORDER BY seq`)).getRowObjectsJS();
  if (got2.length !== samples.length) problems.push(`sampled ${got2.length} rows, want ${samples.length}`);
  got2.forEach((g) => {
    const want = row(Number(g.seq));
    for (const c of COLUMNS) {
      if (g[c.name] !== want[c.name]) problems.push(`row ${g.seq} ${c.name}: got ${g[c.name]}, want ${want[c.name]}`);
    }
  });
  return problems;
}

// ---- parent

async function main() {
  const rows = Number(flag('rows', '1000000'));
  // also available: hyparquet-writer/gzip-6, hyparquet-writer/brotli-3, pgscout/GZIP and
  // pgscout/SNAPPY (need `npm run build:ts`), control/float64-rounding (must FAIL)
  const names = flag('writers', [
    'hyparquet-writer/snappy', 'hyparquet-writer/gzip-1', 'hyparquet-writer/none',
    'parquet-wasm/zstd', 'parquet-wasm/snappy', 'duckdb/zstd', 'duckdb/snappy',
  ].join(',')).split(',');
  // --heap caps V8's old space in the children: a writer whose live memory is
  // bounded still finishes, and its RSS then shows the bound instead of GC laziness
  const heapMb = flag('heap', '');
  const dir = flag('dir', '') || mkdtempSync(join(tmpdir(), 'pgscout-bench-'));
  console.error(`rows=${rows} columns=${COLUMNS.length} dir=${dir} node=${process.version}${heapMb ? ` heap=${heapMb}MB` : ''}`);

  const results = [];
  for (const name of names) {
    const file = join(dir, `${name.replace(/\W+/g, '_')}.parquet`);
    console.error(`writing ${name} …`);
    try {
      results.push({ name, file, ...(await runChild(name, file, rows, heapMb)), bytes: statSync(file).size });
    } catch (err) {
      results.push({ name, file, error: String(err) });
    }
  }

  console.error('computing expected aggregates …');
  const expected = expectedAggregates(rows);
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  for (const r of results) {
    if (!r.error) r.problems = await verify(con, r.file, rows, expected);
  }
  con.closeSync();
  db.closeSync();

  const mb = (b) => (b / 1e6).toFixed(1);
  const lines = [
    '| writer | wall s (process) | write s | peak RSS MB | file MB | exact read-back |',
    '|---|---:|---:|---:|---:|---|',
    ...results.map((r) => r.error
      ? `| ${r.name} | – | – | – | – | FAILED: ${r.error} |`
      : `| ${r.name} | ${(r.wallMs / 1000).toFixed(1)} | ${(r.writeMs / 1000).toFixed(1)} | ${(r.hwmKb / 1024).toFixed(0)} | ${mb(r.bytes)} | ${r.problems.length ? `NO (${r.problems.length} mismatches)` : 'yes'} |`),
  ];
  console.log(lines.join('\n'));
  for (const r of results) for (const p of (r.problems ?? []).slice(0, 10)) console.log(`  ${r.name}: ${p}`);

  // a sidecar needs bounded memory first; RSS within 15 % of the lowest is noise
  // (GC timing), so among those prefer the smallest file, then the fastest
  const ok = results.filter((r) => !r.error && r.problems.length === 0);
  const minHwm = Math.min(...ok.map((r) => r.hwmKb));
  const best = ok.filter((r) => r.hwmKb <= minHwm * 1.15)
    .sort((a, b) => a.bytes - b.bytes || a.wallMs - b.wallMs)[0];
  console.log(best
    ? `recommendation: ${best.name} — peak RSS ${(best.hwmKb / 1024).toFixed(0)} MB (lowest ${(minHwm / 1024).toFixed(0)} MB), smallest file among the lowest-memory writers that round-trip exactly (${mb(best.bytes)} MB, ${(best.wallMs / 1000).toFixed(1)} s for ${rows} rows)`
    : 'recommendation: none — no writer round-tripped exactly');
  if (!flag('keep', null) && !process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}

if (process.argv.includes('--child')) await child();
else await main();
