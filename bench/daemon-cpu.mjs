#!/usr/bin/env node
/**
 * Steady-state CPU of the collector (issue 8's daemon target): one throwaway cluster, the
 * collector started in this process, `--warm` seconds of pgbench load, then CPU ticks of every
 * thread of this process over `--seconds` of pgbench (pgbench itself is a child, not counted).
 * With `--standalone`, the collector is the real daemon instead (`pgscout collect` as a child,
 * with the V8 and malloc settings it gives itself), and its ticks are counted.
 *
 *   node bench/daemon-cpu.mjs [--seconds 10] [--warm 4] [--workload select|tpcb] [--rows 500|all] [--standalone] [--rate 40000]
 *
 * Needs root and `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { flag, log, pgbenchData, run, startCollecting, statusKb } from './lib/harness.mjs';

const SECONDS = Number(flag('seconds', '10'));
const WARM = Number(flag('warm', '4'));
const WL = flag('workload', 'select') === 'tpcb' ? [] : ['-S'];
const ROWS = flag('rows', '500');
const STANDALONE = process.argv.includes('--standalone');
// --rate N: pgbench -R N (statements/s in total), the issue's "at 40k statements/s" on a machine that does more.
const RATE = flag('rate', null);
const rateArgs = RATE ? ['-R', RATE] : [];
// --collect-args "...": more flags for the standalone daemon (e.g. "--interval 5s").
const COLLECT_ARGS = (flag('collect-args', '') ?? '').split(/\s+/).filter(Boolean);
// --node-args "...": V8/node flags for the standalone daemon; with --trace-gc its GC pauses over the window are summed.
const NODE_ARGS = (flag('node-args', '') ?? '').split(/\s+/).filter(Boolean);
const CLI = new URL('../bin/pgscout.js', import.meta.url).pathname;

/** tid → [user ticks, system ticks] of every thread of process `pid`. */
function threadTicks(pid = 'self') {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid, [Number(f[11]), Number(f[12])]);
  }
  return out;
}

run(async () => {
  const cluster = await startCluster({ settings: { compute_query_id: 'on' } });
  try {
    await pgbenchData(cluster, 10);
    const collecting = STANDALONE ? await startDaemon(cluster.conninfo) : await startCollecting(cluster.conninfo, { 'statement-rows': ROWS }, {});
    if (WARM > 0) await pgbench(cluster, [...WL, '-c', '2', '-j', '2', '-T', String(WARM)]);
    const before = threadTicks(collecting.pid);
    const gcFrom = collecting.uptimeMs?.() ?? 0;
    const t0 = performance.now();
    const result = await pgbench(cluster, [...WL, '-c', '2', '-j', '2', ...rateArgs, '-T', String(SECONDS)]);
    const seconds = (performance.now() - t0) / 1000;
    let ticks = 0;
    const byThread = new Map(); // thread name → [user, system] ticks
    for (const [tid, [u, s]] of threadTicks(collecting.pid)) {
      const [u0, s0] = before.get(tid) ?? [0, 0];
      ticks += u - u0 + s - s0;
      const name = String(tid) === String(collecting.pid ?? process.pid) ? 'main' : `other (${threadName(collecting.pid, tid)})`;
      const [bu, bs] = byThread.get(name) ?? [0, 0];
      byThread.set(name, [bu + u - u0, bs + s - s0]);
    }
    const rssMb = residentMb(collecting.pid);
    const gcTo = collecting.uptimeMs?.() ?? 0;
    const { summary } = await collecting.stop();
    // V8 prints --trace-gc lines with the isolate's uptime; a pipe is flushed only at exit.
    if (collecting.stdout) log(`GC in the window: ${gcSummary(collecting.stdout(), gcFrom, gcTo)}`);
    // --stdout FILE: the daemon's stdout (e.g. --trace-opt / --trace-deopt lines) and the window, for reading by hand.
    if (collecting.stdout && flag('stdout', null)) {
      writeFileSync(flag('stdout', null), `# window ${gcFrom.toFixed(0)}..${gcTo.toFixed(0)} ms after spawn\n${collecting.stdout()}`);
    }
    const pct = (ticks / 100 / seconds) * 100;
    log(`summary: ${summary.lines.join('; ')}`);
    const share = (t) => ((t / 100 / seconds) * 100).toFixed(2);
    log(`by thread (% of a core, user + system): ${[...byThread].filter(([, [u, s]]) => u + s > 0)
      .sort((a, b) => b[1][0] + b[1][1] - a[1][0] - a[1][1]).map(([n, [u, s]]) => `${n} ${share(u)} + ${share(s)}`).join(', ')}`);
    console.log(`${WL.length ? 'select-only' : 'tpcb-like'}, --statement-rows ${ROWS}: ${result.tps.toFixed(0)} TPS, ` +
      `${STANDALONE ? 'pgscout collect (standalone)' : 'collector'} ${pct.toFixed(1)} % of a core over ${seconds.toFixed(1)} s after ${WARM} s of warm-up, RSS ${rssMb} MB at the end`);
  } finally {
    await cluster.stop();
  }
});

/** Count and summed pause of each kind of collection in `--trace-gc` lines. */
function gcSummary(text, fromMs, toMs) {
  const kinds = new Map();
  for (const [, atMs, kind, pauseMs] of text.matchAll(/\]\s+(\d+) ms: (Scavenge|Mark-Compact|Mark-sweep)[^,]*, ([\d.]+) \/ [\d.]+ ms/g)) {
    if (Number(atMs) < fromMs || Number(atMs) > toMs) continue;
    const k = kinds.get(kind) ?? { n: 0, ms: 0 };
    k.n++;
    k.ms += Number(pauseMs);
    kinds.set(kind, k);
  }
  return [...kinds].map(([k, v]) => `${k} ${v.n}× ${v.ms.toFixed(0)} ms`).join(', ') || 'none';
}

/** Resident set of process `pid` in MB (VmRSS), or '?' once it is gone. */
function residentMb(pid = 'self') {
  try {
    const kb = statusKb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
    return kb ? (kb / 1024).toFixed(0) : '?';
  } catch {
    return '?';
  }
}

/** A thread's name, numbers folded away (Node 20 names its helper threads like the main one). */
function threadName(pid = 'self', tid) {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim().replace(/\s*\d+$/, '') || '?';
  } catch {
    return 'exited';
  }
}

/** `pgscout collect` as a child; resolves once it says it is collecting. */
function startDaemon(conninfo) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'pgscout-daemon-cpu-'));
  const child = spawn(process.execPath, [...NODE_ARGS, CLI, 'collect', '--pg', conninfo, '--out', out, '--statement-rows', ROWS, ...COLLECT_ARGS],
    { stdio: ['ignore', NODE_ARGS.length ? 'pipe' : 'ignore', 'pipe'], env: { ...process.env, PGSCOUT_LOCK_DIR: out } });
  let stderr = '';
  let stdout = '';
  const spawnedAt = performance.now();
  child.stdout?.on('data', (d) => { stdout += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!stderr.includes('pgscout: collecting')) return;
      // The CLI re-execs itself with its daemon settings in the same process: the pid stays.
      resolve({
        pid: child.pid,
        stdout: child.stdout ? () => stdout : undefined,
        uptimeMs: () => performance.now() - spawnedAt,
        async stop() {
          child.kill('SIGTERM');
          const code = await exited;
          const files = (readdirSync(out, { recursive: true })).filter((f) => String(f).endsWith('.parquet'));
          const bytes = files.reduce((a, f) => a + statSync(path.join(out, String(f))).size, 0);
          log(`dataset: ${files.length} Parquet files, ${(bytes / 1024).toFixed(0)} KiB`);
          rmSync(out, { recursive: true, force: true });
          const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('pgscout: collecting'));
          return { summary: { lines: [`exit ${code}`, ...lines.slice(-3)] } };
        },
      });
    });
    exited.then((code) => reject(new Error(`pgscout collect exited ${code}: ${stderr.trim()}`)));
  });
}
