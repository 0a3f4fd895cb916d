#!/usr/bin/env node
/**
 * A/B of collect options on one cluster, rounds alternating: TPS of pgbench against bare (no
 * collector) and each variant, median ratio to bare. For questions such as "does --sync-interval
 * change what tpcb-like (commit fsyncs) pays".
 *
 *   node bench/ab-tpcb.mjs [--seconds 10] [--rounds 3] [--workload tpcb|select]
 *                          [--variants '{"sync-1s":{"sync-interval":"1s"},"default":{}}']
 *
 * Needs root and `npm run build`.
 */
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { flag, fmt, log, median, pgbenchData, run, startCollecting, THROUGHPUT_SETTINGS, VACUUM_FIRST } from './lib/harness.mjs';

const SECONDS = Number(flag('seconds', '10'));
const ROUNDS = Number(flag('rounds', '3'));
const WL = flag('workload', 'tpcb') === 'select' ? ['-S'] : [];
const VARIANTS = JSON.parse(flag('variants', '{"default":{},"sync-1s":{"sync-interval":"1s"}}'));

run(async () => {
  const cluster = await startCluster({ settings: { compute_query_id: 'on', ...THROUGHPUT_SETTINGS } });
  try {
    await pgbenchData(cluster, 10);
    const tps = { bare: [] };
    for (const v of Object.keys(VARIANTS)) tps[v] = [];
    const names = Object.keys(tps);
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order each round: no variant always runs right after another.
      for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
        const collecting = name === 'bare' ? null : await startCollecting(cluster.conninfo, VARIANTS[name], {});
        const result = await pgbench(cluster, [...WL, ...VACUUM_FIRST, '-c', '2', '-j', '2', '-T', String(SECONDS)]);
        if (collecting) await collecting.stop();
        tps[name].push(result.tps);
        log(`round ${r + 1} ${name.padEnd(12)} ${result.tps.toFixed(0)} TPS`);
      }
    }
    const bare = median(tps.bare);
    console.log(`${WL.length ? 'select-only' : 'tpcb-like'}, ${ROUNDS} × ${SECONDS} s; bare ${bare.toFixed(0)} TPS`);
    for (const name of Object.keys(VARIANTS)) console.log(`  ${name.padEnd(12)} ${median(tps[name]).toFixed(0)} TPS  ratio ${fmt(median(tps[name]) / bare)}`);
  } finally {
    await cluster.stop();
  }
});
