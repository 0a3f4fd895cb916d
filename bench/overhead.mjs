#!/usr/bin/env node
/**
 * Statement-collection overhead, measured side by side in one run.
 *
 *   node bench/overhead.mjs [--seconds 15] [--rounds 3] [--scale 10] [--clients 2]
 *                           [--workloads select,tpcb] [--interval 1s] [--no-profile] [--no-diagnose]
 *                           [--json out.json]
 *
 * Needs root (BPF), `npm run build` (dist/ and bpf/.output/*.bpf.o) and the
 * PostgreSQL 15 server binaries. Configurations:
 *
 *   bare         cluster A (no shared_preload_libraries): the reference
 *   empty        cluster A + bpf/empty.bpf.o on every probe of collectors/statements.json
 *                (programs that return at once): the trap floor
 *   pgscout      cluster A + the statement collector (in-process Collection, Parquet to a temp dir)
 *   empty-noqid  as empty, minus the pgstat_report_query_id uprobe (diagnostic; --no-diagnose skips it)
 *   pgscout-nodrain  pgscout with --interval 1h: no drain during the timed window, so only the
 *                kernel side costs (the finished map fills after 65 536 statements, then counts
 *                drops); the one drain at stop is outside the window (diagnostic)
 *   pgss         cluster B: shared_preload_libraries = pg_stat_statements
 *   pgss+kcache  cluster C: pg_stat_statements + pg_stat_kcache (skipped, with the reason, if absent)
 *
 * Every cluster has compute_query_id = on (pgscout and pg_stat_statements both need it), so
 * query-id jumbling is in the reference too. pgss and pgss+kcache run on their own clusters
 * (the preload needs a restart); their ratios are to cluster A's bare TPS, so they also carry
 * cluster-to-cluster differences (same scale, same settings, fresh initdb each).
 *
 * For each workload (pgbench -S; tpcb-like) the configurations run round-robin, `rounds`
 * times, each round in a rotated order, with pgbench -c clients -j clients -T seconds.
 * Reported: median TPS and ratio = median / median bare TPS of the same workload, plus the
 * median of per-round paired ratios. Uprobes attach to the postgres binary (pid -1), so BPF
 * configurations also reach clusters B and C: they are only ever attached during their own run.
 *
 * After the measured rounds, a profile pass (unless --no-profile) runs pgscout once more per
 * workload with BPF run-time stats on (BPF_ENABLE_STATS, released when the pass ends): hits
 * per statement and average ns per hit of each program. It is not part of the ratios.
 *
 * Progress goes to stderr, the markdown tables to stdout.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { discoverTarget } from '../dist/pg/target.js';
import { attachSpec } from '../dist/bpf/attacher.js';
import { loadCollectorSpec, objectPath } from '../dist/bpf/collector-spec.js';
import { syscallCounter } from '../dist/bpf/map.js';
import { packageRoot } from '../dist/util/package-root.js';
import {
  clientArgs, closeActive, closeObject, enabled, flag, fmt, loadavg, loadObject, log, machine, median,
  numbers, onInterrupt, pgbenchData, run, runOnce, startCollecting, taintWarning, writeJson,
} from './lib/harness.mjs';

// ---- arguments

const SECONDS = Number(flag('seconds', '15'));
const ROUNDS = Number(flag('rounds', '3'));
const SCALE = Number(flag('scale', '10'));
const CLIENTS = Number(flag('clients', '2'));
const INTERVAL = flag('interval', '1s');
const JSON_OUT = flag('json', undefined);
const PROFILE = enabled('profile');
const DIAGNOSE = enabled('diagnose');
const WORKLOAD_NAMES = flag('workloads', 'select,tpcb').split(',');
const ATTEMPTS = 3;

const WORKLOADS = {
  // Statements per transaction of pgbench's builtin scripts (simple protocol).
  select: { label: 'select-only (-S)', args: ['-S'], statementsPerTx: 1 },
  tpcb: { label: 'tpcb-like', args: [], statementsPerTx: 7 }, // BEGIN, 3×UPDATE, SELECT, INSERT, END
};
for (const w of WORKLOAD_NAMES) if (!WORKLOADS[w]) throw new Error(`unknown workload '${w}' (select, tpcb)`);

// ---- configurations

const ROOT = packageRoot();
const STATEMENTS_SPEC = loadCollectorSpec(ROOT, 'statements');
const EMPTY_SPEC = loadCollectorSpec(ROOT, 'statements-empty');
// Diagnostic: the trap floor without the pgstat_report_query_id uprobe, whose first
// instruction (a RIP-relative mov in the Debian PG 15 binary) cannot be emulated.
const EMPTY_NO_QID_SPEC = { ...EMPTY_SPEC, probes: EMPTY_SPEC.probes.filter((p) => p.program !== 'report_query_id') };
const PROGRAMS = STATEMENTS_SPEC.probes.map((p) => p.program).filter((p, i, a) => a.indexOf(p) === i);

/** Each config: setup() before the timed pgbench run, teardown() after; returns per-run extras. */
function bareConfig(name, cluster, clusterLabel) {
  return { name, cluster, clusterLabel, setup: async () => ({ teardown: async () => ({}) }) };
}

function emptyConfig(cluster, binary, name = 'empty', spec = EMPTY_SPEC) {
  return {
    name, cluster, clusterLabel: 'A', setup: async () => {
      const obj = loadObject(objectPath(ROOT, spec), (o) => attachSpec(o, spec, binary));
      return {
        teardown: async () => {
          closeObject(obj);
          return { attached: spec.probes.length };
        },
      };
    },
  };
}

/**
 * Wall time and bpf() syscalls of each statement drain, the Parquet append of
 * its rows included (the old drainer appended inside drainOnce; the numbers
 * stay comparable). Collection.write is private: this is the bench looking inside.
 */
function timeDrains(collection) {
  const statements = collection.collector('statements');
  const drains = { n: 0, ms: 0, syscalls: 0, maxMs: 0 };
  let start = null;
  for (const method of ['drain', 'finish']) { // finish: the final drain in stop()
    const original = statements[method].bind(statements);
    statements[method] = () => {
      start = { t: performance.now(), syscalls: syscallCounter.total };
      return original();
    };
  }
  const write = collection.write.bind(collection);
  collection.write = async (batches) => {
    try {
      return await write(batches);
    } finally {
      if (start) {
        const ms = performance.now() - start.t;
        drains.n++;
        drains.ms += ms;
        drains.maxMs = Math.max(drains.maxMs, ms);
        drains.syscalls += syscallCounter.total - start.syscalls;
        start = null;
      }
    }
  };
  return drains;
}

function pgscoutConfig(cluster, { profile = false, name = 'pgscout', interval = INTERVAL } = {}) {
  return {
    name, cluster, clusterLabel: 'A', setup: async () => {
      const collecting = await startCollecting(cluster.conninfo, { interval }, { profile });
      const drains = timeDrains(collecting.collection);
      return {
        teardown: async () => {
          const { summary, progStats, cpuPct, cpuUs, lastError } = await collecting.stop();
          const stats = summary.collectors.statements;
          const records = stats.maps.find((m) => m.map === 'finished')?.drained ?? 0;
          const kernel = numbers(stats.kernel);
          return {
            rows: summary.rows.queries ?? 0,
            errorRows: summary.rows.query_errors ?? 0,
            records,
            texts: kernel.text_sent ?? 0, // each text sent is received by the next drain; stop() drains them all
            drains: drains.n,
            syscallsPerDrain: drains.n ? drains.syscalls / drains.n : 0,
            drainMsAvg: drains.n ? drains.ms / drains.n : 0,
            drainMsMax: drains.maxMs,
            sidecarCpuPct: cpuPct,
            sidecarCpuUsPerRow: cpuUs / Math.max(1, records),
            kernel,
            drops: stats.drops.reduce((s, d) => s + d.count, 0), // finished map full, text ring full, threads map full
            lastError,
            progStats: progStats && pickPrograms(progStats.statements),
          };
        },
      };
    },
  };
}

/** The spec's programs, in its order, as { runCnt, runTimeNs }. */
function pickPrograms(infos) {
  return Object.fromEntries(PROGRAMS.filter((p) => infos[p]).map((p) => [p, { runCnt: infos[p].runCnt, runTimeNs: infos[p].runTimeNs }]));
}

onInterrupt();

async function kcacheLibrary(cluster) {
  const pkglibdir = await cluster.psql(`SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'`).catch(() => '');
  const candidates = [pkglibdir && join(pkglibdir, 'pg_stat_kcache.so'), '/usr/lib/postgresql/15/lib/pg_stat_kcache.so'].filter(Boolean);
  return { found: candidates.find((p) => existsSync(p)) ?? null, looked: candidates };
}

// ---- main

const pgbenchArgs = (workload, ...runArgs) => [...WORKLOADS[workload].args, ...clientArgs(CLIENTS), ...runArgs];

async function measureRun(config, workload) {
  const r = await runOnce(config, () => pgbench(config.cluster, pgbenchArgs(workload, '-T', String(SECONDS))),
    { seconds: SECONDS, attempts: ATTEMPTS, foreignWaitS: 180, label: workload });
  const { output, wallS, ...kept } = r;
  return kept;
}

async function main() {
  const startedAt = new Date().toISOString();
  const facts = machine();
  log(`machine: ${facts.nproc} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, load ${loadavg().join(' ')}`);
  log(`plan: workloads ${WORKLOAD_NAMES.join(',')}, ${ROUNDS} rounds × ${SECONDS}s, pgbench -c ${CLIENTS} -j ${CLIENTS}, scale ${SCALE}`);

  const clusters = [];
  const skipped = [];
  try {
    log('starting cluster A (no preload)');
    const a = await startCluster({ preload: [] });
    clusters.push(a);
    log('starting cluster B (pg_stat_statements)');
    const b = await startCluster({ preload: ['pg_stat_statements'] });
    clusters.push(b);

    let c = null;
    const kc = await kcacheLibrary(a);
    if (!kc.found) {
      skipped.push({ config: 'pgss+kcache', reason: `pg_stat_kcache.so not found (looked in ${kc.looked.join(', ')}); apt-get install postgresql-15-pg-stat-kcache` });
    } else {
      log('starting cluster C (pg_stat_statements + pg_stat_kcache)');
      try {
        c = await startCluster({ preload: ['pg_stat_statements', 'pg_stat_kcache'] });
        clusters.push(c);
        await c.psql('CREATE EXTENSION IF NOT EXISTS pg_stat_kcache');
      } catch (err) {
        skipped.push({ config: 'pgss+kcache', reason: `pg_stat_kcache did not load: ${err.message}` });
        c = null;
      }
    }

    const version = await a.psql('SELECT version()');
    log(`PostgreSQL: ${version}`);
    for (const cl of clusters) await pgbenchData(cl, SCALE);
    const target = await discoverTarget(a.conninfo);

    const configs = [
      bareConfig('bare', a, 'A'),
      emptyConfig(a, target.binaryPath),
      ...(DIAGNOSE ? [emptyConfig(a, target.binaryPath, 'empty-noqid', EMPTY_NO_QID_SPEC)] : []),
      pgscoutConfig(a),
      ...(DIAGNOSE ? [pgscoutConfig(a, { name: 'pgscout-nodrain', interval: '1h' })] : []),
      bareConfig('pgss', b, 'B'),
      ...(c ? [bareConfig('pgss+kcache', c, 'C')] : []),
    ];
    for (const s of skipped) log(`skipping ${s.config}: ${s.reason}`);

    const runs = [];
    for (const workload of WORKLOAD_NAMES) {
      log(`${workload}: warm-up (5 s per cluster)`);
      for (const cl of clusters) {
        await pgbench(cl, pgbenchArgs(workload, '-T', '5'));
      }
      for (let round = 0; round < ROUNDS; round++) {
        const order = configs.map((_, i) => configs[(i + round) % configs.length]);
        for (const config of order) {
          const r = await measureRun(config, workload);
          runs.push({ workload, config: config.name, cluster: config.clusterLabel, round, ...r });
          const x = r.extra;
          log(`${workload} round ${round + 1}/${ROUNDS} ${config.name.padEnd(11)} ${r.tps.toFixed(0).padStart(7)} TPS` +
            (x.rows !== undefined ? `  rows ${x.rows} drains ${x.drains} syscalls/drain ${x.syscallsPerDrain.toFixed(1)} drops ${x.drops} sidecar ${x.sidecarCpuPct.toFixed(1)}% CPU` : '') +
            (r.contaminated ? '  CONTAMINATED by foreign BPF links' : '') +
            `  (cpu busy ${r.cpu.busyPct}% sys ${r.cpu.systemPct}% idle ${r.cpu.idlePct}% steal ${r.cpu.stealPct}%; load ${r.loadavg.join(' ')})`);
        }
      }
    }

    const profiles = [];
    if (PROFILE) {
      for (const workload of WORKLOAD_NAMES) {
        log(`${workload}: profile pass (pgscout with BPF run-time stats)`);
        const r = await measureRun(pgscoutConfig(a, { profile: true }), workload);
        profiles.push({ workload, tps: r.tps, transactions: r.transactions, ...r.extra });
      }
    }

    const summary = summarize(runs, configs);
    const report = render(summary, runs, profiles, skipped, facts, version);
    process.stdout.write(report);
    if (JSON_OUT) {
      writeJson(JSON_OUT, {
        startedAt, facts, version,
        params: { seconds: SECONDS, rounds: ROUNDS, scale: SCALE, clients: CLIENTS, interval: INTERVAL, workloads: WORKLOAD_NAMES },
        skipped, summary, runs, profiles,
      });
    }
  } finally {
    closeActive();
    for (const cl of clusters) await cl.stop();
  }
}

function summarize(runs, configs) {
  const out = [];
  for (const workload of WORKLOAD_NAMES) {
    const of = (name) => runs.filter((r) => r.workload === workload && r.config === name);
    const bare = of('bare');
    const bareMedian = median(bare.map((r) => r.tps));
    for (const config of configs) {
      const rs = of(config.name);
      const tpsMedian = median(rs.map((r) => r.tps));
      const paired = rs.map((r) => r.tps / bare.find((b) => b.round === r.round).tps);
      const row = {
        workload, config: config.name, cluster: config.clusterLabel,
        tps: rs.map((r) => r.tps), tpsMedian, contaminatedRuns: rs.filter((r) => r.contaminated).length,
        busyPctMedian: median(rs.map((r) => r.cpu?.busyPct ?? NaN)), ratio: tpsMedian / bareMedian, pairedRatioMedian: median(paired),
      };
      if (config.name === 'pgscout') {
        const x = rs.map((r) => r.extra);
        const spt = WORKLOADS[workload].statementsPerTx;
        row.pgscout = {
          rowsPerRun: x.map((e) => e.rows),
          statementsExpectedPerRun: rs.map((r) => r.transactions * spt),
          coverageMedian: median(rs.map((r, i) => x[i].rows / (r.transactions * spt))),
          drainsMedian: median(x.map((e) => e.drains)),
          syscallsPerDrainMedian: median(x.map((e) => e.syscallsPerDrain)),
          drainMsAvgMedian: median(x.map((e) => e.drainMsAvg)),
          drainMsMax: Math.max(...x.map((e) => e.drainMsMax)),
          sidecarCpuPctMedian: median(x.map((e) => e.sidecarCpuPct)),
          sidecarCpuUsPerRowMedian: median(x.map((e) => e.sidecarCpuUsPerRow)),
          drops: x.reduce((s, e) => s + e.drops, 0),
          discarded: x.reduce((s, e) => s + (e.kernel.discarded ?? 0), 0),
          textDrops: x.reduce((s, e) => s + (e.kernel.text_drop ?? 0), 0),
          errors: x.map((e) => e.lastError).filter(Boolean),
        };
      }
      out.push(row);
    }
  }
  return out;
}

function render(summary, runs, profiles, skipped, facts, version) {
  const lines = [];
  lines.push(`## pgbench TPS, ${CLIENTS} clients / ${CLIENTS} threads, ${SECONDS} s × ${ROUNDS} rounds round-robin, scale ${SCALE}`, '');
  lines.push(`${facts.nproc} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, ${version.split(',')[0]}`, '');
  lines.push('| workload | configuration | cluster | TPS per round | median TPS | ratio to bare (medians) | paired ratio (median) |');
  lines.push('|---|---|---|---|---:|---:|---:|');
  for (const r of summary) {
    lines.push(`| ${WORKLOADS[r.workload].label} | ${r.config} | ${r.cluster} | ${r.tps.map((t) => t.toFixed(0)).join(' / ')} | ${r.tpsMedian.toFixed(0)} | ${fmt(r.ratio)} | ${fmt(r.pairedRatioMedian)} |`);
  }
  for (const s of skipped) lines.push('', `Skipped ${s.config}: ${s.reason}`);
  lines.push(...taintWarning(summary, ATTEMPTS, (r) => `${r.workload}/${r.config}`));
  lines.push('', 'Ratios are to the bare median of cluster A (pgss: cluster B, pgss+kcache: cluster C, separate fresh clusters).', '');

  lines.push('## pgscout collecting', '');
  lines.push('| workload | rows per run | statements expected per run | coverage (median) | drains per run | bpf syscalls per drain | drain ms avg / max | sidecar CPU (% of one core) | sidecar CPU µs per row | drops | discarded |');
  lines.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of summary.filter((s) => s.pgscout)) {
    const p = r.pgscout;
    lines.push(`| ${WORKLOADS[r.workload].label} | ${p.rowsPerRun.join(' / ')} | ${p.statementsExpectedPerRun.join(' / ')} | ${fmt(p.coverageMedian)} | ${p.drainsMedian} | ${fmt(p.syscallsPerDrainMedian, 1)} | ${fmt(p.drainMsAvgMedian, 1)} / ${fmt(p.drainMsMax, 1)} | ${fmt(p.sidecarCpuPctMedian, 1)} | ${fmt(p.sidecarCpuUsPerRowMedian, 1)} | ${p.drops} | ${p.discarded} |`);
    if (p.errors.length) lines.push(`|   | drain errors: ${p.errors.join('; ')} |`);
  }
  lines.push('', 'Statements expected = pgbench transactions × statements per transaction (1 for -S; 7 for tpcb-like); rows also include pgbench\'s own setup statements (vacuum, truncate) and miss the transactions cut off at -T.', '');

  for (const p of profiles) {
    const stmts = p.rows + p.errorRows;
    lines.push(`## Profile: pgscout on ${WORKLOADS[p.workload].label} with BPF run-time stats (${p.tps.toFixed(0)} TPS, ${stmts} rows; not part of the ratios)`, '');
    lines.push('| program | hits | hits per statement | avg ns per hit |');
    lines.push('|---|---:|---:|---:|');
    let hits = 0;
    let ns = 0;
    for (const [name, s] of Object.entries(p.progStats ?? {})) {
      hits += s.runCnt;
      ns += s.runTimeNs;
      lines.push(`| ${name} | ${s.runCnt} | ${fmt(s.runCnt / stmts, 2)} | ${s.runCnt ? (s.runTimeNs / s.runCnt).toFixed(0) : '–'} |`);
    }
    lines.push(`| all | ${hits} | ${fmt(hits / stmts, 2)} | ${hits ? (ns / hits).toFixed(0) : '–'} |`);
    lines.push('', `BPF program time per statement: ${fmt(ns / stmts / 1000, 2)} µs (in-program only; the trap itself is not included).`, '');
  }
  return lines.join('\n') + '\n';
}

run(main);
