#!/usr/bin/env node
/**
 * Two builds of pgscout side by side on one cluster: pgbench TPS with no collector, with the
 * other build's Collection and with this tree's, rounds rotating; median ratio to bare and the
 * median of per-round paired ratios. For "did this change make collecting cheaper" when the
 * machine's spread between runs is larger than the change.
 *
 *   node bench/ab-builds.mjs --other /tmp/old [--seconds 10] [--rounds 5] [--workloads select,tpcb]
 *                            [--options '{"exact":true}']
 *
 * The other build: `git worktree add /tmp/old <commit>`, node_modules linked, bpf/vmlinux.h
 * copied, `make -C bpf` and `npx tsc` there; then its dist/bpf/libbpf.js and dist/bpf/ringbuf.js
 * replaced by `export * from '<this tree>/dist/bpf/<same>.js'` (koffi type names are
 * process-wide: two bindings cannot load in one process; the binding is the same in both).
 * Needs root and `npm run build`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import os from 'node:os';
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { Collection } from '../dist/collect/collection.js';
import { collectConfig } from '../dist/config.js';
import { flag, fmt, log, median, pgbenchData, run, THROUGHPUT_SETTINGS, VACUUM_FIRST } from './lib/harness.mjs';

const OTHER = flag('other', '');
if (!OTHER) throw new Error('--other <root of the other build> is required');
const SECONDS = Number(flag('seconds', '10'));
const ROUNDS = Number(flag('rounds', '5'));
const WORKLOADS = flag('workloads', 'select,tpcb').split(',');
const OPTIONS = JSON.parse(flag('options', '{"exact":true}'));

const other = {
  Collection: (await import(join(resolve(OTHER), 'dist/collect/collection.js'))).Collection,
  collectConfig: (await import(join(resolve(OTHER), 'dist/config.js'))).collectConfig,
};
const builds = { other, this: { Collection, collectConfig } };

async function collecting(build, conninfo) {
  const out = mkdtempSync(join(os.tmpdir(), 'pgscout-ab-'));
  const c = await build.Collection.start(build.collectConfig({ pg: conninfo, out, ...OPTIONS }));
  return async () => { await c.stop(); rmSync(out, { recursive: true, force: true }); };
}

run(async () => {
  const cluster = await startCluster({ settings: { compute_query_id: 'on', ...THROUGHPUT_SETTINGS } });
  try {
    await pgbenchData(cluster, 10);
    for (const wl of WORKLOADS) {
      const args = [...(wl === 'select' ? ['-S'] : []), '-c', '2', '-j', '2', '-T'];
      await pgbench(cluster, [...args, '5']);
      const names = ['bare', 'other', 'this'];
      const tps = { bare: [], other: [], this: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const name of [...names.slice(r % 3), ...names.slice(0, r % 3)]) {
          const stop = name === 'bare' ? null : await collecting(builds[name], cluster.conninfo);
          try {
            tps[name].push((await pgbench(cluster, [...VACUUM_FIRST, ...args, String(SECONDS)])).tps);
          } finally {
            await stop?.();
          }
          log(`${wl} round ${r + 1} ${name.padEnd(6)} ${tps[name].at(-1).toFixed(0)} TPS`);
        }
      }
      const bare = median(tps.bare);
      console.log(`${wl === 'select' ? 'select-only' : 'tpcb-like'}, ${ROUNDS} × ${SECONDS} s, options ${JSON.stringify(OPTIONS)}`);
      for (const n of names) {
        const paired = median(tps[n].map((t, i) => t / tps.bare[i]));
        console.log(`  ${(n === 'other' ? OTHER : n === 'this' ? 'this tree' : n).padEnd(14)} ${tps[n].map((t) => t.toFixed(0)).join(' / ')}  ratio ${fmt(median(tps[n]) / bare)} (paired ${fmt(paired)})`);
      }
    }
  } finally {
    await cluster.stop();
  }
});
