#!/usr/bin/env node
/**
 * Operator-collection overhead (issue 3), measured side by side in one run.
 *
 *   node bench/operator-probes.mjs [--seconds 8] [--rounds 3] [--scale 10] [--clients 2] [--many-clients 10]
 *                            [--workloads select,analytical] [--interval 1s] [--no-profile] [--no-empty]
 *                            [--no-auto-explain] [--profile-tx select=20000,analytical=2]
 *                            [--foreign-wait 90] [--attempts 2] [--json out.json]
 *
 * Needs root (BPF), `npm run build` (dist/ and bpf/.output/{statements,operators,empty_operators}.bpf.o)
 * and the PostgreSQL 15 server binaries (auto_explain ships with them). One throwaway cluster,
 * scale 10, no shared_preload_libraries; every configuration runs on it.
 *
 * Workloads (pgbench, simple protocol):
 *   select      pgbench -S (one indexed SELECT per transaction)
 *   analytical  a custom script (-f) with the statements of ANALYTICAL_QUERIES (src/demo/workload.ts)
 *               as one transaction: joins, aggregates, sorts, a CTE, a window function, mostly over the
 *               1M-row pgbench_accounts
 *
 * Configurations (round-robin, each round in a rotated order, `rounds` times; pgbench -c clients -j clients -T seconds):
 *   bare            nothing attached: the reference
 *   statement       pgscout at statement level (in-process Collection, Parquet to a temp dir)
 *   op-1            pgscout at operator level, --sample 1 (every backend, incl. parallel workers)
 *   op-0.1          pgscout at operator level, --sample 0.1: max(1, round(0.1 × client backends)) backends
 *                   probed at a time (with 2 clients: 1 of 2). The sampler chooses at start, before pgbench
 *                   has connected, and then every 10 s (the default rotation): the bench triggers the first
 *                   choice 0.5 s into the run, the same call the rotation timer makes.
 *   empty-ops       bpf/empty_operators.bpf.o (the operator programs with bodies `return 0`, no maps) attached
 *                   to the operator collector's probe points: the exported functions of collectors/operators.json
 *                   at their probe sites, and node_enter/node_exit at every per-node function site a real
 *                   operator-level run discovered (pid -1). No statement collector: the operator trap floor.
 *   ae-timing       auto_explain per session: session_preload_libraries = 'auto_explain',
 *                   auto_explain.log_min_duration = 0, log_analyze = on, log_timing = on, set with ALTER SYSTEM +
 *                   pg_reload_conf() before the run and reset after it. Plans go to the cluster's server.log
 *                   (under its temp dir), not the terminal.
 *   ae-notiming     the same with auto_explain.log_timing = off
 * With --many-clients N (default 10; 0 skips) each workload also runs with -c N -j 2 for bare, op-1 and op-0.1,
 * so that 10% sampling means 1 of 10 backends.
 *
 * Per-hit cost (unless --no-profile): per workload, a fixed number of transactions (-t) with BPF run-time stats
 * on (BPF_ENABLE_STATS: the fd form of `sysctl kernel.bpf_stats_enabled=1`, released when the pass ends):
 * bare (timing only), empty-ops and op-1; run_cnt and run_time_ns of every operator program (and the statement
 * programs of op-1) from bpf_obj_get_info_by_fd, i.e. what `bpftool prog show -j` prints.
 *
 * Taint: links of someone else's BPF programs (`bpftool -j link show`, any prog id not of our own objects)
 * before, in the middle of, or after a run mark it contaminated; it is redone (--attempts). Before each run the
 * bench waits up to --foreign-wait seconds for foreign links to go away.
 *
 * Progress goes to stderr, the markdown tables to stdout.
 */
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startCluster } from '../dist/demo/cluster.js';
import { ANALYTICAL_QUERIES, pgbench } from '../dist/demo/workload.js';
import { discoverTarget, toClientConfig } from '../dist/pg/target.js';
import { attachSpec } from '../dist/bpf/attacher.js';
import { loadCollectorSpec, objectPath } from '../dist/bpf/collector-spec.js';
import { BackendSampler } from '../dist/collectors/operators/sampler.js';
import { openElf } from '../dist/elf/elf.js';
import { functionSite } from '../dist/elf/probe-site.js';
import { packageRoot } from '../dist/util/package-root.js';
import {
  clientArgs, closeActive, closeObject, enableBpfStats, enabled, flag, fmt, loadavg, loadObject, log, machine, median,
  numbers, onInterrupt, pgbenchData, programInfos, run, runOnce, sh, sleep, startCollecting, taintWarning, writeJson,
} from './lib/harness.mjs';

// ---- arguments

const SECONDS = Number(flag('seconds', '8'));
const ROUNDS = Number(flag('rounds', '3'));
const SCALE = Number(flag('scale', '10'));
const CLIENTS = Number(flag('clients', '2'));
const MANY_CLIENTS = Number(flag('many-clients', '10'));
const MANY_THREADS = 2;
const INTERVAL = flag('interval', '1s');
const JSON_OUT = flag('json', undefined);
const PROFILE = enabled('profile');
const EMPTY = enabled('empty');
const AUTO_EXPLAIN = enabled('auto-explain');
const FOREIGN_WAIT_S = Number(flag('foreign-wait', '90'));
const ATTEMPTS = Number(flag('attempts', '2'));
const WORKLOAD_NAMES = flag('workloads', 'select,analytical').split(',');
const PROFILE_TX = { select: 20000, analytical: 2 };
for (const kv of (flag('profile-tx', '') || '').split(',').filter(Boolean)) {
  const [k, v] = kv.split('=');
  PROFILE_TX[k] = Number(v);
}

const WORKLOADS = {
  select: { label: 'select-only (-S)', args: () => ['-S'], statementsPerTx: 1 },
  analytical: { label: 'analytical mix (-f)', args: () => ['-f', analyticalScript()], statementsPerTx: ANALYTICAL_QUERIES.length },
};
for (const w of WORKLOAD_NAMES) if (!WORKLOADS[w]) throw new Error(`unknown workload '${w}' (select, analytical)`);

const tmp = mkdtempSync(join(os.tmpdir(), 'pgscout-opbench-'));
let scriptPath = null;
/** ANALYTICAL_QUERIES as one pgbench transaction (no BEGIN/END: autocommit statements). */
function analyticalScript() {
  if (!scriptPath) {
    scriptPath = join(tmp, 'analytical.sql');
    writeFileSync(scriptPath, ANALYTICAL_QUERIES.map((q) => `${q};\n`).join(''));
  }
  return scriptPath;
}

// ---- probe points

const ROOT = packageRoot();
const OPERATORS_SPEC = loadCollectorSpec(ROOT, 'operators');
const EMPTY_OPS_OBJECT = objectPath(ROOT, { object: 'empty_operators.bpf.o' });
const KIND = Object.fromEntries(OPERATORS_SPEC.probes.map((p) => [p.program, p.kind]));
KIND.node_enter = 'uprobe';
KIND.node_exit = 'uretprobe';
const TWINS = OPERATORS_SPEC.uprobeMulti ?? {};
/** A program's stats under its own name, with its uprobe_multi twin's (the same code, other links) added. */
function foldTwins(stats = {}) {
  const out = { ...stats };
  for (const [program, twin] of Object.entries(TWINS)) {
    const t = out[twin];
    if (!t) continue;
    const o = out[program];
    out[program] = o ? { ...o, runCnt: o.runCnt + t.runCnt, runTimeNs: o.runTimeNs + t.runTimeNs } : t;
    delete out[twin];
  }
  return out;
}
const OP_PROGRAMS = ['init_enter', 'init_exit', 'init_subplan', 'node_enter', 'node_exit', 'multi_exit', 'getbitmap_exit',
  'rescan', 'end_node', 'op_sock_send', 'op_sock_recv'];

/**
 * Breakpoint traps from run counts: each uprobe hit is one trap (a uretprobe on the same
 * function shares its entry breakpoint), each uretprobe hit one more (the return trampoline);
 * a uretprobe without a uprobe of ours at that function (index_getbitmap) also traps at entry.
 */
function traps(stats) {
  let n = 0;
  for (const [name, s] of Object.entries(stats)) {
    if (KIND[name] === 'uprobe') n += s.runCnt;
    else if (KIND[name] === 'uretprobe') n += name === 'getbitmap_exit' ? 2 * s.runCnt : s.runCnt;
  }
  return n;
}

// ---- configurations; each: setup() before the timed run → { teardown(), started?() }

function bareConfig(name = 'bare') {
  return { name, setup: async () => ({ teardown: async () => ({}) }) };
}

function pgscoutConfig(cluster, { name, level, sample = '1', profile = false }) {
  return {
    name, setup: async () => {
      const collecting = await startCollecting(cluster.conninfo, { interval: INTERVAL, level, sample }, { dir: tmp, profile });
      const { collection } = collecting;
      const ops = collection.collector('operators');
      // The collector chose its sample at start, before pgbench connected: choose again once it
      // has, as the rotation timer would (beside the drains), with a sampler of the same fraction.
      const sampler = ops && collection.config.sample < 1 ? new BackendSampler(cluster.conninfo, collection.config.sample) : null;
      let sampled = null;
      let rotation = Promise.resolve();
      const started = sampler ? () => {
        rotation = (async () => {
          const pids = await sampler.choose();
          await ops.operatorSource.setTargets(pids);
          sampled = { probed: ops.operatorSource.targets.length, chosen: pids.length };
        })();
      } : undefined;
      return {
        started,
        teardown: async () => {
          await rotation;
          await sampler?.close();
          const { summary, progStats, cpuPct, lastError } = await collecting.stop();
          const { statements, operators: o } = summary.collectors;
          return {
            statementRows: (summary.rows.queries ?? 0) + (summary.rows.query_errors ?? 0),
            statementDrops: statements.drops.reduce((s, d) => s + d.count, 0),
            operatorRows: o ? summary.rows.operators ?? 0 : null,
            operatorIncomplete: o ? o.drops.find((d) => d.reason === 'function_not_probed')?.count ?? 0 : null,
            functionsProbed: o?.probeSites ? o.probeSites.fast + o.probeSites.slow : null,
            slowFunctions: o?.probeSites?.slow ?? null,
            sampledBackends: sampled,
            operatorKernel: o ? numbers(o.kernel) : null,
            sidecarCpuPct: cpuPct,
            lastError,
            progStats,
          };
        },
      };
    },
  };
}

/** The operator collector's probe points, every program empty (bpf/empty_operators.bpf.c). */
function emptyOpsConfig(binary, sites, { profile = false } = {}) {
  return {
    name: 'empty-ops', setup: async () => {
      const obj = loadObject(EMPTY_OPS_OBJECT, (o) => {
        attachSpec(o, OPERATORS_SPEC, binary);
        for (const s of sites) {
          o.attachUprobe('node_enter', binary, { offset: s.offset }, { pid: -1 });
          o.attachUprobe('node_exit', binary, { offset: s.offset }, { pid: -1, retprobe: true });
        }
      });
      const disableStats = profile ? enableBpfStats() : null;
      return {
        teardown: async () => {
          const progStats = profile ? { operators: programInfos(obj) } : undefined;
          disableStats?.();
          const links = obj.links.length;
          closeObject(obj);
          return { links, progStats };
        },
      };
    },
  };
}

async function withClient(cluster, f) {
  const c = new pg.Client({ ...toClientConfig(cluster.conninfo), application_name: 'pgscout-bench' });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

const AE_SETTINGS = ['session_preload_libraries', 'auto_explain.log_min_duration', 'auto_explain.log_analyze', 'auto_explain.log_timing'];

/** Counts auto_explain plan messages (`duration: … ms  plan:`) written to the log from `offset` on. */
function countPlans(file, offset) {
  return new Promise((resolve, reject) => {
    let n = 0;
    let tail = '';
    createReadStream(file, { start: offset, encoding: 'latin1' })
      .on('data', (chunk) => {
        const s = tail + chunk;
        n += (s.match(/ ms {2}plan:/g) ?? []).length;
        tail = s.slice(-16);
        if (/ ms {2}plan:/.test(tail)) tail = tail.slice(tail.lastIndexOf('plan:') + 5);
      })
      .on('end', () => resolve(n))
      .on('error', reject);
  });
}

function autoExplainConfig(cluster, timing) {
  const logFile = join(dirname(cluster.dataDir), 'server.log');
  return {
    name: timing ? 'ae-timing' : 'ae-notiming', setup: async () => {
      await withClient(cluster, async (c) => {
        await c.query(`LOAD 'auto_explain'`); // defines the auto_explain.* parameters so ALTER SYSTEM accepts them
        await c.query(`ALTER SYSTEM SET session_preload_libraries = 'auto_explain'`);
        await c.query(`ALTER SYSTEM SET auto_explain.log_min_duration = 0`);
        await c.query(`ALTER SYSTEM SET auto_explain.log_analyze = on`);
        await c.query(`ALTER SYSTEM SET auto_explain.log_timing = ${timing ? 'on' : 'off'}`);
        await c.query('SELECT pg_reload_conf()');
      });
      // New sessions see it once the postmaster has processed the SIGHUP.
      const want = timing ? 'on' : 'off';
      for (let i = 0; ; i++) {
        const got = await withClient(cluster, async (c) => Object.values((await c.query('SHOW auto_explain.log_timing')).rows[0])[0])
          .catch(() => null);
        if (got === want) break;
        if (i === 50) throw new Error(`auto_explain not active in new sessions after reload (log_timing = ${got})`);
        await sleep(100);
      }
      const offset = statSync(logFile).size;
      return {
        teardown: async () => {
          await withClient(cluster, async (c) => {
            for (const s of AE_SETTINGS) await c.query(`ALTER SYSTEM RESET ${s}`);
            await c.query('SELECT pg_reload_conf()');
          });
          for (let i = 0; i < 50; i++) {
            const spl = await withClient(cluster, async (c) => Object.values((await c.query('SHOW session_preload_libraries')).rows[0])[0]);
            if (spl === '') break;
            await sleep(100);
          }
          const end = statSync(logFile).size;
          return { plansLogged: await countPlans(logFile, offset), logBytes: end - offset };
        },
      };
    },
  };
}

onInterrupt(() => rmSync(tmp, { recursive: true, force: true }));

// ---- measuring

function parseLatency(output) {
  const m = /latency average = ([\d.]+) ms/.exec(output);
  return m ? Number(m[1]) : NaN;
}

const pgbenchArgs = (suite, ...runArgs) => [...WORKLOADS[suite.workload].args(), ...clientArgs(suite.clients, suite.threads), ...runArgs];

async function measureRun(cluster, config, suite, runArgs) {
  const r = await runOnce(config, () => pgbench(cluster, pgbenchArgs(suite, ...runArgs)),
    { seconds: SECONDS, attempts: ATTEMPTS, foreignWaitS: FOREIGN_WAIT_S, label: suite.id });
  return {
    tps: r.tps, latencyMs: parseLatency(r.output ?? ''), transactions: r.transactions, wallS: r.wallS,
    loadavg: r.loadavg, cpu: r.cpu, extra: r.extra, foreignLinks: r.foreignLinks, contaminated: r.contaminated, attempts: r.attempts,
  };
}

/** One operator-level run over both workloads: which per-node functions get probed (their sites). */
async function discoverSites(cluster) {
  const collecting = await startCollecting(cluster.conninfo, { interval: INTERVAL, level: 'operator', 'operator-probes': '1' }, { dir: tmp });
  try {
    for (const w of WORKLOAD_NAMES) {
      await pgbench(cluster, pgbenchArgs({ workload: w, clients: CLIENTS, threads: CLIENTS }, '-t', w === 'select' ? '200' : '1'));
    }
    await sleep(200);
    const source = collecting.collection.collector('operators').operatorSource;
    source.discoverNow();
    return [...source.sites.entries()].map(([addr, s]) => ({
      addr: `0x${addr.toString(16)}`, tag: s.tag, funcVaddr: s.funcVaddr, vaddr: s.vaddr, offset: s.offset, insn: s.insn, fast: s.fast,
    }));
  } finally {
    await collecting.stop();
  }
}

async function main() {
  const startedAt = new Date().toISOString();
  const facts = { ...machine(), bpfStatsSysctl: sh('sysctl', ['-n', 'kernel.bpf_stats_enabled']) };
  log(`machine: ${facts.nproc} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, load ${loadavg().join(' ')}`);
  const cluster = await startCluster({ preload: [] });
  try {
    const version = await cluster.psql('SELECT version()');
    log(`PostgreSQL: ${version}`);
    await pgbenchData(cluster, SCALE);
    const target = await discoverTarget(cluster.conninfo);
    const binary = target.binaryPath;

    // The analytical plans (bare cluster, default settings): node types and whether parallel workers run.
    const plans = [];
    for (const q of ANALYTICAL_QUERIES) {
      const text = await cluster.psql(`EXPLAIN (COSTS OFF) ${q}`);
      plans.push({ query: q, plan: text, nodes: text.split('\n').length, parallel: /Gather/.test(text) });
    }
    log(`analytical plans: ${plans.map((p, i) => `q${i + 1} ${p.nodes} lines${p.parallel ? ' (parallel)' : ''}`).join(', ')}`);

    log('discovering per-node function sites (one operator-level run over the workloads)');
    const sites = await discoverSites(cluster);
    const exported = OPERATORS_SPEC.probes.filter((p) => p.kind !== 'tracepoint').map((p) => p.func)
      .filter((f, i, a) => a.indexOf(f) === i)
      .map((func) => ({ func, ...functionSite(openElf(binary), binary, func) }));
    log(`${sites.length} node function sites (${sites.filter((s) => !s.fast).length} slow); exported: ` +
      exported.map((e) => `${e.func}+0x${(e.vaddr - e.funcVaddr).toString(16)} (${e.insn})`).join(', '));

    const suites = [];
    for (const w of WORKLOAD_NAMES) {
      suites.push({
        id: `${w}/c${CLIENTS}`, workload: w, clients: CLIENTS, threads: CLIENTS, configs: [
          bareConfig(),
          pgscoutConfig(cluster, { name: 'statement', level: 'statement' }),
          pgscoutConfig(cluster, { name: 'op-1', level: 'operator', 'operator-probes': '1' }),
          pgscoutConfig(cluster, { name: 'op-0.1', level: 'operator', 'operator-probes': '0.1' }),
          ...(EMPTY ? [emptyOpsConfig(binary, sites)] : []),
          ...(AUTO_EXPLAIN ? [autoExplainConfig(cluster, true), autoExplainConfig(cluster, false)] : []),
        ],
      });
    }
    if (MANY_CLIENTS > 0) {
      for (const w of WORKLOAD_NAMES) {
        suites.push({
          id: `${w}/c${MANY_CLIENTS}`, workload: w, clients: MANY_CLIENTS, threads: MANY_THREADS, configs: [
            bareConfig(),
            pgscoutConfig(cluster, { name: 'op-1', level: 'operator', 'operator-probes': '1' }),
            pgscoutConfig(cluster, { name: 'op-0.1', level: 'operator', 'operator-probes': '0.1' }),
          ],
        });
      }
    }

    const runs = [];
    for (const suite of suites) {
      log(`${suite.id}: warm-up (5 s, bare)`);
      await pgbench(cluster, pgbenchArgs(suite, '-T', '5'));
      const cs = suite.configs;
      for (let round = 0; round < ROUNDS; round++) {
        const order = cs.map((_, i) => cs[(i + round) % cs.length]);
        for (const config of order) {
          const r = await measureRun(cluster, config, suite, ['-T', String(SECONDS)]);
          runs.push({ suite: suite.id, workload: suite.workload, clients: suite.clients, config: config.name, round, ...r });
          const x = r.extra;
          log(`${suite.id} round ${round + 1}/${ROUNDS} ${config.name.padEnd(11)} ${r.tps.toFixed(1).padStart(8)} TPS ${r.latencyMs.toFixed(3)} ms` +
            (x.operatorRows != null ? `  op rows ${x.operatorRows} stmt rows ${x.statementRows} fns ${x.functionsProbed}` : '') +
            (x.statementRows != null && x.operatorRows == null ? `  stmt rows ${x.statementRows}` : '') +
            (x.sampledBackends ? `  sampled ${x.sampledBackends.probed}` : '') +
            (x.plansLogged != null ? `  plans logged ${x.plansLogged} (${(x.logBytes / 2 ** 20).toFixed(1)} MB)` : '') +
            (x.lastError ? `  ERROR ${x.lastError}` : '') +
            (r.contaminated ? '  CONTAMINATED by foreign BPF links' : '') +
            `  (cpu busy ${r.cpu.busyPct}% sys ${r.cpu.systemPct}%; load ${r.loadavg.join(' ')})`);
        }
      }
    }

    const profiles = [];
    if (PROFILE) {
      for (const w of WORKLOAD_NAMES) {
        const suite = { id: `${w}/c${CLIENTS}/profile`, workload: w, clients: CLIENTS, threads: CLIENTS };
        const tx = PROFILE_TX[w];
        const p = { workload: w, txPerClient: tx, statements: tx * CLIENTS * WORKLOADS[w].statementsPerTx, runs: {} };
        for (const config of [bareConfig(), emptyOpsConfig(binary, sites, { profile: true }),
          pgscoutConfig(cluster, { name: 'op-1', level: 'operator', 'operator-probes': '1', profile: true })]) {
          log(`${w}: per-hit profile, ${config.name}, -t ${tx} per client`);
          p.runs[config.name] = await measureRun(cluster, config, suite, ['-t', String(tx)]);
        }
        profiles.push(p);
      }
    }

    const summary = summarize(runs, suites);
    const report = render(summary, runs, profiles, sites, exported, facts, version, plans);
    process.stdout.write(report);
    if (JSON_OUT) {
      writeJson(JSON_OUT, {
        startedAt, facts, version,
        params: { seconds: SECONDS, rounds: ROUNDS, scale: SCALE, clients: CLIENTS, manyClients: MANY_CLIENTS, interval: INTERVAL, workloads: WORKLOAD_NAMES, profileTx: PROFILE_TX },
        analyticalQueries: ANALYTICAL_QUERIES, plans, sites, exported, summary, runs, profiles,
      });
    }
  } finally {
    closeActive();
    await cluster.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function summarize(runs, suites) {
  const out = [];
  for (const suite of suites) {
    const of = (name) => runs.filter((r) => r.suite === suite.id && r.config === name);
    const bare = of('bare');
    const bareTps = median(bare.map((r) => r.tps));
    const bareLat = median(bare.map((r) => r.latencyMs));
    const spt = WORKLOADS[suite.workload].statementsPerTx;
    // CPU per statement: busy share of all CPUs over the run / statements per second.
    const cpuUs = (r) => (facts0.nproc * (r.cpu?.busyPct ?? NaN) / 100 * 1e6) / (r.tps * spt);
    const bareCpu = median(bare.map(cpuUs));
    for (const config of suite.configs) {
      const rs = of(config.name);
      const tpsMedian = median(rs.map((r) => r.tps));
      const latMedian = median(rs.map((r) => r.latencyMs));
      const paired = rs.map((r) => r.tps / (bare.find((b) => b.round === r.round)?.tps ?? NaN));
      const x = rs.map((r) => r.extra);
      out.push({
        suite: suite.id, workload: suite.workload, clients: suite.clients, threads: suite.threads, config: config.name,
        tps: rs.map((r) => r.tps), tpsMedian, ratio: tpsMedian / bareTps, pairedRatioMedian: median(paired),
        latencyMs: rs.map((r) => r.latencyMs), latencyMsMedian: latMedian, latencyRatio: latMedian / bareLat,
        cpuUsPerStatement: median(rs.map(cpuUs)), cpuUsAdded: median(rs.map(cpuUs)) - bareCpu,
        contaminatedRuns: rs.filter((r) => r.contaminated).length,
        operatorRows: x.map((e) => e.operatorRows ?? null), statementRows: x.map((e) => e.statementRows ?? null),
        sampled: x.map((e) => e.sampledBackends?.probed ?? null),
        functionsProbed: x.map((e) => e.functionsProbed ?? null), slowFunctions: x.map((e) => e.slowFunctions ?? null),
        operatorDrops: x.reduce((s, e) => s + (e.operatorKernel?.drop_full ?? 0) + (e.operatorKernel?.stack_overflow ?? 0), 0),
        statementDrops: x.reduce((s, e) => s + (e.statementDrops ?? 0), 0),
        sidecarCpuPct: median(x.map((e) => e.sidecarCpuPct ?? NaN)),
        plansLogged: x.map((e) => e.plansLogged ?? null), logBytes: x.map((e) => e.logBytes ?? null),
        transactions: rs.map((r) => r.transactions),
        errors: x.map((e) => e.lastError).filter(Boolean),
      });
    }
  }
  return out;
}

const facts0 = { nproc: os.availableParallelism?.() ?? os.cpus().length };
const LABEL = {
  bare: 'bare', statement: 'statement level', 'op-1': 'operator, --sample 1', 'op-0.1': 'operator, --sample 0.1',
  'empty-ops': 'empty operator programs (trap floor)', 'ae-timing': 'auto_explain analyze, timing on',
  'ae-notiming': 'auto_explain analyze, timing off',
};

function render(summary, runs, profiles, sites, exported, facts, version, plans) {
  const L = [];
  L.push(`## Throughput: ${SECONDS} s × ${ROUNDS} rounds round-robin, scale ${SCALE}`, '');
  L.push(`${facts.nproc} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, ${version.split(',')[0]}`, '');
  L.push('| workload | clients | configuration | TPS per round | median TPS | ratio to bare | paired ratio | latency avg ms (median) | latency ratio | CPU µs per statement (added) |');
  L.push('|---|---:|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of summary) {
    const d = r.tpsMedian < 100 ? 2 : 0;
    L.push(`| ${WORKLOADS[r.workload].label} | ${r.clients} | ${LABEL[r.config] ?? r.config} | ${r.tps.map((t) => t.toFixed(d)).join(' / ')} | ${r.tpsMedian.toFixed(d)} | ${fmt(r.ratio)} | ${fmt(r.pairedRatioMedian)} | ${fmt(r.latencyMsMedian, r.latencyMsMedian < 10 ? 3 : 1)} | ${fmt(r.latencyRatio, 2)} | ${fmt(r.cpuUsPerStatement, r.cpuUsPerStatement > 1000 ? 0 : 1)}${r.config === 'bare' ? '' : ` (${r.cpuUsAdded >= 0 ? '+' : ''}${fmt(r.cpuUsAdded, Math.abs(r.cpuUsAdded) > 1000 ? 0 : 1)})`} |`);
  }
  L.push(...taintWarning(summary, ATTEMPTS, (r) => `${r.suite}/${r.config}`));
  L.push('', 'Ratios: median TPS / median bare TPS of the same workload and client count; paired: median over rounds of TPS / bare TPS of that round. Latency ratio: median latency / median bare latency. CPU per statement: busy share of all CPUs (/proc/stat, includes anything else running) / statements per second.', '');

  L.push('## What each configuration did per run', '');
  L.push('| workload | clients | configuration | transactions | statement rows | operator rows | backends probed | node functions probed (slow) | drops | sidecar CPU % | auto_explain plans logged | log MB |');
  L.push('|---|---:|---|---|---|---|---|---|---:|---:|---|---|');
  for (const r of summary) {
    if (r.config === 'bare' || r.config === 'empty-ops') continue;
    const j = (xs) => (xs.every((x) => x == null) ? '' : xs.map((x) => x ?? '–').join(' / '));
    L.push(`| ${WORKLOADS[r.workload].label} | ${r.clients} | ${r.config} | ${r.transactions.join(' / ')} | ${j(r.statementRows)} | ${j(r.operatorRows)} | ${r.config === 'op-0.1' ? j(r.sampled) : r.config === 'op-1' ? 'all (pid -1)' : ''} | ${r.functionsProbed.some((x) => x != null) ? `${median(r.functionsProbed)} (${median(r.slowFunctions)})` : ''} | ${r.config.startsWith('ae') ? '' : r.operatorDrops + r.statementDrops} | ${r.config.startsWith('ae') ? '' : fmt(r.sidecarCpuPct, 1)} | ${j(r.plansLogged)} | ${r.logBytes.every((x) => x == null) ? '' : r.logBytes.map((b) => (b / 2 ** 20).toFixed(1)).join(' / ')} |`);
    for (const e of r.errors) L.push(`|   |   | ${r.config} | drain error: ${e} |`);
  }
  L.push('');

  L.push('## Probe sites', '');
  L.push(`Exported functions: ${exported.map((e) => `\`${e.func}\`${e.vaddr !== e.funcVaddr ? `+0x${(e.vaddr - e.funcVaddr).toString(16)}` : ''} (${e.insn}${e.fast ? '' : ', SLOW'})`).join(', ')}.`, '');
  const slow = sites.filter((s) => !s.fast);
  L.push(`Per-node functions discovered: ${sites.length}, ${slow.length} slow (${slow.map((s) => `${s.tag}: ${s.insn}`).join('; ') || 'none'}); ` +
    `probed past leading instructions: ${sites.filter((s) => s.vaddr !== s.funcVaddr).map((s) => `${s.tag} +0x${(s.vaddr - s.funcVaddr).toString(16)}`).join(', ') || 'none'}.`, '');

  if (WORKLOAD_NAMES.includes('analytical')) {
    L.push('## Analytical plans (EXPLAIN, costs off)', '');
    plans.forEach((p, i) => L.push(`q${i + 1}${p.parallel ? ' (parallel)' : ''}: ${p.plan.split('\n').map((l) => l.trim().replace(/^->\s*/, '')).filter((l) => !/^(Sort Key|Group Key|Hash Cond|Filter|Index Cond|Workers Planned|Presorted Key|Join Filter|Hash Key|Output|Partition By|Order By)/.test(l)).join(' → ')}`));
    L.push('');
  }

  for (const p of profiles) {
    const ours = p.runs['op-1'];
    const empty = p.runs['empty-ops'];
    const bare = p.runs.bare;
    const st = ours?.extra.progStats ?? {};
    const ops = foldTwins(st.operators);
    const es = empty?.extra.progStats?.operators ?? {};
    const n = p.statements;
    L.push(`## Per-hit cost: ${WORKLOADS[p.workload].label}, pgbench -c ${CLIENTS} -t ${p.txPerClient} (${n} statements), BPF run-time stats on`, '');
    L.push(`TPS with stats on: bare ${fmt(bare?.tps, 1)}, empty-ops ${fmt(empty?.tps, 1)}, op-1 ${fmt(ours?.tps, 1)} (not part of the ratios).`, '');
    L.push('| program | kind | ours: hits per statement | ours: avg ns per hit | empty: hits per statement | empty: avg ns per hit | ours: µs per statement |');
    L.push('|---|---|---:|---:|---:|---:|---:|');
    let oursNs = 0;
    let emptyNs = 0;
    for (const name of OP_PROGRAMS) {
      const o = ops[name];
      const e = es[name];
      if (!o && !e) continue;
      oursNs += o?.runTimeNs ?? 0;
      emptyNs += e?.runTimeNs ?? 0;
      const per = (s) => (s ? fmt(s.runCnt / n, 2) : '–');
      const ns = (s) => (s?.runCnt ? (s.runTimeNs / s.runCnt).toFixed(0) : '–');
      L.push(`| ${name} | ${KIND[name] ?? 'tracepoint'} | ${per(o)} | ${ns(o)} | ${per(e)} | ${ns(e)} | ${o ? fmt(o.runTimeNs / n / 1000, 2) : '–'} |`);
    }
    const ot = traps(ops);
    const et = traps(es);
    L.push(`| **operator traps** | | **${fmt(ot / n, 1)}** | | ${fmt(et / n, 1)} | | |`);
    L.push(`| **operator program time per statement** | | | | | | **${fmt(oursNs / n / 1000, 2)}** (empty: ${fmt(emptyNs / n / 1000, 2)}) |`);
    if (st.statements) {
      const sNs = Object.values(st.statements).reduce((s, x) => s + x.runTimeNs, 0);
      L.push(`| statement programs (all) | | ${fmt(Object.values(st.statements).reduce((s, x) => s + x.runCnt, 0) / n, 1)} | | | | ${fmt(sNs / n / 1000, 2)} |`);
    }
    L.push('', 'Traps: uprobe hits + uretprobe hits (a uretprobe shares the entry breakpoint of the uprobe on the same function; index_getbitmap has only a uretprobe, so 2 traps a hit). In-program time only: the trap itself is not in run_time_ns.', '');
  }
  return L.join('\n') + '\n';
}

run(main);
