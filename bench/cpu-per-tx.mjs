#!/usr/bin/env node
/**
 * CPU a transaction, per process kind, with and without the collector: one throwaway cluster,
 * pgbench (tpcb-like by default) at 2 clients, `perf record -a -e cpu-clock` for the middle of
 * each run, samples counted per command and per backend pid and divided by the run's
 * transactions. Where the ratio benches see a throughput gap, this says whose CPU grew.
 *
 *   node bench/cpu-per-tx.mjs [--seconds 24] [--rounds 2] [--workload tpcb|select]
 *
 * Needs root, perf, and `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { flag, log, pgbenchData, run, sleep, startCollecting, THROUGHPUT_SETTINGS, VACUUM_FIRST } from './lib/harness.mjs';

const SECONDS = Number(flag('seconds', '24'));
const ROUNDS = Number(flag('rounds', '2'));
const SELECT = flag('workload', 'tpcb') === 'select';
const HZ = 1999;

/** Samples per command name in a perf.data file. */
function samplesBy(file, key) {
  const out = execFileSync('perf', ['report', '-i', file, '--sort', key, '--stdio', '-n'], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }).toString();
  const counts = new Map();
  for (const line of out.split('\n')) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(.+?)\s*$/.exec(line);
    if (m) counts.set(m[2], Number(m[1]));
  }
  return counts;
}

async function measure(cluster, label) {
  const window = Math.max(4, Math.floor(SECONDS / 2));
  const load = pgbench(cluster, ['-c', '2', '-j', '2', '-T', String(SECONDS), ...VACUUM_FIRST, ...(SELECT ? ['-S'] : [])]);
  await sleep(((SECONDS - window) / 2) * 1000);
  const file = `/tmp/pgscout-cpu-per-tx-${label}.data`;
  execFileSync('perf', ['record', '-a', '-e', 'cpu-clock', '-F', String(HZ), '-o', file, '--', 'sleep', String(window)], { stdio: 'ignore' });
  const { tps } = await load;
  const perTx = (samples) => (samples / window / HZ / tps) * 1e6;
  const comms = samplesBy(file, 'comm');
  const backends = [...samplesBy(file, 'comm,pid').entries()].filter(([k]) => k.includes('postgres'))
    .map(([, n]) => n).sort((a, b) => b - a).slice(0, 2).reduce((a, n) => a + n, 0);
  return { label, tps, backendUs: perTx(backends), pgbenchUs: perTx(comms.get('pgbench') ?? 0), allUs: perTx([...comms.values()].reduce((a, n) => a + n, 0)) };
}

run(async () => {
  const cluster = await startCluster({ preload: [], settings: THROUGHPUT_SETTINGS });
  try {
    await pgbenchData(cluster, 10);
    for (let round = 1; round <= ROUNDS; round++) {
      const bare = await measure(cluster, 'bare');
      const collecting = await startCollecting(cluster.conninfo, { interval: '1s' });
      await sleep(2000);
      const ours = await measure(cluster, 'pgscout');
      await collecting.stop();
      for (const r of [bare, ours]) {
        log(`round ${round} ${r.label.padEnd(8)} ${r.tps.toFixed(0)} TPS; µs of CPU a transaction: the 2 busiest backends ${r.backendUs.toFixed(1)}, pgbench ${r.pgbenchUs.toFixed(1)}, everything ${r.allUs.toFixed(1)}`);
      }
      log(`round ${round}: backends ×${(ours.backendUs / bare.backendUs).toFixed(3)}, pgbench ×${(ours.pgbenchUs / bare.pgbenchUs).toFixed(3)}, everything ×${(ours.allUs / bare.allUs).toFixed(3)} a transaction`);
    }
  } finally {
    await cluster.stop();
  }
});
