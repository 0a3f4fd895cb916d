#!/usr/bin/env node
/**
 * Per-program BPF cost of a statement collection under pgbench load: for each program, hits per
 * statement and ns per hit (BPF stats on), and the sum per statement. One throwaway cluster, a fresh
 * in-process collector per round; rounds alternate nothing, so run it twice to compare two builds
 * of an object (e.g. a variant compiled into bpf/.output between runs).
 *
 *   node bench/prog-cost.mjs [--seconds 8] [--rounds 3] [--workload select|tpcb] [--scale 10] [--exact]
 *
 * Needs root and `npm run build`.
 */
import { startCluster } from '../dist/demo/cluster.js';
import { pgbench } from '../dist/demo/workload.js';
import { flag, fmt, log, median, pgbenchData, run, startCollecting } from './lib/harness.mjs';

const SECONDS = Number(flag('seconds', '8'));
const ROUNDS = Number(flag('rounds', '3'));
const SCALE = Number(flag('scale', '10'));
const WL = flag('workload', 'select') === 'tpcb' ? [] : ['-S'];
const EXACT = process.argv.includes('--exact');

run(async () => {
  const cluster = await startCluster({ settings: { compute_query_id: 'on' } });
  try {
    await pgbenchData(cluster, SCALE);
    const perRound = [];
    for (let r = 0; r < ROUNDS; r++) {
      const collecting = await startCollecting(cluster.conninfo, EXACT ? { exact: true } : {}, { profile: true });
      const result = await pgbench(cluster, [...WL, '-c', '2', '-j', '2', '-T', String(SECONDS)]);
      const { progStats } = await collecting.stop();
      const statements = result.transactions * (WL.length ? 1 : 7); // tpcb-like: 5 statements + BEGIN/END
      const progs = {};
      for (const stats of Object.values(progStats)) {
        for (const [name, p] of Object.entries(stats)) {
          if (!p.runCnt) continue;
          progs[name] = { perStmt: p.runCnt / statements, nsPerHit: p.runTimeNs / p.runCnt, nsPerStmt: p.runTimeNs / statements };
        }
      }
      perRound.push({ tps: result.tps, progs });
      log(`round ${r + 1}: ${result.tps.toFixed(0)} TPS; ` +
        Object.entries(progs).map(([n, p]) => `${n} ${fmt(p.perStmt, 2)}/stmt × ${fmt(p.nsPerHit, 0)} ns`).join(', '));
    }
    const names = [...new Set(perRound.flatMap((r) => Object.keys(r.progs)))];
    console.log(`${WL.length ? 'select-only' : 'tpcb-like'}${EXACT ? ' --exact' : ''}, ${ROUNDS} × ${SECONDS} s, medians:`);
    for (const n of names) {
      const of = (k) => median(perRound.map((r) => r.progs[n]?.[k] ?? 0));
      console.log(`  ${n.padEnd(24)} ${fmt(of('perStmt'), 2)} hits/stmt  ${fmt(of('nsPerHit'), 0).padStart(5)} ns/hit  ${fmt(of('nsPerStmt'), 0).padStart(5)} ns/stmt`);
    }
    const total = median(perRound.map((r) => Object.values(r.progs).reduce((a, p) => a + p.nsPerStmt, 0)));
    console.log(`  all per statement: ${fmt(total, 0)} ns`);
  } finally {
    await cluster.stop();
  }
});
