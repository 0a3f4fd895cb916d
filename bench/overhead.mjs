#!/usr/bin/env node
/**
 * Statement-collection overhead, measured side by side in one run (issue 8: the zero-trap
 * default source against --exact, the empty-program floors of both, and pg_stat_statements).
 *
 *   node bench/overhead.mjs [--seconds 15] [--rounds 3] [--scale 10] [--clients 2]
 *                           [--workloads select,tpcb,select-prepared] [--configs bare,pgscout,...] [--interval 1s]
 *                           [--no-profile] [--profile-seconds N] [--attempts 3] [--foreign-wait 180] [--foreign-cpu 5|off]
 *                           [--steal-limit 10|off] [--settle 2] [--out-dir DIR] [--autovacuum off|on]
 *                           [--json out.json]
 *
 * Needs root (BPF), `npm run build` (dist/ and bpf/.output/{stmt_sched,statements,empty}.bpf.o)
 * and the PostgreSQL 15 server binaries. Configurations (--configs picks a subset; bare is
 * always needed for the ratios):
 *
 *   bare         cluster A (no shared_preload_libraries): the reference
 *   pgscout      cluster A + `pgscout collect` with no flags: the default, zero-trap source
 *                (bpf/stmt_sched.bpf.c: tp_btf sched_switch, sock_send_length,
 *                sched_process_exit), aggregates in kernel maps → query_stats, sampled
 *                executions → queries (--statement-rows 500/s, --slow 10ms)
 *   net-recv     cluster A + `--net-recv`: the default source plus tp_btf sock_recv_length
 *   exact        cluster A + `--exact`: the default source plus USDT query__execute__done (one trap a statement)
 *   rows-all     cluster A + `--statement-rows all`: default source, every execution a `queries` row
 *   empty-sched  cluster A + bpf/empty.bpf.o's empty programs on the default source's attach points
 *                (the probes of collectors/statements-sched.json: tp_btf sched_switch, sock_recv,
 *                sock_send, sched_process_exit): the zero-trap floor
 *   empty-exact  cluster A + bpf/empty.bpf.o on every probe --exact attaches (collectors/statements-sched.json
 *                with its group `exact`, via collectors/statements-empty.json): the trap floor
 *   pgss         cluster B: shared_preload_libraries = pg_stat_statements
 *   pgss+kcache  cluster C: pg_stat_statements + pg_stat_kcache (skipped, with the reason, if absent)
 *
 * Every measured run of every configuration follows `--settle` seconds of the same workload,
 * unmeasured, after its setup: a collector's start-up (loading, its first texts and catalog
 * lookups, code warming) falls outside the window, as it does for a sidecar left on; 0 puts it in.
 *
 * pgscout runs in this process (Collection, 1 s drains, Parquet to a temp dir, or under --out-dir), so its CPU is
 * this process's CPU: process.cpuUsage() deltas (user + sys, every thread) over exactly the
 * pgbench window (pgbench is a child process and not included). The same figure for bare and
 * the floors is the bench's own CPU when nothing collects (its taint check), i.e. the noise floor.
 *
 * Every cluster has compute_query_id = on (pgscout and pg_stat_statements both need it), so
 * query-id jumbling is in the reference too. pgss and pgss+kcache run on their own clusters
 * (the preload needs a restart); their ratios are to cluster A's bare TPS, so they also carry
 * cluster-to-cluster differences (same scale, same settings, fresh initdb each).
 *
 * For each workload (pgbench -S; tpcb-like) the configurations run round-robin, `rounds`
 * times, each round in a rotated order, with pgbench -c clients -j clients -T seconds.
 * Reported: median TPS and ratio = median / median bare TPS of the same workload, plus the
 * median of per-round paired ratios. Uprobes attach to the postgres binary (pid -1), so the
 * exact configurations also reach clusters B and C: they are only ever attached during their
 * own run. A run is contaminated, and redone (up to --attempts times), when someone else's BPF
 * links are attached before, during or after it, or when processes that are neither this one,
 * its children nor its clusters used more than --foreign-cpu % of the machine's CPU during it,
 * or the hypervisor stole more than --steal-limit % of the CPUs (other guests on the host)
 * (another session's tests); before each run the bench waits up to --foreign-wait s for both.
 *
 * Before the rounds each pgscout configuration collects once for 3 s, unmeasured (first-use costs:
 * JIT, libpg-query, Parquet writer code); before each workload every cluster runs it for 5 s bare.
 *
 * After the measured rounds, a profile + coverage pass (unless --no-profile) runs, per workload,
 * pgscout, exact, rows-all and both empty floors once more on cluster B (pg_stat_statements
 * loaded, reset after attaching) with BPF run-time stats on (BPF_ENABLE_STATS, released at the
 * end of each run): hits and ns per hit of every program, and statements seen (sum of
 * query_stats calls) against pg_stat_statements calls per query id. Not part of the ratios.
 *
 * Progress goes to stderr, the markdown tables to stdout.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { discoverTarget } from '../dist/pg/target.js';
import { attachSpec } from '../dist/bpf/attacher.js';
import { loadCollectorSpec, objectPath } from '../dist/bpf/collector-spec.js';
import { syscallCounter } from '../dist/bpf/map.js';
import { packageRoot } from '../dist/util/package-root.js';
import {
  clientArgs, closeActive, closeObject, enableBpfStats, enabled, flag, fmt, loadavg, loadObject, log, machine, median,
  numbers, onInterrupt, pgbenchData, programInfos, run, runOnce, sh, startCollecting, taintWarning, THROUGHPUT_SETTINGS,
  trackOwnProcess, VACUUM_FIRST, writeJson,
} from './lib/harness.mjs';

// ---- arguments

const ALL_CONFIGS = ['bare', 'pgscout', 'net-recv', 'exact', 'rows-all', 'empty-sched', 'empty-exact', 'pgss', 'pgss+kcache'];
const SECONDS = Number(flag('seconds', '15'));
const ROUNDS = Number(flag('rounds', '3'));
const SCALE = Number(flag('scale', '10'));
const CLIENTS = Number(flag('clients', '2'));
const INTERVAL = flag('interval', '1s');
const JSON_OUT = flag('json', undefined);
const PROFILE = enabled('profile');
const PROFILE_SECONDS = Number(flag('profile-seconds', String(SECONDS)));
// Seconds of the same workload, unmeasured, between a configuration's setup and its measured run.
const SETTLE_S = Number(flag('settle', '2'));
// THROUGHPUT_SETTINGS (harness): a vacuum otherwise lands in whichever run, of any cluster,
// follows its threshold, unseen by the foreign-CPU check (the clusters are the bench's own).
// `--autovacuum on` restores runs K and before.
const AUTOVACUUM = flag('autovacuum', 'off');
const VACUUM_EACH_RUN = AUTOVACUUM === 'off';
const CLUSTER_SETTINGS = VACUUM_EACH_RUN ? THROUGHPUT_SETTINGS : {};
/** Where the in-process collector writes its dataset (default: the OS temp dir, the clusters' disk). */
const OUT_DIR = flag('out-dir', undefined);
const WORKLOAD_NAMES = flag('workloads', 'select,tpcb').split(',');
const CONFIG_NAMES = flag('configs', ALL_CONFIGS.join(',')).split(',');
const ATTEMPTS = Number(flag('attempts', '3'));
const FOREIGN_WAIT_S = Number(flag('foreign-wait', '180'));
/** % of the machine's CPU other processes may use during a run before it counts as contaminated ('off': never). */
const FOREIGN_CPU = flag('foreign-cpu', '5') === 'off' ? null : Number(flag('foreign-cpu', '5'));
/** % of the CPUs the hypervisor may steal during a run before it is redone ('off': never). */
const STEAL_LIMIT = flag('steal-limit', '10') === 'off' ? null : Number(flag('steal-limit', '10'));

const WORKLOADS = {
  // Statements per transaction of pgbench's builtin scripts (simple protocol unless -M says otherwise).
  select: { label: 'select-only (-S)', args: ['-S'], statementsPerTx: 1 },
  tpcb: { label: 'tpcb-like', args: [], statementsPerTx: 7 }, // BEGIN, 3×UPDATE, SELECT, INSERT, END
  // The extended protocol: --exact traps twice a statement there (no query__start).
  'select-prepared': { label: 'select-only -M prepared', args: ['-S', '-M', 'prepared'], statementsPerTx: 1 },
};
for (const w of WORKLOAD_NAMES) if (!WORKLOADS[w]) throw new Error(`unknown workload '${w}' (${Object.keys(WORKLOADS).join(', ')})`);
for (const c of CONFIG_NAMES) if (!ALL_CONFIGS.includes(c)) throw new Error(`unknown configuration '${c}' (${ALL_CONFIGS.join(', ')})`);
if (!CONFIG_NAMES.includes('bare')) throw new Error('--configs must include bare (the reference of every ratio)');

const LABELS = {
  bare: 'bare',
  pgscout: '**pgscout** (default)',
  'net-recv': 'pgscout --net-recv',
  exact: 'pgscout --exact',
  'rows-all': 'pgscout --statement-rows all',
  'empty-sched': 'empty programs, default source\'s tracepoints (zero-trap floor)',
  'empty-exact': 'empty programs, --exact\'s probes (trap floor)',
  pgss: 'pg_stat_statements',
  'pgss+kcache': 'pgss + pg_stat_kcache',
};
const PGSCOUT_OPTIONS = {
  pgscout: {},
  'net-recv': { 'net-recv': true },
  exact: { exact: true },
  'rows-all': { 'statement-rows': 'all' },
};

// ---- probe sets

const ROOT = packageRoot();
const SCHED_SPEC = loadCollectorSpec(ROOT, 'statements-sched');
const EMPTY_SPEC = loadCollectorSpec(ROOT, 'statements-empty');

/**
 * The empty programs (bpf/empty.bpf.c, same program names as the real ones) on exactly the
 * attach points `of` uses with the probe groups `groups` on (the others left out, as the
 * collector leaves them out).
 */
function floorSpec(name, of, groups = []) {
  const want = [...new Set(of.probes.filter((p) => !p.group || groups.includes(p.group)).map((p) => p.program))];
  const probes = EMPTY_SPEC.probes.filter((p) => want.includes(p.program));
  const missing = want.filter((w) => !probes.some((p) => p.program === w));
  if (missing.length) throw new Error(`collectors/statements-empty.json has no empty program for ${missing.join(', ')} (${of.name})`);
  return { ...EMPTY_SPEC, name, probes };
}
const FLOOR_SPECS = {
  'empty-sched': floorSpec('empty-sched', SCHED_SPEC),
  'empty-exact': floorSpec('empty-exact', SCHED_SPEC, ['exact']),
};

/** What the run used, hashed at start and end: another session rebuilding mid-run shows up here. */
function sourceHashes() {
  const files = [
    ...['stmt_sched.bpf.o', 'statements.bpf.o', 'empty.bpf.o'].map((f) => join('bpf', '.output', f)),
    ...['statements-sched.json', 'statements.json', 'statements-empty.json'].map((f) => join('collectors', f)),
    'dist/collectors/statements/sched-source.js', 'dist/collectors/statements/source.js',
  ];
  return Object.fromEntries(files.map((f) => {
    const p = join(ROOT, f);
    return [f, existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16) : null];
  }));
}

// ---- configurations: setup() before the timed pgbench run, teardown() after; teardown returns the run's extras

function bareConfig(name, cluster, clusterLabel) {
  return { name, cluster, clusterLabel, setup: async () => ({ teardown: async () => ({}) }) };
}

function emptyConfig(name, cluster, binary, { profile = false, coverage = false } = {}) {
  const spec = FLOOR_SPECS[name];
  return {
    name, cluster, clusterLabel: cluster.label, setup: async () => {
      const disableStats = profile ? enableBpfStats() : null;
      let obj;
      try {
        obj = loadObject(objectPath(ROOT, spec), (o) => attachSpec(o, spec, binary));
      } catch (err) {
        disableStats?.();
        throw err;
      }
      if (coverage) await cluster.psql('SELECT pg_stat_statements_reset()');
      return {
        teardown: async () => {
          const attached = spec.probes.map((p) => p.program);
          const infos = profile ? programInfos(obj) : null;
          disableStats?.();
          closeObject(obj);
          const pgss = coverage ? await pgssCalls(cluster) : null;
          return {
            attached,
            progStats: infos && Object.fromEntries(attached.filter((p) => infos[p]).map((p) => [p, { runCnt: infos[p].runCnt, runTimeNs: infos[p].runTimeNs }])),
            pgss,
          };
        },
      };
    },
  };
}

/**
 * Wall time and bpf() syscalls of each statement drain (from the collector's drain() to the
 * end of the Parquet append of its rows), and what the drains handed over: the sum of
 * query_stats calls, in all and per query id. Collection.write is private: this is the bench
 * looking inside.
 */
function watchDrains(collection) {
  const statements = collection.collector('statements');
  const w = { n: 0, ms: 0, syscalls: 0, maxMs: 0, calls: 0, coalesced: 0, byQuery: new Map() };
  let start = null;
  for (const method of ['drain', 'finish']) { // finish: the final drain in stop()
    const original = statements[method].bind(statements);
    statements[method] = async () => {
      start = { t: performance.now(), syscalls: syscallCounter.total };
      const batches = await original();
      for (const { table, rows } of batches) {
        if (table.name !== 'query_stats') continue; // one row per query id and interval: cheap to sum
        for (const r of rows) {
          const calls = Number(r.calls ?? 0n);
          w.calls += calls;
          w.coalesced += Number(r.coalesced ?? 0n);
          const k = r.query_id === null || r.query_id === undefined ? 'null' : String(r.query_id);
          w.byQuery.set(k, (w.byQuery.get(k) ?? 0) + calls);
        }
      }
      return batches;
    };
  }
  const write = collection.write.bind(collection);
  collection.write = async (batches) => {
    try {
      return await write(batches);
    } finally {
      if (start) {
        const ms = performance.now() - start.t;
        w.n++;
        w.ms += ms;
        w.maxMs = Math.max(w.maxMs, ms);
        w.syscalls += syscallCounter.total - start.syscalls;
        start = null;
      }
    }
  };
  return w;
}

function pgscoutConfig(name, cluster, { profile = false, coverage = false } = {}) {
  return {
    name, cluster, clusterLabel: cluster.label, setup: async () => {
      const collecting = await startCollecting(cluster.conninfo, { interval: INTERVAL, ...PGSCOUT_OPTIONS[name] }, { profile, ...(OUT_DIR ? { dir: OUT_DIR } : {}) });
      const source = collecting.collection.collector('statements').source;
      const drains = watchDrains(collecting.collection);
      if (coverage) await cluster.psql('SELECT pg_stat_statements_reset()');
      return {
        teardown: async () => {
          const { summary, progStats, cpuPct, cpuUs, lastError } = await collecting.stop();
          const stats = summary.collectors.statements;
          const attached = stats.probes.filter((p) => p.attached).map((p) => p.program);
          const pgss = coverage ? await pgssCalls(cluster) : null;
          return {
            source,
            rows: { query_stats: 0, queries: 0, query_errors: 0, ...summary.rows },
            calls: drains.calls,
            coalescedCalls: drains.coalesced,
            byQuery: coverage ? Object.fromEntries(drains.byQuery) : undefined,
            drains: drains.n,
            syscallsPerDrain: drains.n ? drains.syscalls / drains.n : 0,
            drainMsAvg: drains.n ? drains.ms / drains.n : 0,
            drainMsMax: drains.maxMs,
            collectionCpuPct: cpuPct, // Collection.start → stop(), before the final drain (harness)
            collectionCpuUs: cpuUs, // the same incl. the final drain and file close
            kernel: numbers(stats.kernel),
            drops: stats.drops.filter((d) => d.count > 0),
            dropTotal: stats.drops.reduce((s, d) => s + d.count, 0),
            attached,
            notAttached: stats.probes.filter((p) => !p.attached).map((p) => `${p.probe}: ${p.error}`),
            lastError,
            progStats: progStats && pick(progStats.statements, attached),
            pgss,
          };
        },
      };
    },
  };
}

const pick = (infos, programs) => Object.fromEntries(programs.filter((p) => infos[p]).map((p) => [p, { runCnt: infos[p].runCnt, runTimeNs: infos[p].runTimeNs }]));

/** pg_stat_statements of the pgbench database: [{ id, calls, query }]. */
async function pgssCalls(cluster) {
  const out = await cluster.psql(
    `SELECT s.queryid, s.calls, regexp_replace(left(s.query, 70), '\\s+', ' ', 'g') FROM pg_stat_statements s ` +
    `JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'postgres' AND s.toplevel ORDER BY s.calls DESC`);
  return out.split('\n').filter(Boolean).map((line) => {
    const [id, calls, ...q] = line.split('|');
    return { id, calls: Number(calls), query: q.join('|') };
  });
}

/**
 * Ours against pg_stat_statements: over the workload's query ids (those with ≥ 0.5 % of
 * pgss's calls, i.e. pgbench's statements, not its setup nor the reset) and over everything
 * in the database.
 */
function coverage(pgss, byQuery) {
  const total = pgss.reduce((s, r) => s + r.calls, 0);
  const workload = pgss.filter((r) => r.calls >= Math.max(100, 0.005 * total));
  const perQuery = workload.map((r) => ({ query: r.query, pgss: r.calls, ours: byQuery[r.id] ?? 0 }));
  const pgssWorkload = perQuery.reduce((s, r) => s + r.pgss, 0);
  const oursWorkload = perQuery.reduce((s, r) => s + r.ours, 0);
  const oursTotal = Object.values(byQuery).reduce((s, n) => s + n, 0);
  return {
    pgssWorkload, oursWorkload, workload: oursWorkload / pgssWorkload,
    minPerQuery: Math.min(...perQuery.map((r) => r.ours / r.pgss)), maxPerQuery: Math.max(...perQuery.map((r) => r.ours / r.pgss)),
    pgssTotal: total, oursTotal, total: oursTotal / total, perQuery,
  };
}

onInterrupt();

async function kcacheLibrary(cluster) {
  const pkglibdir = await cluster.psql(`SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'`).catch(() => '');
  const candidates = [pkglibdir && join(pkglibdir, 'pg_stat_kcache.so'), '/usr/lib/postgresql/15/lib/pg_stat_kcache.so'].filter(Boolean);
  return { found: candidates.find((p) => existsSync(p)) ?? null, looked: candidates };
}

// ---- main

const pgbenchArgs = (workload, ...runArgs) => [...WORKLOADS[workload].args, ...clientArgs(CLIENTS), ...runArgs];
const isPgscout = (name) => name in PGSCOUT_OPTIONS;

async function measureRun(config, workload, seconds = SECONDS, { settle = false } = {}) {
  // Every measured run starts from freshly vacuumed tables (pgbench -v, in the unmeasured settle
  // run when there is one): with autovacuum off, no configuration inherits another's dead tuples.
  const vacuum = VACUUM_EACH_RUN ? VACUUM_FIRST : [];
  const settleRun = settle && SETTLE_S > 0 ? () => pgbench(config.cluster, pgbenchArgs(workload, ...vacuum, '-T', String(SETTLE_S))) : null;
  const measuredVacuum = settleRun ? [] : vacuum;
  const r = await runOnce(config, () => pgbench(config.cluster, pgbenchArgs(workload, ...measuredVacuum, '-T', String(seconds))),
    { seconds, attempts: ATTEMPTS, foreignWaitS: FOREIGN_WAIT_S, label: workload, foreignCpuLimitPct: FOREIGN_CPU, stealLimitPct: STEAL_LIMIT, settle: settleRun });
  const { output, ...kept } = r;
  return kept;
}

function logRun(prefix, r) {
  const x = r.extra;
  const bp = r.benchProcess;
  log(`${prefix} ${r.tps.toFixed(0).padStart(7)} TPS  process CPU ${fmt(bp?.cpuPct, 2)}%` +
    (x.calls !== undefined
      ? `  calls ${x.calls} rows ${x.rows.query_stats}/${x.rows.queries}/${x.rows.query_errors} drains ${x.drains} syscalls/drain ${x.syscallsPerDrain.toFixed(1)}` +
        ` drops ${x.dropTotal}${x.lastError ? ` ERROR ${x.lastError}` : ''}`
      : '') +
    `  foreign CPU ${r.foreignCpuPct}%` +
    (r.contaminated ? '  CONTAMINATED (foreign BPF links, CPU use or steal)' : '') +
    `  (cpu busy ${r.cpu.busyPct}% sys ${r.cpu.systemPct}% idle ${r.cpu.idlePct}% steal ${r.cpu.stealPct}%; load ${r.loadavg.join(' ')}; attempts ${r.attempts})`);
}

async function main() {
  const startedAt = new Date().toISOString();
  const facts = machine();
  const git = { head: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']), dirty: sh('git', ['-C', ROOT, 'status', '--porcelain']) };
  const hashesAtStart = sourceHashes();
  const statsSysctl = sh('cat', ['/proc/sys/kernel/bpf_stats_enabled']);
  log(`machine: ${facts.nproc} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, load ${loadavg().join(' ')}; root ${ROOT}; git ${git.head ?? '(none)'}`);
  log(`plan: workloads ${WORKLOAD_NAMES.join(',')}, configs ${CONFIG_NAMES.join(',')}, ${ROUNDS} rounds × ${SECONDS}s, pgbench -c ${CLIENTS} -j ${CLIENTS}, scale ${SCALE}`);
  if (statsSysctl !== '0') log(`WARNING: kernel.bpf_stats_enabled = ${statsSysctl}: every BPF program pays for run-time stats in the measured runs`);

  const clusters = [];
  const skipped = [];
  try {
    log('starting cluster A (no preload)');
    const a = Object.assign(await startCluster({ preload: [], settings: CLUSTER_SETTINGS }), { label: 'A' });
    clusters.push(a);
    trackOwnProcess(a.postmasterPid);
    let b = null;
    if (CONFIG_NAMES.includes('pgss') || PROFILE) {
      log('starting cluster B (pg_stat_statements)');
      b = Object.assign(await startCluster({ preload: ['pg_stat_statements'], settings: CLUSTER_SETTINGS }), { label: 'B' });
      clusters.push(b);
      trackOwnProcess(b.postmasterPid);
    }
    let c = null;
    if (CONFIG_NAMES.includes('pgss+kcache')) {
      const kc = await kcacheLibrary(a);
      if (!kc.found) {
        skipped.push({ config: 'pgss+kcache', reason: `pg_stat_kcache.so not found (looked in ${kc.looked.join(', ')}); apt-get install postgresql-15-pg-stat-kcache` });
      } else {
        log('starting cluster C (pg_stat_statements + pg_stat_kcache)');
        try {
          c = Object.assign(await startCluster({ preload: ['pg_stat_statements', 'pg_stat_kcache'], settings: CLUSTER_SETTINGS }), { label: 'C' });
          clusters.push(c);
          trackOwnProcess(c.postmasterPid);
          await c.psql('CREATE EXTENSION IF NOT EXISTS pg_stat_kcache');
        } catch (err) {
          skipped.push({ config: 'pgss+kcache', reason: `pg_stat_kcache did not load: ${err.message}` });
          c = null;
        }
      }
    }

    const version = await a.psql('SELECT version()');
    log(`PostgreSQL: ${version}`);
    for (const cl of clusters) await pgbenchData(cl, SCALE);
    const target = await discoverTarget(a.conninfo);

    const make = (name) => {
      if (name === 'bare') return bareConfig('bare', a, 'A');
      if (name === 'pgss') return bareConfig('pgss', b, 'B');
      if (name === 'pgss+kcache') return c ? bareConfig('pgss+kcache', c, 'C') : null;
      if (isPgscout(name)) return pgscoutConfig(name, a);
      return emptyConfig(name, a, target.binaryPath);
    };
    const configs = CONFIG_NAMES.map(make).filter(Boolean);
    for (const s of skipped) log(`skipping ${s.config}: ${s.reason}`);

    // First use of each collector mode in this process (JIT, libpg-query, Parquet writers) outside any timed window.
    for (const name of CONFIG_NAMES.filter(isPgscout)) {
      log(`warm-up: ${name} collecting for 3 s (not measured)`);
      const { teardown } = await pgscoutConfig(name, a).setup();
      await pgbench(a, pgbenchArgs(WORKLOAD_NAMES[0], '-T', '3'));
      await teardown();
    }

    const runs = [];
    for (const workload of WORKLOAD_NAMES) {
      log(`${workload}: warm-up (5 s per cluster)`);
      for (const cl of clusters) await pgbench(cl, pgbenchArgs(workload, '-T', '5'));
      for (let round = 0; round < ROUNDS; round++) {
        const order = configs.map((_, i) => configs[(i + round) % configs.length]);
        for (const config of order) {
          const r = await measureRun(config, workload, SECONDS, { settle: true });
          runs.push({ workload, config: config.name, cluster: config.clusterLabel, round, ...r });
          logRun(`${workload} round ${round + 1}/${ROUNDS} ${config.name.padEnd(11)}`, r);
        }
      }
    }

    const profiles = [];
    if (PROFILE) {
      const names = ['pgscout', 'net-recv', 'exact', 'rows-all', 'empty-sched', 'empty-exact'].filter((n) => CONFIG_NAMES.includes(n));
      const targetB = await discoverTarget(b.conninfo);
      for (const workload of WORKLOAD_NAMES) {
        log(`${workload}: warm-up of cluster B (5 s), then the profile + coverage pass (BPF run-time stats on, pg_stat_statements reset after attaching)`);
        await pgbench(b, pgbenchArgs(workload, '-T', '5'));
        for (const name of names) {
          const config = isPgscout(name)
            ? pgscoutConfig(name, b, { profile: true, coverage: true })
            : emptyConfig(name, b, targetB.binaryPath, { profile: true, coverage: true });
          const r = await measureRun(config, workload, PROFILE_SECONDS);
          logRun(`${workload} profile ${name.padEnd(11)}`, r);
          const x = r.extra;
          profiles.push({
            workload, config: name, tps: r.tps, transactions: r.transactions, wallS: r.wallS, contaminated: r.contaminated,
            benchProcess: r.benchProcess, ...x, coverage: x.byQuery ? coverage(x.pgss, x.byQuery) : null,
            pgssStatements: x.pgss ? coverage(x.pgss, {}).pgssWorkload : null,
          });
        }
      }
    }

    const hashesAtEnd = sourceHashes();
    const changed = Object.keys(hashesAtStart).filter((f) => hashesAtStart[f] !== hashesAtEnd[f]);
    if (changed.length) log(`WARNING: changed during the run: ${changed.join(', ')}`);
    const summary = summarize(runs, configs);
    const report = render(summary, profiles, skipped, facts, version, { git, changed });
    process.stdout.write(report);
    if (JSON_OUT) {
      writeJson(JSON_OUT, {
        startedAt, facts, version,
        params: { autovacuum: AUTOVACUUM, seconds: SECONDS, rounds: ROUNDS, scale: SCALE, clients: CLIENTS, interval: INTERVAL, workloads: WORKLOAD_NAMES, configs: CONFIG_NAMES, profileSeconds: PROFILE_SECONDS, attempts: ATTEMPTS, foreignCpuLimitPct: FOREIGN_CPU, stealLimitPct: STEAL_LIMIT },
        root: ROOT, git, hashesAtStart, changedDuringRun: changed, bpfStatsSysctl: statsSysctl,
        floors: Object.fromEntries(Object.entries(FLOOR_SPECS).map(([k, s]) => [k, s.probes.map((p) => p.program)])),
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
    const spt = WORKLOADS[workload].statementsPerTx;
    for (const config of configs) {
      const rs = of(config.name);
      const tpsMedian = median(rs.map((r) => r.tps));
      const paired = rs.map((r) => r.tps / (bare.find((x) => x.round === r.round)?.tps ?? NaN));
      const row = {
        workload, config: config.name, cluster: config.clusterLabel,
        tps: rs.map((r) => r.tps), tpsMedian, contaminatedRuns: rs.filter((r) => r.contaminated).length,
        attempts: rs.map((r) => r.attempts),
        busyPctMedian: median(rs.map((r) => r.cpu?.busyPct ?? NaN)), ratio: tpsMedian / bareMedian, pairedRatioMedian: median(paired),
        processCpuPctMedian: median(rs.map((r) => r.benchProcess?.cpuPct ?? NaN)),
        foreignCpuPct: rs.map((r) => r.foreignCpuPct),
        stealPct: rs.map((r) => r.cpu?.stealPct ?? NaN),
      };
      if (isPgscout(config.name)) {
        const x = rs.map((r) => r.extra);
        row.pgscout = {
          source: x[0]?.source,
          // calls include the settle run's statements (collected too): expected counts them as well
          statementsPerSecond: median(rs.map((r) => (r.transactions * spt) / r.wallS)),
          callsPerRun: x.map((e) => e.calls),
          expectedPerRun: rs.map((r) => (r.transactions + r.settleTransactions) * spt),
          coverageVsPgbench: median(rs.map((r, i) => x[i].calls / ((r.transactions + r.settleTransactions) * spt))),
          rows: Object.fromEntries(['query_stats', 'queries', 'query_errors'].map((t) => [t, median(x.map((e) => e.rows[t] ?? 0))])),
          cpuPct: median(rs.map((r) => r.benchProcess.cpuPct)),
          cpuUserPct: median(rs.map((r) => r.benchProcess.userUs / 1e4 / r.wallS)),
          cpuSysPct: median(rs.map((r) => r.benchProcess.systemUs / 1e4 / r.wallS)),
          cpuUsPerStatement: median(rs.map((r) => (r.benchProcess.userUs + r.benchProcess.systemUs) / Math.max(1, r.transactions * spt))),
          collectionCpuPct: median(x.map((e) => e.collectionCpuPct)),
          drains: median(x.map((e) => e.drains)),
          syscallsPerDrain: median(x.map((e) => e.syscallsPerDrain)),
          syscallsPerSecond: median(rs.map((r) => r.benchProcess.bpfSyscalls / r.wallS)),
          drainMsAvg: median(x.map((e) => e.drainMsAvg)),
          drainMsMax: Math.max(...x.map((e) => e.drainMsMax)),
          drops: x.flatMap((e) => e.drops.map((d) => `${d.map}/${d.reason} ${d.count}`)),
          kernel: Object.fromEntries(Object.keys(x[0]?.kernel ?? {}).map((k) => [k, x.map((e) => e.kernel[k] ?? 0)])),
          errors: x.map((e) => e.lastError).filter(Boolean),
          notAttached: [...new Set(x.flatMap((e) => e.notAttached))],
          attached: x[0]?.attached ?? [],
        };
      }
      out.push(row);
    }
  }
  return out;
}

// ---- report

const label = (name) => LABELS[name] ?? name;
const pct = (x, d = 1) => (Number.isFinite(x) ? `${(x * 100).toFixed(d)} %` : '–');

function render(summary, profiles, skipped, facts, version, { git, changed }) {
  const lines = [];
  const get = (w, c) => summary.find((r) => r.workload === w && r.config === c);
  lines.push(`## pgbench TPS, ${CLIENTS} clients / ${CLIENTS} threads, ${SECONDS} s × ${ROUNDS} rounds round-robin, scale ${SCALE}`, '');
  lines.push(`${facts.nproc} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, ${version.split(',')[0]}; git ${git.head ?? '(no .git)'}${git.dirty ? ' (dirty)' : ''}`, '');
  if (changed.length) lines.push(`WARNING: changed during the run: ${changed.join(', ')}`, '');

  // Compact: one row per configuration, one column pair per workload.
  lines.push(`| configuration | ${WORKLOAD_NAMES.map((w) => `${WORKLOADS[w].label}: ratio (paired)`).join(' | ')} |`);
  lines.push(`|---|${WORKLOAD_NAMES.map(() => '---:').join('|')}|`);
  for (const name of CONFIG_NAMES) {
    if (!summary.some((r) => r.config === name)) continue;
    lines.push(`| ${label(name)} | ${WORKLOAD_NAMES.map((w) => { const r = get(w, name); return r ? `${fmt(r.ratio)} (${fmt(r.pairedRatioMedian)})` : '–'; }).join(' | ')} |`);
  }
  lines.push('');

  lines.push('| workload | configuration | cluster | TPS per round | median TPS | ratio to bare (medians) | paired ratio (median) | CPU busy (median) | steal per round (%) | foreign CPU per round (% of machine) | bench process CPU (% of a core) |');
  lines.push('|---|---|---|---|---:|---:|---:|---:|---|---:|');
  for (const r of summary) {
    lines.push(`| ${WORKLOADS[r.workload].label} | ${label(r.config)} | ${r.cluster} | ${r.tps.map((t) => t.toFixed(0)).join(' / ')} | ${r.tpsMedian.toFixed(0)} | ${fmt(r.ratio)} | ${fmt(r.pairedRatioMedian)} | ${fmt(r.busyPctMedian, 1)} % | ${r.stealPct.join(' / ')} | ${r.foreignCpuPct.join(' / ')} | ${fmt(r.processCpuPctMedian, 2)} |`);
  }
  for (const s of skipped) lines.push('', `Skipped ${s.config}: ${s.reason}`);
  lines.push(...taintWarning(summary, ATTEMPTS, (r) => `${r.workload}/${r.config}`));
  const redone = summary.filter((r) => r.attempts.some((n) => n > 1));
  if (redone.length) lines.push('', `Redone because of foreign BPF links or CPU use: ${redone.map((r) => `${r.workload}/${r.config} (attempts ${r.attempts.join('/')})`).join(', ')}`);
  lines.push('', 'Ratios are to the bare median of cluster A (pgss: cluster B, pgss+kcache: cluster C, separate fresh clusters).',
    `Foreign CPU: task CPU of processes other than the bench, its children and its clusters (another session's tests, kernel threads), in % of both CPUs; above ${FOREIGN_CPU ?? '∞'} % a run is redone, as it is when steal time (the CPU other guests on the host took) is above ${STEAL_LIMIT ?? '∞'} %.`,
    'Bench process CPU: this process (user + sys, all threads) over the pgbench window; for pgscout it is the in-process collector, for the others the bench\'s own floor.', '');

  lines.push('## pgscout collecting (medians of the measured runs)', '');
  lines.push('| workload | configuration | statements/s | calls / pgbench statements | query_stats / queries / query_errors rows per run | daemon CPU % of a core (user + sys) | µs CPU per statement | drains | bpf() per drain | bpf() per s | drain ms avg / max | drops | kernel counters (per run) |');
  lines.push('|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of summary.filter((s) => s.pgscout)) {
    const p = r.pgscout;
    const k = Object.entries(p.kernel).filter(([name]) => !['statements', 'text_sent'].includes(name) && p.kernel[name].some((v) => v))
      .map(([name, v]) => `${name} ${v.join('/')}`).join('; ');
    lines.push(`| ${WORKLOADS[r.workload].label} | ${label(r.config)} | ${fmt(p.statementsPerSecond, 0)} | ${fmt(p.coverageVsPgbench, 4)} | ${fmt(p.rows.query_stats, 0)} / ${fmt(p.rows.queries, 0)} / ${fmt(p.rows.query_errors, 0)} | ` +
      `**${fmt(p.cpuPct, 2)}** (${fmt(p.cpuUserPct, 2)} + ${fmt(p.cpuSysPct, 2)}) | ${fmt(p.cpuUsPerStatement, 2)} | ${p.drains} | ${fmt(p.syscallsPerDrain, 1)} | ${fmt(p.syscallsPerSecond, 1)} | ${fmt(p.drainMsAvg, 1)} / ${fmt(p.drainMsMax, 1)} | ${p.drops.join(', ') || '0'} | ${k || '–'} |`);
    if (p.errors.length) lines.push(`|   | drain errors: ${p.errors.join('; ')} |`);
    if (p.notAttached.length) lines.push(`|   | not attached: ${p.notAttached.join('; ')} |`);
  }
  lines.push('', 'calls = sum of query_stats calls the drains handed over (start to stop, final drain included); pgbench statements = transactions × statements per transaction (1; 7), which misses pgbench\'s setup statements and the transactions cut off at -T.', '');

  if (profiles.length) {
    lines.push(`## Profile + coverage pass (cluster B with pg_stat_statements, BPF run-time stats on, ${PROFILE_SECONDS} s per configuration; not part of the ratios)`, '');
    lines.push('| workload | configuration | TPS | pgss calls (workload ids) | ours | coverage (workload ids) | per query id min / max | coverage (all ids: ours / pgss) | rows query_stats / queries / query_errors |');
    lines.push('|---|---|---:|---:|---:|---:|---:|---|---|');
    for (const p of profiles.filter((x) => x.coverage)) {
      const cv = p.coverage;
      lines.push(`| ${WORKLOADS[p.workload].label} | ${label(p.config)} | ${p.tps.toFixed(0)} | ${cv.pgssWorkload} | ${cv.oursWorkload} | **${fmt(cv.workload, 4)}** | ${fmt(cv.minPerQuery, 4)} / ${fmt(cv.maxPerQuery, 4)} | ${cv.oursTotal} / ${cv.pgssTotal} = ${fmt(cv.total, 4)} | ${p.rows.query_stats} / ${p.rows.queries} / ${p.rows.query_errors} |`);
    }
    lines.push('');
    lines.push('| workload | configuration | program | hits | hits per statement | hits per s | avg ns per hit |');
    lines.push('|---|---|---|---:|---:|---:|---:|');
    for (const p of profiles) {
      const stmts = p.pgssStatements;
      let hits = 0;
      let ns = 0;
      for (const [name, s] of Object.entries(p.progStats ?? {})) {
        hits += s.runCnt;
        ns += s.runTimeNs;
        lines.push(`| ${WORKLOADS[p.workload].label} | ${label(p.config)} | ${name} | ${s.runCnt} | ${fmt(s.runCnt / stmts, 2)} | ${fmt(s.runCnt / p.wallS, 0)} | ${s.runCnt ? (s.runTimeNs / s.runCnt).toFixed(0) : '–'} |`);
      }
      lines.push(`| ${WORKLOADS[p.workload].label} | ${label(p.config)} | **all: ${fmt(ns / stmts, 0)} ns of program per statement, ${pct(ns / 1e9 / p.wallS / facts.nproc, 2)} of the CPUs** | ${hits} | ${fmt(hits / stmts, 2)} | ${fmt(hits / p.wallS, 0)} | ${hits ? (ns / hits).toFixed(0) : '–'} |`);
    }
    lines.push('', 'Statements = pg_stat_statements calls of the workload\'s query ids in that run. Tracepoint programs run for every event on the machine (every context switch, every socket read/send), not only the target\'s; their hits per statement include everything else running.', '');
  }

  lines.push('## Targets', '');
  const SETTLED = SETTLE_S > 0 ? `that ran ${SETTLE_S} s of the workload before it (start-up outside)` : 'started just before it (start-up included)';
  for (const w of WORKLOAD_NAMES) {
    const d = get(w, 'pgscout');
    const k = get(w, 'pgss+kcache');
    const e = get(w, 'exact');
    if (d) lines.push(`- ${WORKLOADS[w].label}: default ${fmt(d.ratio)} (paired ${fmt(d.pairedRatioMedian)}) vs target ≥ 0.98: ${d.ratio >= 0.98 ? 'met' : `missed by ${fmt(0.98 - d.ratio)}`}` +
      (k ? `; pgss+kcache ${fmt(k.ratio)} (paired ${fmt(k.pairedRatioMedian)}): default ${d.ratio > k.ratio ? 'ahead' : 'behind'}` : ''));
    if (e) lines.push(`- ${WORKLOADS[w].label}: --exact ${fmt(e.ratio)} (paired ${fmt(e.pairedRatioMedian)}) vs target ≥ 0.90: ${e.ratio >= 0.90 ? 'met' : `missed by ${fmt(0.90 - e.ratio)}`}`);
    if (d?.pgscout) lines.push(`- ${WORKLOADS[w].label}: default daemon CPU ${fmt(d.pgscout.cpuPct, 2)} % of a core at ${fmt(d.pgscout.statementsPerSecond, 0)} statements/s, over the measured window of an in-process collector ${SETTLED}; the standalone \`pgscout collect\` is what bench/daemon-cpu.mjs measures) vs target ≤ 2 %`);
  }
  const slow = profiles.flatMap((p) => Object.entries(p.progStats ?? {}).filter(([, s]) => s.runCnt && s.runTimeNs / s.runCnt > 200)
    .map(([name, s]) => `${p.workload}/${p.config}/${name} ${(s.runTimeNs / s.runCnt).toFixed(0)} ns`));
  if (profiles.length) lines.push(`- programs above 200 ns per hit: ${slow.length ? slow.join(', ') : 'none'}`);
  return lines.join('\n') + '\n';
}

run(main);
