/**
 * What bench/overhead.mjs and bench/operators.mjs share: flags, logging,
 * machine facts, BPF run-time stats, cleanup of whatever is attached, and
 * one measured pgbench run with its taint check.
 *
 * Probes attach to the shared postgres binary, so anything of ours left
 * attached slows every later run and every other cluster: all that attaches
 * goes through loadObject() / startCollecting(), which keep it in `active`
 * until it is closed, on every exit path.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, join } from 'node:path';
import koffi from 'koffi';
import { pgbenchInit } from '../../dist/demo/workload.js';
import { Collection } from '../../dist/collect/collection.js';
import { collectConfig } from '../../dist/config.js';
import { BpfObject } from '../../dist/bpf/object.js';
import { fn } from '../../dist/bpf/libbpf.js';
import { syscallCounter } from '../../dist/bpf/map.js';

// ---- flags, logging, numbers

export const argv = process.argv.slice(2);
const BENCH = basename(process.argv[1] ?? 'bench', '.mjs');

export function flag(name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}

/** --no-<name> turns an on-by-default part off. */
export const enabled = (name) => !argv.includes(`--no-${name}`);

export function log(msg) {
  process.stderr.write(`[${BENCH} ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Median of the finite values (a failed run's NaN does not shift it). */
export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
export const fmt = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A kB field (VmRSS, VmHWM…) of a /proc/<pid>/status text, 0 when absent. */
export const statusKb = (status, name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
/** Kernel stat slots (bigint) as JSON-friendly numbers. */
export const numbers = (record) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Number(v)]));
export const clientArgs = (clients, threads = clients) => ['-c', String(clients), '-j', String(threads)];

/**
 * Settings of a cluster whose throughput is compared across runs: autovacuum off, and every
 * measured run starts with `pgbench -v` (all four tables vacuumed, outside pgbench's clock).
 * With autovacuum on, a vacuum of pgbench_accounts (each 10-second tpcb-like run leaves ~100k
 * dead tuples) lands in whichever run follows the threshold, on any of the bench's clusters,
 * and moves that run by more than the cost being measured (pgbench's documentation warns of
 * the same).
 */
export const THROUGHPUT_SETTINGS = { autovacuum: 'off' };
export const VACUUM_FIRST = ['-v'];

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

/**
 * The fd form of `sysctl kernel.bpf_stats_enabled=1`: stats stay on while it is
 * open, so a crash cannot leave them on. Returns the function that closes it.
 */
export function enableBpfStats() {
  const attr = Buffer.alloc(8); // { __u32 type = BPF_STATS_RUN_TIME (0) }
  const fd = Number(fn.syscall(SYS_BPF, 'int', BPF_ENABLE_STATS, 'void *', attr, 'unsigned int', attr.length));
  if (fd < 0) throw new Error(`BPF_ENABLE_STATS failed: errno ${koffi.errno()}`);
  return () => fn.close(fd);
}

/** Each loaded program of a BpfObject with its fd and bpf_prog_info (checked against its name). */
function* programsWithInfo(obj) {
  if (!obj?.handle) return;
  for (let p = nextProgram(obj.handle, null); p; p = nextProgram(obj.handle, p)) {
    const fd = programFd(p);
    if (fd < 0) continue;
    const info = Buffer.alloc(INFO_SIZE);
    if (objGetInfo(fd, info, [INFO_SIZE]) < 0) continue;
    const name = programName(p);
    const kname = info.subarray(64, 80).toString('latin1').replace(/\0.*$/s, '');
    if (!name.startsWith(kname)) throw new Error(`bpf_prog_info layout mismatch: expected ${name}, read '${kname}'`);
    yield { name, kname, fd, info };
  }
}

/** Every loaded program of a BpfObject: name → { id, runCnt, runTimeNs } (what `bpftool prog show -j` prints). */
export function programInfos(obj) {
  const out = {};
  for (const { name, info } of programsWithInfo(obj)) {
    out[name] = { id: info.readUInt32LE(4), runCnt: Number(info.readBigUInt64LE(200)), runTimeNs: Number(info.readBigUInt64LE(192)) };
  }
  return out;
}

/**
 * Every loaded program's JIT image: name → { ksym, code } where ksym is its
 * /proc/kallsyms name (bpf_prog_<tag>_<name>) and code the machine code
 * (bpf_prog_info.jited_prog_insns), for bench/prog-profile.mjs.
 */
export function programImages(obj) {
  const out = {};
  for (const { name, kname, fd, info } of programsWithInfo(obj)) {
    const len = info.readUInt32LE(16); // jited_prog_len
    if (!len) continue;
    const mem = koffi.alloc('uint8_t', len);
    try {
      const again = Buffer.alloc(INFO_SIZE);
      again.writeUInt32LE(len, 16);
      again.writeBigUInt64LE(koffi.address(mem), 24); // jited_prog_insns
      if (objGetInfo(fd, again, [INFO_SIZE]) < 0) continue;
      const tag = info.subarray(8, 16).toString('hex');
      // a copy: mem is freed below
      out[name] = { ksym: `bpf_prog_${tag}_${kname}`, code: Buffer.from(new Uint8Array(koffi.view(mem, len))) };
    } finally {
      koffi.free(mem);
    }
  }
  return out;
}

// ---- what we have attached: closed on every exit path

const active = new Set();
const objectsOf = (a) => (a instanceof BpfObject ? [a] : a.collectors.flatMap((c) => c.objects()));

export function closeActive() {
  for (const a of active) {
    try {
      if (a instanceof BpfObject) a.close();
      else for (const c of [...a.collectors].reverse()) c.close(); // dependents first, as Collection.stop does
    } catch { /* best effort */ }
  }
  active.clear();
}

/** Opens and loads an object, then `attach(obj)`; nothing stays attached if that throws. */
export function loadObject(path, attach) {
  const obj = BpfObject.open(path);
  active.add(obj);
  try {
    obj.load();
    attach(obj);
  } catch (err) {
    closeObject(obj);
    throw err;
  }
  return obj;
}

export function closeObject(obj) {
  obj.close();
  active.delete(obj);
}

/**
 * An in-process Collection writing Parquet to a temp dir under `dir`; with
 * `profile`, BPF run-time stats are on until stop(). stop() returns the
 * summary, each collector's program stats (profile), the sidecar's CPU while
 * collecting (cpuPct) and including the final drain and file close (cpuUs).
 */
export async function startCollecting(conninfo, options, { dir = os.tmpdir(), profile = false } = {}) {
  const out = mkdtempSync(join(dir, 'pgscout-bench-'));
  const collection = await Collection.start(collectConfig({ pg: conninfo, out, ...options }));
  active.add(collection);
  const disableStats = profile ? enableBpfStats() : null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    collection,
    async stop() {
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - t0;
      const progStats = profile
        ? Object.fromEntries(collection.collectors.map((c) => [c.name, Object.assign({}, ...c.objects().map(programInfos))]))
        : undefined;
      disableStats?.();
      const summary = await collection.stop();
      const cpuAll = process.cpuUsage(cpu0);
      active.delete(collection);
      rmSync(out, { recursive: true, force: true });
      return {
        summary, progStats,
        cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
        cpuUs: cpuAll.user + cpuAll.system,
        lastError: collection.lastError?.message ?? null,
      };
    },
  };
}

/** Ctrl-C or kill: detach first (probes are on the shared binary), then `cleanup`. */
export function onInterrupt(cleanup = () => {}) {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      log(`${sig}: detaching and stopping clusters`);
      closeActive();
      cleanup();
      process.exit(130); // 'exit' handlers in dist/demo/cluster.js stop the clusters
    });
  }
}

export function run(main) {
  main().catch((err) => {
    log(`failed: ${err.stack ?? err}`);
    closeActive();
    process.exit(1);
  });
}

// ---- machine facts, load

export function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

export function machine() {
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

export const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

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

// ---- taint: someone else's CPU use (their tests share the 2 CPUs)

const ownRoots = new Set([process.pid]);

/**
 * A process whose CPU is the bench's own (with all its descendants): this process is one;
 * register each cluster's postmaster (pg_ctl daemonizes it, so it is not our descendant).
 */
export function trackOwnProcess(pid) {
  if (pid) ownRoots.add(pid);
}

/** CPU ticks of every process's own and reaped children's time: pid → { ppid, ticks }. */
function processTicks() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
    out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
  }
  return out;
}

/**
 * Ticks of the own processes and their descendants, dead ones included: a process that
 * exited was reaped by its parent (pgbench by us, backends by their postmaster), whose
 * cutime/cstime then hold it.
 */
function ownTicks(procs) {
  const children = new Map();
  for (const [pid, p] of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  let sum = 0;
  const seen = new Set();
  const stack = [...ownRoots].filter((p) => procs.has(p));
  while (stack.length) {
    const pid = stack.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    sum += procs.get(pid).ticks;
    stack.push(...(children.get(pid) ?? []));
  }
  return sum;
}

/** Task CPU (user + nice + system of /proc/stat) and the share of it that is ours. */
function cpuOwnership() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return { task: f[0] + f[1] + f[2], total: f.reduce((s, x) => s + x, 0), own: ownTicks(processTicks()) };
}

/** Someone else's task CPU between two cpuOwnership() samples, in % of the whole machine. */
function foreignCpuPct(a, b) {
  const total = b.total - a.total || 1;
  return Math.max(0, Math.round((((b.task - a.task) - (b.own - a.own)) / total) * 1000) / 10);
}

/** Waits until others' CPU use stayed at most `limitPct` for `quietS` seconds in a row (or `seconds` passed). */
async function waitForQuietCpu(limitPct, seconds, quietS = 5) {
  const deadline = Date.now() + seconds * 1000;
  let quiet = 0;
  let logged = false;
  let pct = 0;
  while (quiet < quietS && Date.now() < deadline) {
    const a = cpuOwnership();
    await sleep(1000);
    pct = foreignCpuPct(a, cpuOwnership());
    quiet = pct <= limitPct ? quiet + 1 : 0;
    if (!quiet && !logged) log(`${pct}% of the CPUs busy with someone else's processes: waiting up to ${seconds} s for ${quietS} quiet seconds`);
    logged ||= !quiet;
  }
  if (logged) log(quiet >= quietS ? 'quiet again' : `still busy after ${seconds} s (${pct}%): going ahead`);
  return pct;
}

// ---- taint: someone else's BPF links slow the shared binary too

/** BPF links on this machine, ours (programs of `active`) and not; null when bpftool fails. */
function bpfLinks() {
  const own = new Set();
  for (const a of active) for (const o of objectsOf(a)) for (const p of Object.values(programInfos(o))) own.add(p.id);
  return new Promise((resolve) => {
    execFile('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) return resolve(null);
      try {
        const links = JSON.parse(stdout);
        const ours = links.filter((l) => own.has(l.prog_id)).length;
        resolve({ own: ours, foreign: links.length - ours });
      } catch {
        resolve(null);
      }
    });
  });
}

async function waitForNoForeignLinks(seconds) {
  const deadline = Date.now() + seconds * 1000;
  let n = (await bpfLinks())?.foreign;
  if (n) log(`${n} foreign BPF links attached (someone else's probes): waiting up to ${seconds} s`);
  while (n && Date.now() < deadline) {
    await sleep(2000);
    n = (await bpfLinks())?.foreign;
  }
  return n ?? 0;
}

// ---- measuring

/**
 * One timed run of a configuration `{ name, setup }`: setup() before it returns
 * `{ teardown(), started?() }`; started() is called 0.5 s into the run, teardown()
 * after it (its result is `extra`). A run with someone else's BPF links before,
 * in the middle of or after it is contaminated and redone, up to `attempts` times.
 */
export async function runOnce(config, pgbenchRun, { seconds, attempts, foreignWaitS, label, foreignCpuLimitPct = null, stealLimitPct = null, settle = null }) {
  for (let attempt = 1; ; attempt++) {
    const r = await measure(config, pgbenchRun, seconds, foreignWaitS, foreignCpuLimitPct, stealLimitPct, settle);
    if (!r.contaminated || attempt >= attempts) return { ...r, attempts: attempt };
    log(`${label} ${config.name}: someone else's BPF links or CPU use during the run (links ${JSON.stringify(r.foreignLinks)}, ` +
      `foreign CPU ${r.foreignCpuPct}% of the machine, steal ${r.cpu?.stealPct}%): redoing it`);
  }
}

/**
 * With `foreignCpuLimitPct`, a run during which other processes (not this one, its
 * descendants or a trackOwnProcess() root's) used more than that share of the machine's
 * CPU is contaminated too, and each run first waits for such use to calm down. With
 * `stealLimitPct`, so is a run during which the hypervisor took more than that share of the
 * CPUs (steal time: other guests on the host; this VM's rounds lost 5–40 % to it in run H).
 * `settle`: an unmeasured run between setup and the measured one (a collector's start-up —
 * its first texts, catalog lookups, code warming — is then outside the window, as it is for a
 * sidecar left on); its pgbench result's transactions come back as settleTransactions.
 */
async function measure(config, pgbenchRun, seconds, foreignWaitS, foreignCpuLimitPct, stealLimitPct = null, settle = null) {
  const before = await waitForNoForeignLinks(foreignWaitS);
  if (foreignCpuLimitPct !== null) await waitForQuietCpu(foreignCpuLimitPct, foreignWaitS);
  const { teardown, started } = await config.setup();
  const settled = settle ? await settle() : null;
  const own = (await bpfLinks())?.own ?? null;
  const la0 = loadavg();
  const own0 = cpuOwnership();
  const cpu0 = cpuTimes();
  let mid = null;
  const midTimer = setTimeout(async () => { mid = (await bpfLinks())?.foreign ?? null; }, (seconds * 1000) / 2);
  const kick = started ? setTimeout(started, 500) : null;
  let result;
  // This process's CPU (every thread: an in-process collector's drains, the libuv pool) and its
  // bpf() syscalls over exactly the pgbench window; pgbench is a child process and not in it.
  const self0 = { cpu: process.cpuUsage(), syscalls: syscallCounter.total };
  const t0 = performance.now();
  try {
    result = await pgbenchRun();
    result.wallS = (performance.now() - t0) / 1000;
    result.cpu = cpuShare(cpu0, cpuTimes());
    const self = process.cpuUsage(self0.cpu);
    result.benchProcess = {
      userUs: self.user, systemUs: self.system,
      cpuPct: ((self.user + self.system) / 1e4) / result.wallS, // % of one core over the window
      bpfSyscalls: syscallCounter.total - self0.syscalls,
    };
    await sleep(100); // let the postmaster reap the run's backends (their CPU moves into its cutime)
    result.foreignCpuPct = foreignCpuPct(own0, cpuOwnership());
  } finally {
    clearTimeout(midTimer);
    if (kick) clearTimeout(kick);
    const extra = await teardown();
    result = { ...(result ?? {}), extra };
  }
  const after = (await bpfLinks())?.foreign ?? 0;
  return {
    tps: result.tps, transactions: result.transactions, loadavg: la0, cpu: result.cpu, benchProcess: result.benchProcess, extra: result.extra,
    foreignLinks: { before, own, mid, after }, foreignCpuPct: result.foreignCpuPct, settleTransactions: settled?.transactions ?? 0,
    contaminated: before > 0 || after > 0 || (mid ?? 0) > 0 || (foreignCpuLimitPct !== null && result.foreignCpuPct > foreignCpuLimitPct) ||
      (stealLimitPct !== null && (result.cpu?.stealPct ?? 0) > stealLimitPct),
    output: result.output, wallS: result.wallS,
  };
}

// ---- clusters and results

export async function pgbenchData(cluster, scale) {
  log(`pgbench -i -s ${scale} on port ${cluster.port}`);
  await pgbenchInit(cluster, scale);
  await cluster.psql('VACUUM ANALYZE');
}

/** Results as JSON: when, where, the exact command, then the bench's own fields. */
export function writeJson(file, { startedAt, facts, version, ...rest }) {
  writeFileSync(file, JSON.stringify({
    startedAt, finishedAt: new Date().toISOString(), command: `node bench/${BENCH}.mjs ${argv.join(' ')}`.trim(),
    machine: facts, postgres: version, ...rest,
  }, null, 2) + '\n');
  log(`wrote ${file}`);
}

/** The markdown warning for runs still contaminated after the last attempt (`key` names a row). */
export function taintWarning(summary, attempts, key) {
  const dirty = summary.filter((r) => r.contaminatedRuns);
  return dirty.length
    ? ['', `WARNING: runs with someone else's BPF links attached (kept after ${attempts} attempts): ${dirty.map((r) => `${key(r)} ×${r.contaminatedRuns}`).join(', ')}`]
    : [];
}
