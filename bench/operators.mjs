#!/usr/bin/env node
/**
 * Operator-collection overhead (issue 3), measured side by side in one run.
 *
 *   node bench/operators.mjs [--seconds 8] [--rounds 3] [--scale 10] [--clients 2] [--many-clients 10]
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
 *   analytical  a custom script (-f) with the statements of ANALYTICAL_QUERIES (src/collect/workload.ts)
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
import { execFile, execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import koffi from 'koffi';
import pg from 'pg';
import { startCluster } from '../dist/pg/cluster.js';
import { ANALYTICAL_QUERIES, pgbench, pgbenchInit } from '../dist/collect/workload.js';
import { Collection } from '../dist/collect/collection.js';
import { collectConfig } from '../dist/config.js';
import { discoverTarget, toClientConfig } from '../dist/pg/target.js';
import { BpfObject } from '../dist/bpf/object.js';
import { loadCollectorSpec, objectPath } from '../dist/bpf/collector-spec.js';
import { fn } from '../dist/bpf/libbpf.js';
import { openElf } from '../dist/pg/elf.js';
import { functionSite } from '../dist/pg/probe-site.js';

// ---- arguments

const argv = process.argv.slice(2);
function flag(name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const SECONDS = Number(flag('seconds', '8'));
const ROUNDS = Number(flag('rounds', '3'));
const SCALE = Number(flag('scale', '10'));
const CLIENTS = Number(flag('clients', '2'));
const MANY_CLIENTS = Number(flag('many-clients', '10'));
const MANY_THREADS = 2;
const INTERVAL = flag('interval', '1s');
const JSON_OUT = flag('json', undefined);
const PROFILE = !argv.includes('--no-profile');
const EMPTY = !argv.includes('--no-empty');
const AUTO_EXPLAIN = !argv.includes('--no-auto-explain');
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

function log(msg) {
  process.stderr.write(`[operators ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- BPF program info: run-time stats, program ids (taint detection)

const SYS_BPF = process.arch === 'arm64' ? 280 : 321;
const BPF_ENABLE_STATS = 32;
const libbpf = koffi.load('libbpf.so.1');
const programFd = libbpf.func('int bpf_program__fd(void *prog)');
const programName = libbpf.func('const char *bpf_program__name(void *prog)');
const nextProgram = libbpf.func('void *bpf_object__next_program(void *obj, void *prog)');
const objGetInfo = libbpf.func('int bpf_obj_get_info_by_fd(int fd, _Inout_ uint8_t *info, _Inout_ uint32_t *len)');
// struct bpf_prog_info offsets (uapi): id@4, name[16]@64, run_time_ns@192, run_cnt@200.
const INFO_SIZE = 224;

function enableBpfStats() {
  const attr = Buffer.alloc(8); // { __u32 type = BPF_STATS_RUN_TIME (0) }
  const fd = Number(fn.syscall(SYS_BPF, 'int', BPF_ENABLE_STATS, 'void *', attr, 'unsigned int', attr.length));
  if (fd < 0) throw new Error(`BPF_ENABLE_STATS failed: errno ${koffi.errno()}`);
  return () => fn.close(fd);
}

/** Every loaded program of a BpfObject: name → { id, runCnt, runTimeNs }. */
function programInfos(obj) {
  const out = {};
  if (!obj?.handle) return out;
  for (let p = nextProgram(obj.handle, null); p; p = nextProgram(obj.handle, p)) {
    const fd = programFd(p);
    if (fd < 0) continue;
    const info = Buffer.alloc(INFO_SIZE);
    if (objGetInfo(fd, info, [INFO_SIZE]) < 0) continue;
    const name = programName(p);
    const kname = info.subarray(64, 80).toString('latin1').replace(/\0.*$/s, '');
    if (!name.startsWith(kname)) throw new Error(`bpf_prog_info layout mismatch: expected ${name}, read '${kname}'`);
    out[name] = { id: info.readUInt32LE(4), runCnt: Number(info.readBigUInt64LE(200)), runTimeNs: Number(info.readBigUInt64LE(192)) };
  }
  return out;
}

// ---- probe points

const OPERATORS_SPEC = loadCollectorSpec('operators');
const STATEMENTS_SPEC = loadCollectorSpec('statements');
const EMPTY_OPS_OBJECT = objectPath({ object: 'empty_operators.bpf.o' });
const KIND = Object.fromEntries(OPERATORS_SPEC.probes.map((p) => [p.program, p.kind]));
KIND.node_enter = 'uprobe';
KIND.node_exit = 'uretprobe';
const OP_PROGRAMS = ['init_enter', 'init_exit', 'init_subplan', 'node_enter', 'node_exit', 'multi_exit', 'getbitmap_exit',
  'rescan', 'end_node', 'op_sock_send', 'op_sock_recv'];
const STMT_PROGRAMS = STATEMENTS_SPEC.probes.map((p) => p.program).filter((p, i, a) => a.indexOf(p) === i);

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

const active = new Set();
function closeActive() {
  for (const a of active) {
    try {
      if (a instanceof BpfObject) a.close();
      else {
        a.operators?.source.close();
        a.source.close();
      }
    } catch { /* best effort */ }
  }
  active.clear();
}

/** Our own BPF program ids (links to anything else are someone else's). */
function ownProgramIds() {
  const ids = new Set();
  for (const a of active) {
    const objs = a instanceof BpfObject ? [a] : [a.source.obj, a.operators?.source.obj];
    for (const o of objs) for (const p of Object.values(programInfos(o))) ids.add(p.id);
  }
  return ids;
}

function bareConfig(name = 'bare') {
  return { name, setup: async () => ({ teardown: async () => ({}) }) };
}

function pgscoutConfig(cluster, { name, level, sample = '1', profile = false }) {
  return {
    name, setup: async () => {
      const out = mkdtempSync(join(tmp, 'out-'));
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: INTERVAL, level, sample }));
      active.add(collection);
      const ops = collection.operators;
      let sampled = null;
      let rotation = Promise.resolve();
      const started = ops?.sampler ? () => {
        // The rotation timer's call (Collection.rotate), serialized with the drains the same way.
        rotation = collection.draining = collection.draining.then(async () => {
          const pids = await ops.sampler.choose();
          ops.source.setTargets(pids);
          sampled = { probed: ops.source.targets.length, chosen: pids.length };
        });
      } : undefined;
      const disableStats = profile ? enableBpfStats() : null;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      return {
        started,
        teardown: async () => {
          await rotation;
          const cpu = process.cpuUsage(cpu0);
          const wallMs = performance.now() - t0;
          const progStats = profile ? {
            operators: ops ? programInfos(ops.source.obj) : {},
            statements: programInfos(collection.source.obj),
          } : undefined;
          disableStats?.();
          const summary = await collection.stop();
          active.delete(collection);
          rmSync(out, { recursive: true, force: true });
          const o = summary.operators;
          const k = summary.stats.kernel;
          return {
            statementRows: summary.stats.rowsWritten + summary.stats.errorRowsWritten,
            statementDrops: Number(k.drop_full ?? 0n) + Number(k.text_drop ?? 0n) + Number(k.thread_full ?? 0n),
            operatorRows: o?.rowsWritten ?? null,
            operatorIncomplete: o?.incomplete ?? null,
            functionsProbed: o?.functionsProbed ?? null,
            slowFunctions: o?.slowFunctions ?? null,
            sampledBackends: sampled,
            operatorKernel: o ? Object.fromEntries(Object.entries(o.kernel).map(([n, v]) => [n, Number(v)])) : null,
            sidecarCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
            lastError: collection.lastError?.message ?? null,
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
      const obj = BpfObject.open(EMPTY_OPS_OBJECT);
      active.add(obj);
      try {
        obj.load();
        const elf = openElf(binary);
        for (const p of OPERATORS_SPEC.probes) {
          if (p.kind === 'tracepoint') obj.attachAuto(p.program);
          else {
            const site = functionSite(elf, binary, p.func);
            obj.attachUprobe(p.program, binary, { offset: site.offset }, { retprobe: p.kind === 'uretprobe', pid: -1 });
          }
        }
        for (const s of sites) {
          obj.attachUprobe('node_enter', binary, { offset: s.offset }, { pid: -1 });
          obj.attachUprobe('node_exit', binary, { offset: s.offset }, { pid: -1, retprobe: true });
        }
      } catch (err) {
        obj.close();
        active.delete(obj);
        throw err;
      }
      const disableStats = profile ? enableBpfStats() : null;
      return {
        teardown: async () => {
          const progStats = profile ? { operators: programInfos(obj) } : undefined;
          disableStats?.();
          const links = obj.links.length;
          obj.close();
          active.delete(obj);
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

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: detaching and stopping the cluster`);
    closeActive();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130); // 'exit' handlers in dist/pg/cluster.js stop the clusters
  });
}

// ---- machine facts, load, taint

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    kernel: os.release(),
    memGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: sh('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
    bpfStatsSysctl: sh('sysctl', ['-n', 'kernel.bpf_stats_enabled']),
  };
}

const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return { busy: f[0] + f[1] + f[2] + f[5] + f[6], idle: f[3] + f[4], steal: f[7], system: f[2] + f[5] + f[6] };
}

function cpuShare(a, b) {
  const d = { busy: b.busy - a.busy, idle: b.idle - a.idle, steal: b.steal - a.steal, system: b.system - a.system };
  const total = d.busy + d.idle + d.steal || 1;
  const pct = (x) => Math.round((x / total) * 1000) / 10;
  return { busyPct: pct(d.busy), idlePct: pct(d.idle), stealPct: pct(d.steal), systemPct: pct(d.system) };
}

/** Links of BPF programs that are not ours (someone else's probes on the shared binary, or anything else). */
function foreignLinks() {
  const own = ownProgramIds();
  return new Promise((resolve) => {
    execFile('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) return resolve(null);
      try {
        resolve(JSON.parse(stdout).filter((l) => !own.has(l.prog_id)).length);
      } catch {
        resolve(null);
      }
    });
  });
}

async function waitForNoForeignLinks() {
  const deadline = Date.now() + FOREIGN_WAIT_S * 1000;
  let n = await foreignLinks();
  if (n) log(`${n} foreign BPF links attached (someone else's probes): waiting up to ${FOREIGN_WAIT_S} s`);
  while (n && Date.now() < deadline) {
    await sleep(2000);
    n = await foreignLinks();
  }
  return n ?? 0;
}

// ---- measuring

function parseLatency(output) {
  const m = /latency average = ([\d.]+) ms/.exec(output);
  return m ? Number(m[1]) : NaN;
}

async function measure(cluster, config, suite, runArgs) {
  const foreignBefore = await waitForNoForeignLinks();
  const { teardown, started } = await config.setup();
  const la0 = loadavg();
  const cpu0 = cpuTimes();
  let midForeign = null;
  const mid = setTimeout(async () => { midForeign = await foreignLinks(); }, (SECONDS * 1000) / 2);
  const kick = started ? setTimeout(started, 500) : null;
  let result;
  const t0 = performance.now();
  try {
    result = await pgbench(cluster, [...WORKLOADS[suite.workload].args(), '-c', String(suite.clients), '-j', String(suite.threads), ...runArgs]);
    result.wallS = (performance.now() - t0) / 1000;
    result.cpu = cpuShare(cpu0, cpuTimes());
  } finally {
    clearTimeout(mid);
    if (kick) clearTimeout(kick);
    const extra = await teardown();
    result = { ...(result ?? {}), extra };
  }
  const foreignAfter = (await foreignLinks()) ?? 0;
  const contaminated = foreignBefore > 0 || foreignAfter > 0 || (midForeign ?? 0) > 0;
  return {
    tps: result.tps, latencyMs: parseLatency(result.output ?? ''), transactions: result.transactions, wallS: result.wallS,
    loadavg: la0, cpu: result.cpu, extra: result.extra,
    foreignLinks: { before: foreignBefore, mid: midForeign, after: foreignAfter }, contaminated,
  };
}

async function runOnce(cluster, config, suite, runArgs) {
  for (let attempt = 1; ; attempt++) {
    const r = await measure(cluster, config, suite, runArgs);
    if (!r.contaminated || attempt >= ATTEMPTS) return { ...r, attempts: attempt };
    log(`${suite.id} ${config.name}: someone else's BPF links during the run (${JSON.stringify(r.foreignLinks)}): redoing it`);
  }
}

/** One operator-level run over both workloads: which per-node functions get probed (their sites). */
async function discoverSites(cluster) {
  const out = mkdtempSync(join(tmp, 'discover-'));
  const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval: INTERVAL, level: 'operator', sample: '1' }));
  active.add(collection);
  try {
    for (const w of WORKLOAD_NAMES) {
      await pgbench(cluster, [...WORKLOADS[w].args(), '-c', String(CLIENTS), '-j', String(CLIENTS), '-t', w === 'select' ? '200' : '1']);
    }
    await sleep(200);
    collection.operators.source.discoverNow();
    return [...collection.operators.source.sites.entries()].map(([addr, s]) => ({
      addr: `0x${addr.toString(16)}`, tag: s.tag, funcVaddr: s.funcVaddr, vaddr: s.vaddr, offset: s.offset, insn: s.insn, fast: s.fast,
    }));
  } finally {
    await collection.stop();
    active.delete(collection);
    rmSync(out, { recursive: true, force: true });
  }
}

async function main() {
  const startedAt = new Date().toISOString();
  const facts = machine();
  log(`machine: ${facts.nproc} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, load ${loadavg().join(' ')}`);
  const cluster = await startCluster({ preload: [] });
  try {
    const version = await cluster.psql('SELECT version()');
    log(`PostgreSQL: ${version}; pgbench -i -s ${SCALE} on port ${cluster.port}`);
    await pgbenchInit(cluster, SCALE);
    await cluster.psql('VACUUM ANALYZE');
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
          pgscoutConfig(cluster, { name: 'op-1', level: 'operator', sample: '1' }),
          pgscoutConfig(cluster, { name: 'op-0.1', level: 'operator', sample: '0.1' }),
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
            pgscoutConfig(cluster, { name: 'op-1', level: 'operator', sample: '1' }),
            pgscoutConfig(cluster, { name: 'op-0.1', level: 'operator', sample: '0.1' }),
          ],
        });
      }
    }

    const runs = [];
    for (const suite of suites) {
      log(`${suite.id}: warm-up (5 s, bare)`);
      await pgbench(cluster, [...WORKLOADS[suite.workload].args(), '-c', String(suite.clients), '-j', String(suite.threads), '-T', '5']);
      const cs = suite.configs;
      for (let round = 0; round < ROUNDS; round++) {
        const order = cs.map((_, i) => cs[(i + round) % cs.length]);
        for (const config of order) {
          const r = await runOnce(cluster, config, suite, ['-T', String(SECONDS)]);
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
          pgscoutConfig(cluster, { name: 'op-1', level: 'operator', sample: '1', profile: true })]) {
          log(`${w}: per-hit profile, ${config.name}, -t ${tx} per client`);
          const r = await runOnce(cluster, config, suite, ['-t', String(tx)]);
          p.runs[config.name] = r;
        }
        profiles.push(p);
      }
    }

    const summary = summarize(runs, suites);
    const report = render(summary, runs, profiles, sites, exported, facts, version, plans);
    process.stdout.write(report);
    if (JSON_OUT) {
      writeFileSync(JSON_OUT, JSON.stringify({
        startedAt, finishedAt: new Date().toISOString(), command: `node bench/operators.mjs ${argv.join(' ')}`.trim(),
        machine: facts, postgres: version,
        params: { seconds: SECONDS, rounds: ROUNDS, scale: SCALE, clients: CLIENTS, manyClients: MANY_CLIENTS, interval: INTERVAL, workloads: WORKLOAD_NAMES, profileTx: PROFILE_TX },
        analyticalQueries: ANALYTICAL_QUERIES, plans, sites, exported, summary, runs, profiles,
      }, null, 2) + '\n');
      log(`wrote ${JSON_OUT}`);
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
const fmt = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');
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
  const dirty = summary.filter((r) => r.contaminatedRuns);
  if (dirty.length) L.push('', `WARNING: runs with someone else's BPF links attached (kept after ${ATTEMPTS} attempts): ${dirty.map((r) => `${r.suite}/${r.config} ×${r.contaminatedRuns}`).join(', ')}`);
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
    const es = empty?.extra.progStats?.operators ?? {};
    const n = p.statements;
    L.push(`## Per-hit cost: ${WORKLOADS[p.workload].label}, pgbench -c ${CLIENTS} -t ${p.txPerClient} (${n} statements), BPF run-time stats on`, '');
    L.push(`TPS with stats on: bare ${fmt(bare?.tps, 1)}, empty-ops ${fmt(empty?.tps, 1)}, op-1 ${fmt(ours?.tps, 1)} (not part of the ratios).`, '');
    L.push('| program | kind | ours: hits per statement | ours: avg ns per hit | empty: hits per statement | empty: avg ns per hit | ours: µs per statement |');
    L.push('|---|---|---:|---:|---:|---:|---:|');
    let oursNs = 0;
    let emptyNs = 0;
    for (const name of OP_PROGRAMS) {
      const o = st.operators?.[name];
      const e = es[name];
      if (!o && !e) continue;
      oursNs += o?.runTimeNs ?? 0;
      emptyNs += e?.runTimeNs ?? 0;
      const per = (s) => (s ? fmt(s.runCnt / n, 2) : '–');
      const ns = (s) => (s?.runCnt ? (s.runTimeNs / s.runCnt).toFixed(0) : '–');
      L.push(`| ${name} | ${KIND[name] ?? 'tracepoint'} | ${per(o)} | ${ns(o)} | ${per(e)} | ${ns(e)} | ${o ? fmt(o.runTimeNs / n / 1000, 2) : '–'} |`);
    }
    const ot = traps(st.operators ?? {});
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

main().catch((err) => {
  log(`failed: ${err.stack ?? err}`);
  closeActive();
  process.exit(1);
});
