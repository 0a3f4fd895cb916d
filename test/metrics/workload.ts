/**
 * A real workload for the metrics tests: pgbench (TPC-B-like: SELECT,
 * UPDATE, INSERT) next to a loop of joins, aggregates, sorts, a second
 * database and a failing statement, so that every statement kind, several
 * plan node types and the error path produce metrics.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import type { Cluster } from '../../src/demo/cluster.js';
import { toClientConfig } from '../../src/pg/target.js';

export async function prepareWorkload(cluster: Cluster): Promise<void> {
  await runPgbench(cluster, ['-i', '-s', '1', '-q']);
  await cluster.psql('CREATE DATABASE shop');
  await cluster.psql('CREATE TABLE orders(id int PRIMARY KEY, customer int, total numeric); ' +
    'INSERT INTO orders SELECT g, g % 97, g * 1.5 FROM generate_series(1, 20000) g; ANALYZE orders', 'shop');
}

function runPgbench(cluster: Cluster, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(cluster.binDir, 'pgbench'), ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', ...args, 'postgres'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pgbench ${args.join(' ')} failed (${code}): ${stderr}`))));
  });
}

const JOINS = [
  'SELECT count(*) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid) WHERE a.aid < $1',
  'SELECT a.aid, t.tid FROM pgbench_accounts a JOIN pgbench_tellers t ON t.bid = a.bid WHERE a.aid < $1 ORDER BY a.aid, t.tid LIMIT 20',
  'SELECT b.bid, sum(a.abalance) FROM pgbench_branches b LEFT JOIN pgbench_accounts a ON a.bid = b.bid AND a.aid < $1 GROUP BY b.bid',
  'SELECT count(*) FROM pgbench_accounts WHERE aid IN (SELECT aid FROM pgbench_history WHERE delta > $1)',
];

/** Runs for `seconds`: pgbench with 2 clients and the join loop, concurrently. */
export async function runWorkload(cluster: Cluster, seconds: number): Promise<{ statements: number }> {
  const bench = runPgbench(cluster, ['-T', String(seconds), '-c', '2', '-n']);
  const client = new pg.Client(toClientConfig(cluster.conninfo));
  const shop = new pg.Client({ ...toClientConfig(cluster.conninfo.replace(/\/postgres$/, '/shop')) });
  await client.connect();
  await shop.connect();
  let statements = 0;
  try {
    const end = Date.now() + seconds * 1000;
    for (let i = 0; Date.now() < end; i++) {
      await client.query(JOINS[i % JOINS.length]!, [1000 + (i % 50) * 100]);
      await shop.query('SELECT customer, count(*), sum(total) FROM orders WHERE id > $1 GROUP BY customer ORDER BY 3 DESC LIMIT 5', [i % 1000]);
      await shop.query('UPDATE orders SET total = total + 1 WHERE id = $1', [1 + (i % 20000)]);
      statements += 3;
      if (i % 10 === 0) {
        await client.query('SELECT 1 / (aid - aid) FROM pgbench_accounts WHERE aid = 1').catch(() => undefined);
        statements++;
      }
    }
  } finally {
    await client.end();
    await shop.end();
  }
  await bench;
  return { statements };
}
