/** Workloads for the demo and the benchmarks: pgbench and an analytical mix, loopback only. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Cluster } from './cluster.js';

const run = promisify(execFile);

export interface PgbenchResult { tps: number; transactions: number; output: string }

export async function pgbench(cluster: Cluster, args: string[]): Promise<PgbenchResult> {
  const bin = path.join(cluster.binDir, 'pgbench');
  const { stdout } = await run(bin, ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', ...args, 'postgres'],
    { maxBuffer: 64 << 20 });
  const tps = /tps = ([\d.]+)/.exec(stdout);
  const tx = /number of transactions actually processed: (\d+)/.exec(stdout);
  return { tps: tps ? Number(tps[1]) : 0, transactions: tx ? Number(tx[1]) : 0, output: stdout };
}

export async function pgbenchInit(cluster: Cluster, scale: number): Promise<void> {
  await pgbench(cluster, ['-i', '-q', '-s', String(scale)]);
}

/** Analytical statements over the pgbench schema: joins, aggregates, sorts, a CTE, a window. */
export const ANALYTICAL_QUERIES: readonly string[] = [
  `SELECT b.bid, count(*), sum(a.abalance) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid) GROUP BY b.bid ORDER BY 3 DESC`,
  `SELECT aid, abalance FROM pgbench_accounts WHERE abalance > 0 ORDER BY abalance DESC, aid LIMIT 20`,
  `WITH t AS (SELECT tid, sum(delta) AS d FROM pgbench_history GROUP BY tid) SELECT t.tid, t.d, tl.tbalance FROM t JOIN pgbench_tellers tl USING (tid) ORDER BY t.d DESC LIMIT 5`,
  `SELECT bid, aid, abalance, rank() OVER (PARTITION BY bid ORDER BY abalance DESC) FROM pgbench_accounts WHERE aid % 97 = 3 ORDER BY 1, 4 LIMIT 50`,
  `SELECT count(DISTINCT abalance) FROM pgbench_accounts WHERE aid BETWEEN 1000 AND 40000`,
];

export async function analyticalMix(cluster: Cluster, rounds: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < rounds; i++) {
    for (const q of ANALYTICAL_QUERIES) {
      await cluster.psql(q);
      n++;
    }
  }
  return n;
}
