#!/usr/bin/env node
/**
 * A soak of `pgscout collect` as its own process (issue 10): a throwaway
 * cluster under pgbench (tpcb-like + the demo's analytical statements, 2 clients
 * each), and every --every seconds the daemon's RSS (and peak), open fds, CPU
 * (% of one core since the last sample), rows written and records dropped (its
 * own Prometheus endpoint). At the end: SIGTERM, and the seconds to exit.
 *
 *   node bench/soak.mjs [--minutes 30] [--every 15] [--scale 10] [--clients 2]
 *                       [--args "--level operator --setup-instrumentation"] [--csv soak.csv]
 *
 * Prints a markdown table (for docs/benchmarks.md) and writes the samples as CSV
 * (what the report plots). Needs root and `npm run build`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { ANALYTICAL_QUERIES, pgbench } from '../dist/demo/workload.js';
import { flag, fmt, log, pgbenchData, run, sleep, statusKb } from './lib/harness.mjs';

const MINUTES = Number(flag('minutes', '30'));
const EVERY_S = Number(flag('every', '15'));
const SCALE = Number(flag('scale', '10'));
const CLIENTS = flag('clients', '2');
const EXTRA = flag('args', '--level operator --setup-instrumentation').split(' ').filter(Boolean);
const CSV = flag('csv', '');
const BIN = new URL('../bin/pgscout.js', import.meta.url).pathname;
const TICK = 100;   // USER_HZ: clock ticks per second in /proc/<pid>/stat (100 on Linux x86)

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function processSample(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => statusKb(status, name);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const runqNs = Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);   // the main thread's wait for a CPU
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length, cpuTicks: Number(stat[11]) + Number(stat[12]), runqNs };
}

async function scrape(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (name) => text.split('\n').filter((l) => l.startsWith(name)).reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
  return {
    rows: sum('pgscout_dataset_rows_total'), dropped: sum('pgscout_records_dropped_total'),
    drains: sum('pgscout_drain_duration_seconds_count'), drainSeconds: sum('pgscout_drain_duration_seconds_sum'),
    drainsInInterval: sum('pgscout_drain_duration_seconds_bucket{otel_scope_name="pgscout",le="1"}'),
  };
}

run(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-soak-'));
  const script = path.join(dir, 'analytical.sql');
  fs.writeFileSync(script, `${ANALYTICAL_QUERIES.join(';\n')};\n`);
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(script, 0o644);
  const cluster = await startCluster({ settings: { compute_query_id: 'on' } });
  let child = null;
  try {
    await pgbenchData(cluster, SCALE);
    const port = await freePort();
    const args = ['collect', '--pg', cluster.conninfo, '--out', path.join(dir, 'out'), '--interval', '1s', '--prometheus', `127.0.0.1:${port}`, ...EXTRA];
    log(`pgscout ${args.join(' ')}`);
    child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((resolve) => child.on('close', resolve));
    while (!/probes attached/.test(out)) {
      if (child.exitCode !== null) throw new Error(`collect exited: ${out}`);
      await sleep(100);
    }
    const seconds = MINUTES * 60;
    const load = Promise.all([
      pgbench(cluster, ['-c', CLIENTS, '-j', CLIENTS, '-T', String(seconds)]),
      pgbench(cluster, ['-f', script, '-c', CLIENTS, '-j', CLIENTS, '-T', String(seconds)]),
    ]);
    const samples = [];
    const t0 = performance.now();
    let last = { at: t0, ticks: processSample(child.pid).cpuTicks, runqNs: processSample(child.pid).runqNs, m: { drains: 0, drainSeconds: 0, drainsInInterval: 0 } };
    for (let t = EVERY_S; t <= seconds; t += EVERY_S) {
      await sleep(t0 + t * 1000 - performance.now());
      const p = processSample(child.pid);
      const now = performance.now();
      const m = await scrape(port).catch(() => ({ rows: NaN, dropped: NaN, drains: NaN, drainSeconds: NaN, drainsInInterval: NaN }));
      const drains = m.drains - last.m.drains;
      samples.push({
        t, rssMb: p.rssMb, hwmMb: p.hwmMb, fds: p.fds, cpuPct: ((p.cpuTicks - last.ticks) / TICK) / ((now - last.at) / 1000) * 100, rows: m.rows, dropped: m.dropped,
        drainMs: drains > 0 ? ((m.drainSeconds - last.m.drainSeconds) / drains) * 1000 : NaN, drainsOver: drains - (m.drainsInInterval - last.m.drainsInInterval),
        runqPct: ((p.runqNs - last.runqNs) / 1e6 / (now - last.at)) * 100,
      });
      last = { at: now, ticks: p.cpuTicks, runqNs: p.runqNs, m };
      log(`t=${t}s rss ${fmt(p.rssMb, 0)} MB (peak ${fmt(p.hwmMb, 0)}), fds ${p.fds}, cpu ${fmt(samples.at(-1).cpuPct, 1)} %, rows ${m.rows}, dropped ${m.dropped}, drain ${fmt(samples.at(-1).drainMs, 0)} ms avg (${samples.at(-1).drainsOver} over 1 s)`);
    }
    const tps = (await load).map((r) => r.tps);
    const s0 = performance.now();
    child.kill('SIGTERM');
    await exited;
    const exitS = (performance.now() - s0) / 1000;
    child = null;
    console.log(`\n\`node bench/soak.mjs --minutes ${MINUTES} --every ${EVERY_S} --args "${EXTRA.join(' ')}"\` (${os.cpus().length} CPUs, pgbench tps ${tps.map((x) => fmt(x, 0)).join(' / ')})\n`);
    console.log('| t s | RSS MB | peak MB | fds | CPU % of a core | rows written | records dropped | drain ms (mean) | drains > 1 s | main thread waiting for a CPU |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of samples) console.log(`| ${s.t} | ${fmt(s.rssMb, 0)} | ${fmt(s.hwmMb, 0)} | ${s.fds} | ${fmt(s.cpuPct, 1)} | ${s.rows} | ${s.dropped} | ${fmt(s.drainMs, 0)} | ${s.drainsOver} | ${fmt(s.runqPct, 0)} % |`);
    console.log(`\nSIGTERM → exit: ${fmt(exitS, 2)} s; last lines:\n${out.trim().split('\n').slice(-4).join('\n')}`);
    if (CSV) fs.writeFileSync(CSV, ['t,rss_mb,peak_mb,fds,cpu_pct,rows,dropped,drain_ms,drains_over_1s,runq_pct', ...samples.map((s) => [s.t, s.rssMb, s.hwmMb, s.fds, s.cpuPct, s.rows, s.dropped, s.drainMs, s.drainsOver, s.runqPct].join(','))].join('\n') + '\n');
  } finally {
    child?.kill('SIGKILL');
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
