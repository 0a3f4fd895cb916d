#!/usr/bin/env node
/**
 * What the traps alone cost: bpf/empty.bpf.o's empty programs on growing subsets of --exact's
 * probe points, one cluster, rounds rotating, pgbench -S at 2 clients; ratio of median TPS to bare.
 *
 *   node bench/trap-floor.mjs [--seconds 10] [--rounds 3] [--sets bare,usdt2,usdt3,usdt4,exact-floor]
 *
 *   usdt2        query__execute__start/done at their PortalRun sites (what an extended-protocol statement traps on)
 *   usdt3        those + query__start (what a simple-protocol statement traps on under --exact)
 *   usdt4        those + query__done (the query boundaries --exact --phases adds)
 *   exact-floor  usdt3 + the tracepoints --exact attaches (sched_switch, sock_send/recv, process_exit)
 *
 * Needs root and `npm run build`.
 */
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { discoverTarget } from '../dist/pg/target.js';
import { attachSpec } from '../dist/bpf/attacher.js';
import { loadCollectorSpec, objectPath } from '../dist/bpf/collector-spec.js';
import { packageRoot } from '../dist/util/package-root.js';
import { closeObject, flag, fmt, loadObject, log, median, pgbenchData, run } from './lib/harness.mjs';

const ROOT = packageRoot();
const EMPTY = loadCollectorSpec(ROOT, 'statements-empty');
const USDT2 = ['execute_start', 'execute_done'];
const USDT3 = [...USDT2, 'query_start'];
const USDT4 = [...USDT3, 'query_done'];
const SETS = { bare: null, usdt2: USDT2, usdt3: USDT3, usdt4: USDT4, 'exact-floor': [...USDT3, 'sched_switch', 'sock_send', 'sock_recv', 'process_exit'] };
const SECONDS = Number(flag('seconds', '10'));
const ROUNDS = Number(flag('rounds', '3'));
const NAMES = flag('sets', Object.keys(SETS).join(',')).split(',');
for (const n of NAMES) if (!(n in SETS)) throw new Error(`unknown set ${n} (${Object.keys(SETS).join(', ')})`);
if (!NAMES.includes('bare')) NAMES.unshift('bare');

run(async () => {
  const cluster = await startCluster({ preload: [] });
  try {
    await pgbenchData(cluster, 10);
    const { binaryPath } = await discoverTarget(cluster.conninfo);
    const args = ['-S', '-c', '2', '-j', '2', '-T', String(SECONDS)];
    await pgbench(cluster, ['-S', '-c', '2', '-j', '2', '-T', '5']);
    const tps = Object.fromEntries(NAMES.map((n) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of [...NAMES.slice(r % NAMES.length), ...NAMES.slice(0, r % NAMES.length)]) {
        const programs = SETS[name];
        const spec = programs && { ...EMPTY, name, probes: EMPTY.probes.filter((p) => programs.includes(p.program)) };
        const obj = spec && loadObject(objectPath(ROOT, spec), (o) => attachSpec(o, spec, binaryPath));
        try {
          tps[name].push((await pgbench(cluster, args)).tps);
        } finally {
          if (obj) closeObject(obj);
        }
        log(`round ${r + 1} ${name.padEnd(12)} ${tps[name].at(-1).toFixed(0)} TPS`);
      }
    }
    const bare = median(tps.bare);
    console.log(`select-only, 2 clients, ${ROUNDS} × ${SECONDS} s, rounds rotating; bare ${bare.toFixed(0)} TPS`);
    for (const n of NAMES) {
      const paired = median(tps[n].map((t, i) => t / tps.bare[i]));
      console.log(`  ${n.padEnd(12)} ${tps[n].map((t) => t.toFixed(0)).join(' / ')}  ratio ${fmt(median(tps[n]) / bare)} (paired ${fmt(paired)})`);
    }
  } finally {
    await cluster.stop();
  }
});
