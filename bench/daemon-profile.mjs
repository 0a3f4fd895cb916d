#!/usr/bin/env node
/**
 * Where the collector's CPU goes in steady state: one throwaway cluster, the collector in this
 * process, pgbench at a fixed rate, and a V8 CPU profile (node:inspector, started after the
 * collector is up: a profiler signal during BPF loading makes the verifier fail with EAGAIN)
 * over `--seconds`. Prints self time by function and by file, and writes the .cpuprofile.
 *
 *   node bench/daemon-profile.mjs [--seconds 15] [--rate 40000] [--rows 500] [--out /tmp/pgscout.cpuprofile] [--alloc]
 *
 * `--alloc`: V8's sampling heap profiler instead (every allocation, collected ones included):
 * bytes allocated per second by function, what the young generation's collections are fed with.
 *
 * Needs root and `npm run build`.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { flag, log, pgbenchData, run, sleep, startCollecting } from './lib/harness.mjs';

const SECONDS = Number(flag('seconds', '15'));
const RATE = flag('rate', '40000');
const ROWS = flag('rows', '500');
const OUT = flag('out', '/tmp/pgscout.cpuprofile');

function summarize(profile, key) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const k = key(n.callFrame);
    self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0));
  }
  return [...self.entries()].sort((a, b) => b[1] - a[1]);
}

/** A profile frame as "function file:line", paths from dist/ or node_modules/ on. */
const frameName = (f) => `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;

/** Bytes allocated per (function, file:line), self, from a sampling heap profile. */
function allocations(head) {
  const out = new Map();
  // Natives (slice, push, set…) are named with their caller: which slice matters.
  const walk = (n, parent) => {
    const f = n.callFrame;
    const k = f.url ? frameName(f) : `${frameName(f)} ← ${parent}`;
    out.set(k, (out.get(k) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c, f.url ? frameName(f) : parent);
  };
  walk(head, '');
  return [...out.entries()].sort((a, b) => b[1] - a[1]);
}

async function allocationProfile(session) {
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
  });
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const s = (performance.now() - t0) / 1000;
  const rows = allocations(profile.head);
  const total = rows.reduce((a, [, b]) => a + b, 0);
  console.log(`allocated ${(total / s / 1024).toFixed(0)} KiB/s over ${s.toFixed(1)} s (sampled every 4 KiB); by function:`);
  for (const [k, b] of rows.slice(0, 30)) console.log(`  ${(b / s / 1024).toFixed(1).padStart(8)} KiB/s  ${k}`);
}

run(async () => {
  const cluster = await startCluster({ settings: { compute_query_id: 'on' } });
  try {
    await pgbenchData(cluster, 10);
    const collecting = await startCollecting(cluster.conninfo, { 'statement-rows': ROWS }, {});
    const load = pgbench(cluster, ['-S', '-c', '2', '-j', '2', '-R', RATE, '-T', String(SECONDS + Number(flag('warm', '20')) + 3)]);
    await sleep(Number(flag('warm', '20')) * 1000);
    const session = new Session();
    session.connect();
    if (process.argv.includes('--alloc')) {
      await allocationProfile(session);
      session.disconnect();
      await load;
      await collecting.stop();
      return;
    }
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const { profile } = await session.post('Profiler.stop');
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    session.disconnect();
    const result = await load;
    await collecting.stop();
    writeFileSync(OUT, JSON.stringify(profile));
    const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
    const pct = (us) => ((us / wall / 1000) * 100).toFixed(2);
    console.log(`${result.tps.toFixed(0)} TPS; process CPU ${pct(cpu.user + cpu.system)} % of a core (all threads), main-thread samples over ${(total / 1e6).toFixed(1)} s; profile ${OUT}`);
    console.log('self time by function (% of a core, main thread):');
    for (const [k, us] of summarize(profile, frameName).slice(0, 30))
      console.log(`  ${pct(us).padStart(6)}  ${k}`);
    console.log('self time by file:');
    for (const [k, us] of summarize(profile, (f) => f.url.replace(/^.*\/(dist|node_modules)\//, '$1/') || `(${f.functionName})`).slice(0, 20))
      console.log(`  ${pct(us).padStart(6)}  ${k}`);
  } finally {
    await cluster.stop();
  }
});
