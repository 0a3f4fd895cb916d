#!/usr/bin/env node
/**
 * How long `--operator-probes` takes to start and to stop, and how many links
 * it holds: the per-call probes put a uprobe on every exported executor
 * function and on the entry and return of every node function discovered, and
 * removing a uprobe link waits for the kernel (~0.1 s each). One throwaway
 * cluster, an in-process collection per round over pgbench tpcb-like plus the
 * analytical statements (so that most node types are discovered), then stop().
 *
 *   node bench/detach-time.mjs [--rounds 3] [--seconds 4]
 *
 * Needs root and `npm run build`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../dist/demo/cluster.js';
import { ANALYTICAL_QUERIES, pgbench } from '../dist/demo/workload.js';
import { flag, log, median, pgbenchData, run, startCollecting } from './lib/harness.mjs';

const ROUNDS = Number(flag('rounds', '3'));
const SECONDS = flag('seconds', '4');

run(async () => {
  const cluster = await startCluster({ settings: { compute_query_id: 'on' } });
  const tmp = mkdtempSync(join(os.tmpdir(), 'pgscout-detach-'));
  try {
    await pgbenchData(cluster, 1);
    const script = join(tmp, 'analytical.sql');
    writeFileSync(script, ANALYTICAL_QUERIES.map((q) => `${q};\n`).join(''));
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      const c = await startCollecting(cluster.conninfo, { level: 'operator', 'operator-probes': '1' }, { dir: tmp });
      const startMs = performance.now() - t0;
      await pgbench(cluster, ['-c', '2', '-j', '2', '-T', SECONDS, '-f', `${script}@1`, '-b', 'tpcb-like@10']);
      const links = c.collection.collectors.flatMap((x) => x.objects().flatMap((o) => o.links)).filter((l) => l.attached);
      const uprobes = links.filter((l) => /^u(ret)?probe/.test(l.description));
      const sites = uprobes.reduce((n, l) => n + Number(/\((\d+) sites\)/.exec(l.description)?.[1] ?? 1), 0);
      const t1 = performance.now();
      await c.stop();
      const stopMs = performance.now() - t1;
      rounds.push({ startMs, stopMs, links: links.length, uprobes: uprobes.length, sites });
      log(`round ${r + 1}: start ${startMs.toFixed(0)} ms, stop ${stopMs.toFixed(0)} ms, ${links.length} links (${uprobes.length} uprobe links for ${sites} probe sites)`);
    }
    const m = (k) => median(rounds.map((x) => x[k]));
    console.log(`--level operator --operator-probes 1, medians of ${ROUNDS}: start ${m('startMs').toFixed(0)} ms, stop ${m('stopMs').toFixed(0)} ms, ` +
      `${m('links')} links, ${m('uprobes')} of them uprobe links for ${m('sites')} probe sites`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await cluster.stop();
  }
});
