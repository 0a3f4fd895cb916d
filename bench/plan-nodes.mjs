#!/usr/bin/env node
/**
 * What reading PostgreSQL's own per-node instrumentation costs (issue 9), side by side in one run:
 *
 *   bare          cluster A, no auto_explain
 *   auto_explain  cluster B: session_preload_libraries = auto_explain, log_analyze + log_buffers,
 *                 log_timing off, never logging (the instrumentation PostgreSQL does itself)
 *   plan-nodes    cluster B + `pgscout collect --plan-nodes` (default statement source + the
 *                 ExecutorEnd reader), in this process
 *
 *   node bench/plan-nodes.mjs [--seconds 10] [--rounds 3] [--scale 10] [--workloads analytical,select]
 *
 * analytical: pgbench -f with the demo's analytical statements (joins, aggregates, sorts, a CTE,
 * a window), 2 clients; select: pgbench -S, 2 clients. Ratios are to cluster A's bare median.
 * Needs root and `npm run build`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { ANALYTICAL_QUERIES, pgbench } from '../dist/demo/workload.js';
import { flag, fmt, log, median, pgbenchData, run, startCollecting } from './lib/harness.mjs';

const SECONDS = Number(flag('seconds', '10'));
const ROUNDS = Number(flag('rounds', '3'));
const SCALE = Number(flag('scale', '10'));
const WORKLOADS = flag('workloads', 'analytical,select').split(',');

const AUTO_EXPLAIN = {
  session_preload_libraries: 'auto_explain', 'auto_explain.log_analyze': 'on', 'auto_explain.log_buffers': 'on',
  'auto_explain.log_timing': 'off', 'auto_explain.log_min_duration': '2147483647',
};

run(async () => {
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-pn-bench-')), 'analytical.sql');
  fs.writeFileSync(script, `${ANALYTICAL_QUERIES.join(';\n')};\n`);
  fs.chmodSync(path.dirname(script), 0o755);
  fs.chmodSync(script, 0o644);
  const a = await startCluster({ settings: { compute_query_id: 'on' } });
  const b = await startCluster({ settings: { compute_query_id: 'on', ...AUTO_EXPLAIN } });
  try {
    for (const c of [a, b]) await pgbenchData(c, SCALE);
    const args = { analytical: ['-f', script], select: ['-S'] };
    const results = {};
    for (const w of WORKLOADS) {
      const base = [...args[w], '-c', '2', '-j', '2', '-T', String(SECONDS)];
      for (const c of [a, b]) await pgbench(c, [...args[w], '-c', '2', '-j', '2', '-T', '3']);
      const tps = { bare: [], auto_explain: [], 'plan-nodes': [] };
      let nodes = 0;
      let statements = 0n;
      for (let r = 0; r < ROUNDS; r++) {
        tps.bare.push((await pgbench(a, base)).tps);
        tps.auto_explain.push((await pgbench(b, base)).tps);
        const collecting = await startCollecting(b.conninfo, { 'plan-nodes': true }, {});
        tps['plan-nodes'].push((await pgbench(b, base)).tps);
        const { summary } = await collecting.stop();
        nodes += summary.rows.plan_nodes ?? 0;
        statements += summary.collectors['plan-nodes']?.kernel.statements ?? 0n;
        log(`${w} round ${r + 1}: bare ${fmt(tps.bare[r], 0)}, auto_explain ${fmt(tps.auto_explain[r], 0)}, plan-nodes ${fmt(tps['plan-nodes'][r], 0)} TPS`);
      }
      results[w] = { tps, nodes, statements: Number(statements) };
    }
    console.log(`## Instrumented plan nodes: ratios to bare (${ROUNDS} rounds × ${SECONDS} s, 2 clients, scale ${SCALE})\n`);
    console.log('| workload | bare TPS (median) | auto_explain alone | auto_explain + pgscout --plan-nodes | plan-node rows / instrumented statements |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [w, { tps, nodes, statements }] of Object.entries(results)) {
      const m = median(tps.bare);
      console.log(`| ${w} | ${fmt(m, 0)} | ${fmt(median(tps.auto_explain) / m)} | ${fmt(median(tps['plan-nodes']) / m)} | ${nodes} / ${statements} |`);
    }
  } finally {
    await a.stop();
    await b.stop();
  }
});
