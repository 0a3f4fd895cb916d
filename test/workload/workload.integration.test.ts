/**
 * The workloads against a real PostgreSQL: the schema is generated on the
 * server, every template runs without error, the shapes are varied (plan node
 * types from EXPLAIN) and the parameters move row counts over orders of magnitude.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { toClientConfig } from '../../src/pg/target.js';
import { ANALYTICAL_TEMPLATES } from '../../src/workload/analytical-templates.js';
import { Rng } from '../../src/workload/rng.js';
import { runWorkload, type WorkloadResult } from '../../src/workload/runner.js';
import { useCluster } from '../helpers/cluster-fixture.js';

describe('workloads on a real PostgreSQL', () => {
  let analytical: WorkloadResult;
  let oltp: WorkloadResult;
  let again: WorkloadResult;

  const db = useCluster({
    outPrefix: 'pgscout-workload-',
    setup: async (cluster) => {
      await cluster.psql('SELECT pg_stat_statements_reset()');
      analytical = await runWorkload({ kind: 'analytical', conninfo: cluster.conninfo, scale: 0.02, durationMs: 8000, clients: 2, seed: 3 });
      again = await runWorkload({ kind: 'analytical', conninfo: cluster.conninfo, scale: 0.02, durationMs: 300, clients: 1, seed: 4 });
      oltp = await runWorkload({ kind: 'oltp', conninfo: cluster.conninfo, scale: 0.05, durationMs: 3000, clients: 2, seed: 5 });
    },
  });

  it('creates the analytical schema once, then reuses it', () => {
    expect(analytical.created).toBe(true);
    expect(again.created).toBe(false);
  });

  it('runs every one of ≥ 15 analytical templates, without errors, each its own query_id', async () => {
    expect(ANALYTICAL_TEMPLATES.length).toBeGreaterThanOrEqual(15);
    expect(analytical.errors).toBe(0);
    expect(Object.keys(analytical.executions).sort()).toEqual(ANALYTICAL_TEMPLATES.map((t) => t.name).sort());
    const ids = Number((await db.cluster.psql(`SELECT count(DISTINCT queryid) FROM pg_stat_statements
      WHERE query ~ 'wl_(lineitem|orders|customer|partsupp|part|supplier)' AND (query LIKE 'SELECT%' OR query LIKE 'WITH%')`)).trim());
    expect(ids).toBeGreaterThanOrEqual(ANALYTICAL_TEMPLATES.length);
  });

  it('covers joins, aggregates, sorts, windows, semi/anti joins and CTEs, with row counts over orders of magnitude', async () => {
    const client = new pg.Client(toClientConfig(db.cluster.conninfo));
    await client.connect();
    const types = new Set<string>();
    const counts: number[] = [];
    const rng = new Rng(11);
    try {
      for (const t of ANALYTICAL_TEMPLATES) {
        for (let i = 0; i < 4; i++) {
          const plan = (await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${t.sql}`, t.params(rng))).rows[0]['QUERY PLAN'][0].Plan;
          const walk = (n: { 'Node Type': string; 'Join Type'?: string; Plans?: unknown[] }): void => {
            types.add(n['Join Type'] && n['Join Type'] !== 'Inner' ? `${n['Node Type']}/${n['Join Type']}` : n['Node Type']);
            for (const c of n.Plans ?? []) walk(c as typeof n);
          };
          walk(plan);
        }
      }
      const t = ANALYTICAL_TEMPLATES.find((x) => x.name === 'distinct_parts_by_date')!;
      for (let i = 0; i < 30; i++) {
        counts.push(Number((await client.query('SELECT count(*) FROM wl_lineitem WHERE l_shipdate BETWEEN $1 AND $2', t.params(rng))).rows[0].count));
      }
    } finally {
      await client.end();
    }
    for (const wanted of ['Hash Join', 'Aggregate', 'Sort', 'WindowAgg', 'Limit', 'Index Scan', 'Seq Scan']) expect(types).toContain(wanted);
    expect([...types].some((x) => /Semi|Anti/.test(x))).toBe(true);
    expect(types.size).toBeGreaterThanOrEqual(12);
    const positive = counts.filter((c) => c > 0);
    expect(Math.max(...positive) / Math.min(...positive)).toBeGreaterThanOrEqual(100);
  });

  it('runs the OLTP mix: TPC-B transactions, secondary-index lookups, range scans', async () => {
    expect(oltp.created).toBe(true);
    expect(oltp.errors).toBe(0);
    expect(Object.keys(oltp.executions).sort()).toEqual(['aid_range', 'date_range', 'email_lookup', 'tpcb']);
    const history = Number((await db.cluster.psql('SELECT count(*) FROM wl_history')).trim());
    expect(history).toBe(oltp.executions.tpcb);
    const plan = await db.cluster.psql(`EXPLAIN SELECT aid FROM wl_accounts WHERE email = 'user' || md5('5') || '@example.com'`);
    expect(plan).toMatch(/Index Scan using wl_accounts_email_idx|Bitmap Index Scan on wl_accounts_email_idx/);
  });
});
