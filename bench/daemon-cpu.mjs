#!/usr/bin/env node
/**
 * Steady-state CPU of the collector (issue 8's daemon target): one throwaway cluster, the
 * collector started in this process, `--warm` seconds of pgbench load, then CPU ticks of every
 * thread of this process over `--seconds` of pgbench (pgbench itself is a child, not counted).
 *
 *   node bench/daemon-cpu.mjs [--seconds 10] [--warm 4] [--workload select|tpcb] [--rows 500|all]
 *
 * Needs root and `npm run build`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { flag, log, pgbenchData, run, startCollecting } from './lib/harness.mjs';

const SECONDS = Number(flag('seconds', '10'));
const WARM = Number(flag('warm', '4'));
const WL = flag('workload', 'select') === 'tpcb' ? [] : ['-S'];
const ROWS = flag('rows', '500');

/** tid → [user ticks, system ticks] of every thread of this process. */
function threadTicks() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid, [Number(f[11]), Number(f[12])]);
  }
  return out;
}

run(async () => {
  const cluster = await startCluster({ settings: { compute_query_id: 'on' } });
  try {
    await pgbenchData(cluster, 10);
    const collecting = await startCollecting(cluster.conninfo, { 'statement-rows': ROWS }, {});
    if (WARM > 0) await pgbench(cluster, [...WL, '-c', '2', '-j', '2', '-T', String(WARM)]);
    const before = threadTicks();
    const t0 = performance.now();
    const result = await pgbench(cluster, [...WL, '-c', '2', '-j', '2', '-T', String(SECONDS)]);
    const seconds = (performance.now() - t0) / 1000;
    let ticks = 0;
    for (const [tid, [u, s]] of threadTicks()) {
      const [u0, s0] = before.get(tid) ?? [0, 0];
      ticks += u - u0 + s - s0;
    }
    const { summary } = await collecting.stop();
    const pct = (ticks / 100 / seconds) * 100;
    log(`summary: ${summary.lines.join('; ')}`);
    console.log(`${WL.length ? 'select-only' : 'tpcb-like'}, --statement-rows ${ROWS}: ${result.tps.toFixed(0)} TPS, ` +
      `collector ${pct.toFixed(1)} % of a core over ${seconds.toFixed(1)} s after ${WARM} s of warm-up`);
  } finally {
    await cluster.stop();
  }
});
