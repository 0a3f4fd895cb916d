/**
 * Reveals the per-node executor functions before the workload does: plain
 * EXPLAIN (no ANALYZE: nothing is executed, no user table is read) of plans
 * over the system catalogs makes ExecInitNode build each node type, and the
 * operator collector probes every function it sees. Without this, the first
 * execution of each node type after start would be lost.
 */
import { connectOwn } from '../../pg/own-backends.js';
import { logger } from '../../util/log.js';

const log = logger('warmup');

const FORCE_NESTLOOP = { enable_hashjoin: 'off', enable_mergejoin: 'off' };
const FORCE_MERGE = { enable_hashjoin: 'off', enable_nestloop: 'off' };
const PARALLEL = {
  max_parallel_workers_per_gather: '2', parallel_setup_cost: '0', parallel_tuple_cost: '0',
  min_parallel_table_scan_size: '0', min_parallel_index_scan_size: '0',
};

/** `execute`: run it for real (read-only, catalogs only) because the function only appears at run time. */
export const WARMUP_PLANS: readonly { sql: string; settings?: Record<string, string>; execute?: boolean }[] = [
  { sql: 'SELECT * FROM pg_class' },
  { sql: 'SELECT * FROM pg_class WHERE oid = 1259' },
  { sql: 'SELECT oid FROM pg_class WHERE oid > 1000 ORDER BY oid', settings: { enable_seqscan: 'off', enable_bitmapscan: 'off' } },
  { sql: 'SELECT * FROM pg_class WHERE oid < 3000 OR relfilenode < 10', settings: { enable_seqscan: 'off', enable_indexscan: 'off' } },
  { sql: 'SELECT * FROM pg_class WHERE oid < 3000 AND relname > $$a$$', settings: { enable_seqscan: 'off', enable_indexscan: 'off' } },
  { sql: 'SELECT * FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace' },
  { sql: 'SELECT * FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace', settings: FORCE_NESTLOOP },
  { sql: 'SELECT * FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid', settings: FORCE_NESTLOOP },
  { sql: 'SELECT * FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace', settings: FORCE_MERGE },
  { sql: 'SELECT * FROM pg_class c, pg_namespace n WHERE c.relname < n.nspname', settings: FORCE_NESTLOOP },
  { sql: 'SELECT relkind, count(*) FROM pg_class GROUP BY relkind' },
  { sql: 'SELECT relkind, count(*) FROM pg_class GROUP BY relkind', settings: { enable_hashagg: 'off' } },
  { sql: 'SELECT relkind FROM pg_class GROUP BY relkind', settings: { enable_hashagg: 'off' } },
  { sql: 'SELECT DISTINCT relkind FROM pg_class ORDER BY 1', settings: { enable_hashagg: 'off' } },
  { sql: 'SELECT relkind, relnamespace, count(*) FROM pg_class GROUP BY ROLLUP (relkind, relnamespace)' },
  { sql: 'SELECT count(*) FROM pg_class' },
  { sql: 'SELECT * FROM pg_class ORDER BY relname LIMIT 5' },
  { sql: 'SELECT * FROM pg_class ORDER BY oid, relname', settings: { enable_seqscan: 'off' } },
  { sql: 'SELECT * FROM generate_series(1, 10)' },
  { sql: 'VALUES (1), (2)' },
  { sql: 'SELECT 1' },
  { sql: 'SELECT generate_series(1, 3)' },
  { sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r' },
  { sql: 'WITH c AS MATERIALIZED (SELECT * FROM pg_class) SELECT * FROM c' },
  { sql: 'SELECT relname FROM pg_class UNION ALL SELECT nspname FROM pg_namespace' },
  { sql: '(SELECT relname FROM pg_class ORDER BY 1) UNION ALL (SELECT nspname FROM pg_namespace ORDER BY 1) ORDER BY 1' },
  { sql: 'SELECT relname FROM pg_class INTERSECT SELECT nspname FROM pg_namespace' },
  { sql: 'SELECT relname FROM pg_class EXCEPT SELECT nspname FROM pg_namespace', settings: { enable_hashagg: 'off' } },
  { sql: 'SELECT row_number() OVER (ORDER BY relname) FROM pg_class' },
  { sql: 'SELECT * FROM pg_class WHERE ctid = $$(0,1)$$' },
  { sql: 'SELECT * FROM pg_class WHERE ctid > $$(0,1)$$', settings: { enable_seqscan: 'off' } },
  { sql: `SELECT * FROM XMLTABLE('/r/i' PASSING ('<r><i>1</i></r>'::xml) COLUMNS v int PATH '.')` },
  { sql: 'SELECT * FROM pg_class TABLESAMPLE SYSTEM (10)' },
  { sql: 'SELECT * FROM pg_class FOR UPDATE' },
  { sql: 'SELECT * FROM pg_class WHERE oid = (SELECT max(oid) FROM pg_namespace)' },
  { sql: 'SELECT * FROM pg_class c WHERE relnatts > (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid)' },
  { sql: 'SELECT * FROM (SELECT relname, row_number() OVER () AS r FROM pg_class) s WHERE r > 1' },
  { sql: 'SELECT relname, relkind FROM pg_class ORDER BY relkind, relname', settings: { enable_seqscan: 'off', enable_bitmapscan: 'off' } },
  { sql: 'SELECT count(*) FROM pg_attribute', settings: PARALLEL },
  { sql: 'SELECT attname FROM pg_attribute ORDER BY attname', settings: PARALLEL },
  // Parallel Hash Join switches to ExecParallelHashJoin only when the parallel plan starts.
  {
    sql: 'SELECT count(*) FROM pg_attribute a JOIN pg_attribute b ON a.attrelid = b.attrelid AND a.attnum = b.attnum',
    settings: { ...PARALLEL, enable_nestloop: 'off', enable_mergejoin: 'off' },
    execute: true,
  },
  { sql: 'UPDATE pg_class SET relname = relname WHERE false AND oid = 0' },
  { sql: 'INSERT INTO pg_class SELECT * FROM pg_class WHERE false' },
  { sql: 'DELETE FROM pg_class WHERE false' },
];

/** Plans grouped by their settings: each group runs on a connection started with them. */
function bySettings(): Map<string, { settings: Record<string, string>; plans: typeof WARMUP_PLANS[number][] }> {
  const groups = new Map<string, { settings: Record<string, string>; plans: typeof WARMUP_PLANS[number][] }>();
  for (const plan of WARMUP_PLANS) {
    const key = JSON.stringify(plan.settings ?? {});
    if (!groups.has(key)) groups.set(key, { settings: plan.settings ?? {}, plans: [] });
    groups.get(key)!.plans.push(plan);
  }
  return groups;
}

/**
 * Runs every warm-up plan; returns how many were planned. Settings travel in
 * the connection's startup options, so the warm-up issues no SET, BEGIN or
 * ROLLBACK that could share a query_id with the workload's statements.
 */
export async function warmupNodeFunctions(conninfo: string, onBackend?: (pid: number) => void): Promise<number> {
  let ok = 0;
  for (const { settings, plans } of bySettings().values()) {
    const client = await connectOwn(conninfo, settings);
    try {
      onBackend?.((client as unknown as { processID: number }).processID);
      for (const plan of plans) {
        try {
          await client.query(plan.execute ? plan.sql : `EXPLAIN ${plan.sql}`);
          ok++;
        } catch (err) {
          log.debug(`warm-up plan failed (${plan.sql}): ${(err as Error).message}`);
        }
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return ok;
}
