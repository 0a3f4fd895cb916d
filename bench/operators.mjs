#!/usr/bin/env node
/**
 * What the operator level costs (issue 9), side by side in one run on one cluster:
 *
 *   bare            nothing attached, no auto_explain
 *   auto_explain    auto_explain for every session (log_analyze, log_buffers, log_wal, log_timing off,
 *                   sample_rate 1, never logging), set up as --setup-instrumentation does; no pgscout
 *   op              `collect --level operator --sample 1 --setup-instrumentation` (defaults: node timing
 *                   in slices, --operator-timing 0.1; 500 statements/s of plan_nodes rows, all summed)
 *   op-timing-1     ... --operator-timing 1 (every instrumented statement timed)
 *   op-timing-0     ... --operator-timing 0
 *   op-sample-0.1   ... --sample 0.1 (auto_explain instruments a tenth of the statements)
 *   op-probes-0.1   ... --operator-probes 0.1 (plus the per-call probes on a tenth of the backends)
 *   statement       `collect` at statement level (default source), no auto_explain: what op adds to
 *   ee-floor        an empty uprobe program at standard_ExecutorEnd, nothing else: the trap op adds
 *
 *   node bench/operators.mjs [--seconds 10] [--rounds 3] [--scale 10] [--workloads analytical,select]
 *                            [--configs bare,auto_explain,op,...] [--no-profile]
 *
 * analytical: pgbench -f with the demo's analytical statements (joins, aggregates, sorts, a CTE, a window),
 * select: pgbench -S; 2 clients each. Each round runs every configuration in a rotated order; ratios are
 * medians to bare's median. pgscout runs in this process (its CPU is reported as % of one core).
 * Profile (unless --no-profile): one more `op` run per workload with BPF run-time stats on: run_cnt and
 * ns per run of each program. Needs root and `npm run build`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { ANALYTICAL_QUERIES, pgbench } from '../dist/demo/workload.js';
import { setupInstrumentation } from '../dist/pg/instrumentation.js';
import { attachSpec } from '../dist/bpf/attacher.js';
import { discoverTarget } from '../dist/pg/target.js';
import { packageRoot } from '../dist/util/package-root.js';
import { closeObject, enabled, flag, fmt, loadObject, log, median, pgbenchData, run, startCollecting } from './lib/harness.mjs';

/** Any empty uprobe program of bpf/empty.bpf.c, at the reader's probe point. */
const EE_FLOOR_SPEC = { name: 'ee-floor', object: 'empty.bpf.o', probes: [{ kind: 'uprobe', func: flag('floor-func', 'standard_ExecutorEnd'), program: 'executor_run' }] };

const SECONDS = Number(flag('seconds', '10'));
const ROUNDS = Number(flag('rounds', '3'));
const SCALE = Number(flag('scale', '10'));
const WORKLOADS = flag('workloads', 'analytical,select').split(',');

const OP = { level: 'operator', sample: '1', 'setup-instrumentation': true };
const CONFIGS = {
  bare: null,
  auto_explain: 'auto_explain',
  op: OP,
  'op-timing-1': { ...OP, 'operator-timing': '1' },
  'op-timing-0': { ...OP, 'operator-timing': '0' },
  'op-sample-0.1': { ...OP, sample: '0.1' },
  'op-probes-0.1': { ...OP, 'operator-probes': '0.1' },
  statement: {},
  'ee-floor': 'ee-floor',
};
const NAMES = flag('configs', Object.keys(CONFIGS).join(',')).split(',');

/** One pgbench run under one configuration: TPS and, for pgscout, its summary and CPU. */
async function runConfig(cluster, name, args, { profile = false } = {}) {
  const cfg = CONFIGS[name];
  if (cfg === null) return { tps: (await pgbench(cluster, args)).tps };
  if (cfg === 'ee-floor') {
    const target = await discoverTarget(cluster.conninfo);
    const obj = loadObject(path.join(packageRoot(), 'bpf/.output/empty.bpf.o'), (o) => attachSpec(o, EE_FLOOR_SPEC, target.binaryPath));
    try {
      return { tps: (await pgbench(cluster, args)).tps };
    } finally {
      closeObject(obj);
    }
  }
  if (cfg === 'auto_explain') {
    const inst = await setupInstrumentation(cluster.conninfo, 1, 0);
    try {
      return { tps: (await pgbench(cluster, args)).tps };
    } finally {
      await inst.restore();
    }
  }
  const collecting = await startCollecting(cluster.conninfo, { interval: '1s', ...cfg }, { profile });
  const tps = (await pgbench(cluster, args)).tps;
  const stopped = await collecting.stop();
  return { tps, ...stopped };
}

run(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-op-bench-'));
  const script = path.join(dir, 'analytical.sql');
  fs.writeFileSync(script, `${ANALYTICAL_QUERIES.join(';\n')};\n`);
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(script, 0o644);
  process.env.PGSCOUT_STATE_DIR ??= path.join(dir, 'state');
  const cluster = await startCluster({ settings: { compute_query_id: 'on' } });
  try {
    await pgbenchData(cluster, SCALE);
    // The process's first collection pays for loading the parser, the OTel-free metrics path and JIT warm-up.
    await runConfig(cluster, 'op', ['-S', '-c', '2', '-j', '2', '-T', '3']);
    const workloadArgs = { analytical: ['-f', script], select: ['-S'] };
    const results = {};
    for (const w of WORKLOADS) {
      const args = [...workloadArgs[w], '-c', '2', '-j', '2', '-T', String(SECONDS)];
      await pgbench(cluster, [...workloadArgs[w], '-c', '2', '-j', '2', '-T', '3']);
      const tps = Object.fromEntries(NAMES.map((n) => [n, []]));
      const extra = Object.fromEntries(NAMES.map((n) => [n, { cpu: [], statements: 0, kept: 0, rows: 0, stats: 0, lost: 0 }]));
      for (let r = 0; r < ROUNDS; r++) {
        const order = NAMES.map((_, i) => NAMES[(i + r) % NAMES.length]);
        for (const name of order) {
          const res = await runConfig(cluster, name, args);
          tps[name].push(res.tps);
          if (res.summary) {
            const pn = res.summary.collectors['plan-nodes'];
            const e = extra[name];
            e.cpu.push(res.cpuPct);
            e.statements += Number(pn?.kernel.statements ?? 0n);
            e.kept += Number(pn?.kernel.kept ?? 0n);
            e.rows += res.summary.rows.plan_nodes ?? 0;
            e.stats += res.summary.rows.plan_node_stats ?? 0;
            e.lost += (pn?.drops ?? []).reduce((a, d) => a + d.count, 0);
          }
          log(`${w} round ${r + 1} ${name}: ${fmt(res.tps, 1)} TPS${res.cpuPct !== undefined ? `, pgscout ${fmt(res.cpuPct, 1)} % CPU` : ''}`);
        }
      }
      let profile = null;
      if (enabled('profile') && NAMES.includes('op')) profile = (await runConfig(cluster, 'op', args, { profile: true })).progStats;
      results[w] = { tps, extra, profile };
    }
    report(results);
  } finally {
    await cluster.stop();
  }
});

function report(results) {
  console.log(`## Operator level: ratios to bare (${ROUNDS} rounds × ${SECONDS} s, 2 clients, scale ${SCALE}, one cluster)\n`);
  console.log(`| workload | bare TPS | ${NAMES.filter((n) => n !== 'bare').join(' | ')} |`);
  console.log(`|---|---:|${NAMES.filter((n) => n !== 'bare').map(() => '---:').join('|')}|`);
  for (const [w, { tps }] of Object.entries(results)) {
    const bare = median(tps.bare);
    console.log(`| ${w} | ${fmt(bare, 1)} | ${NAMES.filter((n) => n !== 'bare').map((n) => fmt(median(tps[n]) / bare)).join(' | ')} |`);
  }
  console.log('\n| workload | configuration | pgscout CPU (% of a core, median) | instrumented statements | kept as rows | plan_nodes rows | plan_node_stats rows | nodes lost |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const [w, { extra }] of Object.entries(results)) {
    for (const [n, e] of Object.entries(extra)) {
      if (e.cpu.length) console.log(`| ${w} | ${n} | ${fmt(median(e.cpu), 1)} | ${e.statements} | ${e.kept} | ${e.rows} | ${e.stats} | ${e.lost} |`);
    }
  }
  console.log('\n| workload | collector | program | runs | ns per run |');
  console.log('|---|---|---|---:|---:|');
  for (const [w, { profile }] of Object.entries(results)) {
    for (const [collector, progs] of Object.entries(profile ?? {})) {
      for (const [p, s] of Object.entries(progs)) {
        if (s.runCnt) console.log(`| ${w} | ${collector} | ${p} | ${s.runCnt} | ${fmt(s.runTimeNs / s.runCnt, 0)} |`);
      }
    }
  }
}
