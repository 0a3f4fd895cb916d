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
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { startCluster } from '../dist/pg/cluster.js';
import { pgbench, pgbenchInit } from '../dist/collect/workload.js';
import { Collection } from '../dist/collect/collection.js';
import { collectConfig } from '../dist/config.js';
import { discoverTarget } from '../dist/pg/target.js';
import { BpfObject } from '../dist/bpf/object.js';
import { attachSpec } from '../dist/bpf/attacher.js';
import { loadCollectorSpec, objectPath } from '../dist/bpf/collector-spec.js';
import { syscallCounter } from '../dist/bpf/map.js';
import { fn } from '../dist/bpf/libbpf.js';

// ---- arguments

const argv = process.argv.slice(2);
function flag(name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const SECONDS = Number(flag('seconds', '15'));
const ROUNDS = Number(flag('rounds', '3'));
const SCALE = Number(flag('scale', '10'));
const CLIENTS = Number(flag('clients', '2'));
const INTERVAL = flag('interval', '1s');
const JSON_OUT = flag('json', undefined);
const PROFILE = !argv.includes('--no-profile');
const DIAGNOSE = !argv.includes('--no-diagnose');
const WORKLOAD_NAMES = flag('workloads', 'select,tpcb').split(',');

const WORKLOADS = {
  // Statements per transaction of pgbench's builtin scripts (simple protocol).
  select: { label: 'select-only (-S)', args: ['-S'], statementsPerTx: 1 },
  tpcb: { label: 'tpcb-like', args: [], statementsPerTx: 7 }, // BEGIN, 3×UPDATE, SELECT, INSERT, END
};
for (const w of WORKLOAD_NAMES) if (!WORKLOADS[w]) throw new Error(`unknown workload '${w}' (select, tpcb)`);

function log(msg) {
  process.stderr.write(`[overhead ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// ---- BPF program run-time stats (profile pass)

const SYS_BPF = process.arch === 'arm64' ? 280 : 321;
const BPF_OBJ_GET_INFO_BY_FD = 15;
const BPF_ENABLE_STATS = 32;
const libbpf = koffi.load('libbpf.so.1');
const programFd = libbpf.func('int bpf_program__fd(void *prog)');
const objGetInfo = libbpf.func('int bpf_obj_get_info_by_fd(int fd, _Inout_ uint8_t *info, _Inout_ uint32_t *len)');
// struct bpf_prog_info offsets (uapi): name[16]@64, run_time_ns@192, run_cnt@200.
const INFO_SIZE = 224;

/** Holds an fd that keeps kernel.bpf_stats_enabled on; closing it (or exiting) turns it off. */
function enableBpfStats() {
  const attr = Buffer.alloc(8); // { __u32 type = BPF_STATS_RUN_TIME (0) }
  const fd = Number(fn.syscall(SYS_BPF, 'int', BPF_ENABLE_STATS, 'void *', attr, 'unsigned int', attr.length));
  if (fd < 0) throw new Error(`BPF_ENABLE_STATS failed: errno ${koffi.errno()}`);
  return () => fn.close(fd);
}

function programStats(obj, names) {
  const out = {};
  for (const name of names) {
    const prog = fn.find_program(obj.handle, name);
    if (!prog) continue;
    const info = Buffer.alloc(INFO_SIZE);
    const len = [INFO_SIZE];
    if (objGetInfo(programFd(prog), info, len) < 0) continue;
    const kname = info.subarray(64, 80).toString('latin1').replace(/\0.*$/s, '');
    if (!name.startsWith(kname)) throw new Error(`bpf_prog_info layout mismatch: expected ${name}, read '${kname}'`);
    out[name] = { runCnt: Number(info.readBigUInt64LE(200)), runTimeNs: Number(info.readBigUInt64LE(192)) };
  }
  return out;
}

// ---- configurations

const STATEMENTS_SPEC = loadCollectorSpec('statements');
const EMPTY_SPEC = loadCollectorSpec('statements-empty');
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
      const obj = BpfObject.open(objectPath(spec));
      active.add(obj);
      try {
        obj.load();
        attachSpec(obj, spec, binary);
      } catch (err) {
        obj.close();
        active.delete(obj);
        throw err;
      }
      return {
        teardown: async () => {
          obj.close();
          active.delete(obj);
          return { attached: spec.probes.length };
        },
      };
    },
  };
}

function pgscoutConfig(cluster, { profile = false, name = 'pgscout', interval = INTERVAL } = {}) {
  return {
    name, cluster, clusterLabel: 'A', setup: async () => {
      const out = mkdtempSync(join(os.tmpdir(), 'pgscout-overhead-'));
      const collection = await Collection.start(collectConfig({ pg: cluster.conninfo, out, interval }));
      active.add(collection);
      // Per-drain cost: wrap drainOnce (includes the final drain in stop()).
      const drainer = collection.drainer;
      const drainOnce = drainer.drainOnce.bind(drainer);
      const drains = { n: 0, ms: 0, syscalls: 0, maxMs: 0 };
      drainer.drainOnce = async () => {
        const t0 = performance.now();
        const s0 = syscallCounter.total;
        try {
          return await drainOnce();
        } finally {
          const ms = performance.now() - t0;
          drains.n++;
          drains.ms += ms;
          drains.maxMs = Math.max(drains.maxMs, ms);
          drains.syscalls += syscallCounter.total - s0;
        }
      };
      const disableStats = profile ? enableBpfStats() : null;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      return {
        teardown: async () => {
          const cpu = process.cpuUsage(cpu0);
          const wallMs = performance.now() - t0;
          const progStats = profile ? programStats(collection.source.obj, PROGRAMS) : undefined;
          disableStats?.();
          const summary = await collection.stop();
          const cpuAll = process.cpuUsage(cpu0); // includes the final drain and file close
          active.delete(collection);
          rmSync(out, { recursive: true, force: true });
          const k = summary.stats.kernel;
          return {
            rows: summary.stats.rowsWritten,
            errorRows: summary.stats.errorRowsWritten,
            records: summary.stats.recordsDrained,
            texts: summary.stats.textsReceived,
            drains: drains.n,
            syscallsPerDrain: drains.n ? drains.syscalls / drains.n : 0,
            drainMsAvg: drains.n ? drains.ms / drains.n : 0,
            drainMsMax: drains.maxMs,
            sidecarCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
            sidecarCpuUsPerRow: (cpuAll.user + cpuAll.system) / Math.max(1, summary.stats.recordsDrained),
            kernel: Object.fromEntries(Object.entries(k).map(([n, v]) => [n, Number(v)])),
            drops: Number(k.drop_full ?? 0n) + Number(k.text_drop ?? 0n) + Number(k.thread_full ?? 0n),
            lastError: collection.lastError?.message ?? null,
            progStats,
          };
        },
      };
    },
  };
}

// ---- cleanup on interrupt: detach first (probes are on the shared binary), then the clusters

const active = new Set();
function closeActive() {
  for (const a of active) {
    try {
      if (a instanceof BpfObject) a.close();
      else a.source.close();
    } catch { /* best effort */ }
  }
  active.clear();
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: detaching and stopping clusters`);
    closeActive();
    process.exit(130); // 'exit' handlers in dist/pg/cluster.js stop the clusters
  });
}

// ---- machine facts

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
  };
}

function loadavg() {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

async function kcacheLibrary(cluster) {
  const pkglibdir = await cluster.psql(`SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'`).catch(() => '');
  const candidates = [pkglibdir && join(pkglibdir, 'pg_stat_kcache.so'), '/usr/lib/postgresql/15/lib/pg_stat_kcache.so'].filter(Boolean);
  return { found: candidates.find((p) => existsSync(p)) ?? null, looked: candidates };
}

// ---- main

/** Aggregate CPU jiffies from /proc/stat: user nice system idle iowait irq softirq steal. */
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

/**
 * BPF links on this machine. Probes attach to the shared postgres binary, so a
 * test or tool of someone else attached at the same time slows every cluster:
 * such a run is redone.
 */
function bpfLinks() {
  return new Promise((resolve) => {
    execFile('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) return resolve(null);
      try {
        resolve(JSON.parse(stdout).length);
      } catch {
        resolve(null);
      }
    });
  });
}

async function waitForNoForeignLinks() {
  const deadline = Date.now() + 180_000;
  let n = await bpfLinks();
  if (n) log(`${n} foreign BPF links attached (someone else's probes): waiting up to 180 s`);
  while (n && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    n = await bpfLinks();
  }
  return n ?? 0;
}

async function measure(config, workload) {
  const foreignBefore = await waitForNoForeignLinks();
  const { teardown } = await config.setup();
  const ownLinks = await bpfLinks();
  const la0 = loadavg();
  const cpu0 = cpuTimes();
  let midLinks = null;
  const mid = setTimeout(async () => { midLinks = await bpfLinks(); }, (SECONDS * 1000) / 2);
  let result;
  try {
    result = await pgbench(config.cluster, [...WORKLOADS[workload].args, '-c', String(CLIENTS), '-j', String(CLIENTS), '-T', String(SECONDS)]);
    result.cpu = cpuShare(cpu0, cpuTimes());
  } finally {
    clearTimeout(mid);
    const extra = await teardown();
    result = { ...(result ?? {}), extra };
  }
  const foreignAfter = (await bpfLinks()) ?? 0;
  const contaminated = foreignBefore > 0 || foreignAfter > 0 || (midLinks !== null && ownLinks !== null && midLinks !== ownLinks);
  return {
    tps: result.tps, transactions: result.transactions, loadavg: la0, cpu: result.cpu, extra: result.extra,
    foreignLinks: { before: foreignBefore, own: ownLinks, mid: midLinks, after: foreignAfter }, contaminated,
  };
}

async function runOnce(config, workload) {
  for (let attempt = 1; ; attempt++) {
    const r = await measure(config, workload);
    if (!r.contaminated || attempt === 3) return { ...r, attempts: attempt };
    log(`${workload} ${config.name}: someone else's BPF links came and went during the run (${JSON.stringify(r.foreignLinks)}): redoing it`);
  }
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
    for (const cl of clusters) {
      log(`pgbench -i -s ${SCALE} on port ${cl.port}`);
      await pgbenchInit(cl, SCALE);
      await cl.psql('VACUUM ANALYZE');
    }
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
        await pgbench(cl, [...WORKLOADS[workload].args, '-c', String(CLIENTS), '-j', String(CLIENTS), '-T', '5']);
      }
      for (let round = 0; round < ROUNDS; round++) {
        const order = configs.map((_, i) => configs[(i + round) % configs.length]);
        for (const config of order) {
          const r = await runOnce(config, workload);
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
        const r = await runOnce(pgscoutConfig(a, { profile: true }), workload);
        profiles.push({ workload, tps: r.tps, transactions: r.transactions, ...r.extra });
      }
    }

    const summary = summarize(runs, configs);
    const report = render(summary, runs, profiles, skipped, facts, version);
    process.stdout.write(report);
    if (JSON_OUT) {
      writeFileSync(JSON_OUT, JSON.stringify({
        startedAt, finishedAt: new Date().toISOString(), command: `node bench/overhead.mjs ${argv.join(' ')}`.trim(),
        machine: facts, postgres: version,
        params: { seconds: SECONDS, rounds: ROUNDS, scale: SCALE, clients: CLIENTS, interval: INTERVAL, workloads: WORKLOAD_NAMES },
        skipped, summary, runs, profiles,
      }, null, 2) + '\n');
      log(`wrote ${JSON_OUT}`);
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

const fmt = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');

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
  const dirty = summary.filter((r) => r.contaminatedRuns);
  if (dirty.length) lines.push('', `WARNING: runs with someone else's BPF links attached (kept after 3 attempts): ${dirty.map((r) => `${r.workload}/${r.config} ×${r.contaminatedRuns}`).join(', ')}`);
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

main().catch((err) => {
  log(`failed: ${err.stack ?? err}`);
  closeActive();
  process.exit(1);
});
